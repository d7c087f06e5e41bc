import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

import numpy as np
import tensorflow as tf
from PIL import Image

from tests.support import checkpoints, paths

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


def start_main(*args):
    """pix2pix_tf.main in a process of its own, its output unbuffered."""
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "pix2pix_tf.main", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


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
            self.assertIn(f"  step {step}/2", line)
            self.assertIn("progress  epoch 1  ", line)
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
        self.assertIn("  step 3/3", progress[0])
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

    def test_bad_flag_is_one_error_line(self):
        # absl's own report is a FATAL line and a hint, with status 1.
        result = run_main("--mode", "train", "--crop_size", "large")
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertEqual(program_stderr(result.stderr),
                         ["error: flag --crop_size=large: invalid literal for int() with base 10: "
                          "'large' (--help lists the flags)"])


# Runs an entry point as a user does, then says whether TensorFlow was loaded when it exited.
REPORT_TENSORFLOW = ("import atexit, sys; atexit.register(lambda: print('tensorflow loaded:', "
                     "'tensorflow' in sys.modules)); sys.argv = ['cmd'] + sys.argv[1:]; "
                     "from {module} import entry; entry()")


def run_entry_reporting_tensorflow(module, *args):
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, "-c", REPORT_TENSORFLOW.format(module=module), *args],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


class BadValuesBeforeTensorFlowTest(tf.test.TestCase):
    """A value refused without TensorFlow's help is refused before it loads."""

    def test_bad_values_are_one_error_line_before_tensorflow_loads(self):
        tmp = self.get_temp_dir()
        missing, out = os.path.join(tmp, "missing"), os.path.join(tmp, "out")
        run = os.path.join(tmp, "run")  # A training run's folder, as far as options go.
        os.makedirs(run)
        with open(os.path.join(run, "options.json"), "w") as f:
            json.dump({"crop_size": 32, "ngf": 8, "ndf": 8, "input_dir": missing}, f)
        for args, error in (
                (["--mode", "train", "--input_dir", missing, "--output_dir", out],
                 f"--input_dir {missing} does not exist or is not a folder"),
                (["--mode", "train", "--input_dir", tmp, "--output_dir", out, "--lr", "-1"],
                 "--lr must be a number more than 0, not -1.0"),
                (["--mode", "train", "--input_dir", tmp, "--output_dir", out, "--crop_size", "48"],
                 "--crop_size"),
                (["--mode", "train", "--input_dir", tmp], "--mode train needs --output_dir"),
                (["--mode", "test", "--input_dir", tmp, "--output_dir", out],
                 "--mode test needs --checkpoint, the output folder of a training run"),
                (["--mode", "test", "--checkpoint", missing, "--input_dir", tmp, "--output_dir", out],
                 f"--checkpoint {missing} does not exist"),
                (["--mode", "eval", "--checkpoint", tmp, "--input_dir", tmp, "--output_dir", out],
                 f"--checkpoint {tmp} has no options.json"),
                (["--mode", "test", "--checkpoint", run, "--input_dir", missing, "--output_dir", out],
                 f"--input_dir {missing} does not exist or is not a folder"),
                (["--mode", "predict", "--checkpoint", run, "--input_dir", missing,
                  "--output_dir", out], f"--input_dir {missing} does not exist"),
                (["--mode", "train", "--checkpoint", run, "--crop_size", "64"],
                 "--crop_size=64 conflicts with crop_size=32"),
                (["--mode", "train", "--checkpoint", run],  # Its own --input_dir is gone.
                 f"--input_dir {missing} does not exist or is not a folder"),
                (["--mode", "export", "--checkpoint", run, "--n_layers_D", "5"],
                 "--n_layers_D 5 is too deep for --crop_size 32"),
                (["--mode", "bogus"], "flag --mode=bogus: value should be one of")):
            with self.subTest(args=args):
                result = run_entry_reporting_tensorflow("pix2pix_tf.main", *args)
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertEqual(result.stdout, "tensorflow loaded: False\n")
                self.assertLen(program_stderr(result.stderr), 1, result.stderr)
                self.assertStartsWith(program_stderr(result.stderr)[0], f"error: {error}")
        self.assertFalse(os.path.exists(out))

    def test_help_lists_the_flags_by_kind_before_tensorflow_loads(self):
        result = run_entry_reporting_tensorflow("pix2pix_tf.main", "--help")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(result.stdout.endswith("tensorflow loaded: False\n"))
        lines = result.stdout.splitlines()
        self.assertIn("python -m pix2pix_tf.main --mode train --input_dir", lines[3])
        self.assertIn("python -m pix2pix_tf.main --mode test --input_dir", lines[4])
        self.assertEqual(lines[7], "  --mode=train|test|eval|predict|export")
        self.assertIn("Model: the weights depend on these", result.stdout)


class ConcurrencyTest(tf.test.TestCase):
    """Two real training processes into one folder; SIGTERM's exit status."""

    def test_a_second_run_into_a_busy_folder_stops_and_sigterm_exits_143(self):
        tmp = tempfile.mkdtemp(dir=self.get_temp_dir())
        pairs = os.path.join(tmp, "pairs")
        os.makedirs(pairs)
        for i in range(2):
            image = np.random.default_rng(i).integers(0, 256, size=(32, 64, 3), dtype=np.uint8)
            Image.fromarray(image).save(os.path.join(pairs, f"{i}.png"))
        out = os.path.join(tmp, "shared")
        base = ["--mode", "train", "--input_dir", pairs, "--output_dir", out, "--crop_size", "32",
                "--ngf", "4", "--ndf", "4", "--summary_freq", "0"]
        args = base + ["--max_steps", "100000", "--progress_freq", "1", "--save_freq", "0"]
        first = start_main(*args, "--seed", "1")
        self.addCleanup(first.kill)
        for line in first.stdout:  # Training has started: the folder is the first run's.
            if line.startswith("progress"):
                break
        self.assertIsNone(first.poll(), first.stderr.read() if first.poll() is not None else "")

        second = run_main(*args, "--seed", "2")
        self.assertEqual(second.returncode, 2, second.stderr)
        self.assertNotIn("Traceback", second.stderr)
        self.assertEqual(program_stderr(second.stderr), [
            f"error: --output_dir {out} is in use by another training run (process {first.pid} "
            f"on {socket.gethostname()}): wait for it to end or choose another --output_dir"])

        stdout, _ = checkpoints.sigterm(self, first)
        stopped = re.search(r"stopped by SIGTERM at step (\d+); saved (\S+);", stdout)
        self.assertIsNotNone(stopped, stdout)
        self.assertEqual(tf.train.latest_checkpoint(out), stopped.group(2))
        with open(os.path.join(out, "options.json")) as f:
            self.assertEqual(json.load(f)["seed"], 1)  # The first run's, untouched.

        # The lock went with the process: the run resumes.
        step = int(stopped.group(1))
        resumed = run_main(*base, "--checkpoint", out, "--max_steps", str(step + 1))
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        self.assertIn(f"at step {step + 1}", resumed.stdout.splitlines()[-1])

    def test_bad_input_files_are_named_in_one_line_before_anything_is_written(self):
        tmp = tempfile.mkdtemp(dir=self.get_temp_dir())
        pairs = os.path.join(tmp, "pairs")
        os.makedirs(pairs)
        image = np.random.default_rng(0).integers(0, 256, size=(32, 64, 3), dtype=np.uint8)
        Image.fromarray(image).save(os.path.join(pairs, "good.png"))
        Image.fromarray(image).save(os.path.join(os.fsencode(pairs), b"caf\xe9.png"))
        Image.fromarray(image).save(os.path.join(pairs, "cut.jpg"), quality=90)
        with open(os.path.join(pairs, "cut.jpg"), "r+b") as f:
            f.truncate(os.path.getsize(os.path.join(pairs, "cut.jpg")) * 2 // 3)
        out = os.path.join(tmp, "run")
        result = run_main("--mode", "train", "--input_dir", pairs, "--output_dir", out,
                          "--crop_size", "32", "--max_steps", "1")
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        errors = program_stderr(result.stderr)
        self.assertLen(errors, 1, result.stderr)
        self.assertIn("error: 2 of the 3 images cannot be used: ", errors[0])
        self.assertIn(repr(os.fsencode(pairs) + b"/caf\xe9.png") + " its name is not valid UTF-8",
                      errors[0])
        self.assertRegex(errors[0], re.escape(pairs) + "/cut.jpg is not a decodable image .*truncated")
        self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    tf.test.main()
