import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf
from PIL import Image

from pix2pix_tf import colors, predict
from pix2pix_tf.common import image_io
from pix2pix_tf.common.errors import UserError
from tests.support import pix2pix as testing


def quiet(*args):
    pass


def write(path, pixels, extension=None):
    with open(path, "wb") as f:
        f.write(image_io.encode(pixels, extension or os.path.splitext(path)[1]))
    return path


def pixels(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def read(path):
    with Image.open(path) as image:
        image.load()  # The pixels stay readable once the file is closed.
    return image


class PredictTest(tf.test.TestCase):
    """A tiny pair model without dropout: outputs are deterministic, batch
    norm still uses batch statistics (the paper's test-time mode)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = tempfile.mkdtemp(prefix="predict_test_")
        _, cls.run_dir = testing.tiny_run(cls.root, dropout=False)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)
        super().tearDownClass()

    def folder(self, name):
        path = os.path.join(self.get_temp_dir(), name)
        os.makedirs(path, exist_ok=True)
        return path

    def predict(self, input_dir, output_dir, log=quiet, **overrides):
        return predict.predict(testing.tiny_options(mode="predict", checkpoint=self.run_dir,
                                                    input_dir=input_dir, output_dir=output_dir,
                                                    **overrides), log=log)

    def test_mixed_folder_written_at_each_size_bad_files_named_and_skipped(self):
        inputs, out = self.folder("mixed"), os.path.join(self.get_temp_dir(), "mixed_out")
        write(os.path.join(inputs, "gray.png"), pixels((23, 37)))
        write(os.path.join(inputs, "rgba.png"), pixels((50, 70, 4), 1))
        write(os.path.join(inputs, "photo.jpg"), pixels((96, 64, 3), 2))
        write(os.path.join(inputs, "tiny.png"), pixels((5, 9, 3), 3))
        good_jpeg = image_io.encode(pixels((40, 40, 3), 4), ".jpg")
        with open(os.path.join(inputs, "truncated.jpg"), "wb") as f:
            f.write(good_jpeg[:len(good_jpeg) // 2])
        with open(os.path.join(inputs, "notes.png"), "w") as f:
            f.write("not an image")
        with open(os.path.join(os.fsencode(inputs), b"caf\xe9.png"), "wb") as f:
            f.write(image_io.encode(pixels((8, 8, 3))))
        messages = []

        result = self.predict(inputs, out, log=messages.append)

        sizes = {name: read(os.path.join(out, name + ".png")).size
                 for name in ("gray", "rgba", "photo", "tiny")}
        self.assertEqual(sizes, {"gray": (37, 23), "rgba": (70, 50), "photo": (64, 96), "tiny": (9, 5)})
        self.assertEqual({read(os.path.join(out, n + ".png")).mode for n in sizes}, {"RGB"})
        self.assertEqual(result["count"], 4)
        self.assertEqual(set(result["skipped"]), {
            os.path.join(inputs, "truncated.jpg"), os.path.join(inputs, "notes.png"),
            repr(os.path.join(os.fsencode(inputs), b"caf\xe9.png"))})
        self.assertIn("not valid UTF-8", result["skipped"][
            repr(os.path.join(os.fsencode(inputs), b"caf\xe9.png"))])
        for bad in result["skipped"]:
            self.assertTrue(any(m.startswith(f"skipped {bad}: ") for m in messages), messages)
        self.assertIn("skipped 3 bad files (named above)", messages)
        self.assertEqual(sorted(os.listdir(out)),
                         ["gray.png", "index.html", "photo.png", "rgba.png", "tiny.png"])
        with open(os.path.join(out, "index.html")) as f:
            page = f.read()
        self.assertEqual(page.count("<tr>") - 1, 4)
        self.assertIn("<img src='../mixed/photo.jpg'>", page)
        self.assertIn("<img src='photo.png'>", page)

    def test_single_file_and_jpeg_output(self):
        inputs = self.folder("single")
        photo = write(os.path.join(inputs, "a b#1.png"), pixels((33, 65, 3)))
        out = os.path.join(self.get_temp_dir(), "single_out")
        result = self.predict(photo, out, output_filetype="jpeg")
        image = read(os.path.join(out, "a b#1.jpg"))
        self.assertEqual((image.format, image.size), ("JPEG", (65, 33)))
        self.assertEqual(result["outputs"], {photo: os.path.join(out, "a b#1.jpg")})
        with open(os.path.join(out, "index.html")) as f:
            self.assertIn("src='a%20b%231.jpg'", f.read())

    def test_an_image_gives_the_same_output_alone_and_among_four(self):
        many, alone = self.folder("many"), self.folder("alone")
        for i in range(4):
            write(os.path.join(many, f"{i}.png"), pixels((40 + 4 * i, 48, 3), 10 + i))
        shutil.copy(os.path.join(many, "0.png"), alone)
        self.predict(many, os.path.join(self.get_temp_dir(), "many_out"))
        self.predict(alone, os.path.join(self.get_temp_dir(), "alone_out"))
        with open(os.path.join(self.get_temp_dir(), "many_out", "0.png"), "rb") as f:
            among_four = f.read()
        with open(os.path.join(self.get_temp_dir(), "alone_out", "0.png"), "rb") as f:
            self.assertEqual(f.read(), among_four)

    def test_transparent_pixels_are_white(self):
        inputs = self.folder("alpha")
        write(os.path.join(inputs, "clear.png"), np.zeros((32, 32, 4), np.uint8))
        write(os.path.join(inputs, "white.png"), np.full((32, 32, 3), 255, np.uint8))
        out = os.path.join(self.get_temp_dir(), "alpha_out")
        self.predict(inputs, out)
        self.assertAllEqual(np.asarray(read(os.path.join(out, "clear.png"))),
                            np.asarray(read(os.path.join(out, "white.png"))))

    def test_names_that_differ_by_extension_do_not_overwrite_each_other(self):
        inputs = self.folder("same_stem")
        write(os.path.join(inputs, "x.png"), pixels((32, 32, 3)))
        write(os.path.join(inputs, "x.jpg"), pixels((32, 32, 3), 1))
        out = os.path.join(self.get_temp_dir(), "same_stem_out")
        self.predict(inputs, out)
        self.assertEqual(sorted(os.listdir(out)), ["index.html", "x_jpg.png", "x_png.png"])

    def test_special_files_and_huge_images_are_skipped_unopened(self):
        folder = self.folder("special")
        write(os.path.join(folder, "0.png"), pixels((20, 30, 3)))
        os.mkfifo(os.path.join(folder, "1.png"))  # Opening it would wait for a writer.
        huge = Image.new("L", (5000, 4000))  # 20 megapixels, a few KB as a PNG.
        huge.save(os.path.join(folder, "2.png"))
        lines = []
        with testing.time_limit(120):
            result = self.predict(folder, os.path.join(self.get_temp_dir(), "special_out"),
                                  log=lines.append)
        self.assertEqual(result["count"], 1)
        self.assertCountEqual(result["skipped"], [os.path.join(folder, "1.png"),
                                                  os.path.join(folder, "2.png")])
        self.assertIn(f"skipped {os.path.join(folder, '1.png')}: is a FIFO, not an image file",
                      lines)
        self.assertTrue(any("2.png: is too large: the image is 5000x4000" in line
                            for line in lines), lines)

    def test_bad_requests_are_one_error(self):
        inputs = self.folder("bad")
        write(os.path.join(inputs, "1.png"), pixels((32, 32, 3)))
        with self.assertRaisesRegex(UserError, "is the folder of the input images"):
            self.predict(inputs, inputs)
        with self.assertRaisesRegex(UserError, "does not exist"):
            self.predict(os.path.join(inputs, "missing"), os.path.join(self.get_temp_dir(), "o"))
        only_bad = self.folder("only_bad")
        with open(os.path.join(only_bad, "1.png"), "w") as f:
            f.write("text")
        with self.assertRaisesRegex(UserError, "no image of --input_dir .* can be decoded"):
            self.predict(only_bad, os.path.join(self.get_temp_dir(), "o2"))
        self.assertFalse(os.path.exists(os.path.join(self.get_temp_dir(), "o2")))


class ColourisePredictTest(tf.test.TestCase):

    def test_the_coloured_photo_is_full_size_with_the_input_lightness(self):
        root = self.get_temp_dir()
        _, run_dir = testing.tiny_run(root, lab_colorization=True)
        inputs = os.path.join(root, "inputs")
        os.makedirs(inputs)
        y, x = np.mgrid[0:90, 0:150]
        photo = np.stack([x * 255 // 150, y * 255 // 90, np.full_like(x, 128)], -1).astype(np.uint8)
        write(os.path.join(inputs, "big.png"), photo)
        out = os.path.join(root, "out")
        predict.predict(testing.tiny_options(mode="predict", checkpoint=run_dir, input_dir=inputs,
                                             output_dir=out, lab_colorization=True), log=quiet)
        coloured = np.asarray(read(os.path.join(out, "big.png")))
        self.assertEqual(coloured.shape, (90, 150, 3))
        lightness_in = colors.rgb_to_lab(photo / 255.0)[..., 0]
        lightness_out = colors.rgb_to_lab(coloured / 255.0)[..., 0]
        # Full-resolution lightness: the input's gradient, not a 32x32 one
        # upsampled (gamut clipping and rounding move it a little).
        self.assertLess(float(tf.reduce_mean(tf.abs(lightness_in - lightness_out))), 3.0)


if __name__ == "__main__":
    tf.test.main()
