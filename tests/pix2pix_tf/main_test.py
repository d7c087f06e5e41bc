import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import tensorflow as tf
from PIL import Image
from tests.support import paths

REPO = paths.REPO_ROOT
# Lines TensorFlow's C++ runtime writes to stderr on import, whatever the program does.
TF_LOG_LINE = re.compile(r"^([IWEF]\d{4} |WARNING: All log messages before absl|"
                         r"To enable the following instructions)")
LOSSES = ("discriminator_loss", "generator_loss_GAN", "generator_loss_L1")
IMAGES = ("inputs", "targets", "outputs", "predict_real", "predict_fake")


def run_main(*args):
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, "-m", "pix2pix_tf.main", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def program_stderr(stderr):
    return [line for line in stderr.splitlines() if line.strip() and not TF_LOG_LINE.match(line)]


def read_events(output_dir):
    """{tag: sorted steps} of every summary in output_dir's event files."""
    tags = {}
    for name in os.listdir(output_dir):
        if not name.startswith("events.out.tfevents"):
            continue
        for record in tf.data.TFRecordDataset(os.path.join(output_dir, name)):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                tags.setdefault(value.tag, set()).add(event.step)
                if value.tag in LOSSES:
                    assert np.isfinite(tf.make_ndarray(value.tensor)), value.tag
    return {tag: sorted(steps) for tag, steps in tags.items()}


class MainTest(tf.test.TestCase):
    """The training command line, end to end, in fresh processes."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp()
        cls.input_dir = os.path.join(cls.tmp, "pairs")
        os.makedirs(cls.input_dir)
        rng = np.random.default_rng(0)
        for i in range(3):
            image = rng.integers(0, 256, size=(40, 80, 3), dtype=np.uint8)
            Image.fromarray(image).save(os.path.join(cls.input_dir, f"{i}.png"))
        cls.output_dir = os.path.join(cls.tmp, "run")
        cls.train_args = ["--mode", "train", "--input_dir", cls.input_dir,
                          "--output_dir", cls.output_dir, "--crop_size", "32", "--ngf", "8",
                          "--ndf", "8", "--seed", "3", "--summary_freq", "1",
                          "--progress_freq", "1", "--display_freq", "1"]
        cls.first = run_main(*cls.train_args, "--max_steps", "2")
        # What the first run left, before test_resume_continues_the_step_count adds to it.
        cls.first_files = sorted(os.listdir(cls.output_dir)) if os.path.isdir(cls.output_dir) else []
        options_path = os.path.join(cls.output_dir, "options.json")
        cls.first_options = {}
        if os.path.isfile(options_path):
            with open(options_path) as f:
                cls.first_options = json.load(f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    def test_train_writes_everything(self):
        result = self.first
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        saved = self.first_options
        for key, value in dict(mode="train", input_dir=self.input_dir, crop_size=32, ngf=8, ndf=8,
                               seed=3, max_steps=2, which_direction="AtoB", generator="unet",
                               discriminator="patch", n_layers_D=3, lab_colorization=False,
                               flip=True, lr=0.0002, beta1=0.5, l1_weight=100.0).items():
            self.assertEqual(saved[key], value, key)

        files = self.first_files
        self.assertIn("checkpoint", files)
        self.assertIn("ckpt-2.index", files)
        self.assertTrue(any(name.startswith("ckpt-2.data-") for name in files), files)

        # The first run's summaries: events of the resumed run may share the folder.
        tags = read_events(self.output_dir)
        for tag in LOSSES + IMAGES:
            self.assertIn(tag, tags)
            self.assertEqual(tags[tag][:2], [1, 2], tag)

        images = os.listdir(os.path.join(self.output_dir, "images"))
        with open(os.path.join(self.output_dir, "index.html")) as f:
            index = f.read()
        for step in (1, 2):
            for kind in ("inputs", "outputs", "targets"):
                name = f"step-{step:08d}-{kind}.png"
                self.assertIn(name, images)
                self.assertIn(f"images/{name}", index)
                image = Image.open(os.path.join(self.output_dir, "images", name))
                self.assertEqual((image.size, image.mode), ((32, 32), "RGB"))

        progress = [line for line in result.stdout.splitlines() if line.startswith("progress")]
        self.assertLen(progress, 2, result.stdout)
        for step, line in zip((1, 2), progress):
            self.assertIn(f"global step {step}/2", line)
            self.assertIn(f"step {step}/3", line)
            for loss in LOSSES:
                self.assertRegex(line, rf"{loss} \d+\.\d{{4}}")
        self.assertIn("at step 2", result.stdout.splitlines()[-1])

    def test_resume_continues_the_step_count(self):
        self.assertEqual(self.first.returncode, 0, self.first.stderr)
        result = run_main("--mode", "train", "--input_dir", self.input_dir,
                          "--output_dir", self.output_dir, "--checkpoint", self.output_dir,
                          "--max_steps", "3", "--progress_freq", "1", "--summary_freq", "1")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout, r"resumed from .*ckpt-2 at step 2")
        self.assertIn("loaded ngf=8 from the checkpoint", result.stdout)
        progress = [line for line in result.stdout.splitlines() if line.startswith("progress")]
        self.assertLen(progress, 1, result.stdout)
        self.assertIn("global step 3/3", progress[0])
        self.assertEqual(os.path.basename(tf.train.latest_checkpoint(self.output_dir)), "ckpt-3")
        self.assertIn(3, read_events(self.output_dir)["generator_loss_L1"])

    def test_bad_input_is_one_error_line(self):
        missing = os.path.join(self.tmp, "no_such_folder")
        output_dir = os.path.join(self.tmp, "bad_run")
        result = run_main("--mode", "train", "--input_dir", missing, "--output_dir", output_dir,
                          "--crop_size", "32")
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        self.assertEqual(program_stderr(result.stderr),
                         [f"error: --input_dir {missing} does not exist or is not a folder"])
        self.assertFalse(os.path.exists(output_dir))


if __name__ == "__main__":
    tf.test.main()
