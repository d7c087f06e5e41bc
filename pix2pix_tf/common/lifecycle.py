"""One training run, whatever the model:

    prepare (options, checks, data: nothing written yet) -> speed settings
    -> strategy -> build (under its scope) -> lock the folder -> restore
    -> loop -> save -> finish

A package describes its model with a `Recipe` (the keras.Model whose
`train_step` is one GAN step, its data, its reports); `train(recipe, ...)`
runs it. The loop is written once, here: each epoch's batches derive from
(seed, epoch), and a resumed run skips those its epoch already trained, so a
stopped and resumed run gives the batches of an uninterrupted one. Several
steps run in one compiled call, and every call ends where something happens
between steps (a save, a report, the end of an epoch), so that nothing
outside the steps ever sees a state an uninterrupted run would not.
"""

from __future__ import annotations

import dataclasses
import typing

import keras
import tensorflow as tf

from pix2pix_tf.common import (
    checkpoints,
    distribute,
    optimizers,
    precision,
    preemption,
    record,
    resume,
    speed,
    threads,
)
from pix2pix_tf.common.errors import UserError
from pix2pix_tf.common.options import replace, save_options

Options = typing.Any  # A package's options dataclass (pix2pix_tf or cgan_mnist_tf).
Log = typing.Callable[[str], None]
Batch = typing.Any  # A nest of tensors (per replica under a strategy).

# Steps per compiled call, at most: enough to hide the cost of a call
# (Python, tf.function's argument handling) behind small steps.
STEPS_PER_CALL = 32


@dataclasses.dataclass
class Data:
    """What a recipe's `prepare` found, before anything is written.

    Attributes:
        examples: training examples (all workers' together).
        cache_bytes: memory to cache this worker's examples decoded.
        cache_what: what that memory holds, for the `--cache auto` line.
        facts: what the run record keeps of the data (source, aspect...).
        source: the recipe's own handle on the data (paths, arrays).
    """

    examples: int
    cache_bytes: int
    cache_what: str
    facts: dict
    source: typing.Any


class Reporter:
    """What a run shows between steps; a recipe's reporter overrides these.

    `frequencies` are the step intervals at which `after_steps` must see the
    run (a compiled call ends at each multiple), 0 for never.
    """

    frequencies: typing.Sequence[int] = ()

    def after_steps(self, step: int, logs: dict, batch: Batch, last: bool) -> None:
        """Called after the call that ended at `step` (`last`: the run's last step)."""

    def end(self, step: int) -> None:
        """Called once the loop is over, stopped or not (plots, last samples)."""


class Recipe:
    """What a package gives `train`: everything that differs between models."""

    options_class: type
    # The names of the two optimizers in the checkpoint (as their first version wrote them).
    optimizer_names = ("generator_optimizer", "discriminator_optimizer")

    def check(self, options: Options, given: typing.AbstractSet[str]) -> None:
        """UserError for options that cannot train (no TensorFlow needed)."""

    def flops_per_weight(self, options: Options) -> typing.Optional[float]:
        """A training step's FLOP per weight, for `--mixed_precision auto`."""
        return None

    def prepare(self, options: Options, strategy: tf.distribute.Strategy, log: Log) -> Data:
        """Finds and checks the training data (UserError for bad data)."""
        raise NotImplementedError

    def build_model(self, options: Options, sync_batchnorm: bool = False) -> keras.Model:
        """The compiled model of `options` (speed options decided), optimizers built."""
        raise NotImplementedError

    def state(self, run: Run) -> dict:
        """Trackables a checkpoint holds besides the networks and optimizers."""
        return {"global_step": run.global_step}

    def current_step(self, run: Run) -> int:
        """The step a restored run is at."""
        return int(run.global_step.numpy())

    def before_save(self, run: Run, step: int) -> None:
        """Sets the state's counters to `step` before a save."""
        run.global_step.assign(step)

    def steps_per_epoch(self, data: Data, options: Options,
                        strategy: tf.distribute.Strategy) -> int:
        raise NotImplementedError

    def max_steps(self, options: Options, steps_per_epoch: int) -> typing.Optional[int]:
        """The step the run trains to (None: until stopped)."""
        raise NotImplementedError

    def save_freq(self, options: Options, steps_per_epoch: int) -> int:
        """Steps between checkpoints (0: only at the end)."""
        raise NotImplementedError

    def batches(self, run: Run, epoch: int, skip: int) -> tf.data.Dataset:
        """The (distributed) batches of `epoch` without its first `skip`."""
        raise NotImplementedError

    def reporter(self, run: Run, log: Log) -> Reporter:
        return Reporter()

    def data_error(self, run: Run, error: tf.errors.InvalidArgumentError) -> Exception:
        """The error to raise for a batch the pipeline could not make."""
        return error

    def finish(self, result: TrainResult, log: Log) -> None:
        """The chief's last words, once the final checkpoint is saved."""


@dataclasses.dataclass
class Run:
    """A training run built from its options: where it runs, what it trains, how long."""

    options: Options  # What was asked, the speed options decided.
    data: Data
    strategy: tf.distribute.Strategy
    model: keras.Model
    global_step: tf.Variable
    checkpoint: checkpoints.RunCheckpoint
    checkpoint_dir: str
    chief: bool
    worker: typing.Tuple[int, int]  # (index, count) of the workers reading their own shards.
    steps_per_epoch: int
    max_steps: typing.Optional[int]
    save_freq: int
    state: dict = dataclasses.field(default_factory=dict)  # Checkpointed counters (Recipe.state).
    memo: dict = dataclasses.field(default_factory=dict)  # The recipe's per-run objects (caches).


@dataclasses.dataclass
class TrainResult:
    step: int  # The step reached.
    epoch: int  # Epochs done.
    stopped: typing.Optional[str]  # The signal that stopped the run early, if one did.
    model: keras.Model  # The trained networks.
    output_dir: str
    record: dict  # The run record (what the run used and found).
    outputs: dict = dataclasses.field(default_factory=dict)  # Files the recipe's finish wrote.


def train(recipe: Recipe, options: Options, given: typing.AbstractSet[str] = frozenset(),
          log: Log = print,
          strategy: typing.Optional[tf.distribute.Strategy] = None) -> TrainResult:
    """Trains (or, with options.checkpoint, resumes) the recipe's model.

    Args:
        recipe: the package's Recipe.
        options: what was asked: an options dataclass of recipe.options_class.
        given: the names of the options set on the command line, which the
            resume rule (`common.resume`) takes from `options` (from Python:
            the ones to take from `options` rather than the checkpoint).
        log: where the run's lines go (only the chief's are shown).
        strategy: a tf.distribute strategy to use instead of --strategy's.

    Returns:
        A TrainResult.
    """
    options, messages = resume.from_checkpoint(options, given)
    if options.checkpoint:
        checkpoints.latest_checkpoint(options.checkpoint)  # Its files, before anything else.
    recipe.check(options, given)
    if not options.output_dir:
        raise UserError("--mode train needs --output_dir (or --checkpoint to resume)")
    # This machine's speed settings, then the strategy: both before TensorFlow
    # runs an op (multi_worker needs it).
    speed.check(options)
    decided, speed_lines = speed.resolve(options, flops_per_weight=recipe.flops_per_weight(options))
    threads_set = threads.configure_threads(decided["intra_op_threads"],
                                            decided["inter_op_threads"])
    strategy = strategy or distribute.make_strategy(options.strategy, options.tpu)
    chief = distribute.is_chief(strategy)
    if not chief:
        log = _quiet  # The chief reports for the run.
    for line in speed_lines + messages + resume.changed_decisions(options, decided):
        log(line)
    if not threads_set and (decided["intra_op_threads"] or decided["inter_op_threads"]):
        log("--intra_op_threads/--inter_op_threads ignored: TensorFlow is already running")
    data = recipe.prepare(options, strategy, log)
    decided["cache"], cache_line = speed.cache_decision(options.cache, data.cache_bytes,
                                                        what=data.cache_what)
    log(cache_line)
    run = build(recipe, replace(options, **decided), data, strategy)
    run_record = record.make(decided, data.facts)
    # One run per folder: held until the run ends (or its process dies).
    with checkpoints.run_folder(options.output_dir, options.checkpoint, writes=run.chief):
        restore(recipe, run, log)
        if run.chief:
            save_options(options.output_dir, options)
            record.save(options.output_dir, run_record)
        until = run.max_steps if run.max_steps is not None else "interrupted (Ctrl-C saves and stops)"
        log(f"training on {data.examples} examples, {run.steps_per_epoch} steps per epoch, "
            f"until step {until}")
        step, stopped = loop(recipe, run, log)
        if not stopped:
            recipe.before_save(run, step)
            log(f"saved {run.checkpoint.save(step)} at step {step}")
    distribute.remove_worker_directory(run.checkpoint_dir, strategy)
    result = TrainResult(step, step // run.steps_per_epoch, stopped, run.model,
                         options.output_dir, run_record)
    if run.chief:
        recipe.finish(result, log)
    return result


def build(recipe: Recipe, options: Options, data: Data, strategy: tf.distribute.Strategy) -> Run:
    """The Run of `options` (speed options decided) on `strategy`."""
    distribute.check_batch_size(options.batch_size, strategy, options.strategy)
    distribute.check_jit_compile(options.jit_compile, strategy, options.strategy)
    worker = distribute.input_shard(strategy)
    replicas = strategy.num_replicas_in_sync
    if worker[1] > 1 and options.batch_size % replicas:
        # Each worker batches its own shard: every replica gets the same share.
        raise UserError(f"--batch_size {options.batch_size} does not divide over the {replicas} "
                        f"replicas of --strategy {options.strategy}: each worker batches its "
                        "own data, the same number per replica")
    steps_per_epoch = recipe.steps_per_epoch(data, options, strategy)
    if steps_per_epoch == 0:
        raise UserError(f"--batch_size {options.batch_size} is more than the {data.examples} "
                        "training examples")
    keras.utils.set_random_seed(options.seed)
    with strategy.scope():
        model = recipe.build_model(options, options.sync_batchnorm and replicas > 1)
        global_step = tf.Variable(0, dtype=tf.int64, name="global_step")
    checkpoint_dir = distribute.checkpoint_directory(options.output_dir, strategy)
    run = Run(options, data, strategy, model, global_step, None, checkpoint_dir,
              distribute.is_chief(strategy), worker, steps_per_epoch,
              recipe.max_steps(options, steps_per_epoch), recipe.save_freq(options, steps_per_epoch))
    run.state = recipe.state(run)
    run.checkpoint = run_checkpoint(recipe, model, checkpoint_dir, run.state)
    return run


def run_checkpoint(recipe: Recipe, model: keras.Model, directory: str,
                   state: dict) -> checkpoints.RunCheckpoint:
    """Everything a step depends on: weights, optimizers, the recipe's state
    (counters) and the random states of the model's layers (dropout, noise).
    A float16 run's loss scaler is left out, so runs resume whatever their
    precision."""
    g_name, d_name = recipe.optimizer_names
    return checkpoints.RunCheckpoint(
        directory, generator=model.generator, discriminator=model.discriminator,
        **{g_name: precision.checkpointed(model.generator_optimizer),
           d_name: precision.checkpointed(model.discriminator_optimizer)},
        random_states=checkpoints.random_states(model), nonfinite=model.nonfinite, **state)


def restore(recipe: Recipe, run: Run, log: Log) -> None:
    """Restores --checkpoint into the run (weights, optimizers, counters, random states)."""
    if not run.options.checkpoint:
        return
    path = run.checkpoint.restore(run.options.checkpoint)
    step = recipe.current_step(run)
    run.global_step.assign(step)
    log(f"resumed from {path} at step {step} (epoch {step // run.steps_per_epoch + 1})")
    optimizers.resume_learning_rate(
        (run.model.generator_optimizer, run.model.discriminator_optimizer), run.options.lr, log)
    if not run.checkpoint.restored_random_states:
        log(f"{path} was saved by an earlier version, without the random states of its "
            "layers: the run goes on, but not bit for bit as it would have without the stop")


def steps_per_call(strategy: tf.distribute.Strategy) -> int:
    """Steps one compiled call may run: one with several replicas, where a
    loop over a distributed iterator inside a function is not supported."""
    return 1 if distribute.is_distributed(strategy) else STEPS_PER_CALL


def call_length(step: int, limit: int, frequencies: typing.Iterable[int], most: int) -> int:
    """How many steps the call starting after `step` runs: up to `limit` (the
    epoch's or the run's end) and `most`, ending at the next multiple of any
    of `frequencies` (0: none)."""
    end = min(limit, step + most)
    for freq in frequencies:
        if freq > 0:
            end = min(end, (step // freq + 1) * freq)
    return end - step


def make_steps(model: keras.Model, jit_compile: bool, strategy: tf.distribute.Strategy
               ) -> typing.Callable[[typing.Iterator, int], typing.Tuple[dict, Batch]]:
    """steps(iterator, count) -> (logs, last batch): `count` training steps of
    `model` in one call (one step at a time with several replicas), the step
    itself compiled with XLA under `jit_compile`."""
    step = tf.function(model.train_step, jit_compile=jit_compile, reduce_retracing=True)
    if distribute.is_distributed(strategy):
        one = distribute.replicated(strategy, step, reduce_retracing=True)

        def replicated_step(iterator, count):
            batch = next(iterator)
            return one(batch), batch

        return replicated_step

    @tf.function(reduce_retracing=True)
    def several(iterator, count):
        batch = next(iterator)
        logs = step(batch)
        for _ in tf.range(count - 1):
            batch = next(iterator)
            logs = step(batch)
        return logs, batch

    return lambda iterator, count: several(iterator, tf.constant(count, tf.int32))


def loop(recipe: Recipe, run: Run, log: Log) -> typing.Tuple[int, typing.Optional[str]]:
    """Trains from the run's step to its max_steps or a stop request.

    Returns:
        (the step reached, the signal that stopped it or None).
    """
    steps = make_steps(run.model, run.options.jit_compile, run.strategy)
    most = steps_per_call(run.strategy)
    step = first_step = int(run.global_step.numpy())
    reporter = recipe.reporter(run, log)
    frequencies = (*reporter.frequencies, run.save_freq)
    with checkpoints.StopRequests() as requests, \
            preemption.ClusterStop(run.strategy, requests) as stop:
        try:
            while run.max_steps is None or step < run.max_steps:
                epoch, skip = divmod(step, run.steps_per_epoch)
                limit = (epoch + 1) * run.steps_per_epoch
                if run.max_steps is not None:
                    limit = min(limit, run.max_steps)
                iterator = iter(recipe.batches(run, epoch, skip))
                while step < limit:
                    count = call_length(step, limit, frequencies, most)
                    logs, batch = steps(iterator, count)
                    step += count
                    reporter.after_steps(step, logs, batch, step == run.max_steps)
                    if run.save_freq and step % run.save_freq == 0:
                        save(recipe, run, step)
                    # In a cluster: the same step on every worker, whichever got the signal.
                    stopped = stop.after_step()
                    if stopped:
                        reporter.end(step)
                        log(f"stopped by {stopped} at step {step}; saved "
                            f"{save(recipe, run, step)}; resume with --checkpoint "
                            f"{run.options.output_dir}")
                        return step, stopped
        except tf.errors.InvalidArgumentError as e:
            if step > first_step:
                save(recipe, run, step)  # Keep what was trained before the bad data came up.
            raise recipe.data_error(run, e) from e
    reporter.end(step)
    return step, None


def save(recipe: Recipe, run: Run, step: int) -> str:
    """Saves the checkpoint of `step` (once) and returns its path; UserError
    instead if a loss became NaN or infinite (the last good one stays)."""
    recipe.before_save(run, step)
    return run.checkpoint.save(step)


def _quiet(line):
    """The log of non-chief workers."""
