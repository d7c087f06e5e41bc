import numpy as np
import tensorflow as tf

from pix2pix_tf import metrics


class MetricsTest(tf.test.TestCase):

    def setUp(self):
        rng = np.random.default_rng(0)
        self.a = rng.uniform(size=(2, 32, 32, 3)).astype(np.float32)
        self.b = np.clip(self.a + rng.normal(0, 0.1, self.a.shape), 0, 1).astype(np.float32)

    def test_identical_images(self):
        scores = metrics.image_metrics(self.a, self.a)
        self.assertAllClose(scores["L1"], [0.0, 0.0])
        self.assertAllClose(scores["SSIM"], [1.0, 1.0])
        self.assertAllEqual(scores["PSNR"], [100.0, 100.0])  # Capped: identical is infinite.

    def test_matches_direct_computation(self):
        scores = metrics.image_metrics(self.a, self.b)
        l1 = np.abs(self.a - self.b).mean(axis=(1, 2, 3))
        mse = ((self.a - self.b) ** 2).mean(axis=(1, 2, 3))
        self.assertAllClose(scores["L1"], l1, atol=1e-6)
        self.assertAllClose(scores["PSNR"], 10 * np.log10(1.0 / mse), atol=1e-3)
        self.assertAllClose(scores["SSIM"], tf.image.ssim(self.a, self.b, 1.0))
        self.assertAllLess(scores["SSIM"], 1.0)

    def test_average(self):
        rows = [{"L1": 0.1, "PSNR": 20.0, "SSIM": 0.5}, {"L1": 0.3, "PSNR": 30.0, "SSIM": 0.7}]
        self.assertAllClose(list(metrics.average(rows).values()), [0.2, 25.0, 0.6])


if __name__ == "__main__":
    tf.test.main()
