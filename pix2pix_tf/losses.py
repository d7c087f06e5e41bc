"""The pix2pix losses, from discriminator logits (numerically stable forms).

With p = sigmoid(logit): -log p = softplus(-logit), -log(1 - p) = softplus(logit).
"""

from __future__ import annotations

import tensorflow as tf


def discriminator_loss(real_logits: tf.Tensor, fake_logits: tf.Tensor) -> tf.Tensor:
    """-(log D(x, y) + log(1 - D(x, G(x)))), averaged over patches and batch."""
    return tf.reduce_mean(tf.nn.softplus(-real_logits)) + tf.reduce_mean(tf.nn.softplus(fake_logits))


def generator_gan_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """-log D(x, G(x)): the non-saturating generator loss."""
    return tf.reduce_mean(tf.nn.softplus(-fake_logits))


def l1_loss(targets: tf.Tensor, outputs: tf.Tensor) -> tf.Tensor:
    """mean |y - G(x)|."""
    return tf.reduce_mean(tf.abs(targets - outputs))
