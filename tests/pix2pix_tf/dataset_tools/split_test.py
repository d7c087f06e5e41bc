import os

import tensorflow as tf

from pix2pix_tf.common.errors import UserError
from pix2pix_tf.dataset_tools import split
from tests.support import dataset_tools as testing


def quiet(*_):
    pass


class AssignTest(tf.test.TestCase):

    def test_fractions(self):
        names = [f"{i}.png" for i in range(20)]
        counts = {}
        for s in split.assign(names, 0.7, 0.1).values():
            counts[s] = counts.get(s, 0) + 1
        self.assertEqual(counts, {"train": 14, "test": 2, "val": 4})

    def test_fixed_seed_and_sort(self):
        names = [f"{i:02d}.png" for i in range(20)]
        self.assertEqual(split.assign(names), split.assign(list(reversed(names))))
        shuffled = split.assign(names)
        self.assertNotEqual([shuffled[n] for n in names], ["train"] * 16 + ["val"] * 4)
        in_order = split.assign(names, sort=True)
        self.assertEqual([in_order[n] for n in names], ["train"] * 16 + ["val"] * 4)

    def test_bad_fractions(self):
        with self.assertRaises(UserError):
            split.assign(["a.png"], 0.9, 0.2)
        with self.assertRaises(UserError):
            split.assign(["a.png"], 1.5)


class RunTest(tf.test.TestCase):

    def make_folder(self, count):
        folder = testing.temp_dir(self)
        for i in range(count):
            with open(os.path.join(folder, f"{i}.jpg"), "wb") as f:
                f.write(b"x")
        return folder

    def test_moves_files_and_second_run_does_nothing(self):
        folder = self.make_folder(10)
        self.assertEqual(split.run(folder, log=quiet), {"train": 8, "val": 2})
        self.assertLen(os.listdir(os.path.join(folder, "train")), 8)
        self.assertLen(os.listdir(os.path.join(folder, "val")), 2)
        messages = []
        self.assertEqual(split.run(folder, log=messages.append), {})
        self.assertIn("already split", messages[0])
        self.assertLen(os.listdir(os.path.join(folder, "train")), 8)

    def test_test_split(self):
        folder = self.make_folder(10)
        self.assertEqual(split.run(folder, 0.6, 0.2, log=quiet),
                         {"train": 6, "test": 2, "val": 2})

    def test_errors(self):
        with self.assertRaisesRegex(UserError, "does not exist"):
            split.run("/nonexistent/folder", log=quiet)
        with self.assertRaisesRegex(UserError, "no .png"):
            split.run(self.make_folder(0), log=quiet)
        folder = self.make_folder(3)
        os.makedirs(os.path.join(folder, "train"))
        with self.assertRaisesRegex(UserError, "both loose images"):
            split.run(folder, log=quiet)


if __name__ == "__main__":
    tf.test.main()
