"""The (conditional) GAN as a keras.Model whose train_step alternates D and G."""

from __future__ import annotations

import typing

import keras
import numpy as np
import tensorflow as tf

from cgan_mnist_tf import augment, losses, models
from pix2pix_tf.common import distribute
from pix2pix_tf.common.nonfinite import NonFiniteWatch

METRICS = ("d_loss", "g_loss", "d_x", "d_g_z")
NOISE_KEYS = ("d_z", "d_labels", "g_z", "g_labels")

TensorLike = tf.Tensor | np.ndarray
# A train_step batch: (images, labels) or (images, labels, noise dict of NOISE_KEYS).
Batch = tuple[TensorLike, TensorLike] | tuple[TensorLike, TensorLike, dict[str, TensorLike]]


class ConditionalGAN(keras.Model):
    """Trains `discriminator` and `generator` against each other; with
    conditional=True both take the digit label as a second input, otherwise
    the same steps train a plain GAN and labels are ignored."""

    def __init__(self, generator: keras.Model, discriminator: keras.Model, latent_dim: int,
                 conditional: bool = True, num_classes: int = 10, loss: str = "bce",
                 diffaugment: typing.Iterable[str] = (), ema_generator: keras.Model | None = None,
                 ema_decay: float = 0.0, **kwargs: typing.Any) -> None:
        """loss: a key of losses.LOSSES. diffaugment: choices.POLICIES names applied to
        every image D sees, real and generated alike. ema_generator: a copy of the
        generator that keeps the exponential moving average of its weights (decay
        ema_decay) and draws the samples outside training."""
        super().__init__(**kwargs)
        self.generator = generator
        self.ema_generator = ema_generator
        self.ema_decay = float(ema_decay)
        self.d_loss_fn, self.g_loss_fn = losses.LOSSES[loss]
        self.diffaugment = tuple(diffaugment)
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.conditional = conditional
        self.num_classes = num_classes
        self.trackers = {name: keras.metrics.Mean(name=name) for name in METRICS}
        # Their states are in the checkpoint (checkpoints.random_states): a resumed
        # run draws the noise and DiffAugment's draws an uninterrupted one would.
        self.noise_seed = keras.random.SeedGenerator(name="noise_seed")
        self.augment_seed = keras.random.SeedGenerator(name="augment_seed")
        self.nonfinite = NonFiniteWatch()
        self.built = True  # The functional networks are; the model itself has no call().

    @property
    def metrics(self) -> list[keras.metrics.Mean]:
        return list(self.trackers.values())

    def compile(self, discriminator_optimizer: keras.optimizers.Optimizer,
                generator_optimizer: keras.optimizers.Optimizer, **kwargs: typing.Any) -> None:
        """Sets the optimizers and creates their slots now, so a checkpoint restore can fill them."""
        super().compile(**kwargs)
        self.discriminator_optimizer = discriminator_optimizer
        self.generator_optimizer = generator_optimizer
        discriminator_optimizer.build(self.discriminator.trainable_variables)
        generator_optimizer.build(self.generator.trainable_variables)

    def generate(self, z: TensorLike, labels: TensorLike, training: bool = False) -> tf.Tensor:
        """G(z, y) as float32 images; outside training from the EMA generator, if any."""
        z, labels = tf.convert_to_tensor(z), tf.convert_to_tensor(labels)
        inputs = [z, labels] if self.conditional else z
        generator = self.generator if training or self.ema_generator is None else self.ema_generator
        return tf.cast(generator(inputs, training=training), tf.float32)

    def discriminate(self, images: TensorLike, labels: TensorLike, training: bool = False) -> tf.Tensor:
        """D(x, y); in training of DiffAugment-ed images (real or generated, in D's step and G's)."""
        images, labels = tf.convert_to_tensor(images), tf.convert_to_tensor(labels)
        if training and self.diffaugment:
            images = augment.diff_augment(images, self.diffaugment, seed=self.augment_seed)
        inputs = [images, labels] if self.conditional else images
        return self.discriminator(inputs, training=training)

    def sample_inputs(self, batch_size: int | tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Noise z ~ N(0, 1) and labels drawn uniformly from the classes."""
        z = keras.random.normal((batch_size, self.latent_dim), seed=self.noise_seed)
        labels = keras.random.randint((batch_size,), 0, self.num_classes, dtype="int32",
                                      seed=self.noise_seed)
        return z, labels

    def train_step(self, data: Batch) -> dict[str, tf.Tensor]:
        """One D step then one G step on a batch (real images, real labels[, noise]).

        The noise, a dict of NOISE_KEYS, is drawn here unless the batch brings
        it (reproducible steps: tests, comparing devices or compilers). Under a
        tf.distribute strategy it runs on each replica's part of the global batch.
        """
        real_images, real_labels = data[0], data[1]
        batch_size = tf.shape(real_images)[0]
        noise = data[2] if len(data) > 2 else None
        if noise is None:
            noise = dict(zip(NOISE_KEYS, self.sample_inputs(batch_size) + self.sample_inputs(batch_size)))
        # On several replicas the optimizers sum the replicas' gradients: weight
        # each replica's mean losses by its share of the global batch, so the
        # sum is the gradient of the global batch's mean (None on one replica).
        share = distribute.replica_share(batch_size)
        d_loss, d_logs = self._minimize(self.discriminator_optimizer, self.discriminator, share,
                                        self.d_step_loss, real_images, real_labels, noise)
        g_loss, g_logs = self._minimize(self.generator_optimizer, self.generator, share,
                                        self.g_step_loss, noise)
        if self.ema_generator is not None:
            self.update_ema()
        return self.log_step(d_loss, g_loss, share, **d_logs, **g_logs)

    def d_step_loss(self, real_images: tf.Tensor, real_labels: tf.Tensor,
                    noise: dict[str, TensorLike]) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        """D's loss, real (x, y) -> 1 and (G(z, y'), y') -> 0, and its logs D(x), D(G(z))."""
        fake_images = tf.stop_gradient(self.generate(noise["d_z"], noise["d_labels"], training=True))
        real_logits = self.discriminate(real_images, real_labels, training=True)
        fake_logits = self.discriminate(fake_images, noise["d_labels"], training=True)
        return self.d_loss_fn(real_logits, fake_logits), _beliefs(real_logits, fake_logits)

    def g_step_loss(self, noise: dict[str, TensorLike]) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        """G's loss: make D label fresh samples 1; no logs of its own."""
        gen_images = self.generate(noise["g_z"], noise["g_labels"], training=True)
        return self.g_loss_fn(self.discriminate(gen_images, noise["g_labels"], training=True)), {}

    @staticmethod
    def _minimize(optimizer, network, share, loss_fn, *args):
        """One step of `optimizer` on `network` down loss_fn(*args)'s loss, weighted
        by `share`; returns (that weighted loss, loss_fn's logs)."""
        with tf.GradientTape() as tape:
            loss, logs = loss_fn(*args)
            loss = _scaled(loss, share)
            # float16 (a LossScaleOptimizer): scaled against underflow, unscaled
            # by apply_gradients; otherwise the identity.
            scaled = optimizer.scale_loss(loss)
        variables = network.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
        return loss, logs

    def log_step(self, d_loss: tf.Tensor, g_loss: tf.Tensor, share: tf.Tensor | None,
                 **values: tf.Tensor) -> dict[str, tf.Tensor]:
        """The step's logs (running means of the epoch): the losses and `values`,
        over the global batch; notes non-finite losses."""
        self.nonfinite.note(self.generator_optimizer.iterations, [d_loss, g_loss])
        values = {"d_loss": d_loss, "g_loss": g_loss,
                  **{name: _scaled(value, share) for name, value in values.items()}}
        if share is not None:  # Every replica logs the global batch's values.
            values = distribute.sum_over_replicas(values)
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def update_ema(self) -> None:
        """ema <- d * ema + (1 - d) * weights, batch-norm statistics too, with
        d = min(ema_decay, (1 + t) / (10 + t)) at step t (ExponentialMovingAverage's
        num_updates): early on the average follows the weights, not their start."""
        step = tf.cast(self.generator_optimizer.iterations, tf.float32)
        decay = tf.minimum(self.ema_decay, (1.0 + step) / (10.0 + step))
        for average, weight in zip(self.ema_generator.weights, self.generator.weights):
            value = tf.cast(weight, average.dtype)
            average.assign(decay * average + (1.0 - decay) * value)


STAGE_METRICS = ("d1_loss", "g1_loss", "d2_loss", "g2_loss", "consistency")


class StackGAN(ConditionalGAN):
    """StackGAN (Zhang et al. 2017) on digits, with models.build("stackgan")'s networks.

    Stage I draws a rough 16x16 digit from the label and z; stage II redraws it
    at 64x64 from that image and the label. Each stage has its discriminator
    (models.StackDiscriminator: the image's size picks it), trained with the
    paper's matching-aware loss: real images with a wrong label count as fake.
    Both stages train every step, stage II on stage I's outputs through
    tf.stop_gradient, so its loss never moves stage I (the paper trains them
    one after the other). Left out: the paper's conditioning augmentation (ten
    discrete labels have no embedding manifold to smooth). Added: stage II's
    loss has `consistency` x the mean L1 distance between its image shrunk to
    16x16 and the stage-I image, which keeps stage II from ignoring its input
    and collapsing onto the ten labels (docs/cgan.md). One optimizer per side
    holds both stages; d_loss and g_loss sum the stages', d_x and d_g_z are stage II's.
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model, latent_dim: int,
                 num_classes: int = 10, consistency: float = 10.0, **kwargs: typing.Any) -> None:
        kwargs.update(conditional=True, loss="bce", diffaugment=())
        super().__init__(generator, discriminator, latent_dim, num_classes=num_classes, **kwargs)
        self.consistency = float(consistency)
        self.d_loss_fn = losses.matching_aware_discriminator_loss
        self.trackers.update({name: keras.metrics.Mean(name=name) for name in STAGE_METRICS})

    @property
    def stage1_generator(self) -> keras.Model:
        return self.generator.get_layer(models.STAGE1_GENERATOR)

    @property
    def stage2_generator(self) -> keras.Model:
        return self.generator.get_layer(models.STAGE2_GENERATOR)

    def generate_stages(self, z: TensorLike, labels: TensorLike,
                        training: bool = False) -> tuple[tf.Tensor, tf.Tensor]:
        """(stage-I 16x16, stage-II 64x64) images of G(z, y), float32; outside
        training from the EMA generator when there is one."""
        z, labels = tf.convert_to_tensor(z), tf.convert_to_tensor(labels)
        generator = self.generator if training or self.ema_generator is None else self.ema_generator
        low = generator.get_layer(models.STAGE1_GENERATOR)([z, labels], training=training)
        high = generator.get_layer(models.STAGE2_GENERATOR)([low, labels], training=training)
        return tf.cast(low, tf.float32), tf.cast(high, tf.float32)

    def generator_losses(self, z: TensorLike, labels: TensorLike) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """(stage-I loss, stage-II loss, stage II's L1 distance to stage I) of
        fresh samples. Stage II draws from stage I's output with the gradient
        stopped: its loss (the distance, times `consistency`, included) reaches
        only stage II."""
        z, labels = tf.convert_to_tensor(z), tf.convert_to_tensor(labels)
        low = tf.cast(self.stage1_generator([z, labels], training=True), tf.float32)
        stopped = tf.stop_gradient(low)
        high = tf.cast(self.stage2_generator([stopped, labels], training=True), tf.float32)
        distance = tf.reduce_mean(tf.abs(stage1_images(high) - stopped))
        g1_loss = self.g_loss_fn(self.discriminate(low, labels, training=True))
        g2_loss = self.g_loss_fn(self.discriminate(high, labels, training=True))
        return g1_loss, g2_loss + self.consistency * distance, distance

    def d_step_loss(self, real_images: tf.Tensor, real_labels: tf.Tensor,
                    noise: dict[str, TensorLike]) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        """Each stage's D: (x, y) -> 1; (x, wrong y) and (G(z, y'), y') -> 0 (64x64 reals)."""
        # A wrong label for each real image: its own shifted by 1..num_classes-1.
        shift = keras.random.randint((tf.shape(real_images)[0],), 1, self.num_classes,
                                     dtype="int32", seed=self.noise_seed)
        wrong_labels = (tf.cast(real_labels, tf.int32) + shift) % self.num_classes
        fakes = self.generate_stages(noise["d_z"], noise["d_labels"], training=True)
        stage_losses = []
        for real, fake in zip((stage1_images(real_images), real_images), fakes):
            real_logits = self.discriminate(real, real_labels, training=True)
            wrong_logits = self.discriminate(real, wrong_labels, training=True)
            fake_logits = self.discriminate(tf.stop_gradient(fake), noise["d_labels"], training=True)
            stage_losses.append(self.d_loss_fn(real_logits, wrong_logits, fake_logits))
        return tf.add_n(stage_losses), {"d1_loss": stage_losses[0], "d2_loss": stage_losses[1],
                                        **_beliefs(real_logits, fake_logits)}

    def g_step_loss(self, noise: dict[str, TensorLike]) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        """Both generators: make each stage's D label fresh samples 1."""
        g1_loss, g2_loss, distance = self.generator_losses(noise["g_z"], noise["g_labels"])
        return tf.add_n([g1_loss, g2_loss]), {"g1_loss": g1_loss, "g2_loss": g2_loss,
                                              "consistency": distance}


def stage1_images(images: TensorLike) -> tf.Tensor:
    """64x64 images -> StackGAN's stage-I size (16x16), antialiased; float32."""
    size = models.STAGE1_SHAPE[:2]
    return tf.image.resize(tf.cast(images, tf.float32), size, antialias=True)


def _beliefs(real_logits, fake_logits):
    return {"d_x": losses.mean_probability(real_logits), "d_g_z": losses.mean_probability(fake_logits)}


def _scaled(value, share):
    return value if share is None else value * share
