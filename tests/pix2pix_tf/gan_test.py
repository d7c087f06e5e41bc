import keras
import numpy as np
import tensorflow as tf

from pix2pix_tf import gan, losses, models


def tiny_model(lr=2e-4, seed=0):
    keras.utils.set_random_seed(seed)
    model = gan.Pix2Pix(models.generator(32, ngf=8), models.discriminator(32, ndf=8))
    model.compile(generator_optimizer=keras.optimizers.Adam(lr, beta_1=0.5),
                  discriminator_optimizer=keras.optimizers.Adam(lr, beta_1=0.5))
    return model


def fixed_pair(batch=1):
    rng = np.random.default_rng(1)
    inputs = rng.uniform(-1.0, 1.0, size=(batch, 32, 32, 3)).astype(np.float32)
    # A smooth target: a gradient the generator can learn in a few steps.
    ramp = np.linspace(-0.8, 0.8, 32, dtype=np.float32)
    targets = np.broadcast_to(ramp[None, :, None, None], (batch, 32, 32, 3)).copy()
    targets[..., 1] = ramp[None, None, :]
    return tf.constant(inputs), tf.constant(targets)


def kernels(network):
    return {v.path: v.numpy() for v in network.trainable_variables if "kernel" in v.path}


class TrainStepTest(tf.test.TestCase):

    def test_one_step_moves_both_networks(self):
        model = tiny_model()
        before_g, before_d = kernels(model.generator), kernels(model.discriminator)
        logs = model.train_step(fixed_pair(batch=2))
        self.assertCountEqual(logs, ["discriminator_loss", "generator_loss_GAN",
                                     "generator_loss_L1"])
        for name, value in logs.items():
            self.assertTrue(np.isfinite(float(value)), name)
        for before, network in ((before_g, model.generator), (before_d, model.discriminator)):
            after = kernels(network)
            self.assertNotEmpty(after)
            unchanged = [name for name in after if np.array_equal(after[name], before[name])]
            self.assertEqual(unchanged, [], f"{network.name} kernels that did not move")
        self.assertEqual(int(model.generator_optimizer.iterations.numpy()), 1)
        self.assertEqual(int(model.discriminator_optimizer.iterations.numpy()), 1)

    def test_l1_falls_on_a_fixed_pair(self):
        # lr 2e-3, ten times the paper's: 25 steps of 2e-4 barely move a network
        # whose dropout makes each output noisy, and the test must stay short.
        model = tiny_model(lr=2e-3)
        inputs, targets = fixed_pair()
        step = tf.function(model.train_step)

        def l1():
            # training=True as in training: batch statistics and dropout; averaged
            # over a few calls because dropout makes each output different.
            return np.mean([float(losses.l1_loss(targets, model.generator(inputs, training=True)))
                            for _ in range(4)])

        first = l1()
        for _ in range(25):
            step((inputs, targets))
        last = l1()
        self.assertLess(last, 0.6 * first)


class SmoothedLossTest(tf.test.TestCase):

    def test_first_value_exactly(self):
        for value in (3.7, 0.693147, 123.456, 1e-3):
            with self.subTest(value=value):
                tracker = gan.SmoothedLoss("loss")
                tracker.update_state(value)
                self.assertEqual(float(tracker.result()), float(np.float32(value)))

    def test_bias_corrected_average(self):
        tracker = gan.SmoothedLoss("loss", decay=0.9)
        values = [2.0, 4.0, 1.0]
        weights = []
        for i, value in enumerate(values):
            tracker.update_state(value)
            weights = [0.9 ** (i - j) for j in range(i + 1)]
            expected = np.dot(weights, values[:i + 1]) / np.sum(weights)
            self.assertAllClose(tracker.result(), expected, rtol=1e-6)

    def test_constant_losses_give_that_constant(self):
        tracker = gan.SmoothedLoss("loss")
        for _ in range(50):
            tracker.update_state(2.5)
        self.assertAllClose(tracker.result(), 2.5, rtol=1e-5)


if __name__ == "__main__":
    tf.test.main()
