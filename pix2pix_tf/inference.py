"""Test and eval modes: run a trained generator over a folder, score and show it."""

import math
import os
import time

import tensorflow as tf

from pix2pix_tf import data, display, metrics, options as pix2pix_options, report
from pix2pix_tf.common import checkpoints, files
from pix2pix_tf.common.errors import UserError
from pix2pix_tf.common.options import (load_options, merge_saved_options, replace,
                                       require_output_dir)

# A test image whose width/height differs from the training images' by more
# than this factor has another layout (a single photo for a pair model...).
ASPECT_TOLERANCE = 1.5


def load_generator(options, given, log=print):
    """Options merged with the checkpoint's, and the generator restored from it."""
    if not options.checkpoint:
        raise UserError(f"--mode {options.mode} needs --checkpoint, the output folder of a training run")
    saved = load_options(options.checkpoint)
    checkpoints.latest_checkpoint(options.checkpoint)
    options, messages = merge_saved_options(options, saved, pix2pix_options.MODEL_KEYS, given,
                                         strict=False)
    for message in messages:
        log(message)
    options = replace(options, image_aspect=saved.get("image_aspect"))
    generator = pix2pix_options.generator_from_options(options)
    path = checkpoints.RunCheckpoint(options.checkpoint, generator=generator).restore(
        options.checkpoint, partial=True)
    log(f"loaded generator from {path}")
    return options, generator


def check_layout(paths, options):
    """Test images must have the layout the model was trained on."""
    aspect = data.check_image_files(paths, paired=not options.lab_colorization)
    trained = options.image_aspect
    if trained and abs(math.log(aspect / trained)) > math.log(ASPECT_TOLERANCE):
        layout = "photos" if options.lab_colorization else "A|B pairs"
        raise UserError(
            f"the images of {options.input_dir} have width/height {aspect:.2f}, but the model was "
            f"trained on {layout} of width/height {trained:.2f}: wrong folder or wrong checkpoint?")


def _writable_output_dir(output_dir):
    try:
        os.makedirs(output_dir, exist_ok=True)
        files.write_atomic(os.path.join(output_dir, ".write-test"), "")
        os.remove(os.path.join(output_dir, ".write-test"))
    except OSError as e:
        raise UserError(f"cannot write to --output_dir {output_dir}: {e.strerror}") from e


def _resize_width(images, aspect_ratio):
    """The reference's --aspect_ratio: written images are width = height * ratio."""
    if aspect_ratio == 1.0:
        return images
    height = images.shape[1]
    resized = tf.image.resize(images, [height, int(round(height * aspect_ratio))], method="bicubic")
    return tf.clip_by_value(resized, 0.0, 1.0)


def run(options, given=(), write_images=True, log=print):
    """Test mode (write_images) or eval mode; returns the metrics written.

    The generator runs as in the paper at test time, with batch statistics
    and dropout, unless --eval_mode asks for moving statistics and no dropout.
    """
    options, generator = load_generator(options, given, log)
    paths = data.list_image_files(options.input_dir)
    check_layout(paths, options)
    if options.max_steps:
        paths = paths[:options.max_steps * options.batch_size]
    require_output_dir(options, options.mode)
    _writable_output_dir(options.output_dir)

    dataset = data.test_dataset(paths, batch_size=options.batch_size,
                                which_direction=options.which_direction,
                                lab_colorization=options.lab_colorization, crop_size=options.crop_size)
    translate = tf.function(lambda x: generator(x, training=not options.eval_mode))
    image_dir = os.path.join(options.output_dir, "images")
    rows, start = [], time.time()
    for batch_paths, inputs, targets in dataset:
        images = display.to_rgb(inputs, translate(inputs), targets, options.lab_colorization,
                                options.which_direction)
        scores = metrics.image_metrics(images["outputs"], images["targets"])
        shown = {kind: display.to_uint8(_resize_width(x, options.aspect_ratio)).numpy()
                 for kind, x in images.items()} if write_images else {}
        for i, path in enumerate(batch_paths.numpy()):
            name = os.path.splitext(os.path.basename(path.decode()))[0]
            row = {"name": name, **{m: float(scores[m][i]) for m in metrics.NAMES}}
            if write_images:
                row.update(report.save_image_set(image_dir, name, {k: v[i] for k, v in shown.items()}))
            rows.append(row)
    rate = len(rows) / max(time.time() - start, 1e-9)

    averages = metrics.average(rows)
    result = {"checkpoint": options.checkpoint, "input_dir": options.input_dir,
              "eval_mode": options.eval_mode, "count": len(rows), "average": averages,
              "images": {row["name"]: {m: row[m] for m in metrics.NAMES} for row in rows}}
    files.write_json(os.path.join(options.output_dir, "metrics.json"), result)
    log(f"{len(rows)} images, {rate:.1f} images/sec; average "
        + "  ".join(f"{m} {averages[m]:.4f}" for m in metrics.NAMES))
    log(f"wrote metrics at {os.path.join(options.output_dir, 'metrics.json')}")

    if write_images:
        index = os.path.join(options.output_dir, "index.html")
        if os.path.exists(index):
            log(f"replacing the index.html of an earlier run in {options.output_dir}")
        heading = ("<p>" + f"{len(rows)} images, average: "
                   + ", ".join(f"{m} {averages[m]:.4f}" for m in metrics.NAMES) + "</p>")
        report.write_index(index, ["name", *report.KINDS, *metrics.NAMES], rows, heading)
        log(f"wrote index at {index}")
    return result

