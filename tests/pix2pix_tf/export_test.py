import base64
import io
import os
import subprocess
import sys
import tempfile
import shutil

import numpy as np
import tensorflow as tf
from PIL import Image

from pix2pix_tf import export, options as pix2pix_options, train
from tests.support import pix2pix as testing
from pix2pix_tf.common import checkpoints, image_io, options as common_options

# Runs in a fresh process: loads the SavedModel with nothing of this package.
LOAD_AND_TRANSLATE = """
import base64, sys
import numpy as np
import tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
png = base64.b64encode(open(sys.argv[2], "rb").read())
out = model.signatures["serving_default"](input=tf.constant([png]))["output"]
open(sys.argv[3], "wb").write(base64.urlsafe_b64decode(out[0].numpy()))
images = np.load(sys.argv[4])
np.save(sys.argv[5], model.signatures["translate"](images=tf.constant(images))["outputs"].numpy())
"""


def quiet(*args):
    pass


class ExportTest(tf.test.TestCase):

    def train_and_export(self, root, **overrides):
        data_dir = testing.write_pairs(os.path.join(root, "pairs"), count=2)
        run_dir = os.path.join(root, "run")
        train.train(testing.tiny_options(input_dir=data_dir, output_dir=run_dir, **overrides),
                    log=quiet)
        options = testing.tiny_options(mode="export", checkpoint=run_dir, output_dir=root,
                                    eval_mode=True, **overrides)
        return options, export.export(options, log=quiet)

    def translate_in_fresh_process(self, export_dir, image_path, images):
        root = self.get_temp_dir()
        np.save(os.path.join(root, "in.npy"), images)
        subprocess.run([sys.executable, "-c", LOAD_AND_TRANSLATE, export_dir, image_path,
                        os.path.join(root, "out.png"), os.path.join(root, "in.npy"),
                        os.path.join(root, "out.npy")], check=True, capture_output=True)
        with open(os.path.join(root, "out.png"), "rb") as f:
            served = Image.open(io.BytesIO(f.read()))
            served.load()
        return served, np.load(os.path.join(root, "out.npy"))

    def test_saved_model_serves_png_and_matches_the_generator(self):
        root = tempfile.mkdtemp(prefix="export_test_")
        self.addCleanup(shutil.rmtree, root, ignore_errors=True)
        options, export_dir = self.train_and_export(root)
        # A gray-with-alpha photo of another size: converted to RGB and resized.
        photo = os.path.join(root, "photo.png")
        image_io.files.write_atomic(photo, image_io.encode(
            np.random.default_rng(0).integers(0, 255, (50, 70, 4), dtype=np.uint8)))
        images = np.random.default_rng(1).uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)

        served, translated = self.translate_in_fresh_process(export_dir, photo, images)

        self.assertEqual(served.format, "PNG")
        self.assertEqual(served.size, (32, 32))
        self.assertEqual(served.mode, "RGB")
        generator = pix2pix_options.generator_from_options(common_options.replace(options, crop_size=32, ngf=8))
        checkpoints.RunCheckpoint(root, generator=generator).restore(options.checkpoint, partial=True)
        self.assertAllClose(translated, generator(images, training=False), atol=1e-5)

    def test_colouriser_exports_and_colours_a_photo(self):
        root = tempfile.mkdtemp(prefix="export_test_")
        self.addCleanup(shutil.rmtree, root, ignore_errors=True)
        _, export_dir = self.train_and_export(root, lab_colorization=True, output_filetype="jpeg")
        photo = os.path.join(root, "pairs", "1.png")
        served, translated = self.translate_in_fresh_process(
            export_dir, photo, np.zeros((1, 32, 32, 1), np.float32))
        self.assertEqual(served.format, "JPEG")
        self.assertEqual(served.size, (32, 32))
        self.assertEqual(translated.shape, (1, 32, 32, 2))  # The a/b colour channels.

    def test_export_replaces_an_earlier_export(self):
        root = tempfile.mkdtemp(prefix="export_test_")
        self.addCleanup(shutil.rmtree, root, ignore_errors=True)
        options, export_dir = self.train_and_export(root)
        stale = os.path.join(export_dir, "stale.txt")
        open(stale, "w").close()
        export.export(options, log=quiet)
        self.assertFalse(os.path.exists(stale))
        self.assertTrue(os.path.exists(os.path.join(export_dir, "saved_model.pb")))
        self.assertEqual([n for n in os.listdir(root) if n.startswith(".export-")], [])


if __name__ == "__main__":
    tf.test.main()
