import json
import os
import re
import shutil
import tempfile

import numpy as np
import tensorflow as tf

from pix2pix_tf import inference, train
from tests.support import pix2pix as testing
from pix2pix_tf.common import image_io, options as common_options
from pix2pix_tf.common.errors import UserError


def quiet(*args):
    pass


class InferenceTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = tempfile.mkdtemp(prefix="inference_test_")
        cls.pairs = testing.write_pairs(os.path.join(cls.root, "pairs"), count=3)
        cls.run_dir = os.path.join(cls.root, "run")
        train.train(testing.tiny_options(input_dir=cls.pairs, output_dir=cls.run_dir), log=quiet)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)
        super().tearDownClass()

    def options(self, **overrides):
        values = dict(mode="test", input_dir=self.pairs, checkpoint=self.run_dir, max_steps=None,
                      output_dir=os.path.join(self.get_temp_dir(), "out"))
        values.update(overrides)
        return testing.tiny_options(**values)

    def test_index_has_a_row_per_image_and_readable_files(self):
        options = self.options()
        result = inference.run(options, log=quiet)
        with open(os.path.join(options.output_dir, "index.html")) as f:
            page = f.read()
        self.assertEqual(page.count("<tr>") - 1, 3)  # Minus the header row.
        for name in ("1", "2", "3"):
            for kind in ("inputs", "outputs", "targets"):
                self.assertIn(f"images/{name}-{kind}.png", page)
                image = image_io.read_rgb(os.path.join(options.output_dir, "images", f"{name}-{kind}.png"))
                self.assertEqual(image.shape, (32, 32, 3))
        self.assertEqual(result["count"], 3)
        self.assertIn("average", page)

    def test_metrics_json_agrees_with_the_written_images(self):
        options = self.options(eval_mode=True)
        inference.run(options, log=quiet)
        with open(os.path.join(options.output_dir, "metrics.json")) as f:
            result = json.load(f)
        images = os.path.join(options.output_dir, "images")
        for name, scores in result["images"].items():
            output = image_io.read_rgb(os.path.join(images, f"{name}-outputs.png")) / 255.0
            target = image_io.read_rgb(os.path.join(images, f"{name}-targets.png")) / 255.0
            self.assertAllClose(scores["L1"], np.abs(output - target).mean(), atol=2e-3)
        for metric in ("L1", "PSNR", "SSIM"):
            self.assertAllClose(result["average"][metric],
                                np.mean([s[metric] for s in result["images"].values()]))

    def test_eval_mode_is_deterministic(self):
        first = inference.run(self.options(mode="eval", eval_mode=True), write_images=False, log=quiet)
        second = inference.run(self.options(mode="eval", eval_mode=True), write_images=False, log=quiet)
        self.assertEqual(first["images"], second["images"])

    def test_eval_writes_metrics_but_no_images(self):
        options = self.options(mode="eval")
        inference.run(options, write_images=False, log=quiet)
        self.assertEqual(sorted(os.listdir(options.output_dir)), ["metrics.json"])

    def test_checkpoint_options_override_the_command_line_and_say_so(self):
        messages = []
        options = self.options(ngf=16, which_direction="BtoA")
        result = inference.run(options, given={"ngf"}, log=messages.append)
        self.assertIn("--ngf=16 overridden by the checkpoint: ngf=8", messages)
        self.assertIn("loaded which_direction=AtoB from the checkpoint", messages)
        self.assertEqual(result["count"], 3)

    def test_max_steps_caps_the_images(self):
        self.assertEqual(inference.run(self.options(max_steps=2), log=quiet)["count"], 2)

    def test_index_of_an_earlier_run_is_replaced(self):
        options = self.options()
        inference.run(options, log=quiet)
        fewer = testing.write_pairs(os.path.join(self.get_temp_dir(), "fewer"), count=1)
        messages = []
        inference.run(common_options.replace(options, input_dir=fewer), log=messages.append)
        with open(os.path.join(options.output_dir, "index.html")) as f:
            self.assertEqual(f.read().count("<tr>") - 1, 1)
        self.assertTrue(any("replacing the index.html" in m for m in messages))

    def test_aspect_ratio_resizes_written_images(self):
        options = self.options(aspect_ratio=2.0)
        inference.run(options, log=quiet)
        image = image_io.read_rgb(os.path.join(options.output_dir, "images", "1-outputs.png"))
        self.assertEqual(image.shape, (32, 64, 3))

    def assertUserError(self, pattern, **overrides):
        with self.assertRaisesRegex(UserError, pattern):
            inference.run(self.options(**overrides), log=quiet)

    def test_bad_inputs(self):
        self.assertUserError("needs --checkpoint", checkpoint=None)
        self.assertUserError("does not exist", checkpoint=os.path.join(self.root, "nowhere"))
        empty = os.path.join(self.get_temp_dir(), "empty")
        os.makedirs(empty)
        self.assertUserError("has no options.json", checkpoint=empty)
        shutil.copy(os.path.join(self.run_dir, "options.json"), empty)
        self.assertUserError("holds no checkpoint", checkpoint=empty)
        # Single square photos given to a model trained on A|B pairs.
        singles = os.path.join(self.get_temp_dir(), "singles")
        os.makedirs(singles)
        image_io.write_image(os.path.join(singles, "1.png"), np.zeros((32, 32, 3), np.uint8))
        self.assertUserError(re.escape("width/height 1.00") + ".*A|B pairs", input_dir=singles)
        # An output folder that cannot be made: a file stands in its way.
        blocker = os.path.join(self.get_temp_dir(), "file")
        open(blocker, "w").close()
        self.assertUserError("cannot write to --output_dir", output_dir=os.path.join(blocker, "out"))


class LabInferenceTest(tf.test.TestCase):

    def test_colourisation_images_are_rgb_and_keep_the_lightness(self):
        root = self.get_temp_dir()
        photos = testing.write_pairs(os.path.join(root, "photos"), count=2)
        run_dir = os.path.join(root, "run")
        train.train(testing.tiny_options(input_dir=photos, output_dir=run_dir,
                                         lab_colorization=True), log=quiet)
        options = testing.tiny_options(mode="test", input_dir=photos, checkpoint=run_dir, max_steps=None,
                                    output_dir=os.path.join(root, "out"))
        result = inference.run(options, log=quiet)
        self.assertEqual(result["count"], 2)
        images = os.path.join(options.output_dir, "images")
        gray = image_io.read_rgb(os.path.join(images, "1-inputs.png")).astype(float)
        output = image_io.read_rgb(os.path.join(images, "1-outputs.png")).astype(float)
        self.assertAllEqual(gray[..., 0], gray[..., 1])  # The input is shown as gray.
        # The output takes its lightness from the input: close luminance.
        luminance = output @ np.array([0.2126, 0.7152, 0.0722])
        self.assertLess(np.abs(luminance - gray[..., 0]).mean(), 25.0)


if __name__ == "__main__":
    tf.test.main()
