"""Input pipeline: folders of A|B image pairs (or single photos for colourisation) -> tf.data.

Every image is split into A (left half) and B (right half), scaled to [-1, 1];
`which_direction` picks which one is the input. Training jitter follows the
reference: resize to scale_size (area), random crop to crop_size, random
left-right flip, the same crop and flip for input and target.
"""

from __future__ import annotations

import math
import os
import re
import stat

import numpy as np
import tensorflow as tf
from PIL import Image

from pix2pix_tf import colors
from pix2pix_tf.common import files, image_io
from pix2pix_tf.common.errors import UserError

AUTOTUNE = tf.data.AUTOTUNE
# An error message names at most this many bad files (and counts the others).
MAX_NAMED_FILES = 5


def list_image_files(input_dir: str | None, flag: str = "--input_dir") -> list[str]:
    """Image paths of `input_dir`, numerically sorted when every name is a number.
    `flag`: the option the folder came from, for the UserError messages."""
    if not input_dir:
        raise UserError(f"{flag} is required")
    if not files.isdir(input_dir):
        raise UserError(f"{flag} {input_dir} does not exist or is not a folder")
    names = [n for n in files.listdir(input_dir) if image_io.is_image_file(n)]
    if not names:
        raise UserError(f"{flag} {input_dir} holds no .png/.jpg/.jpeg images")
    stems = [os.path.splitext(n)[0] for n in names]
    if all(re.fullmatch(r"\d+", s) for s in stems):
        names.sort(key=lambda n: int(os.path.splitext(n)[0]))
    else:
        names.sort()
    return [os.path.join(input_dir, n) for n in names]


def check_image_file(path: str) -> str | None:
    """Why `path` cannot be an input image, or None if it can.

    Its name must be valid UTF-8 (TensorFlow's file names are), and the whole
    file must decode, not only its header: a truncated JPEG has a good one.
    """
    return _inspect_image(path, decode=True)[0]


def special_file(path: str) -> str | None:
    """Why `path` is not a regular file (a FIFO, socket or device, which
    reading could block on or drain), found without opening it; else None."""
    if not files.is_local(path):
        return None
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None  # Opening it says why.
    if stat.S_ISREG(mode):
        return None
    kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a file")
    return f"is {kind}, not an image file"


def _inspect_image(path, decode):
    """(why the file is unusable or None, its (width, height) or None)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return "its name is not valid UTF-8 (rename it)", None
    special = special_file(path)
    if special:
        return special, None
    try:
        with Image.open(files.readable(path)) as image:
            size = image.size
            image_io.check_pixels(*size, image_io.MAX_PIXELS)
            if decode:
                # JPEGs decode at 1/8 scale: all of the file is read, in less time.
                image.draft("RGB", (max(1, size[0] // 8), max(1, size[1] // 8)))
                image.load()
    except image_io.TooManyPixels as e:
        return f"is too large: {e}", None
    except Exception as e:  # PIL raises many kinds for a bad or truncated file.
        return f"is not a decodable image ({type(e).__name__}: {e})", None
    return None, size


def check_image_files(paths: list[str], paired: bool, decode: bool = False) -> float:
    """Checks every file before anything is written: a decodable image (its
    header; with `decode`, all of it) with a valid UTF-8 name, and for A|B
    pairs an even width, so the two halves have the same size. Every bad file
    is named in one UserError, by its bytes when its name is not UTF-8.

    Returns the median width/height ratio of the files: 2 for square A|B
    pairs, 1 for square photos; test mode compares it with training's.
    """
    bad, aspects = [], []
    for path in paths:
        reason, size = _inspect_image(path, decode)
        if reason is None and paired and size[0] % 2:
            reason = (f"is {size[0]}x{size[1]}: an A|B pair needs an even width "
                      "so that its two halves are the same size")
        if reason:
            bad.append(f"{files.printable(path)} {reason}")
        else:
            aspects.append(size[0] / size[1])
    if bad:
        shown = "; ".join(bad[:MAX_NAMED_FILES])
        more = f"; and {len(bad) - MAX_NAMED_FILES} more" if len(bad) > MAX_NAMED_FILES else ""
        count = f"{len(bad)} of the {len(paths)} images cannot be used: " if len(bad) > 1 else ""
        raise UserError(count + shown + more)
    return float(np.median(aspects))


def find_undecodable(paths: list[str]) -> str | None:
    """The first file that check_image_file() finds unusable, printable, or None:
    to name the culprit after the pipeline failed on a file that changed
    since it was checked."""
    bad = next((path for path in paths if check_image_file(path)), None)
    return None if bad is None else files.printable(bad)


def undecodable_error(paths: list[str], error: Exception) -> UserError:
    """The UserError for a tf.data decoding `error` raised while reading
    `paths`: names the file that does not decode, and TensorFlow's reason."""
    bad = find_undecodable(paths)
    reason = re.sub(r"\{\{.*?\}\}", "", error.message.splitlines()[0]).strip()
    return UserError(f"{bad or 'an image of the dataset'} could not be decoded: {reason}")


def decode(path: str | tf.Tensor) -> tf.Tensor:
    """File path -> float32 RGB image in [0, 1] (gray and RGBA become RGB)."""
    return decode_bytes(tf.io.read_file(path))


def decode_bytes(contents: tf.Tensor) -> tf.Tensor:
    """PNG/JPEG bytes -> float32 RGB image in [0, 1]."""
    image = tf.io.decode_image(contents, channels=3, expand_animations=False)
    image = tf.image.convert_image_dtype(image, tf.float32)
    image.set_shape([None, None, 3])
    return image


def split_pair(image: tf.Tensor, which_direction: str,
               lab_colorization: bool) -> tuple[tf.Tensor, tf.Tensor]:
    """RGB image in [0, 1] -> (input, target) in [-1, 1].

    A|B pairs give 3 + 3 channels; colourisation gives lightness (1 channel)
    as A and the a/b colour channels (2 channels) as B.
    """
    if lab_colorization:
        a, b = colors.lab_to_network(colors.rgb_to_lab(image))
    else:
        half = tf.shape(image)[1] // 2
        a = image[:, :half, :] * 2.0 - 1.0
        b = image[:, half:2 * half, :] * 2.0 - 1.0
    if which_direction == "AtoB":
        return a, b
    if which_direction == "BtoA":
        return b, a
    raise ValueError(f"which_direction must be AtoB or BtoA, not {which_direction!r}")


def jitter(inputs: tf.Tensor, targets: tf.Tensor, seed: tf.Tensor, scale_size: int,
           crop_size: int, flip: bool) -> tuple[tf.Tensor, tf.Tensor]:
    """Resize, random crop and random flip, identical for input and target.

    Input and target are stacked on the channel axis so that one crop and one
    flip act on both. `seed` is a stateless seed of shape [2].
    """
    channels = inputs.shape[-1]
    pair = tf.concat([inputs, targets], axis=-1)
    pair = tf.image.resize(pair, [scale_size, scale_size], method="area")
    if scale_size > crop_size:
        pair = tf.image.stateless_random_crop(
            pair, [crop_size, crop_size, pair.shape[-1]], seed=seed)
    if flip:
        pair = tf.image.stateless_random_flip_left_right(pair, seed=seed[::-1])
    return pair[..., :channels], pair[..., channels:]


def resize(image: tf.Tensor, crop_size: int) -> tf.Tensor:
    """Test-time transform: resize to crop_size without jitter."""
    return tf.image.resize(image, [crop_size, crop_size], method="area")


def steps_per_epoch(num_files: int, batch_size: int) -> int:
    return math.ceil(num_files / batch_size)


def epoch_order(paths: list[str], seed: int, epoch: int) -> list[str]:
    """The shuffled file order of one epoch, a pure function of (seed, epoch),
    so a resumed run sees the same order from the step it stopped at."""
    rng = np.random.default_rng([seed, epoch])
    return [paths[i] for i in rng.permutation(len(paths))]


def shard(paths: list[str], index: int, count: int) -> list[str]:
    """Worker `index`'s share of `paths` among `count` workers: every
    count-th file, from its index on. Each worker reads and decodes only
    these; one worker (count 1) has them all."""
    return list(paths[index::count])


def training_dataset(paths: list[str], *, seed: int, epoch: int, skip_batches: int,
                     batch_size: int, which_direction: str, lab_colorization: bool,
                     scale_size: int, crop_size: int, flip: bool,
                     cache: DecodedImages | None = None,
                     worker: tuple[int, int] = (0, 1)) -> tf.data.Dataset:
    """Batches (inputs, targets) of one training epoch, skipping the first
    `skip_batches` batches (resuming in the middle of an epoch).

    `worker`, (index, count) of the workers of a cluster: the batches are
    made of this worker's shard() of `paths` only, each epoch in its own
    order. `cache`, a DecodedImages of those files, replaces reading and
    decoding them; the images, and so the batches, are the same.
    """
    index, count = worker
    ordered = epoch_order(shard(paths, index, count), seed, epoch)[skip_batches * batch_size:]
    # Element i of a worker's epoch e jitters with seed (seed, e * N + i * count + index):
    # deterministic per run, different on each worker (one worker: e * N + i).
    first = skip_batches * batch_size
    ids = (epoch * len(paths) + np.arange(first, first + len(ordered), dtype=np.int64) * count
           + index)

    def load(example_id, source):
        image = cache.image(source) if cache is not None else decode(source)
        inputs, targets = split_pair(image, which_direction, lab_colorization)
        element_seed = tf.stack([tf.constant(seed, tf.int64), example_id])
        return jitter(inputs, targets, element_seed, scale_size, crop_size, flip)

    if cache is not None:
        ordered = cache.indices(ordered)
    ds = tf.data.Dataset.from_tensor_slices((ids, ordered))
    ds = ds.map(load, num_parallel_calls=AUTOTUNE)
    return ds.batch(batch_size).prefetch(AUTOTUNE)


def decoded_bytes(paths: list[str]) -> int:
    """Bytes of the decoded uint8 RGB pixels of `paths`, from their headers."""
    total = 0
    for path in paths:
        with Image.open(files.readable(path)) as image:
            width, height = image.size
        total += width * height * 3
    return total


class DecodedImages:
    """Every image of a dataset decoded once, full size and before any jitter,
    kept in memory as uint8 RGB (a quarter of float32's bytes).

    The pixels are one flat uint8 tensor; image i is the slice
    [offsets[i], offsets[i] + size) reshaped to shapes[i], so images of
    different sizes share it. `image()` gives exactly what `decode()` gives.
    """

    def __init__(self, paths: list[str]):
        decoded = tf.data.Dataset.from_tensor_slices(list(paths)).map(
            lambda path: tf.io.decode_image(tf.io.read_file(path), channels=3,
                                            expand_animations=False),
            num_parallel_calls=AUTOTUNE, deterministic=True)
        try:
            images = [image.numpy() for image in decoded]
        except tf.errors.InvalidArgumentError as e:
            raise undecodable_error(paths, e) from e
        shapes = np.array([image.shape for image in images], np.int64)
        sizes = np.prod(shapes, axis=1)
        self._index = {path: i for i, path in enumerate(paths)}
        self._offsets = tf.constant(np.concatenate([[0], np.cumsum(sizes)[:-1]]), tf.int64)
        self._shapes = tf.constant(shapes, tf.int64)
        self._pixels = tf.constant(np.concatenate([image.reshape(-1) for image in images]))
        self.nbytes = int(sizes.sum())

    def indices(self, paths: list[str]) -> np.ndarray:
        """Positions of `paths` in the cache, for training_dataset's elements."""
        return np.array([self._index[path] for path in paths], np.int64)

    def image(self, index: tf.Tensor) -> tf.Tensor:
        """Image `index` as float32 RGB in [0, 1], as decode() returns it."""
        start = self._offsets[index]
        size = tf.reduce_prod(self._shapes[index])
        image = tf.reshape(self._pixels[start:start + size], self._shapes[index])
        image = tf.image.convert_image_dtype(image, tf.float32)
        image.set_shape([None, None, 3])
        return image


def test_dataset(paths: list[str], *, batch_size: int, which_direction: str,
                 lab_colorization: bool, crop_size: int) -> tf.data.Dataset:
    """Batches (paths, inputs, targets) in file order, resized without jitter.

    A file that fails to decode is left out (its path is missing from the
    batches), so that one bad file does not stop a test run.
    """

    def load(path):
        inputs, targets = split_pair(decode(path), which_direction, lab_colorization)
        return path, resize(inputs, crop_size), resize(targets, crop_size)

    ds = tf.data.Dataset.from_tensor_slices(list(paths))
    ds = ds.map(load, num_parallel_calls=AUTOTUNE).ignore_errors()
    return ds.batch(batch_size).prefetch(AUTOTUNE)
