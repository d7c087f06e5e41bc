"""Small files and runs for the tests: tiny digit sets and untrained checkpoints."""

import gzip
import os
import struct

import keras
import numpy as np

from cgan_mnist_tf import idx, train
from cgan_mnist_tf import options as cgan_options
from pix2pix_tf.common import files, lifecycle
from pix2pix_tf.common import options as common_options
from tests.support.paths import REPO_ROOT, SHARED_T10K  # noqa: F401 (used by the suites)


def tiny_digits(count, seed=0):
    """`count` fake 28x28 digits: class c is a bright bar at row 2c, with noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 10
    images = rng.integers(0, 40, (count, 28, 28)).astype(np.uint8)
    for image, label in zip(images, labels):
        image[2 * label + 4:2 * label + 7, 4:24] = 255
    return images, labels.astype(np.uint8)


def encode_idx(array):
    """uint8 array -> bytes of an IDX file."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, idx.UNSIGNED_BYTE, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def write_idx(path, array, compress=None):
    """Writes an IDX file; gzip-compressed if `compress`, or if the name ends in .gz."""
    data = encode_idx(array)
    if compress or (compress is None and path.endswith(".gz")):
        data = gzip.compress(data)
    files.write_atomic(path, data)


def fixed_noise(batch_size, latent_dim, seed=0, num_classes=10):
    """A train_step noise dict (gan.NOISE_KEYS) of numpy arrays drawn from `seed`."""
    rng = np.random.default_rng(seed)
    noise = {}
    for prefix in ("d", "g"):
        noise[f"{prefix}_z"] = rng.standard_normal((batch_size, latent_dim)).astype(np.float32)
        noise[f"{prefix}_labels"] = rng.integers(0, num_classes, batch_size).astype(np.int32)
    return noise


def adam_pair():
    """Keras' Adam for D and for G, with a run's default settings."""
    return tuple(keras.optimizers.Adam(2e-4, beta_1=0.5) for _ in range(2))


def write_idx_dir(path, train_count=64, test_count=20, gzip=True):
    """A --data_dir with the four MNIST IDX files of tiny digits."""
    ext = ".gz" if gzip else ""
    for prefix, count, seed in (("train", train_count, 0), ("t10k", test_count, 1)):
        images, labels = tiny_digits(count, seed)
        write_idx(os.path.join(path, f"{prefix}-images-idx3-ubyte{ext}"), images)
        write_idx(os.path.join(path, f"{prefix}-labels-idx1-ubyte{ext}"), labels)
    return path


def untrained_run(output_dir, data_dir=None, **options):
    """A run folder (options.json and a checkpoint) of freshly initialised networks."""
    options = cgan_options.Options(dataset="mnist", data_dir=data_dir, output_dir=output_dir,
                                   **options)
    gan = train.build_gan(options)
    lifecycle.run_checkpoint(train.RECIPE, gan, output_dir, train.run_state(options, gan)).save(0)
    common_options.save_options(output_dir, options)
    return gan


def shared_t10k_files():
    """The real MNIST test files beside the repository, or None when absent."""
    images = os.path.join(SHARED_T10K, "t10k-images-idx3-ubyte.gz")
    labels = os.path.join(SHARED_T10K, "t10k-labels-idx1-ubyte.gz")
    return (images, labels) if os.path.isfile(images) and os.path.isfile(labels) else None
