"""The training loop of pix2pix: data in; checkpoints, summaries and progress out.

    train(options) = prepare (check everything before writing anything)
                   -> build (strategy, model, checkpoint) -> restore -> loop -> save

The loop is written by hand rather than with Keras' fit(): each epoch's order
and jitter derive from (seed, epoch), and a resumed run skips the batches
already trained in its epoch, so stopping and resuming gives the same batches
as an uninterrupted run; fit() restarts epochs from their first batch.
"""

import dataclasses
import os
import time
import typing

import keras
import tensorflow as tf

from pix2pix_tf import data, display, gan, models, options as pix2pix_options, report
from pix2pix_tf.common import (checkpoints, distribute, optimizers, precision, preemption,
                               progress, speed, threads)
from pix2pix_tf.common.errors import UserError
from pix2pix_tf.common.options import load_options, merge_saved_options, replace, save_options


def build_model(options, sync_batchnorm=False):
    """A compiled Pix2Pix for the options (sizes, kinds, weights, optimizers),
    its layers computing in the --mixed_precision dtype the run uses (float16:
    the optimizers under loss scaling). Call it under a strategy's scope to
    train with that strategy; sync_batchnorm: batch norm over the global
    batch, for strategies with several replicas."""
    dtype = speed.used(options, "mixed_precision")
    with precision.dtype_policy(dtype):
        generator = models.generator_from_options(options, sync_batchnorm)
        discriminator = models.discriminator_from_options(options, sync_batchnorm)
    model = gan.Pix2Pix(generator, discriminator, options.gan_weight, options.l1_weight)

    def adam():
        return precision.wrap_optimizer(
            optimizers.adam(options.lr, options.beta1, options.fused_optimizer), dtype)

    model.compile(generator_optimizer=adam(), discriminator_optimizer=adam())
    return model


def make_train_step(model, options, strategy=None):
    """The training step the loop runs: model.train_step as one graph,
    compiled by XLA with --jit_compile, on every replica of `strategy`
    (default: the current one)."""
    step = tf.function(model.train_step, reduce_retracing=True,
                       jit_compile=speed.used(options, "jit_compile"))
    return distribute.replicated(strategy or tf.distribute.get_strategy(), step,
                                 reduce_retracing=True)


def run_checkpoint(model, output_dir, global_step):
    """Everything a step depends on: weights, optimizers, the step (which fixes
    the data order and jitter) and dropout's random states. A float16 run's
    loss scaler is left out, so runs resume whatever their precision."""
    return checkpoints.RunCheckpoint(
        output_dir, generator=model.generator, discriminator=model.discriminator,
        generator_optimizer=precision.checkpointed(model.generator_optimizer),
        discriminator_optimizer=precision.checkpointed(model.discriminator_optimizer),
        global_step=global_step,
        random_states=checkpoints.random_states(model.generator, model.discriminator),
        nonfinite=model.nonfinite)


def _every(step, freq, last):
    """Whether a thing done every `freq` steps is done at `step`; always at the last step."""
    return freq > 0 and (step % freq == 0 or last)


class Summaries:
    """TensorBoard scalars and images, and the --display_freq index.html.

    Under a strategy every worker runs the predictions (a collective step that
    also updates batch norm's moving statistics, as training=True does), and
    only the chief (`write_files`) writes them.
    """

    def __init__(self, model, options, strategy=None, write_files=True, start_step=0):
        self.model = model
        self.options = options
        self.write_files = write_files
        self.writer = tf.summary.create_file_writer(options.output_dir) if write_files else None
        self.losses = report.loss_history(options.output_dir, start_step) if write_files else None
        self.image_dir = os.path.join(options.output_dir, "images")
        self._predict = distribute.gathered(strategy or tf.distribute.get_strategy(),
                                            model.predict_step)

    def _images(self, batch):
        (inputs, targets), predictions = self._predict(batch)
        if not self.write_files:
            return None, None
        images = display.to_rgb(inputs, predictions["outputs"], targets,
                                self.options.lab_colorization, self.options.which_direction)
        return {k: display.to_uint8(v) for k, v in images.items()}, predictions

    def write(self, step, logs, batch):
        images, predictions = self._images(batch)
        if not self.write_files:
            return
        self.losses.add(step, logs)
        with self.writer.as_default(step=step):
            for name, value in logs.items():
                tf.summary.scalar(name, value)
            for name, value in images.items():
                tf.summary.image(name, value, max_outputs=4)
            for name in ("predict_real", "predict_fake"):
                tf.summary.image(name, predictions[name], max_outputs=4)
        self.writer.flush()

    def display(self, step, batch):
        images, _ = self._images(batch)
        if not self.write_files:
            return
        first = {kind: image[0].numpy() for kind, image in images.items()}
        report.save_image_set(self.image_dir, f"step-{step:08d}", first)
        self.plot_losses()
        report.write_training_index(self.options.output_dir, self.image_dir)

    def plot_losses(self):
        """losses.png (and losses.json) of the losses written so far."""
        if self.write_files:
            self.losses.write_plot(report.LOSS_PANELS)


def prepare(options, given=(), log=print, strategy=None):
    """Checks the options and the data before anything is written.

    `given` names the options set on the command line: when resuming, the
    model-defining ones must agree with the checkpoint's options.json.
    Under a multi-worker `strategy` each worker decodes only its shard of the
    files, and all stop with a UserError if one found a bad file.
    Returns (options with the checkpoint's model options merged in, image paths).
    """
    if options.checkpoint:
        saved = load_options(options.checkpoint)
        checkpoints.latest_checkpoint(options.checkpoint)
        options, messages = merge_saved_options(options, saved, pix2pix_options.MODEL_KEYS, given,
                                                strict=True)
        if "seed" not in given and "seed" in saved:
            options = replace(options, seed=saved["seed"])  # The same data order and jitter.
        for message in messages:
            log(message)
    pix2pix_options.check(options)
    if not options.output_dir:
        raise UserError("--mode train needs --output_dir")
    paths = data.list_image_files(options.input_dir)
    # Every file decoded now: a truncated one would stop the run later, after
    # options.json and checkpoints were written.
    aspect = _check_shard(paths, options, strategy or tf.distribute.get_strategy())
    return replace(options, image_aspect=aspect), paths


def _check_shard(paths, options, strategy):
    """check_image_files of this worker's shard of `paths` (all of them on one
    worker); in a cluster every worker waits for the others' verdicts, so that
    a bad file anywhere stops every worker before the chief writes. The image
    aspect is the median of the shard's files."""
    index, count = distribute.input_shard(strategy)
    paired = not options.lab_colorization
    if count == 1:
        return data.check_image_files(paths, paired=paired, decode=True)
    aspect, problem = None, ""
    try:
        aspect = data.check_image_files(data.shard(paths, index, count), paired=paired,
                                        decode=True)
    except UserError as e:
        problem = str(e)
    problems = distribute.all_workers(strategy, "pix2pix_tf/input_check", problem)
    if problem:
        raise UserError(problem)
    others = [f"worker {i}: {text}" for i, text in enumerate(problems) if text]
    if others:
        raise UserError("; ".join(others))
    return aspect


@dataclasses.dataclass
class Run:
    """A training run built from its options: where it runs, what it trains, how long."""

    options: pix2pix_options.Options
    strategy: tf.distribute.Strategy
    model: gan.Pix2Pix
    global_step: tf.Variable
    checkpoint: checkpoints.RunCheckpoint
    checkpoint_dir: str
    chief: bool
    worker: typing.Tuple[int, int]  # (index, count) of the workers reading their own shards.
    steps_per_epoch: int
    max_steps: typing.Optional[int]  # None: until stopped, the reference's default.

    def save(self, step):
        """Saves the checkpoint of `step` (once) and returns its path; UserError
        instead if a loss became NaN or infinite (the last good one stays)."""
        self.global_step.assign(step)
        return self.checkpoint.save(step)

    def check_losses(self):
        """UserError if a step's losses were NaN or infinite (waits for the device)."""
        self.model.nonfinite.check(self.checkpoint_dir)


@dataclasses.dataclass
class TrainResult:
    step: int  # The global step reached.
    model: gan.Pix2Pix  # The trained networks.
    stopped: typing.Optional[str] = None  # The signal that stopped the run early, if one did.


def build(options, strategy, num_images):
    """The Run of `options` on `strategy` over `num_images` training images."""
    distribute.check_batch_size(options.batch_size, strategy, options.strategy)
    distribute.check_jit_compile(speed.used(options, "jit_compile"), strategy, options.strategy)
    worker = distribute.input_shard(strategy)
    replicas = strategy.num_replicas_in_sync
    if worker[1] > 1 and options.batch_size % replicas:
        # Each worker batches its own shard: every replica gets the same share.
        raise UserError(f"--batch_size {options.batch_size} does not divide over the {replicas} "
                        f"replicas of --strategy {options.strategy}: each worker batches its "
                        "own files, the same number per replica")
    keras.utils.set_random_seed(options.seed)
    with strategy.scope():
        sync = options.sync_batchnorm and strategy.num_replicas_in_sync > 1
        model = build_model(options, sync_batchnorm=sync)
        global_step = tf.Variable(0, dtype=tf.int64, name="global_step")
    checkpoint_dir = distribute.checkpoint_directory(options.output_dir, strategy)
    # Several replicas (or a TPU) need whole global batches: the last, partial
    # batch of each epoch is left out.
    if distribute.needs_full_batches(strategy):
        # Every worker takes as many steps, from the smallest shard.
        steps_per_epoch = (num_images // worker[1]) // (options.batch_size // worker[1])
        if steps_per_epoch == 0:
            raise UserError(f"--batch_size {options.batch_size} is more than the {num_images} "
                            f"images of --input_dir {options.input_dir}")
    else:
        steps_per_epoch = data.steps_per_epoch(num_images, options.batch_size)
    if options.max_steps is not None:
        max_steps = options.max_steps
    elif options.max_epochs is not None:
        max_steps = options.max_epochs * steps_per_epoch
    else:
        max_steps = None
    return Run(options, strategy, model, global_step,
               run_checkpoint(model, checkpoint_dir, global_step), checkpoint_dir,
               distribute.is_chief(strategy), worker, steps_per_epoch, max_steps)


def restore(run, log=print):
    """Restores --checkpoint into the run (weights, optimizers, step, random
    states), if given."""
    if run.options.checkpoint:
        path = run.checkpoint.restore(run.options.checkpoint)
        log(f"resumed from {path} at step {int(run.global_step.numpy())}")
        optimizers.resume_learning_rate(
            (run.model.generator_optimizer, run.model.discriminator_optimizer), run.options.lr,
            log)
        if not run.checkpoint.restored_random_states:
            log(f"{path} was saved by an earlier version, without dropout's random state: "
                "the run goes on, but not bit for bit as it would have without the stop")


def epoch_batches(run, paths, cache, step):
    """The batches of the epoch that holds `step`, from that step on; in a
    cluster, each worker's from its own shard of `paths`."""
    options = run.options
    epoch, skip = divmod(step, run.steps_per_epoch)

    def batches_of(batch_size, skip_batches, worker=(0, 1)):
        return data.training_dataset(
            paths, seed=options.seed, epoch=epoch, skip_batches=skip_batches,
            batch_size=batch_size, which_direction=options.which_direction,
            lab_colorization=options.lab_colorization,
            scale_size=pix2pix_options.scale_size(options), crop_size=options.crop_size,
            flip=options.flip, cache=cache, worker=worker)

    if run.worker[1] > 1:
        def worker_batches(per_replica_batch_size, local_replicas):
            # Each step takes `local_replicas` consecutive batches, one per replica.
            batches = batches_of(per_replica_batch_size(options.batch_size),
                                 skip * local_replicas, run.worker)
            return batches.take((run.steps_per_epoch - skip) * local_replicas)

        return distribute.distribute_worker_datasets(run.strategy, worker_batches)
    batches = batches_of(options.batch_size, skip)
    if distribute.needs_full_batches(run.strategy):
        batches = batches.rebatch(options.batch_size, drop_remainder=True)
    return distribute.distribute_dataset(run.strategy, batches)


def loop(run, paths, log=print):
    """Trains from the run's step to its max_steps or a stop request.

    Returns (the step reached, the signal that stopped it or None)."""
    options = run.options
    train_step = make_train_step(run.model, options, run.strategy)
    step = first_step = int(run.global_step.numpy())
    summaries = Summaries(run.model, options, run.strategy, write_files=run.chief,
                          start_step=step)
    own_paths = data.shard(paths, *run.worker)  # What this worker reads.
    cache = data.DecodedImages(own_paths) if options.cache_used else None
    meter = Progress(run, log)
    with checkpoints.StopRequests() as requests, \
            preemption.ClusterStop(run.strategy, requests) as stop:
        while run.max_steps is None or step < run.max_steps:
            try:
                for batch in epoch_batches(run, paths, cache, step):
                    logs = train_step(batch)
                    step += 1
                    last = step == run.max_steps
                    if _every(step, options.summary_freq, last):
                        summaries.write(step, logs, batch)
                    if _every(step, options.display_freq, last):
                        summaries.display(step, batch)
                    show = _every(step, options.progress_freq, last)
                    if show:
                        run.check_losses()  # The progress line waits for the step anyway.
                    meter.step(step, logs, show=show)
                    if _every(step, options.save_freq, False):
                        run.save(step)
                    # In a cluster: the same step on every worker, whichever got the signal.
                    stopped = stop.after_step()
                    if stopped:
                        summaries.plot_losses()
                        log(f"stopped by {stopped} at step {step}; saved {run.save(step)}; "
                            f"resume with --checkpoint {options.output_dir}")
                        return step, stopped
                    if last:
                        break
            except tf.errors.InvalidArgumentError as e:
                if step > first_step:
                    run.save(step)  # Keep what was trained before the bad file came up.
                raise data.undecodable_error(own_paths, e) from e
    summaries.plot_losses()
    return step, None


def train(options, given=(), log=print):
    """Trains pix2pix with `options`; returns a TrainResult (step and model).

    `options.checkpoint`, if set, is a folder to resume from: weights, both
    optimizers and the global step come back, and the epoch position follows
    from the step. Stops at max_steps / max_epochs counted from the first run.

    `options.strategy` spreads the run over devices, machines or TPUs; the
    batch size is the global one. Only the chief writes files and progress.
    """
    # This machine's speed settings (`auto` decided on every run), then the
    # strategy: both before TensorFlow runs any op (multi_worker needs it).
    speed.check(options)
    used, speed_lines = speed.resolve(options)
    options = replace(options, **used)
    threads_set = threads.configure_threads(options.intra_op_threads_used,
                                            options.inter_op_threads_used)
    strategy = distribute.make_strategy(options.strategy, options.tpu)
    if not distribute.is_chief(strategy):
        log = _quiet  # The chief reports for the run.
    for line in speed_lines:
        log(line)
    if not threads_set:
        log("--intra_op_threads/--inter_op_threads ignored: TensorFlow is already running")
    options, paths = prepare(options, given, log, strategy)
    # In a cluster, each worker caches only its shard.
    use_cache, cache_line = speed.cache_decision(
        options.cache, data.decoded_bytes(data.shard(paths, *distribute.input_shard(strategy))))
    log(cache_line)
    options = replace(options, cache_used=use_cache)
    run = build(options, strategy, len(paths))
    # One run per folder: held until the run ends (or its process dies).
    with checkpoints.run_folder(options.output_dir, options.checkpoint, writes=run.chief):
        restore(run, log)
        if run.chief:
            save_options(options.output_dir, options)
        until = (run.max_steps if run.max_steps is not None
                 else "interrupted (Ctrl-C saves and stops)")
        log(f"training on {len(paths)} images from {options.input_dir}, {run.steps_per_epoch} "
            f"steps per epoch, until step {until}")
        step, stopped = loop(run, paths, log)
        if not stopped:
            log(f"saved {run.save(step)} at step {step}")
    distribute.remove_worker_directory(run.checkpoint_dir, strategy)
    return TrainResult(step, run.model, stopped)


def _quiet(line):
    """The log of non-chief workers."""


class Progress:
    """The progress line: epoch, step, images/sec, time remaining, losses."""

    def __init__(self, run, log):
        self.run = run
        self.log = log
        self.start_time = self.start_step = None

    def step(self, step, logs, show):
        if self.start_time is None:  # The first step traces and compiles: time from its end.
            self.start_time, self.start_step = time.time(), step
        if show:
            self.log(self.line(step, logs))

    def line(self, step, logs):
        steps_per_epoch, max_steps = self.run.steps_per_epoch, self.run.max_steps
        batch_size = self.run.options.batch_size
        elapsed = time.time() - self.start_time
        done = step - self.start_step
        rate = done * batch_size / elapsed if elapsed > 0 and done > 0 else 0.0
        parts = [f"progress  epoch {(step - 1) // steps_per_epoch + 1}  "
                 f"step {(step - 1) % steps_per_epoch + 1}/{steps_per_epoch}",
                 f"global step {step}" + (f"/{max_steps}" if max_steps else ""),
                 f"image/sec {rate:.1f}"]
        if max_steps and rate > 0:
            parts.append(f"remaining {progress.format_duration((max_steps - step) * batch_size / rate)}")
        parts += [f"{name} {float(value):.4f}" for name, value in logs.items()]
        return "  ".join(parts)
