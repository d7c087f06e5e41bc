"""Training under tf.distribute: one mirrored step on 2 logical CPUs == one step
on one device; a mirrored run resumes on one device; two worker processes on
127.0.0.1 (the same weights, only the chief writes, a SIGTERM to one stops
both at one step); --strategy tpu without a TPU."""

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

from tests.support import cgan as testing
from tests.support import distribute as distribute_testing

BATCH = 2


def _one_step(strategy, optimizer, distributed, batch):
    """Logs and weights after one training step (as a run calls it) under `strategy`."""
    import keras

    from cgan_mnist_tf import options as cgan_options
    from cgan_mnist_tf import train
    from pix2pix_tf.common import distribute

    # Keras' Adam on both: FusedAdam runs Keras' update under a strategy anyway,
    # and its fused kernel rounds differently (~1e-6) on one device.
    # float32 on both, whatever --mixed_precision auto would pick on this machine.
    options = cgan_options.Options(model="mlp", latent_dim=8, batch_size=BATCH,
                                   fused_optimizer=False,
                                   mixed_precision="float32")
    with strategy.scope():
        keras.utils.set_random_seed(7)
        gan = train.build_gan(options, sync_batchnorm=distributed, dropout=False)
        if optimizer == "sgd":
            gan.compile(keras.optimizers.SGD(1.0), keras.optimizers.SGD(1.0), jit_compile=False)
    initial = [w.copy() for w in gan.generator.get_weights() + gan.discriminator.get_weights()]
    dataset = distribute.distribute_dataset(strategy, tf.data.Dataset.from_tensors(batch))
    step = distribute.replicated(strategy, tf.function(gan.train_step))
    logs = step(next(iter(dataset)))
    results = {f"logs/{name}": np.asarray(value) for name, value in logs.items()}
    weights = gan.generator.get_weights() + gan.discriminator.get_weights()
    for i, (before, after) in enumerate(zip(initial, weights)):
        results[f"initial/{i}"], results[f"weights/{i}"] = before, after
    return results


def cgan_mirrored(output_dir):
    """Run by run_with_logical_cpus (2 logical CPUs): one step of the mlp CGAN
    on one device (plain batch norm) and on 2 replicas (sync batch norm: the
    global batch's statistics, as on one device), from the same weights, batch
    and noise. The discriminator is built without dropout, as each replica
    would drop units of its own part of the batch. With SGD (lr 1), whose update
    is the gradient itself, so a wrong gradient scale shows in the weights, and
    with the Adam optimizers of a run. Then a 2-replica training run, resumed
    on one device."""
    from cgan_mnist_tf import options as cgan_options
    from cgan_mnist_tf import train

    rng = np.random.default_rng(3)
    batch = (rng.uniform(-1, 1, (BATCH, 28, 28, 1)).astype(np.float32),
             np.array([3, 8], np.int32), testing.fixed_noise(BATCH, 8, seed=4))
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    results = {}
    for optimizer in ("sgd", "adam"):
        for kind, strategy in (("single", tf.distribute.get_strategy()), ("mirrored", mirrored)):
            step = _one_step(strategy, optimizer, kind == "mirrored", batch)
            results.update({f"{optimizer}/{kind}/{k}": v for k, v in step.items()})

    data_dir = testing.write_idx_dir(os.path.join(output_dir, "tiny"), 12, 4)
    run_dir = os.path.join(output_dir, "run")
    options = cgan_options.Options(output_dir=run_dir, data_dir=data_dir, model="mlp", epochs=1,
                                   batch_size=4,
                                   latent_dim=8, sample_interval=2, sync_batchnorm=True)
    first = train.train(options, strategy=mirrored)
    resumed = train.train(cgan_options.Options(checkpoint=run_dir, epochs=2),
                          given={"checkpoint", "epochs"})
    results["run/steps"] = np.array([first.step, resumed.step, resumed.epoch])
    results["run/samples"] = np.array(len(os.listdir(os.path.join(run_dir, "samples"))))
    return results


class MirroredTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.results = distribute_testing.run_with_logical_cpus(
            "tests.cgan_mnist_tf.distribute_test:cgan_mirrored", num_devices=2,
            output_dir=tf.compat.v1.test.get_temp_dir())

    def test_one_mirrored_step_equals_one_single_device_step(self):
        r = self.results
        for optimizer in ("sgd", "adam"):
            single = {k[len(f"{optimizer}/single/"):]: v for k, v in r.items()
                      if k.startswith(f"{optimizer}/single/")}
            self.assertTrue(any(k.startswith("weights/") for k in single))
            for name, value in single.items():
                other = r[f"{optimizer}/mirrored/{name}"]
                if name.startswith("initial/"):
                    self.assertAllEqual(other, value, msg=name)
                else:
                    self.assertAllClose(other, value, rtol=1e-5, atol=1e-5, msg=f"{optimizer} {name}")
            changed = [not np.allclose(single[f"weights/{k[8:]}"], v)
                       for k, v in single.items() if k.startswith("initial/")]
            self.assertGreater(sum(changed), len(changed) // 2, msg=optimizer)

    def test_mirrored_run_resumes_on_one_device(self):
        # 12 images, global batch 4: 3 steps per epoch on 2 replicas and on one device.
        self.assertAllEqual(self.results["run/steps"], [3, 6, 2])
        # Steps 2 and 4 (multiples of --sample_interval), and each run's last, 3 and 6.
        self.assertEqual(int(self.results["run/samples"]), 4)


@pytest.mark.exclusive  # Two workers in lockstep: a third process on the cores stalls both.
class MultiWorkerTest(tf.test.TestCase):
    """Two worker processes on 127.0.0.1 (tests.support.cgan_train_worker,
    which also dumps each worker's final weights)."""

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    def start(self, name, images, *args):
        data_dir = os.path.join(self.tmp, f"digits-{images}")
        if not os.path.isdir(data_dir):
            testing.write_idx_dir(data_dir, images, 4)
        return distribute_testing.Cluster(self, self.tmp, name, "tests.support.cgan_train_worker", [
            ["--weights_out", os.path.join(self.tmp, f"{name}-weights-{index}.npz"),
             "--mode", "train", "--model", "mlp", "--strategy", "multi_worker", "--sync_batchnorm",
             "--data_dir", data_dir, "--latent_dim", "8", "--batch_size", "4", "--seed", "3",
             "--output_dir", os.path.join(self.tmp, "run" if index == 0 else "worker-1"), *args]
            for index in range(2)])

    def weights(self, name, index):
        return np.load(os.path.join(self.tmp, f"{name}-weights-{index}.npz"))

    def assert_same_weights(self, name):
        chief, worker = self.weights(name, 0), self.weights(name, 1)
        self.assertCountEqual(chief.files, worker.files)
        self.assertGreater(len(chief.files), 10)
        for key in chief.files:
            self.assertAllClose(chief[key], worker[key], rtol=1e-6, atol=1e-7, msg=key)
        return chief

    def assert_checkpoint_holds(self, run_dir, weights, step):
        reader = tf.train.load_checkpoint(run_dir)
        names = reader.get_variable_to_shape_map()
        # The weights (saved under the optimizers' _trainable_variables) and
        # batch norm's moving statistics (under the generator).
        saved = [n for n in names if n.startswith(("generator/", "discriminator/"))
                 or "/_trainable_variables/" in n]
        self.assertGreater(len(saved), 20)
        dumped = [weights[key] for key in weights.files]
        for name in saved:
            value = reader.get_tensor(name)
            self.assertTrue(any(a.shape == value.shape and np.array_equal(a, value)
                                for a in dumped), name)
        for optimizer in ("g_optimizer", "d_optimizer"):  # Exactly `step` updates each.
            iterations = [n for n in names if n.startswith(optimizer) and "iterations" in n]
            self.assertLen(iterations, 1, optimizer)
            self.assertEqual(reader.get_tensor(iterations[0]), step, optimizer)

    def test_two_workers_train_the_same_weights_and_only_the_chief_writes(self):
        # 16 digits, global batch 4: 4 steps per epoch, 2 epochs.
        cluster = self.start("run", 16, "--epochs", "2", "--sample_interval", "4")
        logs = cluster.wait()
        self.assertEqual(cluster.returncodes(), [0, 0], "\n".join(logs))
        run_dir = os.path.join(self.tmp, "run")
        self.assertIn("trained to step 8 (2 epochs)", logs[0])
        self.assertNotIn("trained to step", logs[1])
        with open(os.path.join(run_dir, "options.json")) as f:
            self.assertEqual(json.load(f)["strategy"], "multi_worker")
        self.assertEqual(sorted(os.listdir(os.path.join(run_dir, "samples"))),
                         ["step_00000004.png", "step_00000008.png"])
        self.assertTrue(os.path.isfile(os.path.join(run_dir, "samples.gif")))
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "worker-1")))
        self.assertEqual(os.listdir(cluster.tmp_dirs[1]), [])
        self.assert_checkpoint_holds(run_dir, self.assert_same_weights("run"), 8)

    def test_sigterm_to_one_worker_stops_both_at_one_step_and_the_run_resumes_there(self):
        # 120 digits, global batch 4: one epoch of 30 steps; a sample every step
        # tells how far the chief is; slow steps (0.3 s) keep the run going
        # until the signal is seen.
        run_dir = os.path.join(self.tmp, "run")
        cluster = self.start("first", 120, "--epochs", "1", "--sample_interval", "1",
                             "--step_delay", "0.3")
        cluster.wait_until(0, lambda: os.path.isfile(
            os.path.join(run_dir, "samples", "step_00000003.png")), "reached step 3")
        cluster.processes[1].send_signal(signal.SIGTERM)  # The worker that is not the chief.
        logs = cluster.wait()
        self.assertEqual(cluster.returncodes(), [143, 143], "\n".join(logs))
        stops = re.findall(r"stopped by SIGTERM at step (\d+) \(0 epochs done\)", logs[0])
        self.assertLen(stops, 1, logs[0])
        stop_step = int(stops[0])
        self.assertBetween(stop_step, 3, 29)
        self.assertEqual(os.path.basename(tf.train.latest_checkpoint(run_dir)),
                         f"ckpt-{stop_step}")
        self.assert_checkpoint_holds(run_dir, self.assert_same_weights("first"), stop_step)
        self.assertEqual(os.listdir(cluster.tmp_dirs[1]), [])

        resumed = self.start("resumed", 120, "--epochs", "1", "--sample_interval", "1",
                             "--checkpoint", run_dir)
        logs = resumed.wait()
        self.assertEqual(resumed.returncodes(), [0, 0], "\n".join(logs))
        self.assertIn(f"at step {stop_step} (epoch 1)", logs[0])
        self.assertIn("trained to step 30 (1 epoch)", logs[0])
        # No step lost or repeated: 30 updates in all, one sample grid per step.
        self.assert_checkpoint_holds(run_dir, self.assert_same_weights("resumed"), 30)
        self.assertLen(os.listdir(os.path.join(run_dir, "samples")), 30)


class TpuTest(tf.test.TestCase):

    def test_tpu_strategy_without_a_tpu_is_a_one_line_error(self):
        env = {**os.environ, "PYTHONPATH": testing.REPO_ROOT, "TF_CPP_MIN_LOG_LEVEL": "3"}
        env.pop("TPU_NAME", None)
        result = subprocess.run(
            [sys.executable, "-m", "cgan_mnist_tf.main", "--mode", "train", "--strategy", "tpu",
             "--output_dir", os.path.join(self.get_temp_dir(), "tpu"), "--dataset", "mnist_5k"],
            cwd=testing.REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
        self.assertEqual(result.returncode, 2, msg=result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        self.assertLen(errors, 1, msg=result.stderr)
        self.assertRegex(errors[0], r"^error: --strategy tpu: no TPU found")


if __name__ == "__main__":
    tf.test.main()
