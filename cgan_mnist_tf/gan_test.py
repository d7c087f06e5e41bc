import numpy as np
import tensorflow as tf

from cgan_mnist_tf import gan as gan_lib
from cgan_mnist_tf import models


def _snapshot(model):
    return [v.numpy().copy() for v in model.trainable_variables]


def _changed(before, model):
    return any(not np.allclose(a, b.numpy()) for a, b in zip(before, model.trainable_variables))


class ConditionalGANTest(tf.test.TestCase):

    def _gan(self, model, conditional):
        generator, discriminator = models.build(model, conditional, latent_dim=8)
        gan = gan_lib.ConditionalGAN(generator, discriminator, 8, conditional=conditional)
        gan.compile(*gan_lib.make_optimizers(), jit_compile=False)
        gan_lib.build_optimizers(gan)
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
            self.assertEqual(int(gan.g_optimizer.iterations), 1)
            self.assertEqual(int(gan.d_optimizer.iterations), 1)

    def test_fit_runs_the_compiled_step(self):
        gan = self._gan("mlp", True)
        ds = tf.data.Dataset.from_tensor_slices(
            (tf.random.uniform((8, 28, 28, 1), -1.0, 1.0), tf.range(8) % 10)).batch(4)
        history = gan.fit(ds, epochs=1, verbose=0)
        self.assertEqual(sorted(history.history), sorted(gan_lib.METRICS))
        self.assertEqual(int(gan.g_optimizer.iterations), 2)

    def test_fake_labels_are_uniform_over_the_classes(self):
        gan = self._gan("mlp", True)
        z, labels = gan.sample_inputs(5000)
        self.assertEqual(z.shape, (5000, 8))
        counts = np.bincount(labels.numpy(), minlength=10)
        self.assertEqual(len(counts), 10)
        self.assertGreater(counts.min(), 400)


if __name__ == "__main__":
    tf.test.main()
