"""The recipe of a cgan_mnist_tf training run (its GAN, the digits, the samples),
which `common.lifecycle` runs, with a checkpoint after every epoch."""

from __future__ import annotations

import contextlib
import functools
import io
import typing

import keras
import tensorflow as tf

from cgan_mnist_tf import data, models, report
from cgan_mnist_tf import gan as gan_lib
from cgan_mnist_tf import options as cgan_options
from pix2pix_tf.common import distribute, lifecycle, optimizers, precision, speed

Options = cgan_options.Options


def flops_per_weight(options: cgan_options.Options) -> float:
    """A training step's FLOP per weight: what --mixed_precision auto weighs."""
    return models.step_flops_per_weight(options.model, options.conditional, options.batch_size)


def build_gan(options: cgan_options.Options, sync_batchnorm: bool = False,
              dropout: bool = True) -> gan_lib.ConditionalGAN:
    """The ConditionalGAN of `options` (a StackGAN for the conditional stackgan),
    compiled (ready to restore into).

    Its layers compute in the --mixed_precision dtype the run uses (float32
    variables and logits either way; float16: the optimizers under loss
    scaling). Call it under a strategy's scope to train with that strategy.

    Args:
        options: the run's options.
        sync_batchnorm: batch norm over the global batch of the replicas.
        dropout: False leaves out dropout (reproducible steps, for tests and comparisons).
    """
    dtype = speed.used(options, "mixed_precision", flops_per_weight=flops_per_weight(options))
    loss, diffaugment, ema_decay = cgan_options.small_data(options)

    def networks():
        return models.build(options.model, options.conditional, options.latent_dim, dropout=dropout,
                            sync_batchnorm=sync_batchnorm)

    with precision.dtype_policy(dtype):
        generator, discriminator = networks()
        ema = None
        if ema_decay:
            ema = networks()[0]
            ema.set_weights(generator.get_weights())  # The average starts at the initial weights.
            ema.trainable = False
        kwargs = dict(conditional=options.conditional, loss=loss, diffaugment=diffaugment,
                      ema_generator=ema, ema_decay=ema_decay)
        if options.model == "stackgan" and options.conditional:
            gan_class, kwargs["consistency"] = gan_lib.StackGAN, options.stackgan_consistency
        else:
            gan_class = gan_lib.ConditionalGAN
        gan = gan_class(generator, discriminator, options.latent_dim, **kwargs)
    # Adam for D and for G, as in the papers' recipe.
    gan.compile(*(precision.wrap_optimizer(optimizers.adam(options.lr, options.beta1,
                                                           options.fused_optimizer), dtype)
                  for _ in range(2)))
    return gan


def run_state(options: cgan_options.Options, gan: gan_lib.ConditionalGAN | None = None) -> dict:
    """What a checkpoint holds besides the networks and optimizers: the epochs
    done, the noise of the sample grids and `gan`'s EMA generator, if any."""
    fixed_z, _ = report.fixed_inputs(options.latent_dim, options.seed)
    state = {"epoch": tf.Variable(0, dtype=tf.int64, name="epoch"),
             "fixed_z": tf.Variable(fixed_z, name="fixed_z")}
    if gan is not None and gan.ema_generator is not None:
        state["ema_generator"] = gan.ema_generator
    return state


class CganRecipe(lifecycle.Recipe):
    """The MNIST GANs: the digits in memory, --epochs in all, a checkpoint each epoch."""

    options_class = cgan_options.Options
    # The keys of the first version, so that every run folder made since resumes.
    optimizer_names = ("g_optimizer", "d_optimizer")

    def check(self, options: Options, given: typing.AbstractSet[str]) -> None:
        cgan_options.check(options)
        cgan_options.check_small_data(options, given)

    flops_per_weight = staticmethod(flops_per_weight)

    def prepare(self, options: Options, strategy: tf.distribute.Strategy,
                log: lifecycle.Log) -> lifecycle.Data:
        quiet = distribute.is_chief(strategy)
        with contextlib.nullcontext() if quiet else contextlib.redirect_stdout(io.StringIO()):
            digits = data.load(options.dataset, options.data_dir)
        size = models.output_shape(options.model, options.conditional)[0]
        return lifecycle.Data(len(digits.train_images),
                              len(digits.train_images) * size * size * 4,
                              "the training images as float32",
                              {"data_source": digits.source}, digits)

    build_model = staticmethod(build_gan)

    def state(self, run: lifecycle.Run) -> dict:
        return run_state(run.options, run.model)

    def current_step(self, run: lifecycle.Run) -> int:
        return int(keras.ops.convert_to_numpy(run.model.generator_optimizer.iterations))

    def before_save(self, run: lifecycle.Run, step: int) -> None:
        run.state["epoch"].assign(step // run.steps_per_epoch)

    def steps_per_epoch(self, training: lifecycle.Data, options: Options,
                        strategy: tf.distribute.Strategy) -> int:
        return data.steps_per_epoch(training.examples, options.batch_size,
                                    distribute.needs_full_batches(strategy))

    def max_steps(self, options: Options, steps_per_epoch: int) -> int | None:
        return options.epochs * steps_per_epoch

    def save_freq(self, options: Options, steps_per_epoch: int) -> int:
        return steps_per_epoch

    def batches(self, run: lifecycle.Run, epoch: int, skip: int) -> tf.data.Dataset:
        options = run.options
        if "digits" not in run.memo:  # Prepared once for every epoch.
            digits = run.data.source
            size = models.output_shape(options.model, options.conditional)[0]
            run.memo["digits"] = data.TrainingDigits(digits.train_images, digits.train_labels,
                                                     size, cache=options.cache)
        run.model.reset_metrics()  # The logs are the running means of the epoch.
        dataset = run.memo["digits"].dataset(
            options.batch_size, options.seed,
            drop_remainder=distribute.needs_full_batches(run.strategy),
            epochs=(epoch, epoch + 1), skip_batches=skip)
        return distribute.distribute_dataset(run.strategy, dataset)

    def reporter(self, run: lifecycle.Run, log: lifecycle.Log) -> report.SampleReport:
        return report.SampleReport(run, log)

    def finish(self, result: lifecycle.TrainResult, log: lifecycle.Log) -> None:
        result.outputs["gif"] = report.write_run_gif(result.output_dir)
        done = f"{result.epoch} epoch{'' if result.epoch == 1 else 's'}"
        if result.stopped:
            log(f"stopped by {result.stopped} at step {result.step} ({done} done); checkpoint "
                f"saved in {result.output_dir}; resume with --checkpoint {result.output_dir}")
        else:
            log(f"trained to step {result.step} ({done}); checkpoint, samples and "
                f"{report.GIF_NAME} in {result.output_dir}")


RECIPE = CganRecipe()
train = functools.partial(lifecycle.train, RECIPE)
train.__doc__ = """train(options, given=(), log=print, strategy=None): trains a GAN of
cgan_mnist_tf (`common.lifecycle.train` with this package's recipe); returns a TrainResult."""
