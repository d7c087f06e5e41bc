"""Pure image operations on uint8 HxWx3 arrays, as used by tools/process.py."""

import numpy as np
from PIL import Image

from pix2pix_tf.common.errors import UserError

BLANK_FRACTION = 0.3  # Side of the whitened square relative to the image side.


def grayscale(image):
    """RGB -> gray repeated over 3 channels, so pix2pix can still read it as RGB."""
    from skimage import color  # scikit-image is imported only by the operations that use it.

    gray = np.round(color.rgb2gray(image) * 255.0).astype(np.uint8)
    return np.repeat(gray[:, :, None], 3, axis=2)


def crop_to_square(image):
    """The largest centred square of the image."""
    height, width = image.shape[:2]
    side = min(height, width)
    top = (height - side) // 2
    left = (width - side) // 2
    return image[top:top + side, left:left + side]


def pad_to_square(image):
    """The image centred on a black square whose side is the longer image side."""
    height, width = image.shape[:2]
    side = max(height, width)
    out = np.zeros((side, side) + image.shape[2:], dtype=image.dtype)
    top = (side - height) // 2
    left = (side - width) // 2
    out[top:top + height, left:left + width] = image
    return out


def scale(image, size):
    """Resizes to size x size: area averaging when shrinking, bicubic when growing."""
    height, width = image.shape[:2]
    if (height, width) == (size, size):
        return image.copy()
    shrinking = size < max(height, width)
    resample = Image.Resampling.BOX if shrinking else Image.Resampling.BICUBIC
    resized = Image.fromarray(image).resize((size, size), resample=resample)
    return np.asarray(resized)


def resize(image, size=256, pad=False):
    """Makes the image square (crop, or pad with `pad`) and scales it to size x size."""
    if size < 1:
        raise UserError(f"--size must be positive, got {size}")
    square = pad_to_square(image) if pad else crop_to_square(image)
    return scale(square, size)


def blank_box(height, width, fraction=BLANK_FRACTION):
    """(top, left, side) of the centred square that `blank` whitens."""
    side = int(min(height, width) * fraction)
    return (height - side) // 2, (width - side) // 2, side


def blank(image, fraction=BLANK_FRACTION):
    """A copy with a centred square (30% of the side) filled white: inpainting inputs."""
    top, left, side = blank_box(image.shape[0], image.shape[1], fraction)
    out = image.copy()
    out[top:top + side, left:left + side] = 255
    return out


def combine(image_a, image_b, name_a="A", name_b="B"):
    """A and B side by side (A left); both must have the same size."""
    if image_a.shape[:2] != image_b.shape[:2]:
        raise UserError(
            f"cannot combine {name_a} ({image_a.shape[1]}x{image_a.shape[0]}) with "
            f"{name_b} ({image_b.shape[1]}x{image_b.shape[0]}): sizes differ")
    return np.concatenate([image_a, image_b], axis=1)


def edge_mask(image, sigma=2.0, min_fragment=16):
    """Boolean one-pixel-wide edges: Canny, thinned, short fragments removed.

    Like the reference's post-processing of HED edges (thin, then drop small
    connected pieces) so that drawings look like sketches rather than noise.
    """
    from skimage import color, feature, morphology

    gray = color.rgb2gray(image)
    edges = feature.canny(gray, sigma=sigma)
    edges = morphology.thin(edges)
    return _remove_fragments(edges, min_fragment)


def _remove_fragments(mask, min_pixels):
    """Drops 8-connected pieces of fewer than min_pixels pixels."""
    from skimage import morphology

    # scikit-image 0.26 renamed min_size (strictly smaller) to max_size (<=).
    try:
        return morphology.remove_small_objects(mask, connectivity=2, max_size=min_pixels - 1)
    except TypeError:
        return morphology.remove_small_objects(mask, min_size=min_pixels, connectivity=2)


def edges(image, sigma=2.0, min_fragment=16):
    """Black edges on white, 3 channels."""
    mask = edge_mask(image, sigma, min_fragment)
    out = np.full(image.shape[:2] + (3,), 255, dtype=np.uint8)
    out[mask] = 0
    return out
