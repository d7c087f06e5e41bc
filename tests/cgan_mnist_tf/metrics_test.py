import numpy as np
import scipy.linalg
import tensorflow as tf

from cgan_mnist_tf import metrics


class MetricsTest(tf.test.TestCase):

    def test_frechet_distance_agrees_with_sqrtm(self):
        rng = np.random.default_rng(0)
        a = rng.normal(size=(400, 6))
        b = rng.normal(0.5, 1.5, size=(300, 6))
        cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
        expected = (np.sum((a.mean(0) - b.mean(0)) ** 2)
                    + np.trace(cov_a + cov_b - 2 * np.real(scipy.linalg.sqrtm(cov_a @ cov_b))))
        self.assertAllClose(metrics.frechet_distance(a, b), expected, rtol=1e-6)

    def test_frechet_distance_of_a_set_with_itself_is_zero(self):
        a = np.random.default_rng(1).normal(size=(50, 4))
        self.assertAllClose(metrics.frechet_distance(a, a), 0.0, atol=1e-6)

    def test_frechet_distance_with_dead_features(self):
        a = np.random.default_rng(2).normal(size=(30, 5))
        a[:, 2] = 0.0  # A ReLU unit that never fires: a singular covariance.
        self.assertTrue(np.isfinite(metrics.frechet_distance(a, a + 1.0)))
        self.assertAllClose(metrics.frechet_distance(a, a + 1.0), 5.0, atol=1e-6)

    def test_conditional_and_per_class_accuracy(self):
        requested = [0, 0, 1, 1]
        predicted = [0, 1, 1, 1]
        self.assertAllClose(metrics.conditional_accuracy(predicted, requested), 0.75)
        self.assertEqual(metrics.per_class_accuracy(predicted, requested, 3), [0.5, 1.0, None])
        self.assertAllClose(metrics.class_shares(predicted, 3), [0.25, 0.75, 0.0])


if __name__ == "__main__":
    tf.test.main()
