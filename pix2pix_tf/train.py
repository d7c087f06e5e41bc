"""What a pix2pix training run has of its own: its model, its data and its
reports. `common.lifecycle` runs it (prepare, build, restore, loop, save).
"""

from __future__ import annotations

import functools
import typing

import keras
import tensorflow as tf

from pix2pix_tf import data, gan, models, report
from pix2pix_tf import options as pix2pix_options
from pix2pix_tf.common import distribute, lifecycle, optimizers, precision, speed
from pix2pix_tf.common.errors import UserError
from pix2pix_tf.common.options import replace

Options = pix2pix_options.Options


def build_model(options: pix2pix_options.Options, sync_batchnorm: bool = False) -> gan.Pix2Pix:
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


def make_train_step(model: gan.Pix2Pix, options: pix2pix_options.Options,
                    strategy: tf.distribute.Strategy | None = None
                    ) -> typing.Callable[[typing.Any], dict]:
    """One training step as one graph (compiled by XLA with --jit_compile), on
    every replica of `strategy` (default: the current one): batch -> logs."""
    step = tf.function(model.train_step, reduce_retracing=True,
                       jit_compile=speed.used(options, "jit_compile"))
    return distribute.replicated(strategy or tf.distribute.get_strategy(), step,
                                 reduce_retracing=True)


class Pix2PixRecipe(lifecycle.Recipe):
    """pix2pix: folders of A|B pairs, checkpoints every --save_freq steps."""

    options_class = pix2pix_options.Options

    def check(self, options: Options, given: typing.AbstractSet[str]) -> None:
        pix2pix_options.check(options)

    def prepare(self, options: Options, strategy: tf.distribute.Strategy,
                log: lifecycle.Log) -> lifecycle.Data:
        paths = data.list_image_files(options.input_dir)
        # Every file decoded now: a truncated one would stop the run later,
        # after options.json and checkpoints were written.
        aspect = _check_shard(paths, options, strategy)
        own = data.shard(paths, *distribute.input_shard(strategy))  # A worker caches its shard.
        return lifecycle.Data(len(paths), data.decoded_bytes(own), "the decoded images",
                              {"image_aspect": aspect}, paths)

    def build_model(self, options: Options, sync_batchnorm: bool = False) -> keras.Model:
        return build_model(options, sync_batchnorm)

    def steps_per_epoch(self, training: lifecycle.Data, options: Options,
                        strategy: tf.distribute.Strategy) -> int:
        if distribute.needs_full_batches(strategy):
            # Several replicas (or a TPU) need whole global batches, and every
            # worker as many steps, from the smallest shard.
            workers = distribute.input_shard(strategy)[1]
            return (training.examples // workers) // (options.batch_size // workers)
        return data.steps_per_epoch(training.examples, options.batch_size)

    def max_steps(self, options: Options, steps_per_epoch: int) -> int | None:
        if options.max_steps is not None:
            return options.max_steps
        if options.max_epochs is not None:
            return options.max_epochs * steps_per_epoch
        return None  # Until stopped, as the reference.

    def save_freq(self, options: Options, steps_per_epoch: int) -> int:
        return options.save_freq

    def batches(self, run: lifecycle.Run, epoch: int, skip: int) -> tf.data.Dataset:
        return epoch_batches(run, epoch, skip)

    def reporter(self, run: lifecycle.Run, log: lifecycle.Log) -> report.TrainingReport:
        return report.TrainingReport(run, log)

    def data_error(self, run: lifecycle.Run, error: tf.errors.InvalidArgumentError) -> Exception:
        return data.undecodable_error(data.shard(run.data.source, *run.worker), error)


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


def epoch_batches(run: lifecycle.Run, epoch: int, skip: int) -> tf.data.Dataset:
    """The batches of `epoch` from its batch `skip` on; in a cluster, each
    worker's from its own shard of the files."""
    options = run.options
    if options.cache and "cache" not in run.memo:  # Decoded once for every epoch.
        run.memo["cache"] = data.DecodedImages(data.shard(run.data.source, *run.worker))
    cache = run.memo.get("cache")

    def batches_of(batch_size, skip_batches, worker=(0, 1)):
        return data.training_dataset(
            run.data.source, seed=options.seed, epoch=epoch, skip_batches=skip_batches,
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


RECIPE = Pix2PixRecipe()
train = functools.partial(lifecycle.train, RECIPE)
train.__doc__ = """train(options, given=(), log=print, strategy=None): trains pix2pix
(`common.lifecycle.train` with this package's recipe); returns a TrainResult."""


def build(options: pix2pix_options.Options, strategy: tf.distribute.Strategy,
          num_images: int) -> lifecycle.Run:
    """The Run of `options` on `strategy` over `num_images` images, without data."""
    decided, _ = speed.resolve(options)
    return lifecycle.build(RECIPE, replace(options, **decided, cache=False),
                           lifecycle.Data(num_images, 0, "", {}, []), strategy)
