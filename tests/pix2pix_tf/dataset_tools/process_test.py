import io
import os

import numpy as np
import tensorflow as tf

from pix2pix_tf.common import image_io
from pix2pix_tf.common.errors import UserError
from pix2pix_tf.dataset_tools import process
from tests.support import dataset_tools as testing


def quiet(*_):
    pass


class ProcessTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        root = testing.temp_dir(self)
        self.input_dir = os.path.join(root, "in")
        self.output_dir = os.path.join(root, "out")
        self.b_dir = os.path.join(root, "b")
        os.makedirs(self.input_dir)
        os.makedirs(self.b_dir)
        for i in range(3):
            image_io.write_image(os.path.join(self.input_dir, f"{i}.jpg"),
                                 testing.sample_image(30, 40, seed=i))

    def run_op(self, operation, **kwargs):
        return process.run(self.input_dir, self.output_dir, operation, log=quiet,
                           stream=io.StringIO(), **kwargs)

    def outputs(self):
        return sorted(os.listdir(self.output_dir))

    def test_resize_writes_pngs_named_after_inputs(self):
        self.assertEqual(self.run_op("resize", size=16), (3, 0))
        self.assertEqual(self.outputs(), ["0.png", "1.png", "2.png"])
        out = image_io.read_rgb(os.path.join(self.output_dir, "1.png"))
        self.assertEqual(out.shape, (16, 16, 3))

    def test_existing_outputs_are_skipped(self):
        self.run_op("grayscale")
        os.remove(os.path.join(self.output_dir, "1.png"))
        messages = []
        written, skipped = process.run(self.input_dir, self.output_dir, "grayscale",
                                       log=messages.append, stream=io.StringIO())
        self.assertEqual((written, skipped), (1, 2))
        self.assertIn("skipping 2 images", messages[0])

    def test_combine_pairs_by_name_across_extensions(self):
        for i in range(3):
            b = np.full((30, 40), 50 * i, np.uint8)  # Grayscale B files become RGB.
            image_io.write_image(os.path.join(self.b_dir, f"{i}.png"), b)
        self.run_op("combine", b_dir=self.b_dir)
        out = image_io.read_rgb(os.path.join(self.output_dir, "2.png"))
        self.assertEqual(out.shape, (30, 80, 3))
        self.assertAllEqual(out[:, 40:], np.full((30, 40, 3), 100))

    def test_combine_rgba_b(self):
        for i in range(3):
            rgba = np.full((30, 40, 4), 200, np.uint8)
            image_io.write_image(os.path.join(self.b_dir, f"{i}.png"), rgba)
        self.run_op("combine", b_dir=self.b_dir)
        self.assertEqual(image_io.read_rgb(os.path.join(self.output_dir, "0.png")).shape,
                         (30, 80, 3))

    def test_combine_size_mismatch_names_both_files(self):
        for i in range(3):
            image_io.write_image(os.path.join(self.b_dir, f"{i}.png"), np.zeros((30, 41, 3), np.uint8))
        with self.assertRaisesRegex(UserError, r"0\.jpg.*0\.png.*sizes differ"):
            self.run_op("combine", b_dir=self.b_dir)

    def test_combine_missing_partner(self):
        image_io.write_image(os.path.join(self.b_dir, "0.png"), np.zeros((30, 40, 3), np.uint8))
        with self.assertRaisesRegex(UserError, "no image named 1"):
            self.run_op("combine", b_dir=self.b_dir)

    def test_combine_needs_b_dir(self):
        with self.assertRaisesRegex(UserError, "--b_dir"):
            self.run_op("combine")

    def test_missing_and_empty_input_dir(self):
        with self.assertRaisesRegex(UserError, "does not exist"):
            process.run(self.input_dir + "-nope", self.output_dir, "blank", log=quiet)
        with self.assertRaisesRegex(UserError, "no .png"):
            process.run(self.b_dir, self.output_dir, "blank", log=quiet)

    def test_undecodable_file(self):
        with open(os.path.join(self.input_dir, "3.png"), "wb") as f:
            f.write(b"not a png")
        with self.assertRaisesRegex(UserError, "3.png is not a decodable image"):
            self.run_op("blank")

    def test_workers_give_same_result(self):
        self.run_op("edges", workers=2)
        parallel = [image_io.read_rgb(os.path.join(self.output_dir, n)) for n in self.outputs()]
        serial = [process.apply("edges", image_io.read_rgb(os.path.join(self.input_dir, f"{i}.jpg")))
                  for i in range(3)]
        for a, b in zip(parallel, serial):
            self.assertAllEqual(a, b)

    def test_progress_is_reported(self):
        stream = io.StringIO()
        process.run(self.input_dir, self.output_dir, "blank", log=quiet, stream=stream)
        self.assertIn("3/3 done", stream.getvalue())
        self.assertIn("images/sec", stream.getvalue())
        self.assertIn("remaining", stream.getvalue())


if __name__ == "__main__":
    tf.test.main()
