"""Test and eval modes: run a trained generator over a folder, score and show it."""

import math
import os
import time

import tensorflow as tf

from pix2pix_tf import data, display, metrics, options as pix2pix_options, report
from pix2pix_tf.common import checkpoints, files
from pix2pix_tf.common.errors import UserError
from pix2pix_tf.common.options import load_options, merge_saved_options

# A test image whose width/height differs from the training images' by more
# than this factor has another layout (a single photo for a pair model...).
ASPECT_TOLERANCE = 1.5


def load_generator(opts, given, log=print):
    """Options merged with the checkpoint's, and the generator restored from it."""
    if not opts["checkpoint"]:
        raise UserError(f"--mode {opts['mode']} needs --checkpoint, the output folder of a training run")
    saved = load_options(opts["checkpoint"])
    checkpoints.latest_checkpoint(opts["checkpoint"])
    opts, messages = merge_saved_options(opts, saved, pix2pix_options.MODEL_KEYS, given,
                                         strict=False)
    for message in messages:
        log(message)
    pix2pix_options.check(opts)
    opts["image_aspect"] = saved.get("image_aspect")
    generator = pix2pix_options.generator_from_options(opts)
    path = checkpoints.RunCheckpoint(opts["checkpoint"], generator=generator).restore(
        opts["checkpoint"], partial=True)
    log(f"loaded generator from {path}")
    return opts, generator


def check_layout(paths, opts):
    """Test images must have the layout the model was trained on."""
    aspect = data.check_image_files(paths, paired=not opts["lab_colorization"])
    trained = opts.get("image_aspect")
    if trained and abs(math.log(aspect / trained)) > math.log(ASPECT_TOLERANCE):
        layout = "photos" if opts["lab_colorization"] else "A|B pairs"
        raise UserError(
            f"the images of {opts['input_dir']} have width/height {aspect:.2f}, but the model was "
            f"trained on {layout} of width/height {trained:.2f}: wrong folder or wrong checkpoint?")


def _resize_width(images, aspect_ratio):
    """The reference's --aspect_ratio: written images are width = height * ratio."""
    if aspect_ratio == 1.0:
        return images
    height = images.shape[1]
    resized = tf.image.resize(images, [height, int(round(height * aspect_ratio))], method="bicubic")
    return tf.clip_by_value(resized, 0.0, 1.0)


def run(opts, given=(), write_images=True, log=print):
    """Test mode (write_images) or eval mode; returns the metrics written.

    The generator runs as in the paper at test time, with batch statistics
    and dropout, unless --eval_mode asks for moving statistics and no dropout.
    """
    opts, generator = load_generator(opts, given, log)
    paths = data.list_image_files(opts["input_dir"])
    check_layout(paths, opts)
    if opts["max_steps"]:
        paths = paths[:opts["max_steps"] * opts["batch_size"]]
    files.check_writable_dir(opts["output_dir"])

    dataset = data.test_dataset(paths, batch_size=opts["batch_size"],
                                which_direction=opts["which_direction"],
                                lab_colorization=opts["lab_colorization"], crop_size=opts["crop_size"])
    translate = tf.function(lambda x: generator(x, training=not opts["eval_mode"]))
    image_dir = os.path.join(opts["output_dir"], "images")
    rows, start = [], time.time()
    for batch_paths, inputs, targets in dataset:
        images = display.to_rgb(inputs, translate(inputs), targets, opts["lab_colorization"],
                                opts["which_direction"])
        scores = metrics.image_metrics(images["outputs"], images["targets"])
        shown = {kind: display.to_uint8(_resize_width(x, opts["aspect_ratio"])).numpy()
                 for kind, x in images.items()} if write_images else {}
        for i, path in enumerate(batch_paths.numpy()):
            name = os.path.splitext(os.path.basename(path.decode()))[0]
            row = {"name": name, **{m: float(scores[m][i]) for m in metrics.NAMES}}
            if write_images:
                row.update(report.save_image_set(image_dir, name, {k: v[i] for k, v in shown.items()}))
            rows.append(row)
    rate = len(rows) / max(time.time() - start, 1e-9)

    averages = metrics.average(rows)
    result = {"checkpoint": opts["checkpoint"], "input_dir": opts["input_dir"],
              "eval_mode": opts["eval_mode"], "count": len(rows), "average": averages,
              "images": {row["name"]: {m: row[m] for m in metrics.NAMES} for row in rows}}
    files.write_json(os.path.join(opts["output_dir"], "metrics.json"), result)
    log(f"{len(rows)} images, {rate:.1f} images/sec; average "
        + "  ".join(f"{m} {averages[m]:.4f}" for m in metrics.NAMES))
    log(f"wrote metrics at {os.path.join(opts['output_dir'], 'metrics.json')}")

    if write_images:
        index = os.path.join(opts["output_dir"], "index.html")
        if os.path.exists(index):
            log(f"replacing the index.html of an earlier run in {opts['output_dir']}")
        heading = ("<p>" + f"{len(rows)} images, average: "
                   + ", ".join(f"{m} {averages[m]:.4f}" for m in metrics.NAMES) + "</p>")
        report.write_index(index, ["name", *report.KINDS, *metrics.NAMES], rows, heading)
        log(f"wrote index at {index}")
    return result

