import gzip
import os

import numpy as np
import tensorflow as tf

from cgan_mnist_tf import idx
from pix2pix_tf.common.errors import UserError
from tests.support import cgan as testing


class IdxTest(tf.test.TestCase):

    def test_round_trip_plain_and_gzip(self):
        array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
        for name in ("a-idx3-ubyte", "a-idx3-ubyte.gz"):
            path = os.path.join(self.get_temp_dir(), name)
            testing.write_idx(path, array)
            self.assertAllEqual(idx.read_idx(path), array)
        with open(os.path.join(self.get_temp_dir(), "a-idx3-ubyte.gz"), "rb") as f:
            self.assertEqual(f.read(2), b"\x1f\x8b")

    def test_header_is_big_endian(self):
        self.assertEqual(testing.encode_idx(np.zeros((3,), np.uint8))[:8],
                         b"\x00\x00\x08\x01\x00\x00\x00\x03")

    def test_corrupt_magic_is_a_user_error(self):
        path = os.path.join(self.get_temp_dir(), "bad-idx3-ubyte")
        with open(path, "wb") as f:
            f.write(b"\x12\x34\x56\x78" + bytes(100))
        with self.assertRaisesRegex(UserError, "bad-idx3-ubyte is not an IDX file"):
            idx.read_idx(path)

    def test_size_disagreeing_with_header_is_a_user_error(self):
        path = os.path.join(self.get_temp_dir(), "short-idx3-ubyte.gz")
        data = testing.encode_idx(np.zeros((10, 28, 28), np.uint8))[:-5]
        with open(path, "wb") as f:
            f.write(gzip.compress(data))
        with self.assertRaisesRegex(UserError, r"announces shape \(10, 28, 28\)"):
            idx.read_idx(path)

    def test_broken_gzip_is_a_user_error(self):
        path = os.path.join(self.get_temp_dir(), "broken.gz")
        with open(path, "wb") as f:
            f.write(gzip.compress(testing.encode_idx(np.zeros((5, 5), np.uint8)))[:12])
        with self.assertRaisesRegex(UserError, "cannot read .*broken.gz"):
            idx.read_idx(path)

    def test_real_t10k_files_when_present(self):
        found = testing.shared_t10k_files()
        if not found:
            self.skipTest("../shared/data/mnist-t10k is not beside the repository")
        images, labels = idx.read_idx(found[0]), idx.read_idx(found[1])
        self.assertEqual(images.shape, (10000, 28, 28))
        self.assertEqual(labels.shape, (10000,))
        self.assertAllEqual(np.unique(labels), np.arange(10))
        self.assertEqual(labels[0], 7)  # The first test digit of MNIST is a 7.


if __name__ == "__main__":
    tf.test.main()
