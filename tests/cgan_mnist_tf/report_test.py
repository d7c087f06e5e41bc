import os

import imageio.v3 as iio
import numpy as np
import tensorflow as tf

from cgan_mnist_tf import report


class GridsTest(tf.test.TestCase):

    def test_layout_row_major_with_borders(self):
        # 6 images of 4x5 pixels, each filled with its own value, in 2 rows of 3.
        values = np.linspace(-1.0, 1.0, 6)
        images = np.ones((6, 4, 5, 1)) * values[:, None, None, None]
        grid = report.image_grid(images, rows=2)
        p = report.PADDING
        self.assertEqual(grid.shape, (2 * (4 + p) + p, 3 * (5 + p) + p))
        for i, value in enumerate(values):
            top, left = p + (i // 3) * (4 + p), p + (i % 3) * (5 + p)
            self.assertAllEqual(grid[top:top + 4, left:left + 5], np.full((4, 5), report.to_uint8(value)))
        self.assertEqual(grid[0, 0], report.BACKGROUND)

    def test_to_uint8_range(self):
        self.assertAllEqual(report.to_uint8(np.array([-1.0, 0.0, 1.0, 2.0])), [0, 128, 255, 255])

    def test_class_rows(self):
        self.assertAllEqual(report.class_rows(3, 2), [0, 0, 1, 1, 2, 2])

    def test_gif_of_the_sample_grids(self):
        folder = os.path.join(self.get_temp_dir(), "samples")
        os.makedirs(folder)
        for step in (20, 10):
            iio.imwrite(os.path.join(folder, f"step_{step:08d}.png"), np.full((8, 8), step, np.uint8))
        paths = report.sample_paths(folder)
        self.assertEqual([os.path.basename(p) for p in paths], ["step_00000010.png", "step_00000020.png"])
        gif = report.write_gif(paths, os.path.join(self.get_temp_dir(), "samples.gif"))
        frames = iio.imread(gif, index=None)
        self.assertEqual(len(frames), 2)


if __name__ == "__main__":
    tf.test.main()
