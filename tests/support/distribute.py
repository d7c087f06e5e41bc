"""Tests of tf.distribute on a machine without GPUs (not used at run time).

The CPU is split into logical devices, one replica each, with
tf.config.set_logical_device_configuration, which only works before
TensorFlow sets up its devices; under pytest other suites have done that
already, so the body of such a test runs in a fresh Python process:

    results = run_with_logical_cpus("tests.my_package.my_test:one_step", num_devices=2)

where one_step(**kwargs), run in that process, returns a dict of arrays.
`one_step_on_each` is the body of the usual check: one training step on one
device and one on a MirroredStrategy over the logical CPUs, from the same
weights and the same global batch, should give the same losses and weights.
"""

import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np

from tests.support.paths import REPO_ROOT as REPO


def run_with_logical_cpus(target, num_devices=2, timeout=300, **kwargs):
    """Runs `target`, "package.module:function", as function(**kwargs) in a fresh
    Python process whose CPU is split into `num_devices` logical devices, and
    returns the dict of numpy arrays it returned. kwargs must be JSON."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "results.npz")
        env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
                   TF_CPP_MIN_LOG_LEVEL="2")
        result = subprocess.run(
            [sys.executable, "-m", __name__, target, str(num_devices), out, json.dumps(kwargs)],
            env=env, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise AssertionError(f"{target} failed in its process:\n{result.stderr[-5000:]}")
        with np.load(out) as saved:
            return {name: saved[name] for name in saved.files}


def one_step_on_each(build, batch, num_devices=2):
    """One training step on the default strategy and one on a MirroredStrategy
    over `num_devices` logical CPUs, each from a model `build` makes.

    build(distributed) -> (replica step function: batch -> {name: scalar},
    {name: keras model}); it is called under the strategy's scope and must
    make the same initial weights every time (set the seed in it).
    `batch` is a nest of arrays, the global batch on its first axis.

    Returns {"single/...": array, "mirrored/...": array} of the step's logs
    ("KIND/logs/NAME") and of every model variable ("KIND/MODEL/PATH"),
    before ("KIND/initial/MODEL/PATH") and after the step.
    """
    import tensorflow as tf

    from pix2pix_tf.common import distribute

    devices = [f"/cpu:{i}" for i in range(num_devices)]
    strategies = {"single": tf.distribute.get_strategy(),
                  "mirrored": tf.distribute.MirroredStrategy(devices)}
    if strategies["mirrored"].num_replicas_in_sync != num_devices:
        raise AssertionError(f"{num_devices} replicas expected, got "
                             f"{strategies['mirrored'].num_replicas_in_sync}")
    global_batch = len(tf.nest.flatten(batch)[0])
    results = {}
    for kind, strategy in strategies.items():
        with strategy.scope():
            step_fn, models = build(distributed=kind == "mirrored")
        for name, model in models.items():
            for variable in model.weights:
                results[f"{kind}/initial/{name}/{variable.path}"] = np.asarray(variable.numpy())
        step = distribute.replicated(strategy, step_fn)
        dataset = tf.data.Dataset.from_tensor_slices(batch).batch(global_batch)
        for distributed_batch in distribute.distribute_dataset(strategy, dataset):
            logs = step(distributed_batch)
        for name, value in logs.items():
            results[f"{kind}/logs/{name}"] = np.asarray(value)
        for name, model in models.items():
            for variable in model.weights:
                results[f"{kind}/{name}/{variable.path}"] = np.asarray(variable.numpy())
    return results


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


class Cluster:
    """The processes of one multi-worker run on 127.0.0.1: one per worker,
    each `python -m MODULE ARGS` with its TF_CONFIG, its own TMPDIR (to see
    what a worker leaves there) and its output in a log file.

        cluster = Cluster(test, tmp, "run1", "tests.support.train_worker", [args0, args1])
        cluster.wait_for(0, "  step 3/")
        logs = cluster.wait()
    """

    def __init__(self, test, tmp, name, module, worker_args, timeout=180):
        self.timeout = timeout
        ports = free_ports(len(worker_args))
        cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
        self.processes, self.log_paths, self.tmp_dirs = [], [], []
        for index, args in enumerate(worker_args):
            worker_tmp = os.path.join(tmp, f"{name}-tmp-{index}")
            os.makedirs(worker_tmp)
            log_path = os.path.join(tmp, f"{name}-log-{index}.txt")
            env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2", TMPDIR=worker_tmp,
                       TF_CONFIG=json.dumps({"cluster": cluster,
                                             "task": {"type": "worker", "index": index}}))
            with open(log_path, "w") as log:
                process = subprocess.Popen([sys.executable, "-m", module, *args], cwd=REPO,
                                           env=env, stdout=log, stderr=subprocess.STDOUT,
                                           start_new_session=True)
            test.addCleanup(_kill, process)
            self.processes.append(process)
            self.log_paths.append(log_path)
            self.tmp_dirs.append(worker_tmp)
        self.deadline = time.time() + timeout

    def logs(self):
        logs = []
        for path in self.log_paths:
            with open(path) as f:
                logs.append(f.read())
        return logs

    def wait_for(self, index, text):
        """Waits until worker `index` printed `text`; AssertionError if it ends first."""
        self.wait_until(index, lambda: text in self.logs()[index], f"printed {text!r}")

    def wait_until(self, index, condition, what):
        """Waits until condition() holds while worker `index` runs; AssertionError
        (saying `what` never happened) if the worker ends first or on timeout."""
        while time.time() < self.deadline:
            if condition():
                return
            if self.processes[index].poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"worker {index} never {what}:\n" + self.logs()[index])

    def wait(self):
        """Waits for every worker to end (AssertionError after the timeout); their logs."""
        while time.time() < self.deadline and any(p.poll() is None for p in self.processes):
            time.sleep(0.2)
        logs = self.logs()
        if any(p.poll() is None for p in self.processes):
            raise AssertionError(f"workers still running after {self.timeout}s:\n"
                                 + "\n".join(logs))
        return logs

    def returncodes(self):
        return [p.returncode for p in self.processes]


def _kill(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _main(argv):
    target, num_devices, out, kwargs = argv[1:]
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * int(num_devices))
    module, function = target.split(":")
    results = getattr(importlib.import_module(module), function)(**json.loads(kwargs))
    np.savez(out, **results)


if __name__ == "__main__":
    _main(sys.argv)
