import numpy as np
import tensorflow as tf

from cgan_mnist_tf import losses


class LossesTest(tf.test.TestCase):

    def test_confident_and_right_discriminator_has_small_loss(self):
        self.assertLess(float(losses.discriminator_loss(tf.fill((4, 1), 10.0), tf.fill((4, 1), -10.0))), 1e-3)

    def test_zero_logits_give_log_two(self):
        zeros = tf.zeros((5, 1))
        self.assertAllClose(losses.discriminator_loss(zeros, zeros), np.log(2.0))
        self.assertAllClose(losses.generator_loss(zeros), np.log(2.0))

    def test_generator_loss_falls_as_d_believes_fakes(self):
        self.assertLess(float(losses.generator_loss(tf.fill((2, 1), 3.0))),
                        float(losses.generator_loss(tf.fill((2, 1), -3.0))))

    def test_mean_probability(self):
        self.assertAllClose(losses.mean_probability(tf.constant([[0.0], [100.0]])), 0.75)


if __name__ == "__main__":
    tf.test.main()
