"""Sample grids (one row per class) as uint8 images, and the animated GIF of a run."""

import io
import os

import imageio.v3 as iio
import numpy as np

from pix2pix_tf.common import files

PADDING = 2
BACKGROUND = 128


def to_uint8(images):
    """Generator output in [-1, 1] -> uint8 (N, H, W)."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 4:
        images = images[..., 0]
    return np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def image_grid(images, rows, cols=None):
    """(rows * cols, H, W[, 1]) images in [-1, 1], row-major -> one uint8 grid image.

    Image i goes to row i // cols, column i % cols, with a gray border around each;
    cols defaults to as many as `rows` rows need.
    """
    images = to_uint8(images)
    count, height, width = images.shape
    cols = cols or -(-count // rows)
    grid = np.full((rows * (height + PADDING) + PADDING, cols * (width + PADDING) + PADDING),
                   BACKGROUND, np.uint8)
    for i, image in enumerate(images):
        top = PADDING + (i // cols) * (height + PADDING)
        left = PADDING + (i % cols) * (width + PADDING)
        grid[top:top + height, left:left + width] = image
    return grid


def class_rows(num_classes, per_class):
    """Labels for a grid of one class per row: 0 0 0 ... 1 1 1 ... (row-major)."""
    return np.repeat(np.arange(num_classes, dtype=np.int32), per_class)


def write_gif(frame_paths, path, seconds_per_frame=0.3):
    """An animated, looping GIF of the PNG grids in `frame_paths` (in that order)."""
    frames = [iio.imread(files.readable(p)) for p in frame_paths]
    buffer = io.BytesIO()
    iio.imwrite(buffer, np.stack(frames), extension=".gif",
                duration=int(seconds_per_frame * 1000), loop=0)
    files.write_atomic(path, buffer.getvalue())
    return path


def sample_paths(samples_dir):
    """The sample grids of a run, oldest first (their names hold the zero-padded step)."""
    if not files.isdir(samples_dir):
        return []
    return [os.path.join(samples_dir, name) for name in sorted(files.listdir(samples_dir))
            if name.startswith("step_") and name.endswith(".png")]
