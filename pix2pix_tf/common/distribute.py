"""Training on several devices, machines or TPUs with tf.distribute.

The pieces a training loop needs, whatever the model:

- `make_strategy`: the strategy of `--strategy default|mirrored|multi_worker|tpu`.
- `is_chief`, `checkpoint_directory`: only the chief writes; the other workers of a
  multi-worker run save their (collective) checkpoints to a temporary folder.
- `distribute_dataset`, `needs_full_batches`: a global batch split over replicas.
- `input_shard`, `distribute_worker_datasets`, `all_workers`: in a multi-worker
  cluster each worker reads its own share of the files (its shard) and the
  workers share what each found.
- `replica_share`, `sum_over_replicas`: inside a replica's train step, losses
  weighted so that the optimizers' sum of the replicas' gradients is the
  gradient of the loss averaged over the global batch.
- `replicated`, `gathered`: tf.functions running a step on every replica.

With the default strategy (one device) every helper leaves the computation as
it is: the same ops, the same numbers as without tf.distribute.
"""

import atexit
import os
import shutil
import tempfile

import tensorflow as tf
from tensorflow.python.eager import context  # The coordination service's key-value store.

from pix2pix_tf.common.errors import UserError

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")


def make_strategy(name, tpu=None):
    """The tf.distribute.Strategy called `name` (one of STRATEGIES).

    multi_worker reads its cluster from the TF_CONFIG environment variable and
    must be created before TensorFlow runs any op. tpu connects to the TPU at
    `tpu` (a name, grpc:// address or "local"; None: the TPU_NAME variable)
    and raises UserError when there is none.
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        try:
            return tf.distribute.MultiWorkerMirroredStrategy()
        except (ValueError, RuntimeError) as e:
            raise UserError(f"--strategy multi_worker: {e} (check TF_CONFIG)") from e
    if name == "tpu":
        return _tpu_strategy(tpu)
    raise UserError(f"--strategy must be one of {', '.join(STRATEGIES)}, not {name!r}")


def _tpu_strategy(tpu):
    where = f"--tpu {tpu}" if tpu else "TPU_NAME" if os.environ.get("TPU_NAME") else "no --tpu given"
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or None)
        if tpu != "local":
            tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    except Exception as e:  # The resolver and the runtime raise many kinds.
        reason = " ".join(str(e).split())[:200]
        raise UserError(f"--strategy tpu: no TPU found ({where}): {type(e).__name__}: {reason}") from e


def is_distributed(strategy):
    """False for the default strategy (and OneDeviceStrategy): no replicas to split over."""
    return isinstance(strategy, (tf.distribute.MirroredStrategy,
                                 tf.distribute.MultiWorkerMirroredStrategy,
                                 tf.distribute.TPUStrategy))


def task(strategy):
    """(task_type, task_id) of this process; (None, None) outside a cluster."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return None, None
    return resolver.task_type, resolver.task_id


def is_chief(strategy):
    """True for the process that writes: the only one, the `chief` task, or
    worker 0 of a cluster without a chief task."""
    task_type, task_id = task(strategy)
    if task_type is None or task_type == "chief":
        return True
    cluster = strategy.cluster_resolver.cluster_spec().as_dict()
    return task_type == "worker" and task_id == 0 and "chief" not in cluster


def checkpoint_directory(output_dir, strategy):
    """Where this process saves checkpoints: `output_dir` on the chief; a new
    temporary folder on the other workers of a multi-worker run, which must
    save too (saving is a collective operation) but not over the chief's
    files. Remove it with `remove_worker_directory` (or it goes at exit)."""
    if is_chief(strategy):
        return output_dir
    task_type, task_id = task(strategy)
    path = tempfile.mkdtemp(prefix=f"{task_type}-{task_id}-checkpoints-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def remove_worker_directory(path, strategy):
    """Deletes a non-chief worker's `checkpoint_directory`; nothing on the chief."""
    if not is_chief(strategy):
        shutil.rmtree(path, ignore_errors=True)


def needs_full_batches(strategy):
    """True when every batch must hold exactly the global batch size: with
    several replicas (each must get examples, and every worker the same number
    of steps) and on TPUs (static shapes)."""
    return strategy.num_replicas_in_sync > 1 or isinstance(strategy, tf.distribute.TPUStrategy)


def check_batch_size(batch_size, strategy, strategy_name):
    """UserError when the global batch cannot give each replica an example."""
    replicas = strategy.num_replicas_in_sync
    if batch_size < replicas:
        raise UserError(f"--batch_size {batch_size} is smaller than the {replicas} replicas of "
                        f"--strategy {strategy_name}: it is the global batch, split over the "
                        "replicas, and each needs at least one image")


def check_jit_compile(jit_compile, strategy, strategy_name):
    """UserError for --jit_compile with several replicas: the train step runs
    inside strategy.run, and XLA cannot compile a function that reads
    variables mirrored on other devices ("Trying to access resource ...
    located in device CPU:1 from device CPU:0", seen with 2 logical CPUs)."""
    replicas = strategy.num_replicas_in_sync
    if jit_compile and replicas > 1:
        raise UserError(f"--jit_compile needs a single replica; --strategy {strategy_name} "
                        f"has {replicas} (use --nojit_compile): XLA cannot compile a step "
                        "whose variables are mirrored on other devices")


def distribute_dataset(strategy, dataset):
    """Batches of the global batch size -> per-replica parts of each batch.

    The default strategy gets the dataset as it is. Otherwise every worker
    builds the whole pipeline and keeps its replicas' parts of each global
    batch (DATA sharding), so a global batch holds the same examples as on
    one device.
    """
    if not is_distributed(strategy):
        return dataset
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return strategy.experimental_distribute_dataset(dataset.with_options(options))


def input_shard(strategy):
    """(this worker's index, the number of workers) among the workers of a
    multi-worker cluster that train (the chief first), as tf.distribute's
    InputContext numbers them; (0, 1) outside a cluster."""
    task_type, task_id = task(strategy)
    if task_type is None:
        return 0, 1
    cluster = strategy.cluster_resolver.cluster_spec().as_dict()
    workers = ([("chief", i) for i in range(len(cluster.get("chief", [])))]
               + [("worker", i) for i in range(len(cluster.get("worker", [])))])
    return workers.index((task_type, task_id)), len(workers)


def distribute_worker_datasets(strategy, dataset_fn):
    """Each worker's own batches -> per-replica batches (no sharding by TF).

    dataset_fn(per_replica_batch_size_fn, local_replicas) returns this
    worker's dataset of per-replica batches, `local_replicas` consecutive
    batches per step; per_replica_batch_size_fn(global_batch_size) is the
    size of each (the global batch must divide evenly over the replicas).
    """

    def worker_dataset(input_context):
        local = input_context.num_replicas_in_sync // input_context.num_input_pipelines
        return dataset_fn(input_context.get_per_replica_batch_size, local)

    return strategy.distribute_datasets_from_function(worker_dataset)


def all_workers(strategy, name, value):
    """The strings `value` of every worker (in input_shard order), as given by
    each under the same `name`; [value] outside a cluster. A barrier: every
    worker must call it, and it waits for all (through TensorFlow's
    coordination service). Each name can be used once per cluster."""
    index, count = input_shard(strategy)
    if count == 1:
        return [value]
    service = context.context()
    service.set_config_key_value(f"{name}/{index}", value)
    return [service.get_config_key_value(f"{name}/{i}") for i in range(count)]


def replica_share(local_batch_size, dtype=tf.float32):
    """This replica's share of the global batch (local size / global size),
    to weight a loss averaged over the replica's examples: the sum over
    replicas of share * loss is the loss averaged over the global batch, and
    the optimizers (which sum the replicas' gradients) then follow the global
    batch's gradient. None with a single replica: leave the loss alone.

    Call it in a replica context (inside strategy.run); it is exact for
    uneven splits too, as losses are means over examples of equal size.
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return None
    local = tf.cast(local_batch_size, dtype)
    return local / context.all_reduce(tf.distribute.ReduceOp.SUM, local)


def sum_over_replicas(values):
    """All-reduce (sum) of a nest of tensors, in a replica context."""
    return tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, values)


def replicated(strategy, step_fn, **function_kwargs):
    """tf.function(batch -> step_fn's nest of scalars) running step_fn on every
    replica and returning the mean over replicas (step_fn's values should
    already be global, e.g. losses summed with `sum_over_replicas`)."""

    def step(batch):
        results = strategy.run(step_fn, args=(batch,))
        return tf.nest.map_structure(
            lambda value: strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None), results)

    return tf.function(step, **function_kwargs)


def gathered(strategy, fn, **function_kwargs):
    """tf.function(batch -> (batch, fn(batch))) running fn on every replica and
    gathering the batch and fn's tensors along axis 0: the whole global batch,
    on every worker (a collective call: every worker must make it)."""

    def call(batch):
        results = strategy.run(fn, args=(batch,))
        return tf.nest.map_structure(lambda value: strategy.gather(value, axis=0),
                                     (batch, results))

    def call_one_device(batch):
        return batch, fn(batch)

    if not is_distributed(strategy):
        return tf.function(call_one_device, **function_kwargs)
    return tf.function(call, **function_kwargs)
