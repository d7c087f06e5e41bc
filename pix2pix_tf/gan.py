"""Pix2Pix: generator and discriminator trained together by one `train_step`."""

from __future__ import annotations

import typing

import keras
import tensorflow as tf

from pix2pix_tf import losses
from pix2pix_tf.common import distribute
from pix2pix_tf.common.nonfinite import NonFiniteWatch


class SmoothedLoss(keras.metrics.Metric):
    """Exponential moving average of a loss (decay 0.99, as the reference
    shows its losses), with Adam-style bias correction so early steps are
    not pulled towards zero.

    Kept as a decayed sum of the values over a decayed count of them:
    total / weight equals the corrected average avg / (1 - decay^n), and the
    first result is the first value exactly (no float32 rounding of
    (1 - decay) against 1 - decay^1).
    """

    def __init__(self, name: str, decay: float = 0.99, **kwargs: typing.Any) -> None:
        super().__init__(name=name, **kwargs)
        self.decay = decay
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.weight = self.add_variable(shape=(), initializer="zeros", name="weight")

    def update_state(self, value: tf.Tensor | float) -> None:
        value = tf.cast(value, self.dtype)
        self.total.assign(self.decay * self.total + value)
        self.weight.assign(self.decay * self.weight + 1.0)

    def result(self) -> tf.Tensor:
        return self.total / tf.maximum(self.weight, 1e-12)


class Pix2Pix(keras.Model):
    """G loss = gan_weight * -log D(x, G(x)) + l1_weight * |y - G(x)|;
    D loss = -(log D(x, y) + log(1 - D(x, G(x))))."""

    def __init__(self, generator: keras.Model, discriminator: keras.Model, gan_weight: float = 1.0,
                 l1_weight: float = 100.0, **kwargs: typing.Any) -> None:
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.gan_weight = gan_weight
        self.l1_weight = l1_weight
        self.trackers = [SmoothedLoss(name) for name in
                         ("discriminator_loss", "generator_loss_GAN", "generator_loss_L1")]
        self.nonfinite = NonFiniteWatch()

    def compile(self, generator_optimizer: keras.optimizers.Optimizer,
                discriminator_optimizer: keras.optimizers.Optimizer, **kwargs: typing.Any) -> None:
        super().compile(**kwargs)
        self.generator_optimizer = generator_optimizer
        self.discriminator_optimizer = discriminator_optimizer
        # Optimizer slots must exist before a checkpoint restore can fill them.
        generator_optimizer.build(self.generator.trainable_variables)
        discriminator_optimizer.build(self.discriminator.trainable_variables)

    @property
    def metrics(self) -> list[SmoothedLoss]:
        return self.trackers

    def call(self, inputs: tf.Tensor, training: bool = False) -> tf.Tensor:
        return self.generator(inputs, training=training)

    def train_step(self, data: tuple[tf.Tensor, tf.Tensor]) -> dict[str, tf.Tensor]:
        inputs, targets = data
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            outputs = self.generator(inputs, training=True)
            real_logits = self.discriminator([inputs, targets], training=True)
            fake_logits = self.discriminator([inputs, outputs], training=True)

            d_loss = losses.discriminator_loss(real_logits, fake_logits)
            g_loss_gan = losses.generator_gan_loss(fake_logits)
            g_loss_l1 = losses.l1_loss(targets, tf.cast(outputs, targets.dtype))
            g_loss = self.gan_weight * g_loss_gan + self.l1_weight * g_loss_l1
            # On several replicas (inside strategy.run) the optimizers sum the
            # replicas' gradients: weight each replica's mean losses by its
            # share of the global batch, so the sum is the global batch's mean.
            share = distribute.replica_share(tf.shape(inputs)[0], d_loss.dtype)
            if share is not None:
                d_loss, g_loss_gan, g_loss_l1, g_loss = (
                    loss * share for loss in (d_loss, g_loss_gan, g_loss_l1, g_loss))
            # float16 (a LossScaleOptimizer): scaled so small gradients do not
            # underflow, unscaled by apply_gradients; otherwise the identity.
            d_scaled = self.discriminator_optimizer.scale_loss(d_loss)
            g_scaled = self.generator_optimizer.scale_loss(g_loss)

        d_variables = self.discriminator.trainable_variables
        g_variables = self.generator.trainable_variables
        self.discriminator_optimizer.apply_gradients(
            zip(d_tape.gradient(d_scaled, d_variables), d_variables))
        self.generator_optimizer.apply_gradients(
            zip(g_tape.gradient(g_scaled, g_variables), g_variables))

        if share is not None:  # Every replica logs the global batch's losses.
            d_loss, g_loss_gan, g_loss_l1 = distribute.sum_over_replicas(
                [d_loss, g_loss_gan, g_loss_l1])

        self.nonfinite.note(self.generator_optimizer.iterations, [d_loss, g_loss_gan, g_loss_l1])
        for tracker, value in zip(self.trackers, (d_loss, g_loss_gan, g_loss_l1)):
            tracker.update_state(value)
        return {tracker.name: tracker.result() for tracker in self.trackers}

    def predict_step(self, data: tuple[tf.Tensor, tf.Tensor]) -> dict[str, tf.Tensor]:
        """Outputs and the discriminator's probabilities, for summaries and reports."""
        inputs, targets = data
        outputs = self.generator(inputs, training=True)
        return {
            "outputs": outputs,
            "predict_real": tf.sigmoid(self.discriminator([inputs, targets], training=True)),
            "predict_fake": tf.sigmoid(self.discriminator([inputs, outputs], training=True)),
        }
