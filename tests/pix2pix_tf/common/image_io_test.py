"""The header-only size check of pix2pix_tf.common.image_io."""

import numpy as np
import tensorflow as tf

from pix2pix_tf.common import image_io
from tests.support.serving import jpeg_claiming, png_bomb

BOMB_SIDE = 12000


class ImageHeaderTest(tf.test.TestCase):

    def test_size_is_read_from_the_header_alone(self):
        self.assertEqual(image_io.image_size_from_header(png_bomb(BOMB_SIDE, BOMB_SIDE)),
                         (BOMB_SIDE, BOMB_SIDE))
        self.assertEqual(image_io.image_size_from_header(jpeg_claiming(30000, 20000)),
                         (30000, 20000))
        photo = image_io.encode(np.zeros((5, 7, 3), np.uint8))
        self.assertEqual(image_io.image_size_from_header(photo), (7, 5))
        for data in (b"not an image", photo[:12], b""):
            with self.assertRaises(ValueError):
                image_io.image_size_from_header(data)

    def test_check_pixels_names_the_size_and_the_limit(self):
        image_io.check_pixels(4000, 4000, 16_000_000)
        with self.assertRaisesRegex(image_io.TooManyPixels, r"12000x12000.*16 megapixels"):
            image_io.check_pixels(BOMB_SIDE, BOMB_SIDE, 16_000_000)


if __name__ == "__main__":
    tf.test.main()
