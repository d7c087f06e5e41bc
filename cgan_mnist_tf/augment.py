"""DiffAugment (Zhao et al. 2020): differentiable augmentations of what D sees.

Real and generated batches get the same family of transformations (a draw per
image), with gradients through them to G: D cannot memorise a few thousand
digits, and G is not taught the augmentations. Images are (N, H, W, C) in
[-1, 1]; `seed` is a keras.random.SeedGenerator, whose state a checkpoint holds.
"""

from __future__ import annotations

import typing

import keras
import tensorflow as tf

BACKGROUND = -1.0  # Black in [-1, 1]: what lies outside a digit.


def color(images: tf.Tensor, seed: keras.random.SeedGenerator | None = None) -> tf.Tensor:
    """Per-image brightness (+-0.5 of the [0, 1] range) and contrast (x0.5..x1.5);
    no saturation, DiffAugment's third colour change: the digits are grayscale."""
    n = tf.shape(images)[0]
    brightness = keras.random.uniform((n, 1, 1, 1), -0.5, 0.5, images.dtype, seed=seed) * 2.0
    images = images + brightness
    mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    contrast = keras.random.uniform((n, 1, 1, 1), 0.5, 1.5, images.dtype, seed=seed)
    return (images - mean) * contrast + mean


def translation(images: tf.Tensor, ratio: float = 0.125,
                seed: keras.random.SeedGenerator | None = None) -> tf.Tensor:
    """Shifts each image by up to ratio x its size in x and y, filling with background."""
    n, h, w = tf.shape(images)[0], images.shape[1], images.shape[2]
    pad_h, pad_w = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = keras.random.randint((n, 1, 1), -pad_h, pad_h + 1, "int32", seed=seed)
    dx = keras.random.randint((n, 1, 1), -pad_w, pad_w + 1, "int32", seed=seed)
    padded = tf.pad(images, [[0, 0], [pad_h, pad_h], [pad_w, pad_w], [0, 0]],
                    constant_values=BACKGROUND)
    rows = tf.broadcast_to(tf.range(h)[None, :, None] + pad_h + dy, (n, h, w))
    cols = tf.broadcast_to(tf.range(w)[None, None, :] + pad_w + dx, (n, h, w))
    # gather_nd's gradient scatters back into the padded images, then the pad's into the images.
    return tf.gather_nd(padded, tf.stack([rows, cols], axis=-1), batch_dims=1)


def cutout(images: tf.Tensor, ratio: float = 0.5,
           seed: keras.random.SeedGenerator | None = None) -> tf.Tensor:
    """Blanks (sets to 0, as DiffAugment does) one ratio-sized square per image at a random place."""
    n, h, w = tf.shape(images)[0], images.shape[1], images.shape[2]
    size_h, size_w = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = keras.random.randint((n, 1, 1), 0, h + (1 - size_h % 2), "int32", seed=seed)
    cx = keras.random.randint((n, 1, 1), 0, w + (1 - size_w % 2), "int32", seed=seed)
    rows = tf.range(h)[None, :, None] - cy + size_h // 2
    cols = tf.range(w)[None, None, :] - cx + size_w // 2
    inside = (rows >= 0) & (rows < size_h) & (cols >= 0) & (cols < size_w)
    return images * tf.cast(~inside, images.dtype)[..., None]


FUNCTIONS = {"color": color, "translation": translation, "cutout": cutout}


def diff_augment(images: tf.Tensor, policy: typing.Iterable[str],
                 seed: keras.random.SeedGenerator | None = None) -> tf.Tensor:
    """`images` through each augmentation of `policy` (names, in choices.POLICIES' order of
    use), drawing from the SeedGenerator `seed`."""
    for name in policy:
        images = FUNCTIONS[name](images, seed=seed)
    return images
