import numpy as np
import tensorflow as tf
from skimage import color

from pix2pix_tf import colors


class ColorsTest(tf.test.TestCase):

    def test_round_trip_on_random_colours(self):
        rgb = np.random.default_rng(0).uniform(size=(1000, 3)).astype(np.float32)
        back = colors.lab_to_rgb(colors.rgb_to_lab(rgb))
        self.assertAllClose(back, rgb, atol=1e-3)

    def test_known_lab_values(self):
        # Reference values of CIE L*a*b* (D65) for sRGB primaries and white.
        rgb = [[1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]]
        expected = [[100.0, 0.0, 0.0], [53.24, 80.09, 67.20], [87.73, -86.18, 83.18],
                    [32.30, 79.19, -107.86], [0.0, 0.0, 0.0]]
        self.assertAllClose(colors.rgb_to_lab(np.float32(rgb)), expected, atol=0.02)

    def test_agrees_with_scikit_image(self):
        rgb = np.random.default_rng(1).uniform(size=(8, 8, 3)).astype(np.float32)
        self.assertAllClose(colors.rgb_to_lab(rgb), color.rgb2lab(rgb), atol=0.02)

    def test_network_scaling_round_trip(self):
        lab = colors.rgb_to_lab(np.random.default_rng(2).uniform(size=(4, 4, 3)).astype(np.float32))
        lightness, ab = colors.lab_to_network(lab)
        self.assertEqual(lightness.shape, (4, 4, 1))
        self.assertAllInRange(lightness, -1.0, 1.0)
        self.assertAllClose(colors.network_to_lab(lightness, ab), lab, atol=1e-4)


if __name__ == "__main__":
    tf.test.main()
