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
import subprocess
import sys
import tempfile

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
