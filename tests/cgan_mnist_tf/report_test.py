import os

import imageio.v3 as iio
import numpy as np
import tensorflow as tf

from cgan_mnist_tf import report


class GridsTest(tf.test.TestCase):

    def test_layout_row_major_enlarged_with_borders(self):
        # 6 images of 4x5 pixels, each filled with its own value, in 2 rows of 3.
        values = np.linspace(-1.0, 1.0, 6)
        images = np.ones((6, 4, 5, 1)) * values[:, None, None, None]
        images[:, 0, 0] = -1.0  # A corner pixel, to see the enlargement.
        grid = report.image_grid(images, rows=2)
        p, s = report.PADDING, report.cell_scale(4)
        self.assertEqual(s, 14)  # Each image at least MIN_CELL (56) pixels high.
        self.assertEqual(grid.shape, (2 * (4 * s + p) + p, 3 * (5 * s + p) + p))
        for i, value in enumerate(values):
            top, left = p + (i // 3) * (4 * s + p), p + (i % 3) * (5 * s + p)
            cell = grid[top:top + 4 * s, left:left + 5 * s]
            expected = np.full((4 * s, 5 * s), report.to_uint8(value))
            expected[:s, :s] = 0  # Nearest neighbour: the corner pixel is an s x s square.
            self.assertAllEqual(cell, expected)
        self.assertEqual(grid[0, 0], report.BACKGROUND)
        self.assertEqual(report.cell_scale(28), 2)
        self.assertEqual(report.cell_scale(64), 1)

    def test_row_labels_in_a_column_at_the_left(self):
        images = -np.ones((6, 28, 28))  # Black digits: white is the labels only.
        labelled = report.image_grid(images, rows=3, row_labels=[7, 1, 4])
        plain = report.image_grid(images, rows=3)
        margin = report.label_width(56)
        self.assertEqual(labelled.shape, (plain.shape[0], plain.shape[1] + margin))
        self.assertAllEqual(labelled[:, margin:], plain)  # The cells where they were, shifted.
        row_height = 56 + report.PADDING
        cells = [labelled[r * row_height:(r + 1) * row_height, :margin] for r in range(3)]
        for cell in cells:
            self.assertGreater((cell > 200).sum(), 20)  # A glyph in every row's label cell.
        self.assertNotAllEqual(cells[0], cells[1])  # 7 is not 1, nor 1 4.
        self.assertNotAllEqual(cells[1], cells[2])
        self.assertFalse((plain > 200).any())

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
