"""The GAN losses (binary cross-entropy on logits) and what D believes, as pure functions."""

from __future__ import annotations

import tensorflow as tf


def _bce(logits, real):
    """Mean cross-entropy of `logits` against the label 1 (real) or 0."""
    labels = tf.ones_like(logits) if real else tf.zeros_like(logits)
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))


def discriminator_loss(real_logits: tf.Tensor, fake_logits: tf.Tensor) -> tf.Tensor:
    """Real images labelled 1, generated ones 0; the two halves averaged."""
    return 0.5 * (_bce(real_logits, True) + _bce(fake_logits, False))


def generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """The non-saturating loss: G wants D to label its samples 1."""
    return _bce(fake_logits, True)


def matching_aware_discriminator_loss(real_logits: tf.Tensor, wrong_logits: tf.Tensor,
                                      fake_logits: tf.Tensor) -> tf.Tensor:
    """StackGAN's (after GAN-INT-CLS): bce(real, 1) + (bce(wrong label, 0) + bce(fake, 0)) / 2;
    the real images with a wrong label teach D the match of image and label."""
    return _bce(real_logits, True) + 0.5 * (_bce(wrong_logits, False) + _bce(fake_logits, False))


def mean_probability(logits: tf.Tensor) -> tf.Tensor:
    """D's mean belief that the images are real: D(x) or D(G(z))."""
    return tf.reduce_mean(tf.sigmoid(logits))


def hinge_discriminator_loss(real_logits: tf.Tensor, fake_logits: tf.Tensor) -> tf.Tensor:
    """The hinge loss of SN-GAN / projection GANs: mean(relu(1 - D(x))) + mean(relu(1 + D(G(z))))."""
    return (tf.reduce_mean(tf.nn.relu(1.0 - real_logits))
            + tf.reduce_mean(tf.nn.relu(1.0 + fake_logits)))


def hinge_generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """G raises D's logit of its samples: -mean(D(G(z)))."""
    return -tf.reduce_mean(fake_logits)


LOSSES = {"bce": (discriminator_loss, generator_loss),
          "hinge": (hinge_discriminator_loss, hinge_generator_loss)}
