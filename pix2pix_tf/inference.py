"""Running a trained generator: what test, eval, predict and export share, and
test and eval modes (a folder of A|B pairs translated, scored and shown).

Every image is translated on its own, as a batch of one: batch norm keeps
using the statistics of the batch it is given at test time (as in the paper,
unless --eval_mode), so an image translated in a batch of several would
depend on the others. The per-image calls run inside one traced function over
a batch of images, so that Python is not between them.
"""

import concurrent.futures
import math
import os
import time

import numpy as np
import tensorflow as tf
from PIL import Image

from pix2pix_tf import colors, data, judges, metrics, models, report
from pix2pix_tf import options as pix2pix_options
from pix2pix_tf.common import checkpoints, files, image_io, record, resume
from pix2pix_tf.common.errors import UserError
from pix2pix_tf.common.options import require_output_dir

# A test image whose width/height differs from the training images' by more
# than this factor has another layout (a single photo for a pair model...).
ASPECT_TOLERANCE = 1.5

# Images per traced call (each still translated on its own): larger calls
# leave less time to Python between them; the results do not depend on it.
IMAGES_PER_CALL = 16


def load_generator(options, given, log=print):
    """Options merged with the checkpoint's, and the generator restored from it."""
    if not options.checkpoint:
        raise UserError(f"--mode {options.mode} needs --checkpoint, the output folder of a training run")
    options, messages = resume.from_checkpoint(options, given, strict=False)
    checkpoints.latest_checkpoint(options.checkpoint)
    for message in messages:
        log(message)
    pix2pix_options.check(options)
    generator = models.generator_from_options(options)
    path = checkpoints.RunCheckpoint(options.checkpoint, generator=generator).restore(
        options.checkpoint, partial=True)
    log(f"loaded generator from {path}")
    return options, generator


# ---------------------------------------------------------------- shared by test, predict, export

def translate_each(generator, images, training):
    """The generator on each image of the batch `images` alone (a batch of one).

    Args:
        generator: the Keras generator.
        images: float32 [batch, crop, crop, channels] in [-1, 1].
        training: True for the paper's test-time behaviour (batch statistics,
            dropout), False for --eval_mode (moving statistics, no dropout).

    Returns:
        float32 [batch, crop, crop, output channels] in [-1, 1].
    """
    # One image at a time (parallel_iterations=1): each call already spreads
    # over the cores, and dropout draws its seeds in a fixed order.
    return tf.map_fn(lambda image: generator(image[None], training=training)[0], images,
                     fn_output_signature=tf.float32, parallel_iterations=1)


def decode_photo(contents):
    """PNG/JPEG bytes, gray, gray + alpha, RGB or RGBA -> float32 RGB [H, W, 3]
    in [0, 1]; transparent pixels are put on white (a drawing's background)."""
    image = tf.image.convert_image_dtype(
        tf.io.decode_image(contents, expand_animations=False), tf.float32)
    channels = tf.shape(image)[-1]
    colour = tf.cond(channels >= 3, lambda: image[..., :3],
                     lambda: tf.image.grayscale_to_rgb(image[..., :1]))
    alpha = tf.cond(channels % 2 == 0, lambda: image[..., -1:], lambda: tf.ones_like(image[..., :1]))
    rgb = colour * alpha + (1.0 - alpha)
    rgb.set_shape([None, None, 3])
    return rgb


class ImageTranslator:
    """A trained generator as an image-to-image function, for predict and the export.

    Args:
        generator: the Keras generator.
        options: the run's options (crop_size, eval_mode, lab_colorization,
            which_direction).
    """

    def __init__(self, generator, options):
        self.generator = generator
        self.crop_size = options.crop_size
        self.training = not options.eval_mode
        self.lab_colorization = options.lab_colorization
        self.which_direction = options.which_direction

    def network_input(self, rgb):
        """RGB [..., 3] in [0, 1] -> the generator's input channels, any size:
        the image in [-1, 1], or a colouriser's Lab channels."""
        if self.lab_colorization:
            return data.split_pair(rgb, self.which_direction, lab_colorization=True)[0]
        return rgb * 2.0 - 1.0

    def translate(self, inputs):
        """[batch, crop, crop, channels] -> outputs, each image on its own."""
        return translate_each(self.generator, inputs, self.training)

    def to_rgb(self, inputs, outputs):
        """The generator's input and output channels (the same size) -> the
        RGB image in [0, 1] they make: the output, or for a colouriser its
        input and output channels put together."""
        if self.lab_colorization:
            return colors.compose_lab(inputs, outputs, self.which_direction)
        return (tf.cast(outputs, tf.float32) + 1.0) / 2.0

    def shrink(self, inputs):
        """Network channels of any size -> crop_size x crop_size."""
        return data.resize(inputs, self.crop_size)

    def translate_photo(self, rgb):
        """One RGB image of any size -> the RGB result at crop_size (the
        generator called on it alone, a batch of one)."""
        inputs = self.shrink(self.network_input(rgb))
        return self.to_rgb(inputs, self.generator(inputs[None], training=self.training)[0])


def encode(image, filetype="png"):
    """RGB [H, W, 3] in [0, 1] -> PNG or JPEG bytes (a string tensor)."""
    image = colors.to_uint8(image)
    if filetype == "jpeg":
        return tf.io.encode_jpeg(image, quality=95)
    return tf.io.encode_png(image)


def screen_files(paths):
    """Splits image files into usable ones and bad ones from their names and
    headers (pixels that fail later are named by `skipped_in_pipeline`).

    Returns:
        (usable paths, their width/height ratios, [(bad path, reason)]).
    """
    usable, aspects, skipped = [], [], []
    for path in paths:
        special = data.special_file(path)
        if special:
            skipped.append((path, special))
            continue
        try:
            os.fsencode(path).decode("utf-8")
            with Image.open(files.readable(path)) as image:
                width, height = image.size
                image_io.check_pixels(width, height, image_io.MAX_PIXELS)
        except Exception:  # Not UTF-8, unreadable, too large, not an image: many kinds.
            skipped.append((path, data.check_image_file(path) or "not a decodable image"))
            continue
        usable.append(path)
        aspects.append(width / height)
    return usable, aspects, skipped


def skipped_in_pipeline(paths, seen):
    """[(path, reason)] of `paths` the tf.data pipeline left out (it skips
    elements whose file fails to decode), named after the fact."""
    seen = set(seen)
    return [(path, data.check_image_file(path) or "TensorFlow could not decode it")
            for path in paths if path not in seen]


def report_skipped(skipped, log):
    for path, reason in skipped:
        log(f"skipped {files.printable(path)}: {reason}")


def output_names(paths):
    """path -> a name for its outputs: the file name without extension, or
    with it (a_jpg) when two files differ only by extension."""
    stems = [os.path.splitext(os.path.basename(path))[0] for path in paths]
    return {path: stem if stems.count(stem) == 1
            else stem + "_" + os.path.splitext(path)[1].lstrip(".").lower()
            for path, stem in zip(paths, stems)}


class BackgroundWork:
    """Runs writes (and the work before them) on one thread, in order, while
    the caller computes the next batch; `wait()` re-raises the first error."""

    def __init__(self):
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        self._futures = []

    def submit(self, fn, *args):
        self._futures.append(self._pool.submit(fn, *args))

    def wait(self):
        try:
            for future in self._futures:
                future.result()
        except OSError as e:
            raise UserError(f"cannot write {e.filename or 'an output file'}: {e.strerror}") from e
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)


class Throughput:
    """Images per second of a loop over batches, from the end of its first
    batch (whose call traces the graph) to `stop()`; the whole loop's rate
    when there is only one batch."""

    def __init__(self):
        self._times, self._counts = [time.perf_counter()], []

    def add(self, count):
        """Call at the start of each batch of `count` images."""
        self._times.append(time.perf_counter())
        self._counts.append(count)

    def stop(self):
        self._times.append(time.perf_counter())

    def describe(self):
        if len(self._counts) > 1:
            steady = sum(self._counts[1:]) / (self._times[-1] - self._times[2])
            return f"{steady:.1f} images/sec after the first batch (which traces the graph)"
        return f"{sum(self._counts) / (self._times[-1] - self._times[0]):.1f} images/sec"


# ---------------------------------------------------------------- test and eval

def check_layout(aspects, options):
    """Test images must have the layout the model was trained on (the run record's)."""
    if not aspects:
        return
    aspect = float(np.median(aspects))
    trained = record.load(options.checkpoint).get("image_aspect")
    if trained and abs(math.log(aspect / trained)) > math.log(ASPECT_TOLERANCE):
        layout = "photos" if options.lab_colorization else "A|B pairs"
        raise UserError(
            f"the images of {options.input_dir} have width/height {aspect:.2f}, but the model was "
            f"trained on {layout} of width/height {trained:.2f}: wrong folder or wrong checkpoint?")


def _resize_width(images, aspect_ratio):
    """The reference's --aspect_ratio: written images are width = height * ratio."""
    if aspect_ratio == 1.0:
        return images
    height = images.shape[1]
    resized = tf.image.resize(images, [height, int(round(height * aspect_ratio))], method="bicubic")
    return tf.clip_by_value(resized, 0.0, 1.0)


def _scoring_step(generator, options, write_images, judged, element_spec):
    """One traced call over a batch of pairs: every image translated on its
    own, the metrics, (test mode) the PNG files' bytes and (`judged`) the
    images as uint8 for the judges."""
    training = not options.eval_mode

    def step(inputs, targets):
        outputs = translate_each(generator, inputs, training)
        images = colors.to_rgb(inputs, outputs, targets, options.lab_colorization,
                                options.which_direction)
        scores = metrics.image_metrics(images["outputs"], images["targets"])
        if judged:
            scores.update({f"{kind}_uint8": colors.to_uint8(batch) for kind, batch in images.items()})
        encoded = {}
        if write_images:
            for kind, batch in images.items():
                batch = colors.to_uint8(_resize_width(batch, options.aspect_ratio))
                encoded[kind] = tf.map_fn(tf.io.encode_png, batch, fn_output_signature=tf.string)
        return scores, encoded

    return tf.function(step, input_signature=element_spec[1:])


def _write_image_set(image_dir, name, encoded):
    """Writes NAME-KIND.png files from their bytes."""
    for kind, contents in encoded.items():
        files.write_atomic(os.path.join(image_dir, f"{name}-{kind}.png"), contents)


def run(options, given=(), write_images=True, log=print):
    """Test mode (write_images) or eval mode; returns the metrics written.

    The generator runs as in the paper at test time, with batch statistics
    and dropout, unless --eval_mode asks for moving statistics and no dropout.
    A file that cannot be decoded is skipped, named and counted.
    """
    options, generator = load_generator(options, given, log)
    paths = data.list_image_files(options.input_dir)
    if options.max_steps:
        paths = paths[:options.max_steps * options.batch_size]
    paths, aspects, skipped = screen_files(paths)
    report_skipped(skipped, log)
    check_layout(aspects, options)
    if not paths:
        raise UserError(f"no image of --input_dir {options.input_dir} can be decoded")
    require_output_dir(options, options.mode)
    planned = judges.plan(options, paths, seed=options.seed if "seed" in given else 0)
    files.check_writable_dir(options.output_dir)

    dataset = data.test_dataset(paths, batch_size=IMAGES_PER_CALL,
                                which_direction=options.which_direction,
                                lab_colorization=options.lab_colorization, crop_size=options.crop_size)
    judged = bool(planned["judges"])
    step = _scoring_step(generator, options, write_images, judged, dataset.element_spec)
    names = output_names(paths)
    image_dir = os.path.join(options.output_dir, "images")
    rows, seen, judged_images = [], [], {"inputs": [], "targets": [], "outputs": []}
    writer = BackgroundWork()
    speed = Throughput()
    try:
        for batch_paths, inputs, targets in dataset:
            speed.add(len(batch_paths))
            scores, encoded = step(inputs, targets)
            scores = {name: values.numpy() for name, values in scores.items()}
            if judged:
                for kind, batches in judged_images.items():
                    batches.append(scores.pop(f"{kind}_uint8"))
            encoded = {kind: values.numpy() for kind, values in encoded.items()}
            for i, path in enumerate(batch_paths.numpy()):
                path = path.decode()
                seen.append(path)
                row = {"name": names[path], **{m: float(scores[m][i]) for m in metrics.NAMES}}
                if write_images:
                    images = {kind: values[i] for kind, values in encoded.items()}
                    writer.submit(_write_image_set, image_dir, row["name"], images)
                    row.update({kind: os.path.join("images", f"{row['name']}-{kind}.png")
                                for kind in images})
                rows.append(row)
    finally:
        writer.wait()
    speed.stop()
    late = skipped_in_pipeline(paths, seen)
    report_skipped(late, log)
    skipped += late
    if not rows:
        raise UserError(f"no image of --input_dir {options.input_dir} can be decoded")

    averages = metrics.average(rows)
    result = {"checkpoint": options.checkpoint, "input_dir": options.input_dir,
              "eval_mode": options.eval_mode, "count": len(rows), "average": averages,
              "images": {row["name"]: {m: row[m] for m in metrics.NAMES} for row in rows},
              "skipped": {files.printable(path): reason for path, reason in skipped}}
    if judged:
        result["judges"] = judges.judge(planned, options, names=[row["name"] for row in rows],
                                        log=log, **{kind: np.concatenate(batches) for kind, batches
                                                    in judged_images.items()})
    files.write_json(os.path.join(options.output_dir, "metrics.json"), result)
    log(f"{len(rows)} images, {speed.describe()}; average "
        + "  ".join(f"{m} {averages[m]:.4f}" for m in metrics.NAMES))
    if skipped:
        log(f"skipped {len(skipped)} bad file{'s' if len(skipped) > 1 else ''} (named above)")
    log(f"wrote metrics at {os.path.join(options.output_dir, 'metrics.json')}")

    if write_images:
        index = os.path.join(options.output_dir, "index.html")
        if files.exists(index):
            log(f"replacing the index.html of an earlier run in {options.output_dir}")
        report.write_test_index(options.output_dir, rows, averages, result.get("judges"))
        log(f"wrote index at {index}")
    return result
