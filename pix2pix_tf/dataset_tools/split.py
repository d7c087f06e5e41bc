"""Moving the images of a folder into train/, val/ and optionally test/."""

import os
import random

from pix2pix_tf.common import image_io
from pix2pix_tf.common.errors import UserError

SPLITS = ("train", "val", "test")
SEED = 0  # Fixed so that two people splitting the same folder get the same split.


def assign(names, train_frac=0.8, test_frac=0.0, sort=False, seed=SEED):
    """{name: split}: round(n*train_frac) to train, round(n*test_frac) to test, rest to val."""
    if not 0.0 <= train_frac <= 1.0 or not 0.0 <= test_frac <= 1.0:
        raise UserError("--train_frac and --test_frac must be between 0 and 1")
    if train_frac + test_frac > 1.0 + 1e-9:
        raise UserError(f"--train_frac {train_frac} + --test_frac {test_frac} is more than 1")
    order = sorted(names)
    if not sort:
        random.Random(seed).shuffle(order)
    n_train = int(round(len(order) * train_frac))
    n_test = min(int(round(len(order) * test_frac)), len(order) - n_train)
    splits = ["train"] * n_train + ["test"] * n_test
    splits += ["val"] * (len(order) - len(splits))
    return dict(zip(order, splits))


def loose_images(folder):
    return sorted(n for n in os.listdir(folder)  # Local: tools do not use TF.
                  if image_io.is_image_file(n) and os.path.isfile(os.path.join(folder, n)))


def run(folder, train_frac=0.8, test_frac=0.0, sort=False, log=print):
    """Splits `folder` in place; returns {split: count} (empty if it was already split)."""
    if not os.path.isdir(folder):
        raise UserError(f"--dir {folder} does not exist or is not a folder")
    names = loose_images(folder)
    existing = [s for s in SPLITS if os.path.isdir(os.path.join(folder, s))]
    if not names:
        if existing:
            log(f"{folder} is already split into {', '.join(existing)}; nothing to do")
            return {}
        raise UserError(f"--dir {folder} holds no .png/.jpg/.jpeg images")
    if existing:
        # A half-finished earlier split: moving the rest would skew the fractions.
        raise UserError(f"{folder} has both loose images and {', '.join(existing)}/ folders; "
                        "move the images back or finish the split by hand")
    assignment = assign(names, train_frac, test_frac, sort)
    counts = {}
    for name, split in assignment.items():
        target = os.path.join(folder, split)
        os.makedirs(target, exist_ok=True)
        os.replace(os.path.join(folder, name), os.path.join(target, name))
        counts[split] = counts.get(split, 0) + 1
    log(", ".join(f"{counts.get(s, 0)} images to {s}/" for s in SPLITS if s in counts))
    return counts
