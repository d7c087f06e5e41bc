"""The (conditional) GAN as a keras.Model whose train_step alternates D and G."""

import keras
import tensorflow as tf

from cgan_mnist_tf import losses

METRICS = ("d_loss", "g_loss", "d_x", "d_g_z")


class ConditionalGAN(keras.Model):
    """Trains `discriminator` and `generator` against each other.

    With conditional=True both take the digit label as a second input; the fake
    labels are drawn uniformly from 0..num_classes-1. With conditional=False the
    same steps train a plain GAN and labels are ignored.
    """

    def __init__(self, generator, discriminator, latent_dim, conditional=True, num_classes=10, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.conditional = conditional
        self.num_classes = num_classes
        self.trackers = {name: keras.metrics.Mean(name=name) for name in METRICS}

    @property
    def metrics(self):
        return list(self.trackers.values())

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer

    def generate(self, z, labels, training=False):
        z, labels = tf.convert_to_tensor(z), tf.convert_to_tensor(labels)
        inputs = [z, labels] if self.conditional else z
        return self.generator(inputs, training=training)

    def discriminate(self, images, labels, training=False):
        images, labels = tf.convert_to_tensor(images), tf.convert_to_tensor(labels)
        inputs = [images, labels] if self.conditional else images
        return self.discriminator(inputs, training=training)

    def sample_inputs(self, batch_size):
        """Noise z ~ N(0, 1) and labels drawn uniformly from the classes."""
        z = tf.random.normal((batch_size, self.latent_dim))
        labels = tf.random.uniform((batch_size,), 0, self.num_classes, dtype=tf.int32)
        return z, labels

    def train_step(self, data):
        real_images, real_labels = data
        batch_size = tf.shape(real_images)[0]

        # 1. The discriminator: real (x, y) -> 1, (G(z, y'), y') -> 0.
        z, fake_labels = self.sample_inputs(batch_size)
        fake_images = self.generate(z, fake_labels, training=True)
        with tf.GradientTape() as tape:
            real_logits = self.discriminate(real_images, real_labels, training=True)
            fake_logits = self.discriminate(fake_images, fake_labels, training=True)
            d_loss = losses.discriminator_loss(real_logits, fake_logits)
        variables = self.discriminator.trainable_variables
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, variables), variables))

        # 2. The generator: make D label fresh samples 1.
        z, gen_labels = self.sample_inputs(batch_size)
        with tf.GradientTape() as tape:
            gen_logits = self.discriminate(self.generate(z, gen_labels, training=True), gen_labels,
                                           training=True)
            g_loss = losses.generator_loss(gen_logits)
        variables = self.generator.trainable_variables
        self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, variables), variables))

        values = {"d_loss": d_loss, "g_loss": g_loss,
                  "d_x": losses.mean_probability(real_logits),
                  "d_g_z": losses.mean_probability(fake_logits)}
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}


def make_optimizers(lr=2e-4, beta1=0.5):
    """Adam for D and for G, as in the papers' recipe."""
    return (keras.optimizers.Adam(lr, beta_1=beta1), keras.optimizers.Adam(lr, beta_1=beta1))


def build_optimizers(gan):
    """Creates the optimizers' slots now, so a checkpoint restore can fill them."""
    gan.d_optimizer.build(gan.discriminator.trainable_variables)
    gan.g_optimizer.build(gan.generator.trainable_variables)
