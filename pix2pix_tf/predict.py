"""Predict mode: translate images that hold only the input side (no target).

    python -m pix2pix_tf.main --mode predict --checkpoint facades_train \\
        --input_dir my_labels --output_dir my_photos

A folder or a single file; PNG or JPEG of any size and aspect ratio, gray,
RGB or RGBA (transparent pixels on white). Each image is resized to the
model's crop, translated on its own, and written back at its own size as
OUTPUT_DIR/NAME.png (NAME.jpg with --output_filetype jpeg); a colouriser
(--lab_colorization) keeps the photo's full-resolution lightness and takes the
colour from the network, upsampled. index.html shows input and output.
"""

from __future__ import annotations

import html
import os
import typing

import tensorflow as tf

from pix2pix_tf import colors, data, inference, report
from pix2pix_tf.common import files
from pix2pix_tf.common.errors import UserError
from pix2pix_tf.common.options import require_output_dir
from pix2pix_tf.options import Options

Log = typing.Callable[[str], None]

EXTENSIONS = {"png": ".png", "jpeg": ".jpg"}


def input_files(input_path: str | None) -> list[str]:
    """The image files of a folder (by extension), or the one file named."""
    if not input_path:
        raise UserError("--input_dir is required: a folder of images or one image file")
    if not files.exists(input_path):
        raise UserError(f"--input_dir {input_path} does not exist")
    if files.isdir(input_path):
        return data.list_image_files(input_path)
    return [input_path]


def _check_output_dir(output_dir, paths):
    """Outputs are named like their inputs: never write them over the inputs."""
    folders = {files.realpath(os.path.dirname(files.abspath(path))) for path in paths}
    if files.realpath(output_dir) in folders:
        raise UserError(f"--output_dir {output_dir} is the folder of the input images: "
                        "the outputs would replace them; choose another folder")


def _loading(translator):
    """tf.data map: path -> (path, the image as uint8 RGB at its own size, the
    generator's input at crop size)."""

    def load(path):
        rgb = inference.decode_photo(tf.io.read_file(path))
        return path, colors.to_uint8(rgb), translator.shrink(translator.network_input(rgb))

    return load


def _finishing(translator, filetype):
    """A traced function: (uint8 RGB at full size, the generator's output at
    crop size) -> the encoded result at the image's own size."""
    crop = translator.crop_size
    out_channels = translator.generator.output_shape[-1]

    def finish(rgb, outputs):
        rgb = tf.image.convert_image_dtype(rgb, tf.float32)
        size = tf.shape(rgb)[:2]
        # Bicubic with antialiasing: smooth when enlarging, no aliasing when shrinking.
        outputs = tf.image.resize(outputs, size, method="bicubic", antialias=True)
        return inference.encode(translator.to_rgb(translator.network_input(rgb), outputs),
                                filetype)

    return tf.function(finish, input_signature=[
        tf.TensorSpec([None, None, 3], tf.uint8), tf.TensorSpec([crop, crop, out_channels])])


def predict(options: Options, given: typing.AbstractSet[str] = frozenset(),
            log: Log = print) -> dict:
    """Translates the images of --input_dir into --output_dir; returns
    {"count", "skipped": {file: reason}, "outputs": {input path: output path}}."""
    options, generator = inference.load_generator(options, given, log)
    paths = input_files(options.input_dir)
    require_output_dir(options, "predict")
    _check_output_dir(options.output_dir, paths)
    paths, _, skipped = inference.screen_files(paths)
    inference.report_skipped(skipped, log)
    if not paths:
        raise UserError(f"no image of --input_dir {options.input_dir} can be decoded")
    output_dir = options.output_dir
    files.check_writable_dir(output_dir)

    translator = inference.ImageTranslator(generator, options)
    translate = tf.function(translator.translate, input_signature=[tf.TensorSpec(
        [None, translator.crop_size, translator.crop_size, generator.input_shape[-1]])])
    finish = _finishing(translator, options.output_filetype)
    extension = EXTENSIONS[options.output_filetype]
    names = inference.output_names(paths)
    dataset = (tf.data.Dataset.from_tensor_slices(paths)
               .map(_loading(translator), num_parallel_calls=data.AUTOTUNE)
               .ignore_errors()  # A file that fails to decode is named below.
               .prefetch(2))

    def finish_and_write(path, rgb, outputs):
        contents = finish(rgb, outputs).numpy()
        files.write_atomic(os.path.join(output_dir, names[path] + extension), contents)

    outputs, rows, chunk = {}, [], []
    writer = inference.BackgroundWork()

    def flush():
        results = translate(tf.stack([small for _, _, small in chunk]))
        for (path, rgb, _), result in zip(chunk, results):
            writer.submit(finish_and_write, path, rgb, result)
            outputs[path] = os.path.join(output_dir, names[path] + extension)
            rows.append({"name": names[path],
                         "input": files.relpath(path, output_dir),
                         "output": names[path] + extension})
        chunk.clear()

    speed = inference.Throughput()
    try:
        for path, rgb, small in dataset:
            chunk.append((path.numpy().decode(), rgb, small))
            if len(chunk) == inference.IMAGES_PER_CALL:
                speed.add(len(chunk))
                flush()
        if chunk:
            speed.add(len(chunk))
            flush()
    finally:
        writer.wait()
    speed.stop()
    late = inference.skipped_in_pipeline(paths, outputs)
    inference.report_skipped(late, log)
    skipped += late
    if not rows:
        raise UserError(f"no image of --input_dir {options.input_dir} can be decoded")

    index = os.path.join(output_dir, "index.html")
    if files.exists(index):
        log(f"replacing the index.html of an earlier run in {output_dir}")
    report.write_index(index, ["name", "input", "output"], rows,
                       f"<p>{len(rows)} images translated by {html.escape(options.checkpoint)}</p>")
    log(f"translated {len(rows)} images into {output_dir}, {speed.describe()}")
    if skipped:
        log(f"skipped {len(skipped)} bad file{'s' if len(skipped) > 1 else ''} (named above)")
    log(f"wrote index at {index}")
    return {"count": len(rows), "outputs": outputs,
            "skipped": {files.printable(path): reason for path, reason in skipped}}
