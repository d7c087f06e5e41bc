"""The training run: data, models, fit() with samples, summaries and checkpoints, the GIF.

Under a tf.distribute strategy (--strategy) the models, optimizers and metrics
are made in its scope and fit() runs the train step on every replica;
--batch_size is the global batch. Only the chief writes samples, summaries,
options and progress; every worker saves checkpoints (a collective operation),
the others to a temporary folder.
"""

import contextlib
import dataclasses
import io
import os
import sys
import typing

import keras
import tensorflow as tf

from cgan_mnist_tf import callbacks
from cgan_mnist_tf import data
from cgan_mnist_tf import gan as gan_lib
from cgan_mnist_tf import grids
from cgan_mnist_tf import models
from cgan_mnist_tf import options as cgan_options
from pix2pix_tf.common import checkpoints
from pix2pix_tf.common import distribute
from pix2pix_tf.common import optimizers
from pix2pix_tf.common import options as common_options
from pix2pix_tf.common import precision
from pix2pix_tf.common import preemption
from pix2pix_tf.common import speed
from pix2pix_tf.common import threads
from pix2pix_tf.common.errors import UserError

SAMPLES_DIR = "samples"
LOGS_DIR = "logs"
GIF_NAME = "samples.gif"


# Training steps per fit() call (Keras' steps_per_execution): Keras' per-step
# loop, callbacks and function call cost about as much as the mlp's step on a
# 2-core CPU (BENCHMARKS.md). fit() runs one epoch at a time (run_epochs), so
# the last call of an epoch stops at the epoch's end, whatever its length.
STEPS_PER_CALL = 32


def steps_per_call(options, replicas=1):
    """Steps per fit() call: STEPS_PER_CALL, or fewer so that every sample grid
    falls in a call of its own; one with several replicas, where Keras 3.15's
    multi-step loop over a distributed iterator fails ("You must feed a value
    for placeholder tensor ... while/cond/Placeholder")."""
    if replicas > 1:
        return 1
    return max(1, min(STEPS_PER_CALL, options.sample_interval))


def flops_per_weight(options):
    """A training step's FLOP per weight: what --mixed_precision auto weighs."""
    return models.step_flops_per_weight(options.model, options.conditional, options.batch_size)


def build_gan(options, sync_batchnorm=False, dropout=True, steps_per_execution=None):
    """The ConditionalGAN of `options`, compiled with built optimizers (ready to restore into).

    Its layers compute in the --mixed_precision dtype the run uses (float32
    variables and logits either way; float16: the optimizers under loss
    scaling), fit() compiles its train step with XLA under --jit_compile and
    runs `steps_per_execution` steps per call (default: `steps_per_call`).
    Call it under a strategy's scope to train with that strategy;
    sync_batchnorm: batch norm over the global batch of the replicas.
    dropout=False: no dropout (reproducible steps, for tests and comparisons).
    """
    dtype = speed.used(options, "mixed_precision", flops_per_weight=flops_per_weight(options))
    with precision.dtype_policy(dtype):
        gan = gan_lib.build_gan(options.model, options.conditional, options.latent_dim,
                                *cgan_options.small_data(options), dropout=dropout,
                                sync_batchnorm=sync_batchnorm,
                                stackgan_consistency=options.stackgan_consistency)
    gan.compile(*(precision.wrap_optimizer(optimizer, dtype) for optimizer in
                  gan_lib.make_optimizers(options.lr, options.beta1, options.fused_optimizer)),
                jit_compile=speed.used(options, "jit_compile"),
                steps_per_execution=steps_per_execution or steps_per_call(
                    options, tf.distribute.get_strategy().num_replicas_in_sync))
    gan_lib.build_optimizers(gan)
    return gan


def check(options, strategy):
    """UserError for options that cannot train on `strategy`."""
    cgan_options.check(options)
    distribute.check_batch_size(options.batch_size, strategy, options.strategy)
    distribute.check_jit_compile(speed.used(options, "jit_compile"), strategy, options.strategy)


def run_state(options):
    """The variables a checkpoint holds besides the networks and optimizers."""
    fixed_z, _ = callbacks.fixed_inputs(options.latent_dim, options.seed)
    return {"epoch": tf.Variable(0, dtype=tf.int64, name="epoch"),
            "fixed_z": tf.Variable(fixed_z, name="fixed_z")}


def run_checkpoint(gan, directory, state):
    """The checkpoint of a run: everything a step depends on (weights,
    optimizers, epoch, the random states of dropout and of the noise). Its
    keys (d_optimizer, g_optimizer) are those of the first version, so every
    run folder made since still resumes; a float16 run's loss scaler is left
    out, so runs resume whatever their precision."""
    if gan.ema_generator is not None:
        state = dict(state, ema_generator=gan.ema_generator)
    return checkpoints.RunCheckpoint(
        directory, generator=gan.generator, discriminator=gan.discriminator,
        d_optimizer=precision.checkpointed(gan.discriminator_optimizer),
        g_optimizer=precision.checkpointed(gan.generator_optimizer),
        random_states=checkpoints.random_states(gan), nonfinite=gan.nonfinite, **state)


def current_step(gan):
    return int(keras.ops.convert_to_numpy(gan.generator_optimizer.iterations))


@dataclasses.dataclass
class TrainResult:
    step: int  # The generator's optimizer steps so far.
    epoch: int  # Epochs done.
    stopped: typing.Optional[str]  # The signal that stopped the run early, if one did.
    output_dir: str
    gif: typing.Optional[str]  # The samples' GIF (chief only).
    images: int  # Training images.
    data_source: str
    gan: gan_lib.ConditionalGAN  # The trained networks.


def prepare(options, given):
    """The options of the run (already merged with --checkpoint's) and its folder."""
    cgan_options.check_small_data(options, given)
    output_dir = options.output_dir or options.checkpoint
    if not output_dir:
        raise UserError("--mode train needs --output_dir (or --checkpoint to resume)")
    return common_options.replace(options, output_dir=output_dir)


def train(options, given=(), strategy=None):
    """Trains (or resumes, with options.checkpoint); returns a TrainResult.

    `given` names the options set on the command line, for the resume rules of
    cgan_options.from_checkpoint. `strategy`: a tf.distribute strategy to use
    instead of the one --strategy names (tests).
    """
    messages = []
    if options.checkpoint:  # The run's options first: they may carry speed requests.
        options, _, messages = cgan_options.from_checkpoint(options, options.checkpoint, given,
                                                            strict=True)
    # This machine's speed settings (`auto` decided on every run), then the
    # strategy: both before TensorFlow runs any op (multi_worker needs it).
    speed.check(options)
    used, speed_lines = speed.resolve(options, flops_per_weight=flops_per_weight(options))
    options = common_options.replace(options, **used)
    threads_set = threads.configure_threads(options.intra_op_threads_used,
                                            options.inter_op_threads_used)
    strategy = strategy or distribute.make_strategy(options.strategy, options.tpu)
    chief = distribute.is_chief(strategy)
    log = print if chief else _quiet
    for line in speed_lines + messages:
        log(line)
    if not threads_set and (options.intra_op_threads_used or options.inter_op_threads_used):
        log("--intra_op_threads/--inter_op_threads ignored: TensorFlow is already running")
    options = prepare(options, given)
    check(options, strategy)
    keras.utils.set_random_seed(options.seed)
    output_dir = options.output_dir

    with contextlib.nullcontext() if chief else contextlib.redirect_stdout(io.StringIO()):
        digits = data.load(options.dataset, options.data_dir)
    # Several replicas (or a TPU) need whole global batches: the last, partial
    # batch of each epoch is left out.
    if distribute.needs_full_batches(strategy) and len(digits.train_images) < options.batch_size:
        raise UserError(f"--batch_size {options.batch_size} is more than the "
                        f"{len(digits.train_images)} training images")
    image_size = models.output_shape(options.model, options.conditional)[0]
    cache, cache_line = speed.cache_decision(
        options.cache, len(digits.train_images) * image_size * image_size * 4,
        what="the training images as float32")
    log(cache_line)
    options = common_options.replace(options, cache_used=cache)

    with strategy.scope():
        sync = options.sync_batchnorm and strategy.num_replicas_in_sync > 1
        gan = build_gan(options, sync_batchnorm=sync)
    state = run_state(options)
    checkpoint_dir = distribute.checkpoint_directory(output_dir, strategy)
    checkpoint = run_checkpoint(gan, checkpoint_dir, state)
    # One run per folder: held until the run ends (or its process dies).
    with checkpoints.run_folder(output_dir, options.checkpoint, writes=chief):
        if options.checkpoint:
            path = checkpoint.restore(options.checkpoint)
            log(f"resumed {path}: step {current_step(gan)}, "
                f"{epochs_text(int(state['epoch'].numpy()))} done")
            optimizers.resume_learning_rate(
                (gan.generator_optimizer, gan.discriminator_optimizer), options.lr, log)
            if not checkpoint.restored_random_states:
                log(f"{path} was saved by an earlier version, without the random states of "
                    "dropout and of the noise: the run goes on, but not bit for bit as it "
                    "would have without the stop")
        if chief:
            common_options.save_options(output_dir, options, data_source=digits.source)

        start_epoch = int(state["epoch"].numpy())
        samples_dir = os.path.join(output_dir, SAMPLES_DIR)
        writer = tf.summary.create_file_writer(os.path.join(output_dir, LOGS_DIR)) if chief else None
        stopped = None
        if start_epoch < options.epochs:
            stopped = fit(gan, digits, options, strategy, state, checkpoint, writer, samples_dir,
                          chief, log)
        else:
            log(f"{epochs_text(start_epoch)} already done (--epochs {options.epochs}): "
                "nothing to train")
        step = current_step(gan)
        checkpoint.save(step)
    distribute.remove_worker_directory(checkpoint_dir, strategy)
    result = TrainResult(step, int(state["epoch"].numpy()), stopped, output_dir, None,
                         len(digits.train_images), digits.source, gan)
    if chief:
        writer.close()
        finish(result, samples_dir, log)
    return result


def fit(gan, digits, options, strategy, state, checkpoint, writer, samples_dir, chief, log):
    """Keras' fit() from the run's step to --epochs, with samples, summaries,
    a checkpoint every epoch and Ctrl-C / SIGTERM handling (in a cluster, a
    signal to any worker stops every worker after the same step; train()
    then saves on all); returns the stopping signal's name, or None.

    Each epoch's order is a function of (seed, epoch), and a run stopped in
    the middle of an epoch goes on from its next batch, so the batches are
    those of an uninterrupted run.
    """
    full_batches = distribute.needs_full_batches(strategy)
    steps_per_epoch = data.steps_per_epoch(len(digits.train_images), options.batch_size,
                                           full_batches)
    epoch = int(state["epoch"].numpy())
    done = current_step(gan) - epoch * steps_per_epoch  # Steps of the unfinished epoch.
    if not 0 <= done < steps_per_epoch:  # --batch_size changed, or a foreign checkpoint.
        log(f"step {current_step(gan)} is not within epoch {epoch + 1} of {steps_per_epoch} "
            "steps: training that epoch from its first batch")
        done = 0
    image_size = models.output_shape(options.model, options.conditional)[0]

    training = data.TrainingDigits(digits.train_images, digits.train_labels, image_size,
                                   cache=options.cache_used)  # Once for every epoch.

    def batches(epoch, skip):
        dataset = training.dataset(options.batch_size, options.seed, drop_remainder=full_batches,
                                   epochs=(epoch, epoch + 1), skip_batches=skip)
        return distribute.distribute_dataset(strategy, dataset)

    _, fixed_labels = callbacks.fixed_inputs(options.latent_dim, options.seed)
    with checkpoints.StopRequests() as requests, \
            preemption.ClusterStop(strategy, requests) as stop:
        run_callbacks = [callbacks.StopOnNonFinite(gan.nonfinite, checkpoint.output_dir),
                         callbacks.StopOnRequest(stop)]
        samples = None
        if chief:
            samples = callbacks.Samples(gan, state["fixed_z"], fixed_labels, options.output_dir,
                                        samples_dir, writer, options.sample_interval,
                                        lambda: current_step(gan))
            run_callbacks.append(samples)
        run_callbacks.append(callbacks.EpochCheckpoint(checkpoint, state["epoch"],
                                                       lambda: current_step(gan)))
        verbose = (1 if sys.stdout.isatty() else 2) if chief else 0
        run_epochs(gan, batches, epoch, options.epochs, done, run_callbacks, verbose)
        if samples is not None:
            samples.write_last()
        return stop.requested


def run_epochs(gan, batches, epoch, epochs, skip, run_callbacks, verbose):
    """Trains epochs `epoch` to `epochs` - 1 with one fit() call each.

    batches(epoch, skip) gives that epoch's dataset without its first `skip`
    batches. One call an epoch, because fit() takes its steps_per_execution
    steps a call from one iterator across epochs: a call would run on into the
    next epoch's batches wherever the epoch's length is not a multiple of it.
    On its own dataset, the epoch's last call ends with the data.
    Stops after the call in which a callback set gan.stop_training.
    """
    run_callbacks = list(run_callbacks)
    if verbose:
        run_callbacks.append(callbacks.EpochProgress(epochs))
    for epoch in range(epoch, epochs):
        gan.fit(batches(epoch, skip), epochs=epoch + 1, initial_epoch=epoch, shuffle=False,
                verbose=verbose, callbacks=run_callbacks)
        skip = 0
        if gan.stop_training:
            return


def epochs_text(count):
    return f"{count} epoch" if count == 1 else f"{count} epochs"


def finish(result, samples_dir, log):
    """The chief's end of a run: the samples' GIF and the closing line."""
    frames = grids.sample_paths(samples_dir)
    result.gif = grids.write_gif(frames, os.path.join(result.output_dir, GIF_NAME)) if frames else None
    if result.stopped:
        log(f"stopped by {result.stopped} at step {result.step} "
            f"({epochs_text(result.epoch)} done); checkpoint saved in {result.output_dir}; "
            f"resume with --checkpoint {result.output_dir}")
    else:
        log(f"trained to step {result.step} ({epochs_text(result.epoch)}); checkpoint, samples "
            f"and {GIF_NAME} in {result.output_dir}")


def _quiet(line):
    """The messages of non-chief workers: the chief reports for the run."""
