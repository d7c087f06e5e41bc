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
        self.assertEqual(iio.imread(output).shape, (3 * 30 + 2, 8 * 30 + 2))

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
