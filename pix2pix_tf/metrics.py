"""Image quality of outputs against targets, per image: L1, PSNR, SSIM.

Images are RGB batches in [0, 1] (colors.to_rgb), so the numbers mean the
same for pairs and for colourisation, and L1 is in [0, 1] pixel units.
"""

import numpy as np
import tensorflow as tf

NAMES = ("L1", "PSNR", "SSIM")


def image_metrics(outputs, targets):
    """Per-image metrics of two [batch, H, W, 3] batches in [0, 1]."""
    outputs = tf.clip_by_value(tf.cast(outputs, tf.float32), 0.0, 1.0)
    targets = tf.clip_by_value(tf.cast(targets, tf.float32), 0.0, 1.0)
    return {
        "L1": tf.reduce_mean(tf.abs(outputs - targets), axis=[1, 2, 3]),
        # PSNR of identical images is infinite; JSON and averages need a number.
        "PSNR": tf.minimum(tf.image.psnr(outputs, targets, max_val=1.0), 100.0),
        "SSIM": tf.image.ssim(outputs, targets, max_val=1.0),
    }


def average(per_image):
    """List of per-image dicts -> dict of means over the set."""
    return {name: float(np.mean([m[name] for m in per_image])) for name in NAMES}
