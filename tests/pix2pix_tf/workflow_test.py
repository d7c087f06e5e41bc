"""The README's workflow through the command line: train -> test -> eval -> predict -> export."""

import json
import os
import subprocess
import sys

import tensorflow as tf

from tests.support import paths
from tests.support import pix2pix as testing

REPO = paths.REPO_ROOT


def cli(*args):
    return subprocess.run([sys.executable, "-m", "pix2pix_tf.main", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


class WorkflowTest(tf.test.TestCase):

    def test_train_test_eval_export(self):
        root = self.get_temp_dir()
        data_dir = testing.write_pairs(os.path.join(root, "pairs"), count=3)
        run_dir, test_dir = os.path.join(root, "run"), os.path.join(root, "test")
        small = ["--crop_size", "32", "--ngf", "8", "--ndf", "8"]

        trained = cli("--mode", "train", "--input_dir", data_dir, "--output_dir", run_dir,
                      "--which_direction", "BtoA", "--max_steps", "2", *small)
        self.assertEqual(trained.returncode, 0, trained.stderr)

        tested = cli("--mode", "test", "--input_dir", data_dir, "--output_dir", test_dir,
                     "--checkpoint", run_dir)
        self.assertEqual(tested.returncode, 0, tested.stderr)
        self.assertIn("loaded which_direction=BtoA from the checkpoint", tested.stdout)
        self.assertIn(f"wrote index at {os.path.join(test_dir, 'index.html')}", tested.stdout)
        self.assertRegex(tested.stdout, r"3 images, [\d.]+ images/sec")

        evaluated = cli("--mode", "eval", "--input_dir", data_dir, "--output_dir",
                        os.path.join(root, "eval"), "--checkpoint", run_dir, "--eval_mode")
        self.assertEqual(evaluated.returncode, 0, evaluated.stderr)
        with open(os.path.join(root, "eval", "metrics.json")) as f:
            metrics = json.load(f)
        self.assertEqual(metrics["count"], 3)
        self.assertEqual(set(metrics["average"]), {"L1", "PSNR", "SSIM"})

        # Predict on a folder with a file that is not an image: skipped, named, no traceback.
        photos = os.path.join(root, "photos")
        os.makedirs(photos)
        with open(os.path.join(data_dir, "1.png"), "rb") as f, \
                open(os.path.join(photos, "labels.png"), "wb") as g:
            g.write(f.read())
        with open(os.path.join(photos, "broken.jpg"), "w") as f:
            f.write("not a JPEG")
        predicted = cli("--mode", "predict", "--input_dir", photos, "--output_dir",
                        os.path.join(root, "predicted"), "--checkpoint", run_dir)
        self.assertEqual(predicted.returncode, 0, predicted.stderr)
        self.assertNotIn("Traceback", predicted.stderr)
        self.assertIn(f"skipped {os.path.join(photos, 'broken.jpg')}: is not a decodable image",
                      predicted.stdout)
        self.assertEqual(sorted(os.listdir(os.path.join(root, "predicted"))),
                         ["index.html", "labels.png"])

        exported = cli("--mode", "export", "--output_dir", run_dir, "--checkpoint", run_dir)
        self.assertEqual(exported.returncode, 0, exported.stderr)
        self.assertTrue(os.path.isfile(os.path.join(run_dir, "export", "1", "saved_model.pb")))

    def test_bad_checkpoint_is_one_line(self):
        result = cli("--mode", "test", "--input_dir", self.get_temp_dir(), "--output_dir",
                     os.path.join(self.get_temp_dir(), "out"), "--checkpoint",
                     os.path.join(self.get_temp_dir(), "missing"))
        self.assertEqual(result.returncode, 2)
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        self.assertEqual(len(errors), 1, result.stderr)
        self.assertIn("does not exist", errors[0])
        self.assertNotIn("Traceback", result.stderr)


if __name__ == "__main__":
    tf.test.main()
