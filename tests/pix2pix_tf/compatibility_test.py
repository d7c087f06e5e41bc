"""Runs and exports made by earlier versions still resume, test and load.

tests/data/legacy_pix2pix_run was made before the options refactor (see
tests/data/README.md): its options.json has keys that no longer exist in
the same form and its export has the un-versioned layout.
"""

import base64
import os
import shutil

import numpy as np
import tensorflow as tf

from pix2pix_tf import inference, train
from pix2pix_tf import options as pix2pix_options
from tests.support import paths

LEGACY_RUN = os.path.join(paths.REPO_ROOT, "tests", "data", "legacy_pix2pix_run")
LEGACY_PAIRS = os.path.join(paths.REPO_ROOT, "tests", "data", "legacy_pix2pix_pairs")


class LegacyRunTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        self.run_dir = os.path.join(self.get_temp_dir(), "run")
        shutil.copytree(LEGACY_RUN, self.run_dir)

    def test_resumes_from_its_step_with_its_model_options(self):
        lines = []
        options = pix2pix_options.default_options(
            mode="train", input_dir=LEGACY_PAIRS, output_dir=self.run_dir,
            checkpoint=self.run_dir, max_steps=3, progress_freq=0, summary_freq=0,
            mixed_precision="float32")
        result = train.train(options, given={"checkpoint", "max_steps", "input_dir"}, log=lines.append)
        self.assertEqual(result.step, 3)
        self.assertIn("loaded ngf=4 from the checkpoint", lines)
        self.assertTrue(any(line.startswith("resumed from") and "at step 2" in line
                            for line in lines), lines)
        self.assertEqual(result.model.generator.input_shape[1:3], (32, 32))

    def test_tests_with_its_generator(self):
        options = pix2pix_options.default_options(
            mode="eval", input_dir=LEGACY_PAIRS, checkpoint=self.run_dir,
            output_dir=os.path.join(self.get_temp_dir(), "eval"), eval_mode=True)
        metrics = inference.run(options, given={"checkpoint"}, write_images=False,
                                log=lambda line: None)
        self.assertEqual(metrics["count"], 4)
        self.assertBetween(metrics["average"]["L1"], 0.0, 1.0)

    def test_its_export_loads_and_translates(self):
        model = tf.saved_model.load(os.path.join(self.run_dir, "export"))
        with open(os.path.join(LEGACY_PAIRS, "1.png"), "rb") as f:
            request = tf.constant([base64.urlsafe_b64encode(f.read())])
        response = model.signatures["serving_default"](input=request)["output"]
        image = tf.io.decode_png(base64.urlsafe_b64decode(response[0].numpy()))
        self.assertEqual(image.shape, (32, 32, 3))
        self.assertGreater(np.std(image.numpy()), 0)


if __name__ == "__main__":
    tf.test.main()
