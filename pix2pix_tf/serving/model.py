"""The model `pix2pix_tf.serving` serves: which SavedModel to load, the call
that translates image bytes, and the example inputs the web page offers.

--model may name:
    a version folder (RUN/export/3) or an un-versioned export (RUN/export with
        saved_model.pb in it, the layout of earlier versions): that SavedModel;
    an export base (RUN/export holding numbered version folders): its highest
        version, as TensorFlow Serving picks;
    a training run (options.json and a checkpoint): its export, made first with
        `--mode export` if it has none.
"""

import io
import os
import threading

import numpy as np
import tensorflow as tf
from PIL import Image

from pix2pix_tf import data, export, palettes
from pix2pix_tf.common import files, image_io
from pix2pix_tf.common.errors import UserError
from pix2pix_tf.common.options import load_options

IMAGE_FORMATS = ("PNG", "JPEG")
MAX_EXAMPLES = 12


class BadImage(ValueError):
    """A request's image that is not a decodable PNG or JPEG."""


def find_model(model, log=print):
    """The SavedModel folder to serve for --model `model` (see the module
    doc): export.find_export, exporting a run that has none yet.

    Raises:
        UserError: naming --model, when `model` is none of those.
    """
    if not model:
        raise UserError("--model is required: a training run's folder or an export")
    try:
        return export.find_export(model, export_missing=True, log=log)
    except UserError as e:
        raise UserError(f"--model {e}") from e


def version_of(export_dir):
    """The version number of a version folder; 0 for an un-versioned export."""
    name = os.path.basename(files.normpath(export_dir))
    return int(name) if name.isdigit() else 0


def run_of(export_dir):
    """The pix2pix training run folder an export lies in (RUN/export or
    RUN/export/N), or None when it lies elsewhere."""
    export_dir = files.abspath(export_dir)
    for candidate in (os.path.dirname(export_dir), os.path.dirname(os.path.dirname(export_dir))):
        if export.is_pix2pix_run(candidate):
            return candidate
    return None


def load_translator(export_dir):
    """Loads an export; returns translate(list of PNG/JPEG bytes) -> list of
    image bytes: export.LoadedExport.translate, which reads both layouts."""
    return export.load_export(export_dir).translate


def check_image(data):
    """Raises BadImage unless `data` is a PNG or JPEG file that decodes entirely."""
    try:
        image = Image.open(io.BytesIO(data))
    except Exception as e:  # PIL raises several kinds for what it cannot identify.
        raise BadImage("not a PNG or JPEG image") from e
    with image:
        if image.format not in IMAGE_FORMATS:
            raise BadImage(f"a {image.format} image: only PNG and JPEG are translated")
        try:
            image.load()
        except Exception as e:  # Truncated or corrupt data, or a decompression bomb.
            raise BadImage(f"a {image.format} file that does not decode: {e}") from e


def image_type(data):
    """The MIME type of PNG or JPEG bytes (exports made with --output_filetype jpeg give JPEG)."""
    return "image/jpeg" if data[:3] == b"\xff\xd8\xff" else "image/png"


def palette():
    """The drawing colours the page offers: black and white, then the CMP facade labels."""
    colours = [("black (edges)", (0, 0, 0)), ("white", (255, 255, 255))]
    colours += list(zip(palettes.FACADE_CLASSES, palettes.FACADE_COLOURS))
    return [{"name": name, "colour": "#%02x%02x%02x" % tuple(rgb)} for name, rgb in colours]


def default_examples_dir(run_options):
    """The validation folder beside a run's training --input_dir (DATA/train -> DATA/val)."""
    input_dir = (run_options or {}).get("input_dir")
    if not input_dir:
        return None
    candidate = os.path.join(os.path.dirname(files.normpath(input_dir)), "val")
    return candidate if files.isdir(candidate) else None


def input_side(image, run_options):
    """The part of an example image the model takes: for a pair model, the
    A or B half (--which_direction) of an A|B pair (an image at least 1.5x as
    wide as high); the whole image otherwise (photos, colourisers, inputs)."""
    height, width = image.shape[:2]
    if not run_options or run_options.get("lab_colorization") or width < 1.5 * height:
        return image
    half = width // 2
    return image[:, :half] if run_options.get("which_direction") == "AtoB" else image[:, half:2 * half]


def load_examples(examples_dir, run_options, log=print, limit=MAX_EXAMPLES):
    """[(file name, PNG bytes of its input side)] of the first `limit` images of `examples_dir`."""
    if not examples_dir:
        return []
    examples = []
    for path in data.list_image_files(examples_dir, flag="--examples_dir"):
        if len(examples) == limit:
            break
        try:
            image = image_io.read_rgb(path)
        except UserError as e:
            log(f"skipping an example: {e}")
            continue
        examples.append((os.path.basename(path), image_io.encode(input_side(image, run_options))))
    return examples


def _blank_png(size=8):
    return image_io.encode(np.full((size, size, 3), 255, np.uint8))


class ServedModel:
    """An export ready to translate requests, one image per model call.

    Attributes:
        export_dir: the SavedModel folder; version: its version number.
        size: the model's output width and height (its crop size).
        examples: [(name, PNG bytes)] the page offers.
    """

    def __init__(self, export_dir, translator, examples=()):
        self.export_dir = export_dir
        self.version = version_of(export_dir)
        self.examples = list(examples)
        self._translator = translator
        # One translation at a time: it bounds the memory to one image's
        # activations, and each call draws its own dropout noise from the
        # SavedModel's single random state.
        self._lock = threading.Lock()
        # A first call traces the functions, so the first request is not slow,
        # and tells the model's size.
        with Image.open(io.BytesIO(self._call(_blank_png()))) as output:
            self.size = output.size[0]

    @classmethod
    def load(cls, model, examples_dir=None, log=print):
        """The ServedModel of --model (exporting a run first) and --examples_dir
        (default: the run's validation folder, when the run is known)."""
        export_dir = find_model(model, log)
        run_dir = run_of(export_dir)
        run_options = load_options(run_dir) if run_dir else None
        examples_dir = examples_dir or default_examples_dir(run_options)
        examples = load_examples(examples_dir, run_options, log)
        try:
            return cls(export_dir, load_translator(export_dir), examples)
        except (OSError, ValueError, KeyError, tf.errors.OpError) as e:
            # A SavedModel that is not a pix2pix export, or a damaged one.
            raise UserError(f"cannot serve the SavedModel in {export_dir}: "
                            f"{type(e).__name__}: {e}") from e

    def _call(self, image):
        with self._lock:
            (output,) = self._translator([image])
        return output

    def translate(self, image):
        """PNG/JPEG bytes -> the translated image's bytes (PNG unless the export
        was made with --output_filetype jpeg). Raises BadImage for bad input."""
        check_image(image)
        try:
            return self._call(image)
        except tf.errors.InvalidArgumentError as e:  # A file PIL reads but TensorFlow does not.
            raise BadImage(f"the model cannot decode the image: {e.message.splitlines()[0]}") from e
