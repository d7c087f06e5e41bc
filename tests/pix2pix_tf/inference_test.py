import json
import os
import re
import shutil
import tempfile

import numpy as np
import tensorflow as tf
from PIL import Image

from pix2pix_tf import inference, models
from pix2pix_tf.common import image_io
from pix2pix_tf.common import options as common_options
from pix2pix_tf.common.errors import UserError
from tests.support import pix2pix as testing


def quiet(*args):
    pass


class InferenceTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = tempfile.mkdtemp(prefix="inference_test_")
        cls.pairs, cls.run_dir = testing.tiny_run(cls.root, count=3)

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
        # The histograms of per-image L1 and SSIM, above the table.
        with Image.open(os.path.join(options.output_dir, "histograms.png")) as plot:
            self.assertEqual(plot.format, "PNG")
            self.assertGreater(plot.size[0], 400)
        self.assertLess(page.index("<img src='histograms.png'"), page.index("<table>"))
        # Drawn again by the page from the table (each bar shows its rows), which
        # sorts the metrics worst first on a click: its script and style inside it.
        self.assertIn("<div class='histograms' data-metrics='L1 SSIM'>", page)
        for metric, worst in (("L1", "high"), ("PSNR", "low"), ("SSIM", "low")):
            self.assertIn(f"<th data-column='{metric}' data-worse='{worst}'><button", page)
        self.assertIn("function sortBy(column, descending)", page)
        self.assertIn("@media (max-width: 640px)", page)
        self.assertNotRegex(page, r"<(script|link)[^>]* (src|href)=")

    def test_bad_files_are_skipped_named_and_counted(self):
        folder = os.path.join(self.get_temp_dir(), "with_bad")
        shutil.copytree(self.pairs, folder)
        good = image_io.encode(np.zeros((32, 64, 3), np.uint8), ".jpg")
        with open(os.path.join(folder, "4.jpg"), "wb") as f:
            f.write(good[:len(good) // 2])  # Its header reads; its pixels do not.
        with open(os.path.join(folder, "5.png"), "w") as f:
            f.write("not an image")
        with open(os.path.join(os.fsencode(folder), b"\xff.png"), "wb") as f:
            f.write(image_io.encode(np.zeros((32, 64, 3), np.uint8)))
        options = self.options(input_dir=folder)
        messages = []
        result = inference.run(options, log=messages.append)
        self.assertEqual(result["count"], 3)
        bad_name = repr(os.path.join(os.fsencode(folder), b"\xff.png"))
        self.assertEqual(set(result["skipped"]), {os.path.join(folder, "4.jpg"),
                                                  os.path.join(folder, "5.png"), bad_name})
        for bad in result["skipped"]:
            self.assertTrue(any(m.startswith(f"skipped {bad}: ") for m in messages), messages)
        self.assertIn("skipped 3 bad files (named above)", messages)
        with open(os.path.join(options.output_dir, "metrics.json")) as f:
            self.assertEqual(json.load(f)["skipped"], result["skipped"])
        self.assertEqual(sorted(os.listdir(os.path.join(options.output_dir, "images"))),
                         sorted(f"{n}-{k}.png" for n in "123" for k in ("inputs", "outputs", "targets")))

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


class EachImageOnItsOwnTest(tf.test.TestCase):

    def test_translate_each_does_not_mix_images_as_a_batch_would(self):
        generator = models.generator(32, ngf=8, dropout=False)
        images = tf.random.stateless_uniform((4, 32, 32, 3), seed=(1, 2), minval=-1, maxval=1)
        alone = inference.translate_each(generator, images[:1], training=True)
        together = tf.function(inference.translate_each, reduce_retracing=True)(
            generator, images, training=True)
        self.assertAllEqual(alone[0], together[0])
        self.assertAllClose(together[0], generator(images[:1], training=True)[0], atol=1e-6)
        # The batch statistics of four images give another output.
        batched = generator(images, training=True)[0]
        self.assertGreater(float(tf.reduce_max(tf.abs(batched - alone[0]))), 1e-3)

    def test_test_mode_writes_the_same_output_alone_and_among_four(self):
        root = self.get_temp_dir()
        many, run_dir = testing.tiny_run(root, count=4, dropout=False)
        alone = os.path.join(root, "alone")
        os.makedirs(alone)
        shutil.copy(os.path.join(many, "1.png"), alone)
        outputs = []
        for folder in (many, alone):
            out = os.path.join(root, os.path.basename(folder) + "_out")
            inference.run(testing.tiny_options(mode="test", input_dir=folder, checkpoint=run_dir,
                                               output_dir=out, max_steps=None), log=quiet)
            with open(os.path.join(out, "images", "1-outputs.png"), "rb") as f:
                outputs.append(f.read())
        self.assertEqual(outputs[0], outputs[1])


class LabInferenceTest(tf.test.TestCase):

    def test_colourisation_images_are_rgb_and_keep_the_lightness(self):
        root = self.get_temp_dir()
        photos, run_dir = testing.tiny_run(root, lab_colorization=True)
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
