"""dcgan_proj, the small-data model: projection, DiffAugment in the step, losses, EMA."""

import contextlib
import io
import os

import keras
import numpy as np
import tensorflow as tf

from cgan_mnist_tf import gan as gan_lib
from cgan_mnist_tf import generate, losses, models, train
from cgan_mnist_tf.options import Options
from pix2pix_tf.common.errors import UserError
from tests.support import cgan as testing


def _quiet(fn, *args, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return fn(*args, **kwargs)


class SpyDiscriminator(keras.Model):
    """Records every image batch it is shown; a linear logit of the pixels."""

    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(1)
        self.seen = []

    def call(self, inputs, training=False):
        images, _ = inputs
        self.seen.append((training, images.numpy().copy()))
        return self.dense(keras.ops.reshape(images, (-1, 28 * 28)))


def _batch(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.uniform(0.2, 0.9, (n, 28, 28, 1)).astype(np.float32),
            (np.arange(n) % 10).astype(np.int32))


class ProjectionDiscriminatorTest(tf.test.TestCase):

    def test_the_label_changes_the_logit_through_the_projection(self):
        discriminator = models.projection_discriminator(width=8)
        image = np.repeat(_batch(1)[0], 10, axis=0)
        labels = np.arange(10, dtype=np.int32)
        logits = discriminator([image, labels]).numpy()[:, 0]
        self.assertGreater(np.ptp(logits), 1e-6)
        # Without the projection (embedding 0) the label has no way in: one logit for all.
        projection = discriminator.get_layer("projection")
        projection.set_weights([np.zeros_like(w) for w in projection.get_weights()])
        unconditional = discriminator([image, labels]).numpy()[:, 0]
        self.assertAllClose(unconditional, np.full(10, unconditional[0]), atol=1e-6)

    def test_projection_is_the_inner_product_of_embedding_and_features(self):
        discriminator = models.projection_discriminator(width=8)
        image, labels = _batch(4)
        phi = keras.Model(discriminator.inputs, discriminator.get_layer("phi").output)([image, labels])
        embedding = discriminator.get_layer("projection").get_weights()[0]
        logits = discriminator([image, labels]).numpy()[:, 0]
        projection = discriminator.get_layer("projection")
        projection.set_weights([np.zeros_like(embedding)])
        unconditional = discriminator([image, labels]).numpy()[:, 0]
        expected = np.sum(embedding[labels] * phi.numpy(), axis=1)
        self.assertAllClose(logits - unconditional, expected, atol=1e-5)

    def test_discriminator_layers_are_spectrally_normalised(self):
        discriminator = models.projection_discriminator(width=8)
        image, labels = _batch(4)
        discriminator([image, labels], training=True)
        wrapped = [layer for layer in discriminator.layers
                   if isinstance(layer, keras.layers.SpectralNormalization)]
        self.assertLen(wrapped, 3)  # Two convolutions and psi.
        for layer in wrapped:
            kernel = layer.layer.kernel.numpy()
            matrix = kernel.reshape(-1, kernel.shape[-1])
            # One power iteration from a random start: close to, not exactly, 1.
            self.assertLess(np.linalg.norm(matrix, 2), 1.5)


class LossesTest(tf.test.TestCase):

    def test_hinge_losses(self):
        real = tf.constant([2.0, 0.5, -1.0])
        fake = tf.constant([-2.0, 0.0, 1.0])
        # relu(1 - real) = 0, 0.5, 2; relu(1 + fake) = 0, 1, 2.
        self.assertAllClose(losses.hinge_discriminator_loss(real, fake), 2.5 / 3 + 3.0 / 3)
        self.assertAllClose(losses.hinge_generator_loss(fake), 1.0 / 3)


class DiffAugmentInTrainStepTest(tf.test.TestCase):

    def test_cutout_reaches_real_and_fake_batches_of_both_steps(self):
        generator = models.build("mlp", True, 8)[0]
        spy = SpyDiscriminator()
        gan = gan_lib.ConditionalGAN(generator, spy, 8, diffaugment=("cutout",))
        images, labels = _batch(8)
        spy([images, labels])  # Built first (Keras' build traces call() once), then compiled.
        spy.seen.clear()
        gan.compile(*testing.adam_pair())
        gan.train_step((images, labels))
        # D's step sees the real batch, then the fakes; G's step its fresh fakes.
        self.assertLen(spy.seen, 3)
        for training, seen in spy.seen:
            self.assertTrue(training)
            # The real digits and tanh outputs have no exact zeros: only cutout makes them.
            self.assertTrue(np.all((seen == 0.0).sum(axis=(1, 2, 3)) > 0))
        self.assertFalse(np.allclose(spy.seen[0][1], images))

    def test_no_policy_leaves_the_batches_alone(self):
        generator = models.build("mlp", True, 8)[0]
        spy = SpyDiscriminator()
        gan = gan_lib.ConditionalGAN(generator, spy, 8)
        images, labels = _batch(8)
        spy([images, labels])  # Built first (Keras' build traces call() once), then compiled.
        spy.seen.clear()
        gan.compile(*testing.adam_pair())
        gan.train_step((images, labels))
        self.assertAllClose(spy.seen[0][1], images)


class EmaTest(tf.test.TestCase):

    def _gan(self, ema_decay=0.9):
        return train.build_gan(Options(model="dcgan_proj", latent_dim=8, loss="hinge",
                                       diffaugment="translation,cutout", ema_decay=ema_decay,
                                       fused_optimizer=False, mixed_precision="float32"))

    def test_ema_follows_the_weights_with_its_decay(self):
        gan = self._gan(0.9)
        initial = [w.numpy().copy() for w in gan.generator.weights]
        self.assertAllClose(initial[0], gan.ema_generator.weights[0])
        images, labels = _batch(8)
        gan.train_step((images, labels, testing.fixed_noise(8, 8)))
        # Step 1: decay min(0.9, 2 / 11).
        decay = 2.0 / 11.0
        for before, weight, average in zip(initial, gan.generator.weights, gan.ema_generator.weights):
            self.assertAllClose(average, decay * before + (1 - decay) * weight.numpy(), atol=1e-6)
        for _ in range(3):
            gan.train_step((images, labels, testing.fixed_noise(8, 8)))
        self.assertNotAllClose(gan.ema_generator.weights[0], gan.generator.weights[0])
        self.assertNotAllClose(gan.ema_generator.weights[0], initial[0])

    def test_samples_come_from_the_ema_generator(self):
        gan = self._gan(0.9)
        gan.ema_generator.set_weights([w * 0.5 for w in gan.generator.get_weights()])
        z, labels = np.ones((3, 8), np.float32), np.arange(3, dtype=np.int32)
        self.assertAllClose(gan.generate(z, labels), gan.ema_generator([z, labels]))
        self.assertNotAllClose(gan.generate(z, labels), gan.generator([z, labels]))

    def test_ema_decay_zero_builds_no_copy(self):
        self.assertIsNone(self._gan(0.0).ema_generator)


class DcganProjRunTest(tf.test.TestCase):

    def test_train_resume_generate_and_eval_use_the_ema_generator(self):
        data_dir = testing.write_idx_dir(os.path.join(self.get_temp_dir(), "tiny"), 40, 20)
        out = os.path.join(self.get_temp_dir(), "run")
        options = Options(output_dir=out, dataset="mnist", data_dir=data_dir, epochs=1,
                          batch_size=16, latent_dim=8, sample_interval=2, model="dcgan_proj",
                          ema_decay=0.9, diffaugment="translation,cutout,color")
        result = _quiet(train.train, options)
        self.assertEqual(result.step, 3)
        generator, model_options, _ = _quiet(generate.load_generator, out)
        self.assertEqual((model_options.model, model_options.ema_decay), ("dcgan_proj", 0.9))
        for loaded, average, raw in zip(generator.weights, result.model.ema_generator.weights,
                                        result.model.generator.weights):
            self.assertAllClose(loaded, average)
        self.assertNotAllClose(generator.weights[0], result.model.generator.weights[0])

        result = _quiet(train.train, Options(checkpoint=out, epochs=2),
                        given={"checkpoint", "epochs"})
        self.assertEqual((result.step, result.epoch), (6, 2))
        self.assertEqual(result.model.diffaugment, ("translation", "cutout", "color"))

    def test_faithful_models_refuse_the_small_data_options(self):
        out = os.path.join(self.get_temp_dir(), "refused")
        for model in ("mlp", "conv"):
            with self.assertRaisesRegex(UserError, "--loss: only for --model dcgan_proj"):
                train.train(Options(output_dir=out, model=model, loss="hinge"),
                            given={"output_dir", "model", "loss"})
        with self.assertRaisesRegex(UserError, "--diffaugment: unknown DiffAugment"):
            train.train(Options(output_dir=out, model="dcgan_proj", diffaugment="zoom"),
                        given={"output_dir", "model", "diffaugment"})

    def test_faithful_models_train_with_the_articles_recipe(self):
        for model in ("mlp", "conv"):
            gan = train.build_gan(Options(model=model, latent_dim=8))
            self.assertIsNone(gan.ema_generator)
            self.assertEqual(gan.diffaugment, ())
            self.assertIs(gan.d_loss_fn, losses.discriminator_loss)
        gan = train.build_gan(Options(model="dcgan_proj", conditional=False, latent_dim=8))
        self.assertIsNone(gan.ema_generator)


if __name__ == "__main__":
    tf.test.main()
