"""Small photo-like images for the tests of this package (not used at run time)."""

import shutil
import tempfile

import numpy as np


def sample_image(height=48, width=64, seed=0):
    """A smooth colour gradient with a bright disc and mild noise, uint8 HxWx3."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.stack([x / width * 120 + 40, y / height * 100 + 50,
                      np.full_like(x, 90.0)], axis=2)
    disc = (y - height / 2) ** 2 + (x - width / 2) ** 2 < (min(height, width) / 4) ** 2
    image[disc] = (220, 210, 180)
    image += rng.normal(0, 3, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def square_on_white(size=64, box=(16, 16, 48, 48)):
    """A black square on white: the expected edges lie on its border."""
    image = np.full((size, size, 3), 255, dtype=np.uint8)
    top, left, bottom, right = box
    image[top:bottom, left:right] = 0
    return image


def temp_dir(test_case):
    """A fresh folder removed after the test (absl's create_tempdir needs parsed flags)."""
    path = tempfile.mkdtemp(prefix="dataset_tools_test_")
    test_case.addCleanup(shutil.rmtree, path, ignore_errors=True)
    return path
