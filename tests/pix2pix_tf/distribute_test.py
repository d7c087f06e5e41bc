"""Training under tf.distribute strategies: mirrored == one device, multi-worker
runs on 127.0.0.1, and --strategy tpu without a TPU."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np
import tensorflow as tf

from tests.support import pix2pix as testing
from pix2pix_tf.common import distribute
from tests.support import distribute as distribute_testing
from tests.pix2pix_tf.main_test import REPO, program_stderr, read_events

LOSSES = ("discriminator_loss", "generator_loss_GAN", "generator_loss_L1")


def run_main(*args, env):
    env = dict(env, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, "-m", "pix2pix_tf.main", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)

def pix2pix_one_step():
    """Run by run_with_logical_cpus: one step of a tiny pix2pix, without dropout
    (each replica would drop units of its own part of the batch), on one
    device with plain batch norm and on 2 replicas with synchronised batch
    norm (the statistics of the global batch, as on one device).

    Twice: with SGD, whose update is the gradient times the learning rate, so
    the weights show whether the replicas' gradients add up to the global
    batch's (Adam's first step, about lr * sign(gradient), would hide a wrong
    scale); and with the Adam optimizers of a real run.
    """
    import keras

    from pix2pix_tf import train

    # Compare float32 steps, whatever the default.
    options = testing.tiny_options(dropout=False, mixed_precision="float32")
    rng = np.random.default_rng(3)
    inputs = rng.uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)
    targets = rng.uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)
    results = {}
    for optimizer in ("sgd", "adam"):

        def build(distributed):
            keras.utils.set_random_seed(7)
            model = train.build_model(options, sync_batchnorm=distributed)
            if optimizer == "sgd":
                model.compile(generator_optimizer=keras.optimizers.SGD(SGD_LR),
                              discriminator_optimizer=keras.optimizers.SGD(SGD_LR))
            return model.train_step, {"generator": model.generator,
                                      "discriminator": model.discriminator}

        step = distribute_testing.one_step_on_each(build, (inputs, targets), num_devices=2)
        results.update({f"{optimizer}/{name}": value for name, value in step.items()})
    return results


SGD_LR = 1.0


class MirroredTest(tf.test.TestCase):
    """One step with global batch 2 on 2 replicas (one image each) against one
    step on one device: the same losses and the same weights afterwards."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.results = distribute_testing.run_with_logical_cpus(
            "tests.pix2pix_tf.distribute_test:pix2pix_one_step", num_devices=2)

    def compare(self, optimizer):
        """{name: (single-device value, mirrored value)} of one run."""
        prefix = f"{optimizer}/single/"
        pairs = {key[len(prefix):]: (value, self.results[f"{optimizer}/mirrored/"
                                                         + key[len(prefix):]])
                 for key, value in self.results.items() if key.startswith(prefix)}
        for name in LOSSES:  # The global batch's losses.
            single, mirrored = pairs[f"logs/{name}"]
            self.assertAllClose(single, mirrored, rtol=1e-5, msg=name)
        for name, (single, mirrored) in pairs.items():
            if name.startswith("initial/"):  # The same starting point.
                self.assertAllEqual(single, mirrored, msg=name)
        weights = {name: pair for name, pair in pairs.items()
                   if not name.startswith(("logs/", "initial/"))}
        self.assertGreater(len(weights), 40)
        return pairs, weights

    def test_sgd_step_gives_the_same_weights(self):
        # Kernels, biases, gammas, betas and moving statistics. A wrong loss
        # scale (gradients summed, not averaged) would double every update.
        # Sync batch norm's E[x^2] - E[x]^2 and the all-reduce round otherwise
        # than one device's moments: the updates agree to 1% of their size (the
        # biases before a batch norm, whose true gradient is 0, get float noise).
        pairs, weights = self.compare("sgd")
        moved = 0
        for name, (single, mirrored) in weights.items():
            initial = pairs[f"initial/{name}"][0]
            update_single, update_mirrored = single - initial, mirrored - initial
            size = np.max(np.abs(update_single))
            self.assertAllClose(single, mirrored, rtol=0, atol=1e-5 + 1e-2 * size, msg=name)
            if size > 1e-3:  # The same scale: the projection of one update on the other.
                ratio = np.sum(update_mirrored * update_single) / np.sum(update_single ** 2)
                self.assertAllClose(ratio, 1.0, atol=1e-3, msg=name)
                moved += 1
        self.assertGreater(moved, len(weights) // 2)

    def test_adam_step_gives_the_same_weights(self):
        # Adam's first update is lr * g / (|g| + eps): where a gradient is float
        # noise (the biases before a batch norm, whose true gradient is 0) the
        # rounding of the two computations may flip it, by up to 2 lr. Elsewhere
        # the weights agree closely.
        lr = testing.tiny_options().lr
        _, weights = self.compare("adam")
        for name, (single, mirrored) in weights.items():
            self.assertAllClose(single, mirrored, rtol=0, atol=2 * lr + 1e-7, msg=name)
            close = np.isclose(mirrored, single, rtol=1e-4, atol=1e-6)
            if not name.endswith("_conv/bias"):
                self.assertGreaterEqual(np.mean(close), 0.99, name)


class TpuTest(tf.test.TestCase):

    def test_tpu_without_a_tpu_is_one_error_line(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        input_dir = testing.write_pairs(os.path.join(tmp, "pairs"), count=2)
        output_dir = os.path.join(tmp, "run")
        env = {name: value for name, value in os.environ.items()
               if name not in ("TPU_NAME", "KUBE_GOOGLE_CLOUD_TPU_ENDPOINTS", "TPU_CONFIG")}
        for tpu in ([], ["--tpu", "local"]):  # Neither looks on the network.
            with self.subTest(tpu=tpu):
                result = run_main("--mode", "train", "--input_dir", input_dir,
                                  "--output_dir", output_dir, "--crop_size", "32",
                                  "--strategy", "tpu", *tpu, env=env)
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertNotIn("Traceback", result.stderr)
                lines = program_stderr(result.stderr)
                self.assertLen(lines, 1, result.stderr)
                self.assertRegex(lines[0], r"^error: --strategy tpu: no TPU found")
                self.assertFalse(os.path.exists(output_dir))


def free_ports(count):
    """Ports free on 127.0.0.1 now (bound to port 0, then released)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class MultiWorkerTest(tf.test.TestCase):

    TIMEOUT = 120

    def test_two_workers_train_and_only_the_chief_writes(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        input_dir = testing.write_pairs(os.path.join(tmp, "pairs"), count=4)
        ports = free_ports(2)
        cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
        weights_dir = os.path.join(tmp, "weights")
        os.makedirs(weights_dir)
        processes, outputs = [], []
        for index in range(2):
            # Each worker its own --output_dir and temporary folder, to see who writes what.
            output_dir = os.path.join(tmp, f"out-{index}")
            worker_tmp = os.path.join(tmp, f"tmp-{index}")
            os.makedirs(worker_tmp)
            env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2", TMPDIR=worker_tmp,
                       TF_CONFIG=json.dumps({"cluster": cluster,
                                             "task": {"type": "worker", "index": index}}))
            args = ["--weights_out", os.path.join(weights_dir, f"weights-worker-{index}.npz"),
                    "--mode", "train", "--input_dir", input_dir, "--output_dir", output_dir,
                    "--strategy", "multi_worker", "--sync_batchnorm", "--batch_size", "2",
                    "--max_steps", "2", "--crop_size", "32", "--ngf", "8", "--ndf", "8",
                    "--seed", "4", "--summary_freq", "1", "--progress_freq", "1",
                    "--display_freq", "2"]
            log = open(os.path.join(tmp, f"log-{index}.txt"), "w+")
            self.addCleanup(log.close)
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "tests.support.train_worker", *args], cwd=REPO, env=env,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
            outputs.append((output_dir, worker_tmp, log))
        for process in processes:
            self.addCleanup(self._kill, process)

        deadline = time.time() + self.TIMEOUT
        while time.time() < deadline and any(p.poll() is None for p in processes):
            time.sleep(0.2)
        logs = []
        for _, _, log in outputs:
            log.seek(0)
            logs.append(log.read())
        self.assertTrue(all(p.poll() is not None for p in processes),
                        f"workers still running after {self.TIMEOUT}s:\n" + "\n".join(logs))
        for process, log in zip(processes, logs):
            self.assertEqual(process.returncode, 0, log)

        (chief_dir, chief_tmp, _), (worker_dir, worker_tmp, _) = outputs
        # The chief wrote the checkpoint, options.json, summaries and index.html.
        self.assertEqual(os.path.basename(tf.train.latest_checkpoint(chief_dir)), "ckpt-2")
        with open(os.path.join(chief_dir, "options.json")) as f:
            saved = json.load(f)
        self.assertEqual((saved["strategy"], saved["sync_batchnorm"], saved["batch_size"]),
                         ("multi_worker", True, 2))
        self.assertEqual(read_events(chief_dir)["generator_loss_L1"], [1, 2])
        self.assertTrue(os.path.isfile(os.path.join(chief_dir, "index.html")))
        progress = [line for line in logs[0].splitlines() if line.startswith("progress")]
        self.assertLen(progress, 2, logs[0])
        self.assertIn("global step 2/2", progress[1])
        # The other worker wrote nothing there, printed no progress, and
        # removed its temporary checkpoints.
        self.assertFalse(os.path.exists(worker_dir), os.listdir(worker_dir)
                         if os.path.exists(worker_dir) else "")
        self.assertNotIn("progress", logs[1])
        self.assertEqual(os.listdir(worker_tmp), [])

        # Both ended with the same weights, and the chief's checkpoint holds them.
        chief = np.load(os.path.join(weights_dir, "weights-worker-0.npz"))
        worker = np.load(os.path.join(weights_dir, "weights-worker-1.npz"))
        self.assertCountEqual(chief.files, worker.files)
        self.assertGreater(len(chief.files), 40)
        for name in chief.files:
            self.assertAllClose(chief[name], worker[name], rtol=1e-6, atol=1e-7, msg=name)
        reader = tf.train.load_checkpoint(chief_dir)
        saved_weights = [name for name in reader.get_variable_to_shape_map()
                         if name.startswith(("generator", "discriminator"))
                         and not any(part in name for part in ("optimizer/_variables",
                                                               "_iterations", "learning_rate"))]
        self.assertGreater(len(saved_weights), 40)
        dumped = [chief[name] for name in chief.files]
        for name in saved_weights:
            value = reader.get_tensor(name)
            self.assertTrue(any(array.shape == value.shape and np.array_equal(array, value)
                                for array in dumped), name)

    @staticmethod
    def _kill(process):
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


if __name__ == "__main__":
    tf.test.main()
