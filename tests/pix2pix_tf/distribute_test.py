"""Training under tf.distribute strategies: mirrored == one device, multi-worker
runs on 127.0.0.1, and --strategy tpu without a TPU."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

import numpy as np
import pytest
import tensorflow as tf

from tests.pix2pix_tf.main_test import REPO, program_stderr, read_events
from tests.support import distribute as distribute_testing
from tests.support import pix2pix as testing

LOSSES = ("discriminator_loss", "generator_loss_GAN", "generator_loss_L1")


def run_main(*args, env):
    env = dict(env, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, "-m", "pix2pix_tf.main", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)

SGD_LR = 1.0


def pix2pix_mirrored():
    """Run by run_with_logical_cpus: one step of a tiny pix2pix, without dropout
    (each replica would drop units of its own part of the batch), on one
    device with plain batch norm and on 2 replicas with synchronised batch
    norm (the statistics of the global batch, as on one device), from the
    same weights and batch:

    - float32 with SGD, whose update is the gradient times the learning rate,
      so the weights show whether the replicas' gradients add up to the global
      batch's (Adam's first step, about lr * sign(gradient), would hide a
      wrong scale); and with the Adam optimizers of a real run;
    - --mixed_precision bfloat16 with Adam (the losses);
    - and the error that --jit_compile on 2 replicas stops with.
    """
    import keras

    from pix2pix_tf import train
    from pix2pix_tf.common.errors import UserError

    rng = np.random.default_rng(3)
    batch = (rng.uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32),
             rng.uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32))
    results = {}
    for name, dtype, optimizer in (("sgd", "float32", "sgd"), ("adam", "float32", "adam"),
                                   ("bfloat16", "bfloat16", "adam")):
        options = testing.tiny_options(dropout=False, mixed_precision=dtype, jit_compile=False)

        def build(distributed):
            keras.utils.set_random_seed(7)
            model = train.build_model(options, sync_batchnorm=distributed)
            if optimizer == "sgd":
                model.compile(generator_optimizer=keras.optimizers.SGD(SGD_LR),
                              discriminator_optimizer=keras.optimizers.SGD(SGD_LR))
            return model.train_step, {"generator": model.generator,
                                      "discriminator": model.discriminator}

        step = distribute_testing.one_step_on_each(build, batch, num_devices=2)
        results.update({f"{name}/{key}": value for key, value in step.items()})
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    try:
        train.build(testing.tiny_options(jit_compile=True, strategy="mirrored",
                                         batch_size=2), mirrored, 4)
        results["xla_error"] = np.array("")
    except UserError as e:
        results["xla_error"] = np.array(str(e))
    return results


class MirroredTest(tf.test.TestCase):
    """One step on 2 replicas (2 logical CPUs) against one device."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.results = distribute_testing.run_with_logical_cpus(
            "tests.pix2pix_tf.distribute_test:pix2pix_mirrored", num_devices=2)

    def losses(self, run, kind):
        return np.array([self.results[f"{run}/{kind}/logs/{name}"] for name in LOSSES])

    def compare(self, run):
        """{name: (single-device value, mirrored value)} of one run's weights,
        after checking that its losses match and that it started from the same weights."""
        self.assertAllClose(self.losses(run, "mirrored"), self.losses(run, "single"), rtol=1e-5,
                            atol=0)
        prefix = f"{run}/single/"
        pairs = {key[len(prefix):]: (value, self.results[f"{run}/mirrored/{key[len(prefix):]}"])
                 for key, value in self.results.items() if key.startswith(prefix)}
        for name, (single, mirrored) in pairs.items():
            if name.startswith("initial/"):
                self.assertAllEqual(single, mirrored, msg=name)
        weights = {name: pair for name, pair in pairs.items()
                   if not name.startswith(("logs/", "initial/"))}
        self.assertGreater(len(weights), 40)
        return pairs, weights

    def test_sgd_step_gives_the_same_weights(self):
        # Kernels, biases, gammas, betas and moving statistics. A wrong loss
        # scale (gradients summed over the replicas, not averaged) would double
        # every update. Sync batch norm's E[x^2] - E[x]^2 and the all-reduce
        # round otherwise than one device's moments: the updates agree to 1% of
        # their size.
        pairs, weights = self.compare("sgd")
        moved = 0
        for name, (single, mirrored) in weights.items():
            update_single = single - pairs[f"initial/{name}"][0]
            update_mirrored = mirrored - pairs[f"initial/{name}"][0]
            size = np.max(np.abs(update_single))
            self.assertAllClose(single, mirrored, rtol=0, atol=1e-5 + 1e-2 * size, msg=name)
            if size > 1e-3:  # The same scale: one update projected on the other.
                ratio = np.sum(update_mirrored * update_single) / np.sum(update_single ** 2)
                self.assertAllClose(ratio, 1.0, atol=1e-3, msg=name)
                moved += 1
        self.assertGreater(moved, len(weights) // 2)

    def test_adam_step_gives_the_same_weights(self):
        # Adam's first update is lr * g / (|g| + eps): where a gradient is float
        # noise (the biases before a batch norm, whose true gradient is 0) the
        # two computations' rounding may flip it, by up to 2 lr. Elsewhere the
        # weights agree closely.
        lr = testing.tiny_options().lr
        _, weights = self.compare("adam")
        for name, (single, mirrored) in weights.items():
            self.assertAllClose(single, mirrored, rtol=0, atol=2 * lr + 1e-7, msg=name)
            if not name.endswith("_conv/bias"):
                close = np.isclose(mirrored, single, rtol=1e-4, atol=1e-6)
                self.assertGreaterEqual(np.mean(close), 0.99, name)

    def test_bfloat16_losses_match_one_device(self):
        # The same bfloat16 computation split over 2 replicas: one bfloat16
        # rounding is 2^-8 (0.4%) relative, and the replicas' sums round otherwise.
        bfloat16 = self.losses("bfloat16", "mirrored")
        self.assertAllClose(bfloat16, self.losses("bfloat16", "single"), rtol=1e-2, atol=0)
        # And near float32's (bfloat16 activations, float32 variables and losses).
        self.assertAllClose(bfloat16, self.losses("adam", "single"), rtol=5e-2, atol=0)

    def test_xla_on_several_replicas_is_refused_in_one_line(self):
        message = str(self.results["xla_error"])
        self.assertStartsWith(message, "--jit_compile needs a single replica; "
                                       "--strategy mirrored has 2 (use --nojit_compile)")
        self.assertNotIn("\n", message)


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


def count_events(output_dir, tag):
    """{step: how many summaries of `tag`} in output_dir's event files."""
    counts = {}
    for name in os.listdir(output_dir):
        if name.startswith("events.out.tfevents"):
            for record in tf.data.TFRecordDataset(os.path.join(output_dir, name)):
                event = tf.compat.v1.Event.FromString(record.numpy())
                if any(value.tag == tag for value in event.summary.value):
                    counts[event.step] = counts.get(event.step, 0) + 1
    return counts


def weights_in_checkpoint(test, run_dir, weights):
    """Asserts that the generator's and discriminator's weights saved in
    run_dir's checkpoint are among `weights` (an npz of a worker's)."""
    reader = tf.train.load_checkpoint(run_dir)
    saved = [name for name in reader.get_variable_to_shape_map()
             if name.startswith(("generator", "discriminator"))
             and not any(part in name for part in ("optimizer/_variables", "_iterations",
                                                   "learning_rate"))]
    test.assertGreater(len(saved), 40)
    dumped = [weights[name] for name in weights.files]
    for name in saved:
        value = reader.get_tensor(name)
        test.assertTrue(any(array.shape == value.shape and np.array_equal(array, value)
                            for array in dumped), name)


def assert_same_weights(test, first, second):
    test.assertCountEqual(first.files, second.files)
    test.assertGreater(len(first.files), 40)
    for name in first.files:
        test.assertAllClose(first[name], second[name], rtol=1e-6, atol=1e-7, msg=name)


TINY = ["--crop_size", "32", "--ngf", "8", "--ndf", "8", "--seed", "4"]


@pytest.mark.exclusive  # Two workers in lockstep: a third process on the cores stalls both.
class MultiWorkerTest(tf.test.TestCase):
    """Two worker processes on 127.0.0.1 (tests.support.train_worker, which
    also dumps each worker's final weights)."""

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    def worker_args(self, index, name, *args):
        return ["--weights_out", os.path.join(self.tmp, f"{name}-weights-{index}.npz"),
                "--opened_out", os.path.join(self.tmp, f"{name}-opened-{index}.json"),
                "--mode", "train", "--strategy", "multi_worker", *TINY, *args]

    def weights(self, name, index):
        return np.load(os.path.join(self.tmp, f"{name}-weights-{index}.npz"))

    def opened(self, name, index):
        with open(os.path.join(self.tmp, f"{name}-opened-{index}.json")) as f:
            return json.load(f)

    def test_two_workers_train_and_only_the_chief_writes(self):
        input_dir = testing.write_pairs(os.path.join(self.tmp, "pairs"), count=4)
        # Each worker its own --output_dir, to see who writes what.
        output_dirs = [os.path.join(self.tmp, f"out-{index}") for index in range(2)]
        cluster = distribute_testing.Cluster(self, self.tmp, "run", "tests.support.train_worker", [
            self.worker_args(index, "run", "--input_dir", input_dir,
                             "--output_dir", output_dirs[index], "--sync_batchnorm",
                             "--batch_size", "2", "--max_steps", "2", "--cache", "true",
                             "--summary_freq", "1", "--progress_freq", "1", "--display_freq", "2")
            for index in range(2)])
        logs = cluster.wait()
        for code, log in zip(cluster.returncodes(), logs):
            self.assertEqual(code, 0, log)

        (chief_dir, worker_dir), (_, worker_tmp) = output_dirs, cluster.tmp_dirs
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
        self.assertIn("  step 2/2", progress[1])
        # The other worker wrote nothing there, printed no progress, and
        # removed its temporary checkpoints.
        self.assertFalse(os.path.exists(worker_dir), os.listdir(worker_dir)
                         if os.path.exists(worker_dir) else "")
        self.assertNotIn("progress", logs[1])
        self.assertEqual(os.listdir(worker_tmp), [])

        # Each worker opened (checked) and decoded (cached) only its shard:
        # every other file of the sorted listing, 1.png and 3.png on the chief.
        shards = [["1.png", "3.png"], ["2.png", "4.png"]]
        for index, shard in enumerate(shards):
            files = self.opened("run", index)
            for kind in ("opened", "cached"):
                self.assertEqual(sorted(set(os.path.basename(p) for p in files[kind])), shard,
                                 msg=(index, kind))
            self.assertLen(files["cached"], 2)  # Each decoded once.

        # Both ended with the same weights, and the chief's checkpoint holds them.
        chief, worker = self.weights("run", 0), self.weights("run", 1)
        assert_same_weights(self, chief, worker)
        weights_in_checkpoint(self, chief_dir, chief)

    def test_a_bad_file_in_one_shard_stops_both_workers_before_anything_is_written(self):
        input_dir = testing.write_pairs(os.path.join(self.tmp, "pairs"), count=4)
        bad = os.path.join(input_dir, "4.png")  # In worker 1's shard (2.png, 4.png).
        with open(bad, "rb") as f:
            content = f.read()
        with open(bad, "wb") as f:
            f.write(content[:len(content) // 2])
        output_dir = os.path.join(self.tmp, "run")
        cluster = distribute_testing.Cluster(self, self.tmp, "bad", "pix2pix_tf.main", [
            ["--mode", "train", "--strategy", "multi_worker", *TINY, "--input_dir", input_dir,
             "--output_dir", output_dir, "--batch_size", "2", "--max_steps", "2"]
            for _ in range(2)])
        logs = cluster.wait()
        self.assertEqual(cluster.returncodes(), [2, 2], "\n".join(logs))
        errors = [[line for line in log.splitlines() if line.startswith("error: ")] for log in logs]
        self.assertLen(errors[0], 1, logs[0])
        self.assertLen(errors[1], 1, logs[1])
        self.assertRegex(errors[1][0], r"^error: \S*pairs/4\.png is not a decodable image")
        self.assertRegex(errors[0][0], r"^error: worker 1: \S*pairs/4\.png is not a decodable image")
        self.assertFalse(os.path.exists(output_dir))

    def test_sigterm_to_one_worker_stops_both_at_one_step_and_the_run_resumes_there(self):
        # One epoch of 30 steps (each worker 30 of the 60 images, one per
        # step): each new epoch's dataset makes the workers optimise their
        # step's graph again (a minute on a loaded 2-core machine).
        input_dir = testing.write_pairs(os.path.join(self.tmp, "pairs"), count=60)
        run_dir = os.path.join(self.tmp, "run")
        max_steps = 30
        common = ["--input_dir", input_dir, "--batch_size", "2", "--max_steps", str(max_steps),
                  "--summary_freq", "1", "--progress_freq", "1", "--sync_batchnorm"]
        output_dirs = [run_dir, os.path.join(self.tmp, "worker-1")]
        # Slow steps (0.3 s), so that the run is still going when the signal is seen.
        cluster = distribute_testing.Cluster(self, self.tmp, "first", "tests.support.train_worker", [
            self.worker_args(index, "first", *common, "--output_dir", output_dirs[index],
                             "--step_delay", "0.3") for index in range(2)])
        cluster.wait_for(0, "  step 3/")
        cluster.processes[1].send_signal(signal.SIGTERM)  # The worker that is not the chief.
        logs = cluster.wait()
        # Both stop: 143, as for a SIGTERM on one machine; the chief says where.
        self.assertEqual(cluster.returncodes(), [143, 143], "\n".join(logs))
        stops = re.findall(r"stopped by SIGTERM at step (\d+); saved (\S+);", logs[0])
        self.assertLen(stops, 1, logs[0])
        stop_step = int(stops[0][0])
        self.assertBetween(stop_step, 3, max_steps - 1)
        self.assertEqual(tf.train.latest_checkpoint(run_dir), stops[0][1])
        self.assertEqual(os.path.basename(stops[0][1]), f"ckpt-{stop_step}")
        # The same step on both: the same weights, which the checkpoint holds.
        assert_same_weights(self, self.weights("first", 0), self.weights("first", 1))
        weights_in_checkpoint(self, run_dir, self.weights("first", 0))
        self.assertEqual(os.listdir(cluster.tmp_dirs[1]), [])
        self.assertFalse(os.path.exists(output_dirs[1]))

        resumed = distribute_testing.Cluster(self, self.tmp, "resumed",
                                             "tests.support.train_worker", [
            self.worker_args(index, "resumed", *common, "--output_dir", output_dirs[index],
                             "--checkpoint", run_dir) for index in range(2)])
        logs = resumed.wait()
        self.assertEqual(resumed.returncodes(), [0, 0], "\n".join(logs))
        self.assertIn(f"resumed from {stops[0][1]} at step {stop_step}", logs[0])
        self.assertIn("30 steps per epoch, until step 30", logs[0])
        assert_same_weights(self, self.weights("resumed", 0), self.weights("resumed", 1))
        # No step lost or repeated: one summary per step over both runs, and
        # exactly max_steps updates of each optimizer in the final checkpoint.
        self.assertEqual(count_events(run_dir, "generator_loss_L1"),
                         {step: 1 for step in range(1, max_steps + 1)})
        reader = tf.train.load_checkpoint(run_dir)
        for optimizer in ("generator_optimizer", "discriminator_optimizer"):
            iterations = [name for name in reader.get_variable_to_shape_map()
                          if name.startswith(optimizer) and "iterations" in name]
            self.assertLen(iterations, 1, optimizer)
            self.assertEqual(reader.get_tensor(iterations[0]), max_steps, optimizer)
        self.assertEqual(reader.get_tensor("global_step/.ATTRIBUTES/VARIABLE_VALUE"), max_steps)


if __name__ == "__main__":
    tf.test.main()
