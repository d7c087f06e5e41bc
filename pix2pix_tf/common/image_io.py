"""Reading and writing image files as uint8 RGB arrays (numpy side, outside the graph)."""

import io
import os

import imageio.v3 as iio
import numpy as np
from PIL import JpegImagePlugin, PngImagePlugin

from pix2pix_tf.common import files
from pix2pix_tf.common.errors import UserError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
# The formats whose header image_size_from_header reads: magic bytes -> Pillow's reader.
_HEADER_READERS = ((b"\x89PNG\r\n\x1a\n", PngImagePlugin.PngImageFile),
                   (b"\xff\xd8\xff", JpegImagePlugin.JpegImageFile))


# The largest image the commands read (a 4000x4000 photo): a small file may
# claim a huge size, and decoding it would cost gigabytes.
MAX_PIXELS = 16_000_000


class TooManyPixels(ValueError):
    """An image whose header announces more pixels than a limit allows."""


def image_size_from_header(data: bytes) -> tuple[int, int]:
    """(width, height) of PNG or JPEG bytes, read from the header alone.

    Nothing is decoded, so a small file that claims a huge image costs
    nothing. Pillow's format readers are used directly: Image.open would
    refuse sizes past its own decompression-bomb threshold before telling
    the size.

    Raises:
        ValueError: `data` is not a PNG or JPEG whose header reads.
    """
    for magic, reader in _HEADER_READERS:
        if data[:len(magic)] == magic:
            try:
                with reader(io.BytesIO(data)) as image:
                    return image.size
            except Exception as e:  # Pillow raises several kinds for a damaged header.
                raise ValueError(f"a {reader.format} file whose header does not read") from e
    raise ValueError("not a PNG or JPEG image")


def check_pixels(width: int, height: int, max_pixels: int) -> None:
    """Raises TooManyPixels when a width x height image exceeds max_pixels."""
    if width * height > max_pixels:
        raise TooManyPixels(f"the image is {width}x{height} = {width * height / 1e6:.1f} "
                            f"megapixels, more than the limit of {max_pixels / 1e6:g} megapixels")


def is_image_file(name):
    return name.lower().endswith(IMAGE_EXTENSIONS)


def to_rgb(image):
    """uint8 HxW, HxWx1, HxWx3 or HxWx4 -> HxWx3 (alpha dropped, gray repeated)."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    elif image.shape[2] == 2:  # Gray + alpha.
        image = np.repeat(image[:, :, :1], 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3])


def read_rgb(path):
    """Reads any PNG/JPEG as a uint8 HxWx3 array; UserError naming the file if it cannot."""
    try:
        image = iio.imread(files.readable(path))
    except Exception as e:  # imageio raises many kinds; all mean "not an image".
        raise UserError(f"{path} is not a decodable image ({type(e).__name__})") from e
    if image.dtype != np.uint8:
        if image.dtype == np.uint16:
            image = (image // 257).astype(np.uint8)
        else:
            image = np.clip(image, 0, 255).astype(np.uint8)
    return to_rgb(image)


def encode(image, extension=".png"):
    """uint8 array -> bytes of a PNG or JPEG file."""
    buffer = io.BytesIO()
    ext = extension.lower()
    iio.imwrite(buffer, np.asarray(image, dtype=np.uint8), extension=".jpg" if ext == ".jpeg" else ext)
    return buffer.getvalue()


def write_image(path, image):
    """Writes a uint8 image atomically; the format follows the file's extension."""
    files.write_atomic(path, encode(image, os.path.splitext(path)[1] or ".png"))
