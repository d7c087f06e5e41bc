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


    def test_mean_pairwise_distance_by_hand(self):
        # Pairs of (0,0), (3,4), (6,8): distances 5, 10, 5.
        self.assertAllClose(metrics.mean_pairwise_distance([[0, 0], [3, 4], [6, 8]]), 20.0 / 3)
        self.assertEqual(metrics.mean_pairwise_distance([[1.0, 2.0]]), 0.0)

    def test_collapsed_generator_scores_low_diversity(self):
        rng = np.random.default_rng(3)
        labels = np.repeat(np.arange(10), 20)
        real = rng.normal(size=(200, 16)) + labels[:, None]
        # One identical sample per class: recognisable, but collapsed.
        collapsed = np.repeat(rng.normal(size=(10, 16)), 20, axis=0)
        real_mean, real_per_class = metrics.intra_class_diversity(real, labels)
        fake_mean, fake_per_class = metrics.intra_class_diversity(collapsed, labels)
        self.assertAllClose(fake_mean, 0.0, atol=1e-6)
        self.assertGreater(real_mean, 4.0)  # ~sqrt(2 * 16) for unit Gaussians.
        self.assertLen(real_per_class, 10)
        self.assertAllClose(fake_per_class, [0.0] * 10, atol=1e-6)

    def test_diversity_skips_classes_with_fewer_than_two_images(self):
        mean, per_class = metrics.intra_class_diversity([[0.0], [2.0], [5.0]], [1, 1, 4], 5)
        self.assertEqual(per_class, [None, 2.0, None, None, None])
        self.assertEqual(mean, 2.0)

    def test_balanced_sample_takes_up_to_per_class_of_each(self):
        labels = np.array([0] * 5 + [1] * 2 + [2] * 7)
        chosen = metrics.balanced_sample(labels, 3, seed=1, num_classes=3)
        self.assertEqual(np.bincount(labels[chosen]).tolist(), [3, 2, 3])
        self.assertLen(set(chosen.tolist()), 8)

if __name__ == "__main__":
    tf.test.main()
