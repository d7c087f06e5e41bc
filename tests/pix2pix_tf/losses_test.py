import numpy as np
import tensorflow as tf

from pix2pix_tf import losses


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


class LossesTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        rng = np.random.default_rng(0)
        self.real = rng.uniform(-8.0, 8.0, size=(2, 30, 30, 1))
        self.fake = rng.uniform(-8.0, 8.0, size=(2, 30, 30, 1))

    def test_discriminator_loss_equals_log_formula(self):
        expected = np.mean(-np.log(sigmoid(self.real))) + np.mean(-np.log(1.0 - sigmoid(self.fake)))
        loss = losses.discriminator_loss(tf.constant(self.real, tf.float32),
                                         tf.constant(self.fake, tf.float32))
        self.assertAllClose(loss, expected, rtol=1e-5)

    def test_generator_gan_loss_equals_log_formula(self):
        expected = np.mean(-np.log(sigmoid(self.fake)))
        self.assertAllClose(losses.generator_gan_loss(tf.constant(self.fake, tf.float32)),
                            expected, rtol=1e-5)

    def test_extreme_logits_stay_finite(self):
        extreme = tf.constant([[100.0, -100.0]])
        d_loss = losses.discriminator_loss(extreme, extreme)
        g_loss = losses.generator_gan_loss(extreme)
        self.assertTrue(np.isfinite(d_loss.numpy()))
        self.assertTrue(np.isfinite(g_loss.numpy()))
        # -log(sigmoid(-100)) = 100 and -log(sigmoid(100)) ~ 0, averaged.
        self.assertAllClose(g_loss, 50.0, rtol=1e-5)
        self.assertAllClose(d_loss, 100.0, rtol=1e-5)
        # Perfect discriminator: both terms vanish without becoming NaN.
        self.assertAllClose(losses.discriminator_loss(tf.constant([100.0]), tf.constant([-100.0])),
                            0.0, atol=1e-6)
        with tf.GradientTape() as tape:
            tape.watch(extreme)
            loss = losses.discriminator_loss(extreme, extreme) + losses.generator_gan_loss(extreme)
        self.assertTrue(np.all(np.isfinite(tape.gradient(loss, extreme).numpy())))

    def test_l1_loss(self):
        targets = tf.constant([[1.0, -1.0], [0.5, 0.0]])
        outputs = tf.constant([[0.0, -1.0], [1.0, 0.25]])
        self.assertAllClose(losses.l1_loss(targets, outputs), (1.0 + 0.0 + 0.5 + 0.25) / 4)


if __name__ == "__main__":
    tf.test.main()
