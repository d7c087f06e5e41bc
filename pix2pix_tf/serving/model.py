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
DOMAIN_PIXELS = 100_000  # About this many example pixels (every n-th) tell the input's domain.
EDGES_SHARE = 0.8  # Of the pixels near black or white, in edge drawings.


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


def _hex(rgb):
    return "#%02x%02x%02x" % tuple(int(c) for c in rgb)


def input_domain(examples):
    """What the model takes, judged from the examples [(name, PNG bytes)], for
    the page: {"kind": "labels", "labels": [{"name", "colour"}], "background"}
    when most pixels are near a CMP facade label colour; {"kind": "edges",
    "background"} when most are near black or white; else {"kind": "photo"},
    or {"kind": "unknown"} without examples."""
    if not examples:
        return {"kind": "unknown"}
    pixels = np.concatenate([np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3)
                             for _, png in examples]).astype(np.int16)
    pixels = pixels[::max(1, len(pixels) // DOMAIN_PIXELS)]
    colours = palettes.FACADE_COLOURS
    if palettes.label_share(pixels, colours) >= palettes.LABEL_SHARE:
        return {"kind": "labels", "background": _hex(colours[0]), "labels": [
            {"name": name, "colour": _hex(rgb)} for name, rgb in zip(palettes.FACADE_CLASSES, colours)]}
    grey = np.ptp(pixels, axis=-1) <= palettes.LABEL_TOLERANCE
    dark, light = grey & (pixels.max(-1) < 64), grey & (pixels.min(-1) >= 192)
    if np.mean(dark | light) >= EDGES_SHARE:
        return {"kind": "edges", "background": "#ffffff" if light.sum() >= dark.sum() else "#000000"}
    return {"kind": "photo"}


def default_examples_dir(run_options):
    """The validation folder beside a run's training --input_dir (DATA/train -> DATA/val)."""
    input_dir = (run_options or {}).get("input_dir")
    if not input_dir:
        return None
    candidate = os.path.join(os.path.dirname(files.normpath(input_dir)), "val")
    return candidate if files.isdir(candidate) else None


def input_half(model_info):
    """Which half of an A|B pair the model takes: "left" (A) or "right" (B) by
    --which_direction; None for a colouriser, or when the model's options are unknown."""
    if not model_info or model_info.get("lab_colorization"):
        return None
    return "left" if model_info.get("which_direction") == "AtoB" else "right"


def input_side(image, model_info):
    """The part of an example image the model takes: its input half (see
    input_half) of an A|B pair (an image at least 1.5x as wide as high); the
    whole image otherwise (photos, colourisers, inputs)."""
    height, width = image.shape[:2]
    half, middle = input_half(model_info), width // 2
    if half is None or width < 1.5 * height:
        return image
    return image[:, :middle] if half == "left" else image[:, middle:2 * middle]


def load_examples(examples_dir, model_info, log=print, limit=MAX_EXAMPLES):
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
        examples.append((os.path.basename(path), image_io.encode(input_side(image, model_info))))
    return examples


def _blank_png(size=8):
    return image_io.encode(np.full((size, size, 3), 255, np.uint8))


class ServedModel:
    """An export ready to translate requests, one image per model call.

    Attributes:
        export_dir: the SavedModel folder; version: its version number.
        size: the model's output width and height (its crop size).
        examples: [(name, PNG bytes)] the page offers.
        half: the half of an A|B pair the model takes (input_half).
        domain: what its inputs are (input_domain of the examples).
    """

    def __init__(self, export_dir, translator, examples=(), half=None):
        self.export_dir = export_dir
        self.version = version_of(export_dir)
        self.examples = list(examples)
        self.half = half
        self.domain = input_domain(self.examples)
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
        try:
            loaded = export.load_export(export_dir)
            # Exports of earlier versions record no options: the run's tell the same.
            info = loaded.info or run_options
            return cls(export_dir, loaded.translate, load_examples(examples_dir, info, log),
                       input_half(info))
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
