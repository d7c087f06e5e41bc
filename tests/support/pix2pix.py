"""Tiny datasets and runs for the tests of pix2pix_tf (not used at run time)."""

import contextlib
import os
import signal

import numpy as np

from pix2pix_tf import options
from pix2pix_tf.common import files, image_io


def write_pairs(directory, count=4, size=32, seed=0):
    """`count` A|B pairs of size x 2size: A a smooth pattern, B its negative."""
    files.makedirs(directory)
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    for i in range(1, count + 1):
        phase = rng.uniform(0, 2 * np.pi, 3)
        a = np.stack([np.sin(6 * x + p) * np.cos(4 * y - p) for p in phase], axis=-1)
        a = ((a + 1) * 127.5).astype(np.uint8)
        image_io.write_image(os.path.join(directory, f"{i}.png"), np.concatenate([a, 255 - a], 1))
    return directory


def tiny_options(**overrides):
    """Options of a small, fast model (crop 32, ngf/ndf 8) with quiet output."""
    values = dict(crop_size=32, ngf=8, ndf=8, max_steps=2, progress_freq=0, summary_freq=0,
                  save_freq=0, seed=1)
    values.update(overrides)
    return options.default_options(**values)


def tiny_run(root, count=2, **overrides):
    """A tiny model trained 2 steps on `count` pairs (or photos) written to
    ROOT/pairs; returns (that folder, the run folder ROOT/run)."""
    from pix2pix_tf import train

    pairs = write_pairs(os.path.join(root, "pairs"), count=count)
    run_dir = os.path.join(root, "run")
    train.train(tiny_options(input_dir=pairs, output_dir=run_dir, **overrides), log=lambda line: None)
    return pairs, run_dir


@contextlib.contextmanager
def time_limit(seconds):
    """TimeoutError in the block after `seconds` (a test that would otherwise hang)."""
    def expire(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
