import unittest

import keras
import numpy as np
import tensorflow as tf

from cgan_mnist_tf import gan as gan_lib
from cgan_mnist_tf import models
from pix2pix_tf.common import options as common_options
from tests.support import cgan as testing
from tests.support import hardware


def _snapshot(model):
    return [v.numpy().copy() for v in model.trainable_variables]


def _changed(before, model):
    return any(not np.allclose(a, b.numpy()) for a, b in zip(before, model.trainable_variables))


class ConditionalGANTest(tf.test.TestCase):

    def _gan(self, model, conditional):
        generator, discriminator = models.build(model, conditional, latent_dim=8)
        gan = gan_lib.ConditionalGAN(generator, discriminator, 8, conditional=conditional)
        gan.compile(*testing.adam_pair(), jit_compile=False)
        return gan

    def test_one_train_step_changes_both_networks(self):
        for model, conditional in (("mlp", True), ("conv", True), ("mlp", False)):
            gan = self._gan(model, conditional)
            size = models.output_shape(model, conditional)[0]
            images = tf.random.uniform((6, size, size, 1), -1.0, 1.0)
            labels = tf.constant([0, 1, 2, 3, 4, 5], tf.int32)
            g_before, d_before = _snapshot(gan.generator), _snapshot(gan.discriminator)
            logs = gan.train_step((images, labels))
            self.assertTrue(_changed(g_before, gan.generator), msg=model)
            self.assertTrue(_changed(d_before, gan.discriminator), msg=model)
            self.assertEqual(set(logs), set(gan_lib.METRICS))
            for name in ("d_x", "d_g_z"):
                self.assertAllInRange(logs[name], 0.0, 1.0)
            self.assertEqual(int(gan.generator_optimizer.iterations), 1)
            self.assertEqual(int(gan.discriminator_optimizer.iterations), 1)

    def test_fit_runs_the_compiled_step(self):
        gan = self._gan("mlp", True)
        ds = tf.data.Dataset.from_tensor_slices(
            (tf.random.uniform((8, 28, 28, 1), -1.0, 1.0), tf.range(8) % 10)).batch(4)
        history = gan.fit(ds, epochs=1, verbose=0)
        self.assertEqual(sorted(history.history), sorted(gan_lib.METRICS))
        self.assertEqual(int(gan.generator_optimizer.iterations), 2)

    def test_fake_labels_are_uniform_over_the_classes(self):
        gan = self._gan("mlp", True)
        z, labels = gan.sample_inputs(5000)
        self.assertEqual(z.shape, (5000, 8))
        counts = np.bincount(labels.numpy(), minlength=10)
        self.assertEqual(len(counts), 10)
        self.assertGreater(counts.min(), 400)


if __name__ == "__main__":
    tf.test.main()


def _step_results(options, source, batch, steps=2):
    """Logs of `steps` training steps (as a run calls them) of a GAN built
    for `options` with the weights of `source`, and its weights afterwards."""
    from cgan_mnist_tf import train
    from pix2pix_tf.common import lifecycle

    gan = train.build_gan(options, dropout=False)
    gan.generator.set_weights(source.generator.get_weights())
    gan.discriminator.set_weights(source.discriminator.get_weights())
    run_steps = lifecycle.make_steps(gan, options.jit_compile, tf.distribute.get_strategy())
    iterator = iter(tf.data.Dataset.from_tensors(batch).repeat())
    logs = [{k: float(v) for k, v in run_steps(iterator, 1)[0].items()} for _ in range(steps)]
    return logs, gan.generator.get_weights() + gan.discriminator.get_weights()


class SpeedFlagsTest(tf.test.TestCase):
    """--jit_compile, --fused_optimizer and --mixed_precision bfloat16/float16
    train the same model: the same losses as the plain float32 step from the same weights on the same
    batch and noise. The noise is given with the batch and the discriminator
    built without dropout, as the compilers draw different random numbers
    (XLA's stateful generators are not TensorFlow's; dropout masks differ)."""

    def test_xla_and_low_precision_steps_match_the_plain_step(self):
        from cgan_mnist_tf import options as cgan_options
        from cgan_mnist_tf import train

        options = cgan_options.Options(model="mlp", latent_dim=8, batch_size=16,
                                       fused_optimizer=False, mixed_precision="float32",
                                       jit_compile=False)
        source = train.build_gan(options, dropout=False)
        rng = np.random.default_rng(0)
        batch = (rng.uniform(-1, 1, (16, 28, 28, 1)).astype(np.float32),
                 (np.arange(16) % 10).astype(np.int32), testing.fixed_noise(16, 8, seed=1))
        plain, plain_weights = _step_results(options, source, batch)
        xla, xla_weights = _step_results(common_options.replace(options, jit_compile=True), source, batch)
        # The fused optimizer is compared on the unconditional GAN: it has no
        # label embedding, whose sparse gradient (repeated labels) Keras' Adam
        # squares slice by slice, while the fused kernel squares the summed
        # gradient (Adam's formula); so with embeddings the two rightly differ.
        plain_gan = common_options.replace(options, conditional=False)
        source_plain_gan = train.build_gan(plain_gan, dropout=False)
        unfused, unfused_weights = _step_results(plain_gan, source_plain_gan, batch)
        fused, fused_weights = _step_results(common_options.replace(plain_gan, fused_optimizer=True),
                                             source_plain_gan, batch)
        low = {"float16": _step_results(common_options.replace(
            options, mixed_precision="float16"), source, batch)[0]}
        if not hardware.bfloat16_blocked():
            low["bfloat16"] = _step_results(common_options.replace(
                options, mixed_precision="bfloat16"), source, batch)[0]
        for step in range(2):
            for name in gan_lib.METRICS:
                self.assertAllClose(fused[step][name], unfused[step][name], rtol=1e-5, atol=1e-6,
                                    msg=f"fused step {step} {name}")
                self.assertAllClose(xla[step][name], plain[step][name], rtol=1e-4, atol=1e-5,
                                    msg=f"xla step {step} {name}")
                # bfloat16 keeps 8 bits of mantissa: about 2-3 significant
                # digits; float16 (under loss scaling) 11.
                for dtype, results in low.items():
                    self.assertAllClose(results[step][name], plain[step][name], rtol=3e-2,
                                        atol=1e-2, msg=f"{dtype} step {step} {name}")
        # Adam moves each weight by about lr whatever the gradient's size, so a
        # weight whose true gradient is 0 (a bias before batch norm) follows the
        # sign of float noise, which differs between kernels: such weights may
        # differ by up to one update per step. Everything else must agree.
        lr, steps = options.lr, 2
        pairs = list(zip(xla_weights, plain_weights)) + list(zip(fused_weights, unfused_weights))
        for other, c in pairs:
            difference = np.abs(other - c)
            self.assertLessEqual(difference.max(), 2 * lr * steps + 1e-6)
            close = difference <= 1e-5 + 1e-4 * np.abs(c)
            self.assertGreaterEqual(close.mean(), 0.99)

    @unittest.skipIf(hardware.bfloat16_blocked(), hardware.BFLOAT16_BLOCKED_REASON)
    def test_bfloat16_computes_in_bfloat16_with_float32_weights_and_logits(self):
        from cgan_mnist_tf import options as cgan_options
        from cgan_mnist_tf import train

        options = cgan_options.Options(**{"latent_dim": 8, "mixed_precision": "bfloat16"})
        for model in ("mlp", "conv"):
            gan = train.build_gan(common_options.replace(options, model=model))
            self.assertTrue(all(v.dtype == "float32" for v in gan.generator.weights))
            dense = [layer for layer in gan.generator.layers if "dense" in layer.name
                     or "conv" in layer.name]
            self.assertEqual(dense[0].compute_dtype, "bfloat16")
            size = models.output_shape(model, True)[0]
            logits = gan.discriminate(tf.zeros((2, size, size, 1)), tf.constant([1, 2]))
            self.assertEqual(logits.dtype, tf.float32)
            self.assertEqual(gan.generate(tf.zeros((2, 8)), tf.constant([1, 2])).dtype, tf.float32)
        self.assertEqual(keras.config.dtype_policy().name, "float32")  # Left as it was.
