"""Every command, run as a user runs it, shows its own lines and none of
TensorFlow's log (unless --verbose)."""

import os
import re
import signal
import subprocess
import sys
import time

import tensorflow as tf

from tests.support import cgan as cgan_testing
from tests.support import pix2pix as testing
from tests.support.paths import REPO_ROOT

# TensorFlow's C++ log format (I1204 15:40:09.29... or I0000 00:00:17... file.cc:12]),
# absl's notice before its logging starts, and its Python logger's lines.
TENSORFLOW_LINE = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ \S+:\d+\]|"
                             r"absl::InitializeLog|^(WARNING|INFO|ERROR):tensorflow:|"
                             r"rebuild TensorFlow|oneDNN custom operations|cuda drivers|cuInit")


def tensorflow_lines(text):
    return [line for line in text.splitlines() if TENSORFLOW_LINE.search(line)]


def environment():
    """This process's environment without the test suite's TF_CPP_MIN_LOG_LEVEL: a user's."""
    env = dict(os.environ, PYTHONPATH=REPO_ROOT)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return env


class QuietCommandsTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = os.path.join(tf.compat.v1.test.get_temp_dir(), "quiet")
        cls.pairs = testing.write_pairs(os.path.join(cls.root, "pairs"), count=2)
        cls.digits = cgan_testing.write_idx_dir(os.path.join(cls.root, "digits"), 32, 10)
        cls.run_dir = os.path.join(cls.root, "run")

    def command(self, *argv, ok=True):
        result = subprocess.run([sys.executable, *argv], capture_output=True, text=True,
                                cwd=self.root, env=environment(), timeout=300)
        if ok:
            self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        return result.stdout + result.stderr

    def test_no_tensorflow_line_by_default(self):
        tiny = ["--crop_size", "32", "--ngf", "8", "--ndf", "8"]
        outputs = {
            "train": self.command("-m", "pix2pix_tf.main", "--mode", "train", "--input_dir",
                                  self.pairs, "--output_dir", self.run_dir, "--max_steps", "2",
                                  "--summary_freq", "1", "--display_freq", "1",
                                  "--progress_freq", "1", *tiny),
            "test": self.command("-m", "pix2pix_tf.main", "--mode", "test", "--input_dir",
                                 self.pairs, "--output_dir", os.path.join(self.root, "tested"),
                                 "--checkpoint", self.run_dir),
            "predict": self.command("-m", "pix2pix_tf.main", "--mode", "predict", "--input_dir",
                                    os.path.join(self.pairs, "1.png"), "--output_dir",
                                    os.path.join(self.root, "predicted"), "--checkpoint",
                                    self.run_dir),
            "export": self.command("-m", "pix2pix_tf.main", "--mode", "export", "--output_dir",
                                   self.run_dir, "--checkpoint", self.run_dir),
            "cgan train": self.command("-m", "cgan_mnist_tf.main", "--mode", "train",
                                       "--output_dir", os.path.join(self.root, "cgan"),
                                       "--dataset", "mnist", "--data_dir", self.digits,
                                       "--model", "mlp", "--latent_dim", "8", "--epochs", "1",
                                       "--batch_size", "16"),
            "cgan generate": self.command("-m", "cgan_mnist_tf.main", "--mode", "generate",
                                          "--checkpoint", os.path.join(self.root, "cgan")),
            "process": self.command(os.path.join(REPO_ROOT, "tools", "process.py"),
                                    "--input_dir", self.pairs, "--output_dir",
                                    os.path.join(self.root, "resized"), "--operation", "resize",
                                    "--size", "32"),
            "serve": self.serve(),
        }
        for name, output in outputs.items():
            with self.subTest(name):
                self.assertTrue(output.strip(), name)
                self.assertEqual(tensorflow_lines(output), [], output[-3000:])
        self.assertIn("progress  epoch 1  step 2/2", outputs["train"])

    def test_verbose_shows_them(self):
        output = self.command("-m", "cgan_mnist_tf.main", "--mode", "train", "--verbose",
                              "--output_dir", os.path.join(self.root, "verbose"), "--dataset",
                              "mnist", "--data_dir", self.digits, "--model", "mlp",
                              "--latent_dim", "8", "--epochs", "1", "--batch_size", "16")
        self.assertNotEqual(tensorflow_lines(output), [], output[-3000:])

    def serve(self):
        """The server's output from its start to a SIGTERM once it listens."""
        server = subprocess.Popen(
            [sys.executable, "-m", "pix2pix_tf.serving", "--model", self.run_dir, "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=self.root,
            env=environment())
        lines = []
        deadline = time.monotonic() + 240
        try:
            for line in server.stdout:
                lines.append(line)
                if line.startswith("open http") or time.monotonic() > deadline:
                    break
            server.send_signal(signal.SIGTERM)
            lines += server.communicate(timeout=60)[0].splitlines(keepends=True)
        finally:
            server.kill()
        self.assertTrue(any(line.startswith("open http") for line in lines), "".join(lines))
        return "".join(lines)


if __name__ == "__main__":
    tf.test.main()
