"""Export mode: the generator as a SavedModel that TensorFlow Serving loads unchanged.

`--mode export --output_dir OUT` writes OUT/export/N/ (N = 1, 2, ...: the next
free version), the layout of TF Serving's --model_base_path. On the local
disk a version is written to a staging folder inside OUT/export and renamed
into place, so it is either complete or absent; staging folders left by a
crash are removed by the next export. On a file system with a scheme
(gs://...) folders cannot be renamed (gs:// renames object by object, ram://
leaves the files behind): a version is written to a local temporary folder,
then copied into OUT/export/N with saved_model.pb last, so a folder without
saved_model.pb is one still being copied (or whose copy failed), which
load_export() and serving from a run skip; two exports at the same moment
into one such folder can take the same N (no atomic folder creation there).

Signatures (every image is translated on its own, as a batch of one):

serving_default: `image_bytes`, a batch of strings, each the bytes of a PNG
  or JPEG file or the base64 of them (standard or web-safe alphabet; told
  apart by the files' magic bytes), any size, gray, RGB or RGBA ->
  `output_bytes`, PNG bytes (JPEG with --output_filetype jpeg) at crop_size.
  TF Serving's REST API base64-encodes string outputs whose name ends in
  `_bytes`, so {"instances": [{"b64": ...}]} -> {"predictions": [{"b64": ...}]}.
reference: the reference pix2pix.py's contract: `input`, base64 strings ->
  `output`, web-safe base64 PNG (or JPEG) strings.
translate: `images`, float [batch, crop, crop, channels] in [-1, 1] ->
  `outputs`, the generator's output in [-1, 1].

load_export() reads these exports, and the un-versioned OUT/export of
earlier versions (whose serving_default is the reference contract).
"""

from __future__ import annotations

import base64
import errno
import json
import os
import re
import typing

import keras
import tensorflow as tf

from pix2pix_tf import inference
from pix2pix_tf.common import files
from pix2pix_tf.common.errors import UserError
from pix2pix_tf.common.options import OPTIONS_FILE, load_options, require_output_dir
from pix2pix_tf.options import Options

Log = typing.Callable[[str], None]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
EXPORT_DIR = "export"  # OUTPUT_DIR/export: the base folder of the versions.
SAVED_MODEL_FILE = "saved_model.pb"
STAGING_PREFIX = ".staging-"
# What the export records beside the SavedModel, for the tools that serve it.
INFO_FILE = "pix2pix.json"
INFO_KEYS = ("crop_size", "which_direction", "lab_colorization", "eval_mode", "output_filetype")


class ExportedGenerator(tf.Module):

    def __init__(self, generator: keras.Model, options: Options):
        super().__init__()
        self.generator = generator
        # Keras 3 does not expose dropout's random state to tf.Module tracking;
        # the SavedModel must hold it for dropout to run at serving time.
        self.seed_states = [layer.seed_generator.state for layer in generator.layers
                            if getattr(layer, "seed_generator", None) is not None]
        self._translator = inference.ImageTranslator(generator, options)
        self.filetype = options.output_filetype
        crop, channels = options.crop_size, generator.input_shape[-1]
        self.translate = tf.function(
            self._translate,
            input_signature=[tf.TensorSpec([None, crop, crop, channels], tf.float32, name="images")])
        self.serve_bytes = tf.function(
            self._serve_bytes, input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")])
        self.serve_reference = tf.function(
            self._serve_reference, input_signature=[tf.TensorSpec([None], tf.string, name="input")])

    def _translate(self, images):
        return {"outputs": self._translator.translate(images)}

    def _one(self, contents):
        """The bytes of one image file, or their base64 -> encoded result."""
        is_file = tf.logical_or(tf.equal(tf.strings.substr(contents, 0, len(PNG_MAGIC)), PNG_MAGIC),
                                tf.equal(tf.strings.substr(contents, 0, len(JPEG_MAGIC)), JPEG_MAGIC))
        raw = tf.cond(is_file, lambda: contents, lambda: _decode_base64(contents))
        rgb = self._translator.translate_photo(inference.decode_photo(raw))
        return inference.encode(rgb, self.filetype)

    def _translate_files(self, strings):
        return tf.map_fn(self._one, strings, fn_output_signature=tf.string)

    def _serve_bytes(self, image_bytes):
        return {"output_bytes": self._translate_files(image_bytes)}

    def _serve_reference(self, encoded):
        return {"output": tf.io.encode_base64(self._translate_files(encoded), pad=True)}


def _decode_base64(text):
    """Base64 in the standard or the web-safe alphabet, with or without padding,
    line breaks or spaces -> bytes."""
    websafe = tf.strings.regex_replace(tf.strings.regex_replace(text, r"\+", "-"), "/", "_")
    return tf.io.decode_base64(tf.strings.regex_replace(websafe, r"\s", ""))


# ---------------------------------------------------------------- writing

def versions(base: str) -> list[int]:
    """The numbers of the numbered folders in an export base folder, sorted
    (whatever they hold: a new version takes a number above all of them)."""
    if not files.isdir(base):
        return []
    return sorted(int(name) for name in files.listdir(base)
                  if name.isdigit() and files.isdir(os.path.join(base, name)))


def _process_alive(pid):
    try:
        os.kill(pid, 0)  # Signal 0: only checks that the process exists.
    except ProcessLookupError:
        return False
    except PermissionError:  # It exists, under another user.
        pass
    return True


def remove_stale_staging(base: str, output_dir: str, log: Log = print) -> None:
    """Removes staging folders of exports that crashed: .staging-PID-* in the
    base folder whose process is gone, and the .export-* folders earlier
    versions of this export left in the output folder. Local folders only:
    a PID names a process of this machine."""
    stale = []
    for name in files.listdir(base):
        match = re.fullmatch(re.escape(STAGING_PREFIX) + r"(\d+)-.*", name)
        if match and not _process_alive(int(match.group(1))):
            stale.append(os.path.join(base, name))
    stale += [os.path.join(output_dir, name) for name in files.listdir(output_dir)
              if name.startswith(".export-")]
    for path in stale:
        if files.isdir(path):
            files.rmtree(path)
            log(f"removed {path}, left by an export that did not finish")


def _info(options):
    """What INFO_FILE records: the model's options, and the run and training
    folder it came from (absolute paths), for the tools that serve it."""
    info = {key: getattr(options, key) for key in INFO_KEYS}
    info["checkpoint"] = files.abspath(options.checkpoint)
    training_dir = load_options(options.checkpoint).get("input_dir")
    info["training_input_dir"] = files.abspath(training_dir) if training_dir else None
    return info


def _publish(staging, base):
    """Renames the local `staging` to the next free version of the local
    `base`; returns its path."""
    while True:
        target = os.path.join(base, str((versions(base) or [0])[-1] + 1))
        try:
            os.rename(staging, target)
            return target
        except OSError as e:
            if e.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise  # An export running at the same time took that number: take the next.


def _publish_copy(staging, base):
    """Copies the local `staging` into the next free version of `base`, on a
    file system with a scheme, saved_model.pb last; returns its path."""
    target = os.path.join(base, str((versions(base) or [0])[-1] + 1))
    files.copy_tree(staging, target, last=SAVED_MODEL_FILE)
    return target


def export(options: Options, given: typing.AbstractSet[str] = frozenset(),
           log: Log = print) -> str:
    """Writes OUTPUT_DIR/export/N, the next version (or OUTPUT_DIR/web with
    --export_format web); returns its path."""
    options, generator = inference.load_generator(options, given, log)
    require_output_dir(options, "export")
    if options.export_format == "web":
        from pix2pix_tf.web_export import convert  # Only this format needs tf2onnx.

        return convert.export(generator, options, log)
    module = ExportedGenerator(generator, options)
    base = os.path.join(options.output_dir, EXPORT_DIR)
    local = files.is_local(base)
    try:
        files.makedirs(base)
        if local:
            remove_stale_staging(base, options.output_dir, log)
        # Elsewhere, staged on the local disk and copied into place (see the module doc).
        staging = files.staging_dir(base if local else None,
                                    prefix=f"{STAGING_PREFIX}{os.getpid()}-")
    except OSError as e:
        raise UserError(f"cannot write to --output_dir {options.output_dir}: {e.strerror}") from e
    try:
        tf.saved_model.save(module, staging, signatures={
            "serving_default": module.serve_bytes, "reference": module.serve_reference,
            "translate": module.translate})
        files.write_json(os.path.join(staging, INFO_FILE), _info(options))
        if local:
            path = _publish(staging, base)
        else:
            try:
                path = _publish_copy(staging, base)
            except OSError as e:
                raise UserError(f"cannot write to --output_dir {options.output_dir}: "
                                f"{e.strerror} ({e.filename})") from e
    finally:
        files.rmtree(staging)
    log(f"exported the generator to {path}: version {os.path.basename(path)} of {base}, "
        "the folder TensorFlow Serving's --model_base_path takes")
    if files.isfile(os.path.join(base, SAVED_MODEL_FILE)):
        log(f"{base} also holds an un-versioned export made before versions existed: "
            "TensorFlow Serving ignores it, load_export() reads it only when given that folder "
            "and no version exists")
    return path


# ---------------------------------------------------------------- reading

def saved_model_in(path: str) -> str | None:
    """The SavedModel folder of `path` as TF Serving's --model_base_path reads
    it, or None: its highest version (a numbered folder holding
    saved_model.pb), else `path` itself if it holds saved_model.pb (a version
    folder, or an un-versioned export of earlier versions)."""
    if not files.isdir(path):
        return None
    found = [version for version in versions(path)
             if files.isfile(os.path.join(path, str(version), SAVED_MODEL_FILE))]
    if found:
        return os.path.join(path, str(found[-1]))
    return path if files.isfile(os.path.join(path, SAVED_MODEL_FILE)) else None


# An option only pix2pix runs have: tells them from cgan_mnist_tf's runs.
PIX2PIX_OPTION = "which_direction"


def is_pix2pix_run(path: str) -> bool:
    """Whether `path` is a pix2pix_tf training run folder (its options.json
    has pix2pix options; cgan_mnist_tf's runs have others)."""
    if not files.isfile(os.path.join(path, OPTIONS_FILE)):
        return False
    try:
        return PIX2PIX_OPTION in load_options(path)
    except UserError:
        return False


def export_run(run_dir: str, log: Log = print) -> None:
    """`--mode export --checkpoint RUN --output_dir RUN`, with the defaults of
    the other options (the paper's batch statistics and dropout)."""
    from pix2pix_tf import options as pix2pix_options  # Only this path needs the options' table.

    export(pix2pix_options.default_options(mode="export", checkpoint=run_dir, output_dir=run_dir),
           log=log)


def find_export(path: str, export_missing: bool = False, log: Log = print) -> str:
    """The SavedModel folder `path` stands for.

    `path` may be an export base folder (its highest version, as TF Serving
    picks), a version folder, an un-versioned export of earlier versions, or
    a folder holding one of those in its export/ (a training run, or the
    --output_dir of export mode).

    Args:
        path: the folder.
        export_missing: export a pix2pix training run that has no export yet,
            rather than refusing it (serving does; loading alone should not
            write into a run).
        log: where the export's lines go.
    Raises:
        UserError: `path` holds no export (and is not a run to export).
    """
    if not files.isdir(path):
        raise UserError(f"{path} does not exist or is not a folder")
    export_base = os.path.join(path, EXPORT_DIR)
    found = saved_model_in(path) or saved_model_in(export_base)
    if found:
        return found
    if not files.isfile(os.path.join(path, OPTIONS_FILE)):
        raise UserError(f"{path} holds no exported model: it is neither a training run (no "
                        f"{OPTIONS_FILE}) nor an export (no {SAVED_MODEL_FILE}, no numbered "
                        "version folders)")
    if not is_pix2pix_run(path):
        raise UserError(f"{path} is not a pix2pix_tf training run")
    if not export_missing:
        raise UserError(f"{path} holds no exported model: make one with --mode export "
                        f"--checkpoint RUN --output_dir RUN, then give RUN or RUN/export")
    log(f"{path} has no export yet: exporting it")
    export_run(path, log)
    found = saved_model_in(export_base)
    if not found:
        raise UserError(f"exporting {path} left no SavedModel in {export_base}")
    return found


class LoadedExport:
    """An export loaded for translating image files (thread-safe to call).

    Attributes:
        path: the SavedModel folder.
        version: its version number, or None for an un-versioned export.
        crop_size: the generator's input size.
        info: what the export recorded about its model (crop_size,
            which_direction, lab_colorization...), {} for earlier exports.
    """

    def __init__(self, path: str):
        self.path = find_export(path)
        name = os.path.basename(files.normpath(self.path))
        self.version = int(name) if name.isdigit() else None
        try:
            self.model = tf.saved_model.load(self.path)
        except (OSError, ValueError, tf.errors.OpError) as e:
            raise UserError(f"cannot load the SavedModel {self.path}: "
                            f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from e
        serving = self.model.signatures["serving_default"]
        self._input_name = next(iter(serving.structured_input_signature[1]))
        self._serving = serving
        # Exports of earlier versions return base64 text under `output`.
        self._base64_output = "output_bytes" not in serving.structured_outputs
        self.crop_size = int(self.model.signatures["translate"].structured_input_signature[1][
            "images"].shape[1])
        info_path = os.path.join(self.path, INFO_FILE)
        self.info = {}
        if files.isfile(info_path):
            self.info = json.loads(files.read_bytes(info_path))

    def translate(self, images: list[bytes]) -> list[bytes]:
        """A list of PNG/JPEG file contents (bytes) -> the list of encoded results
        (PNG, or JPEG for an export made with --output_filetype jpeg), each
        crop_size x crop_size and translated on its own.

        Raises tf.errors.InvalidArgumentError for data that is not an image.
        """
        if not images:
            return []
        if self._base64_output:
            # Earlier exports translate a request as one batch: one call per
            # image keeps each output independent of the others.
            return [base64.urlsafe_b64decode(self._serving(**{self._input_name: tf.constant(
                [base64.urlsafe_b64encode(image)])})["output"][0].numpy()) for image in images]
        results = self._serving(**{self._input_name: tf.constant(images)})
        return list(results["output_bytes"].numpy())


def load_export(path: str) -> LoadedExport:
    """Loads the export a run folder, export base folder or version folder
    names (see find_export); the result's translate() takes and returns
    image file bytes."""
    return LoadedExport(path)
