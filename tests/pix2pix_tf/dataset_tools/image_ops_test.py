import numpy as np
import tensorflow as tf

from pix2pix_tf.common.errors import UserError
from pix2pix_tf.dataset_tools import image_ops
from tests.support import dataset_tools as testing


class GrayscaleTest(tf.test.TestCase):

    def test_three_equal_channels(self):
        out = image_ops.grayscale(testing.sample_image())
        self.assertEqual(out.shape, (48, 64, 3))
        self.assertEqual(out.dtype, np.uint8)
        self.assertAllEqual(out[:, :, 0], out[:, :, 1])
        self.assertAllEqual(out[:, :, 0], out[:, :, 2])

    def test_white_stays_white(self):
        white = np.full((4, 4, 3), 255, np.uint8)
        self.assertAllEqual(image_ops.grayscale(white), white)


class ResizeTest(tf.test.TestCase):

    def test_crop_keeps_centre(self):
        image = np.zeros((40, 60, 3), np.uint8)
        image[:, 10:50] = 200  # The centred 40x40 square.
        out = image_ops.crop_to_square(image)
        self.assertEqual(out.shape, (40, 40, 3))
        self.assertAllEqual(out, np.full((40, 40, 3), 200, np.uint8))

    def test_pad_centres_on_black(self):
        image = np.full((20, 40, 3), 100, np.uint8)
        out = image_ops.pad_to_square(image)
        self.assertEqual(out.shape, (40, 40, 3))
        self.assertAllEqual(out[10:30], image)
        self.assertEqual(out[:10].max(), 0)
        self.assertEqual(out[30:].max(), 0)

    def test_shrink_and_grow_to_size(self):
        image = testing.sample_image(48, 64)
        for size in (16, 128):
            for pad in (False, True):
                out = image_ops.resize(image, size=size, pad=pad)
                self.assertEqual(out.shape, (size, size, 3))
                self.assertEqual(out.dtype, np.uint8)

    def test_shrinking_averages_areas(self):
        # A 1-pixel checkerboard shrunk 2x must become flat grey (area, not nearest).
        board = (np.indices((8, 8)).sum(axis=0) % 2 * 255).astype(np.uint8)
        out = image_ops.scale(np.repeat(board[:, :, None], 3, axis=2), 4)
        self.assertAllClose(out, np.full((4, 4, 3), 127.5), atol=1)

    def test_bad_size(self):
        with self.assertRaises(UserError):
            image_ops.resize(testing.sample_image(), size=0)


class BlankTest(tf.test.TestCase):

    def test_centred_white_square(self):
        image = np.zeros((100, 100, 3), np.uint8)
        out = image_ops.blank(image)
        self.assertEqual(image_ops.blank_box(100, 100), (35, 35, 30))
        self.assertAllEqual(out[35:65, 35:65], np.full((30, 30, 3), 255))
        out[35:65, 35:65] = 0
        self.assertEqual(out.max(), 0)  # Nothing else changed.
        self.assertEqual(image.max(), 0)  # Input untouched.

    def test_size_preserved(self):
        out = image_ops.blank(testing.sample_image(32, 32))
        self.assertEqual(out.shape, (32, 32, 3))


class CombineTest(tf.test.TestCase):

    def test_a_left_b_right(self):
        a = np.full((8, 6, 3), 10, np.uint8)
        b = np.full((8, 6, 3), 200, np.uint8)
        out = image_ops.combine(a, b)
        self.assertEqual(out.shape, (8, 12, 3))
        self.assertAllEqual(out[:, :6], a)
        self.assertAllEqual(out[:, 6:], b)

    def test_sizes_differ_names_both(self):
        with self.assertRaisesRegex(UserError, "a.png.*b.jpg"):
            image_ops.combine(np.zeros((8, 6, 3), np.uint8), np.zeros((8, 7, 3), np.uint8),
                              "a.png", "b.jpg")


class EdgesTest(tf.test.TestCase):

    def test_binary_black_on_white(self):
        out = image_ops.edges(testing.sample_image(64, 64))
        self.assertEqual(out.shape, (64, 64, 3))
        self.assertEqual(set(np.unique(out)), {0, 255})
        self.assertAllEqual(out[:, :, 0], out[:, :, 1])
        self.assertGreater((out == 255).mean(), 0.8)  # Mostly white paper.

    def test_edges_follow_the_square_border(self):
        out = image_ops.edges(testing.square_on_white(64, (16, 16, 48, 48)))
        black = out[:, :, 0] == 0
        ys, xs = np.nonzero(black)
        self.assertGreater(len(ys), 60)  # Most of the 128-pixel perimeter.
        # Every edge pixel lies within 2 pixels of the square's border.
        dist_y = np.minimum(abs(ys - 16), abs(ys - 47))
        dist_x = np.minimum(abs(xs - 16), abs(xs - 47))
        inside = (ys > 13) & (ys < 50) & (xs > 13) & (xs < 50)
        self.assertTrue(np.all(inside & ((dist_y <= 2) | (dist_x <= 2))))
        self.assertFalse(black[30:34, 30:34].any())  # Nothing in the flat middle.

    def test_short_fragments_removed(self):
        image = np.full((64, 64, 3), 255, np.uint8)
        image[30:32, 30:32] = 0  # A speck: its edge is a short closed fragment.
        mask = image_ops.edge_mask(image, min_fragment=40)
        self.assertFalse(mask.any())

    def test_flat_image_has_no_edges(self):
        out = image_ops.edges(np.full((32, 32, 3), 128, np.uint8))
        self.assertEqual(out.min(), 255)


if __name__ == "__main__":
    tf.test.main()
