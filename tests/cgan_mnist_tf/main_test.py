import gzip
import json
import os
import re
import socket
import subprocess
import sys
import time

import imageio.v3 as iio
import tensorflow as tf

from cgan_mnist_tf import report
from tests.support import cgan as testing
from tests.support import checkpoints


def _cli(*args):
    env = {**os.environ, "PYTHONPATH": testing.REPO_ROOT, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", "cgan_mnist_tf.main", *args], cwd=testing.REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=300)


def _start(*args):
    env = {**os.environ, "PYTHONPATH": testing.REPO_ROOT, "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "cgan_mnist_tf.main", *args],
                            cwd=testing.REPO_ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


# Runs the entry point as a user does, then says whether TensorFlow was loaded when it exited.
REPORT_TENSORFLOW = ("import atexit, sys; atexit.register(lambda: print('tensorflow loaded:', "
                     "'tensorflow' in sys.modules)); sys.argv = ['cmd'] + sys.argv[1:]; "
                     "from cgan_mnist_tf.main import entry; entry()")


def _entry_reporting_tensorflow(*args):
    env = {**os.environ, "PYTHONPATH": testing.REPO_ROOT, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-c", REPORT_TENSORFLOW, *args], cwd=testing.REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=300)


class BadValuesBeforeTensorFlowTest(tf.test.TestCase):
    """A value refused without TensorFlow's help is refused before it loads."""

    def test_bad_values_are_one_error_line_before_tensorflow_loads(self):
        tmp = self.get_temp_dir()
        missing, out = os.path.join(tmp, "missing"), os.path.join(tmp, "out")
        run = os.path.join(tmp, "run")  # A training run's folder, as far as options go.
        os.makedirs(run)
        with open(os.path.join(run, "options.json"), "w") as f:
            json.dump({"model": "conv", "conditional": True, "latent_dim": 8}, f)
        for args, error in (
                (["--mode", "train", "--output_dir", out, "--epochs", "0"],
                 "--epochs must be at least 1, not 0"),
                (["--mode", "train", "--output_dir", out, "--data_dir", missing],
                 f"--data_dir {missing} is not a folder"),
                (["--mode", "train"], "--mode train needs --output_dir"),
                (["--mode", "train", "--output_dir", out, "--model", "conv", "--loss", "bce"],
                 "--loss: only for --model dcgan_proj"),
                (["--mode", "generate", "--labels", "1"], "--mode generate needs --checkpoint"),
                (["--mode", "generate", "--checkpoint", run, "--num", "0"],
                 "--num must be between 1 and 1000, not 0"),
                (["--mode", "eval", "--checkpoint", missing], f"--checkpoint {missing} does not exist"),
                (["--mode", "eval", "--checkpoint", run, "--data_dir", missing],
                 f"--data_dir {missing} is not a folder"),
                (["--mode", "train", "--checkpoint", run, "--latent_dim", "16"],
                 "--latent_dim=16 conflicts with latent_dim=8")):
            with self.subTest(args=args):
                result = _entry_reporting_tensorflow(*args)
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertEqual(result.stdout, "tensorflow loaded: False\n")
                errors = result.stderr.splitlines()
                self.assertLen(errors, 1, result.stderr)
                self.assertStartsWith(errors[0], f"error: {error}")
        self.assertFalse(os.path.exists(out))

    def test_help_lists_the_flags_by_kind_before_tensorflow_loads(self):
        result = _entry_reporting_tensorflow("--help")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(result.stdout.endswith("tensorflow loaded: False\n"))
        lines = result.stdout.splitlines()
        self.assertIn("python -m cgan_mnist_tf.main --mode train", lines[3])
        self.assertIn("python -m cgan_mnist_tf.main --mode generate", lines[4])
        self.assertEqual(lines[7], "  --mode=train|generate|eval")


class MainTest(tf.test.TestCase):

    def assertOneLineError(self, result, message):
        self.assertEqual(result.returncode, 2, msg=result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        self.assertLen(errors, 1, msg=result.stderr)
        self.assertRegex(errors[0], message)

    def test_train_generate_eval(self):
        data_dir = testing.write_idx_dir(os.path.join(self.get_temp_dir(), "tiny"), 40, 20)
        run_dir = os.path.join(self.get_temp_dir(), "run")
        result = _cli("--mode", "train", "--output_dir", run_dir, "--data_dir", data_dir, "--epochs", "1",
                      "--batch_size", "20", "--latent_dim", "8", "--sample_interval", "1")
        self.assertEqual(result.returncode, 0, msg=result.stderr)
        self.assertIn("data: IDX files in", result.stdout)
        self.assertIn("40 training images", result.stdout)
        self.assertRegex(result.stdout + result.stderr,
                         r"progress  epoch 1  step 2/2 .* d_loss \d.* g_loss -?\d.* d_x \d.* d_g_z \d")
        self.assertIn("trained to step 2 (1 epoch)", result.stdout)

        output = os.path.join(self.get_temp_dir(), "digits.png")
        result = _cli("--mode", "generate", "--checkpoint", run_dir, "--labels", "3,1,4", "--num", "8",
                      "--output", output, "--seed", "1")
        self.assertEqual(result.returncode, 0, msg=result.stderr)
        # 3 labelled rows of 8 digits, each 28x28 enlarged to 56x56.
        p = report.PADDING
        self.assertEqual(iio.imread(output).shape,
                         (3 * (56 + p) + p, report.label_width(56) + 8 * (56 + p) + p))

        result = _cli("--mode", "eval", "--checkpoint", run_dir, "--eval_samples", "4",
                      "--classifier_epochs", "1")
        self.assertEqual(result.returncode, 0, msg=result.stderr)
        with open(os.path.join(run_dir, "metrics.json")) as f:
            metrics = json.load(f)
        self.assertIn("conditional_accuracy", metrics)
        self.assertIn("frechet_distance", metrics)
        self.assertIn("classifier accuracy on 20 held-out real images", result.stdout)

        result = _cli("--mode", "generate", "--checkpoint", run_dir, "--labels", "3,12")
        self.assertOneLineError(result, r"^error: --labels 3,12: label 12 is outside 0\.\.9$")

    def test_bad_inputs_are_one_line_errors(self):
        plain = os.path.join(self.get_temp_dir(), "plain")
        testing.untrained_run(plain, latent_dim=8, conditional=False)
        result = _cli("--mode", "generate", "--checkpoint", plain, "--labels", "1")
        self.assertOneLineError(result, "unconditional GAN")

        empty = os.path.join(self.get_temp_dir(), "empty")
        os.makedirs(empty)
        result = _cli("--mode", "train", "--output_dir", os.path.join(self.get_temp_dir(), "r"),
                      "--data_dir", empty)
        self.assertOneLineError(result, "holds no readable MNIST files: looked for train-images-idx3-ubyte")

        corrupt = testing.write_idx_dir(os.path.join(self.get_temp_dir(), "corrupt"), 10, 10)
        with open(os.path.join(corrupt, "t10k-labels-idx1-ubyte.gz"), "wb") as f:
            f.write(gzip.compress(b"\x00\x00\x08\x09" + bytes(10)))
        result = _cli("--mode", "train", "--output_dir", os.path.join(self.get_temp_dir(), "r2"),
                      "--data_dir", corrupt)
        self.assertOneLineError(result, "t10k-labels-idx1-ubyte.gz is not an IDX file")


    def test_a_second_run_into_a_busy_folder_stops_and_sigterm_exits_143(self):
        data_dir = testing.write_idx_dir(os.path.join(self.get_temp_dir(), "busy_digits"), 40, 10)
        run_dir = os.path.join(self.get_temp_dir(), "busy")
        args = ["--mode", "train", "--output_dir", run_dir, "--data_dir", data_dir,
                "--batch_size", "20", "--latent_dim", "8", "--sample_interval", "1"]
        first = _start(*args, "--epochs", "100000")
        self.addCleanup(first.kill)
        samples = os.path.join(run_dir, "samples")
        deadline = time.time() + 240
        while not (os.path.isdir(samples) and os.listdir(samples)):  # Training has started.
            self.assertLess(time.time(), deadline)
            self.assertIsNone(first.poll(), first.stderr.read() if first.poll() is not None else "")
            time.sleep(0.2)

        second = _cli(*args, "--epochs", "1", "--seed", "2")
        self.assertOneLineError(second, f"^error: --output_dir {run_dir} is in use by another "
                                        f"training run \\(process {first.pid} on "
                                        f"{re.escape(socket.gethostname())}\\)")

        stdout, _ = checkpoints.sigterm(self, first)
        stopped = re.search(r"stopped by SIGTERM at step (\d+)", stdout)
        self.assertIsNotNone(stopped, stdout)
        self.assertTrue(tf.train.latest_checkpoint(run_dir).endswith(f"ckpt-{stopped.group(1)}"))
        with open(os.path.join(run_dir, "options.json")) as f:
            self.assertEqual(json.load(f)["seed"], 0)  # The first run's, untouched.


if __name__ == "__main__":
    tf.test.main()
