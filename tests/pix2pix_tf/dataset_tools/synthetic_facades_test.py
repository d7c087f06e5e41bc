import io
import os

import numpy as np
import tensorflow as tf

from pix2pix_tf.common import image_io
from pix2pix_tf.common.errors import UserError
from pix2pix_tf.dataset_tools import synthetic_facades as sf
from tests.support import dataset_tools as testing


def quiet(*_):
    pass


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


class PairTest(tf.test.TestCase):

    def test_shape_and_palette(self):
        image = sf.pair(seed=0, split_id=0, index=1)
        self.assertEqual(image.shape, (256, 512, 3))
        self.assertEqual(image.dtype, np.uint8)
        labels = image[:, 256:].reshape(-1, 3)
        colours = {tuple(c) for c in np.unique(labels, axis=0)}
        self.assertTrue(colours <= {tuple(c) for c in sf.PALETTE})
        for cls in (sf.BACKGROUND, sf.WALL, sf.WINDOW, sf.CORNICE):
            self.assertIn(tuple(sf.PALETTE[cls]), colours)

    def test_facade_structure(self):
        for index in range(1, 6):
            labels, _ = sf.layout(np.random.default_rng(index))
            # A door at street level, windows above, cornice near the top.
            self.assertTrue((labels[-20:] == sf.DOOR).any())
            self.assertTrue((labels[:128] == sf.WINDOW).any())
            cornice_rows = np.nonzero((labels == sf.CORNICE).any(axis=1))[0]
            self.assertLess(cornice_rows.max(), 60)

    def test_photo_depends_on_labels(self):
        # Windows and wall look different in the photo: BtoA has signal to learn.
        for index in range(1, 6):
            image = sf.pair(seed=3, split_id=0, index=index)
            labels, _ = sf.layout(np.random.default_rng([3, 0, index]))
            photo = image[:, :256].astype(float)
            window = photo[labels == sf.WINDOW].mean(axis=0)
            wall = photo[labels == sf.WALL].mean(axis=0)
            self.assertGreater(np.abs(window - wall).sum(), 40)

    def test_deterministic_and_seed_dependent(self):
        self.assertAllEqual(sf.pair(5, 0, 7), sf.pair(5, 0, 7))
        self.assertNotAllEqual(sf.pair(5, 0, 7), sf.pair(6, 0, 7))
        self.assertNotAllEqual(sf.pair(5, 0, 7), sf.pair(5, 1, 7))


class GenerateTest(tf.test.TestCase):

    def generate(self, folder, count=8, seed=0, log=quiet):
        return sf.generate(folder, count=count, seed=seed, stream=io.StringIO(), log=log)

    def test_layout_on_disk(self):
        root = testing.temp_dir(self)
        path = self.generate(root)
        self.assertEqual(sorted(os.listdir(root)), [sf.NAME])  # No temp folder left.
        self.assertEqual(sorted(os.listdir(os.path.join(path, "train")), key=lambda n: int(n[:-4])),
                         [f"{i}.jpg" for i in range(1, 9)])
        self.assertEqual(sorted(os.listdir(os.path.join(path, "val"))), ["1.jpg", "2.jpg"])
        image = image_io.read_rgb(os.path.join(path, "val", "2.jpg"))
        self.assertEqual(image.shape, (256, 512, 3))

    def test_same_seed_gives_identical_bytes(self):
        a = self.generate(testing.temp_dir(self), count=4)
        b = self.generate(testing.temp_dir(self), count=4)
        for split, n in (("train", 4), ("val", 1)):
            for i in range(1, n + 1):
                name = os.path.join(split, f"{i}.jpg")
                self.assertEqual(read_bytes(os.path.join(a, name)), read_bytes(os.path.join(b, name)))
        c = self.generate(testing.temp_dir(self), count=4, seed=1)
        self.assertNotEqual(read_bytes(os.path.join(a, "train", "1.jpg")),
                            read_bytes(os.path.join(c, "train", "1.jpg")))

    def test_second_run_does_nothing(self):
        root = testing.temp_dir(self)
        path = self.generate(root, count=4)
        before = os.stat(os.path.join(path, "train", "1.jpg")).st_mtime_ns
        messages = []
        self.generate(root, count=4, log=messages.append)
        self.assertIn("already exists and is complete", messages[0])
        self.assertEqual(os.stat(os.path.join(path, "train", "1.jpg")).st_mtime_ns, before)

    def test_incomplete_or_different_folder_is_not_overwritten(self):
        root = testing.temp_dir(self)
        path = self.generate(root, count=4)
        with self.assertRaisesRegex(UserError, "not a complete dataset"):
            self.generate(root, count=8)
        os.remove(os.path.join(path, "train", "2.jpg"))
        with self.assertRaisesRegex(UserError, "delete it"):
            self.generate(root, count=4)

    def test_interrupted_generation_leaves_nothing(self):
        root = testing.temp_dir(self)
        original = sf.pair

        def failing_pair(seed, split_id, index, size=sf.SIZE):
            if index == 3:
                raise KeyboardInterrupt
            return original(seed, split_id, index, size)

        sf.pair = failing_pair
        self.addCleanup(setattr, sf, "pair", original)
        with self.assertRaises(KeyboardInterrupt):
            self.generate(root, count=4)
        self.assertEqual(os.listdir(root), [])

    def test_bad_count(self):
        with self.assertRaises(UserError):
            self.generate(testing.temp_dir(self), count=0)


if __name__ == "__main__":
    tf.test.main()
