"""The training run: data, models, fit() with samples, summaries and checkpoints, the GIF.

Under a tf.distribute strategy (--strategy) the models, optimizers and metrics
are made in its scope and fit() runs the train step on every replica;
--batch_size is the global batch. Only the chief writes samples, summaries,
options and progress; every worker saves checkpoints (a collective operation),
the others to a temporary folder.
"""

import contextlib
import io
import os
import sys

import keras
import tensorflow as tf

from cgan_mnist_tf import callbacks
from cgan_mnist_tf import data
from cgan_mnist_tf import gan as gan_lib
from cgan_mnist_tf import grids
from cgan_mnist_tf import models
from cgan_mnist_tf import run_options
from pix2pix_tf.common import checkpoints
from pix2pix_tf.common import distribute
from pix2pix_tf.common import options as common_options
from pix2pix_tf.common import precision
from pix2pix_tf.common import speed
from pix2pix_tf.common.errors import UserError

SAMPLES_DIR = "samples"
LOGS_DIR = "logs"
GIF_NAME = "samples.gif"


# Training steps per fit() call (Keras' steps_per_execution): one call per
# step costs Keras' loop, its callbacks and a function call per step, about as
# much as the mlp's step itself on a 2-core CPU (BENCHMARKS.md).
STEPS_PER_CALL = 32


def steps_per_call(options):
    """Steps per fit() call: STEPS_PER_CALL, or fewer so that every sample grid
    falls in a call of its own."""
    return max(1, min(STEPS_PER_CALL, int(options["sample_interval"])))


def build_gan(options, sync_batchnorm=False, dropout=True, steps_per_execution=None):
    """The ConditionalGAN of `options`, compiled with built optimizers (ready to restore into).

    Its layers compute in the --mixed_precision dtype the run uses (float32
    variables and logits either way; float16: the optimizers under loss
    scaling), fit() compiles its train step with XLA under --jit_compile and
    runs `steps_per_execution` steps per call (default: `steps_per_call(options)`). Call it under a strategy's scope to
    train with that strategy; sync_batchnorm: batch norm over the global batch
    of the replicas. dropout=False: no dropout (reproducible steps, for tests
    and comparisons).
    """
    dtype = speed.used(options, "mixed_precision")
    with precision.policy_scope(dtype):
        generator, discriminator = models.build(options["model"], options["conditional"],
                                                options["latent_dim"], dropout=dropout,
                                                sync_batchnorm=sync_batchnorm)
    gan = gan_lib.ConditionalGAN(generator, discriminator, options["latent_dim"],
                                 conditional=options["conditional"])
    d_optimizer, g_optimizer = gan_lib.make_optimizers(options["lr"], options["beta1"],
                                                       bool(options.get("fused_optimizer")))
    gan.compile(precision.wrap_optimizer(d_optimizer, dtype),
                precision.wrap_optimizer(g_optimizer, dtype),
                jit_compile=bool(speed.used(options, "jit_compile")),
                steps_per_execution=steps_per_execution or steps_per_call(options))
    gan_lib.build_optimizers(gan)
    return gan


def make_strategy(options):
    """The tf.distribute strategy of --strategy (and --tpu); UserError if unusable."""
    return distribute.make_strategy(options.get("strategy") or "default", options.get("tpu"))


def check_strategy_options(options, strategy):
    name = options.get("strategy") or "default"
    distribute.check_batch_size(options["batch_size"], strategy, name)
    if speed.used(options, "jit_compile") and strategy.num_replicas_in_sync > 1:
        # Keras compiles strategy.run itself, over every replica's device,
        # which XLA cannot do ("Trying to access resource ... located in device").
        raise UserError(f"--jit_compile needs a single replica; --strategy {name} has "
                        f"{strategy.num_replicas_in_sync} (use --nojit_compile)")


def run_state(options):
    """The variables a checkpoint holds besides the networks and optimizers."""
    fixed_z, _ = callbacks.fixed_inputs(options["latent_dim"], options["seed"])
    return {"epoch": tf.Variable(0, dtype=tf.int64, name="epoch"),
            "fixed_z": tf.Variable(fixed_z, name="fixed_z")}


def current_step(gan):
    return int(keras.ops.convert_to_numpy(gan.g_optimizer.iterations))


def train(options, given=(), strategy=None):
    """Trains (or resumes, with options["checkpoint"]) and returns a summary dict.

    `given` names the options set on the command line, for the resume rules of
    run_options.from_checkpoint. `strategy`: a tf.distribute strategy to use
    instead of the one --strategy names (tests).
    """
    options = run_options.with_defaults(options)
    resume_dir = options.get("checkpoint")
    messages = []
    if resume_dir:
        options, _, messages = run_options.from_checkpoint(options, resume_dir, given, strict=True)
    # The speed settings of this machine (`auto` decided here, on every run),
    # then the strategy: both before TensorFlow runs any op.
    speed.check(options)
    used, speed_lines = speed.resolve(options)
    options = {**options, **used}
    threads_set = speed.configure_threads(options)
    strategy = strategy or make_strategy(options)
    chief = distribute.is_chief(strategy)
    say = print if chief else _quiet
    for line in speed_lines + messages:
        say(line)
    if not threads_set and any(options[name] != speed.AUTO
                               for name in ("intra_op_threads", "inter_op_threads")):
        say("--intra_op_threads/--inter_op_threads ignored: TensorFlow is already running")
    output_dir = options.get("output_dir") or resume_dir
    if not output_dir:
        raise UserError("--mode train needs --output_dir (or --checkpoint to resume)")
    if options["epochs"] < 1 or options["batch_size"] < 1 or options["sample_interval"] < 1:
        raise UserError("--epochs, --batch_size and --sample_interval must be positive")
    if options["model"] not in models.MODELS:
        raise UserError(f"--model {options['model']} is not one of {', '.join(models.MODELS)}")
    check_strategy_options(options, strategy)
    keras.utils.set_random_seed(options["seed"])

    with contextlib.nullcontext() if chief else contextlib.redirect_stdout(io.StringIO()):
        digits = data.load(options["dataset"], options.get("data_dir"))
    # Several replicas (or a TPU) need whole global batches: the last, partial
    # batch of each epoch is left out.
    full_batches = distribute.needs_full_batches(strategy)
    if full_batches and len(digits.train_images) < options["batch_size"]:
        raise UserError(f"--batch_size {options['batch_size']} is more than the "
                        f"{len(digits.train_images)} training images")
    image_size = models.output_shape(options["model"], options["conditional"])[0]
    cache, cache_line = speed.cache_decision(
        options["cache"], len(digits.train_images) * image_size * image_size * 4,
        what="the training images as float32")
    say(cache_line)
    dataset = data.training_dataset(digits.train_images, digits.train_labels,
                                    options["batch_size"], image_size, options["seed"],
                                    cache=cache, drop_remainder=full_batches)
    dataset = distribute.distribute_dataset(strategy, dataset)

    with strategy.scope():
        sync = bool(options["sync_batchnorm"]) and strategy.num_replicas_in_sync > 1
        gan = build_gan(options, sync_batchnorm=sync)
    state = run_state(options)
    checkpoint_dir = distribute.checkpoint_directory(output_dir, strategy)
    run_checkpoint = checkpoints.RunCheckpoint(
        checkpoint_dir, generator=gan.generator, discriminator=gan.discriminator,
        d_optimizer=precision.checkpointed(gan.d_optimizer),
        g_optimizer=precision.checkpointed(gan.g_optimizer), **state)
    if resume_dir:
        path = run_checkpoint.restore(resume_dir)
        say(f"resumed {path}: step {current_step(gan)}, {int(state['epoch'].numpy())} epochs done")
    if chief:
        common_options.save_options(output_dir, {**options, "output_dir": output_dir,
                                                 "data_source": digits.source,
                                                 speed.used_key("cache"): cache})

    start_epoch = int(state["epoch"].numpy())
    samples_dir = os.path.join(output_dir, SAMPLES_DIR)
    writer = tf.summary.create_file_writer(os.path.join(output_dir, LOGS_DIR)) if chief else None
    _, fixed_labels = callbacks.fixed_inputs(options["latent_dim"], options["seed"])
    stopped = None
    if start_epoch < options["epochs"]:
        with checkpoints.StopRequests() as stop:
            run_callbacks = [callbacks.StopOnRequest(stop)]
            if chief:
                run_callbacks.append(callbacks.Samples(
                    gan, state["fixed_z"], fixed_labels, samples_dir, writer,
                    options["sample_interval"], lambda: current_step(gan)))
            run_callbacks.append(callbacks.EpochCheckpoint(run_checkpoint, state["epoch"],
                                                           lambda: current_step(gan)))
            gan.fit(dataset, epochs=options["epochs"], initial_epoch=start_epoch, shuffle=False,
                    verbose=(1 if sys.stdout.isatty() else 2) if chief else 0,
                    callbacks=run_callbacks)
            stopped = stop.requested
    else:
        say(f"{start_epoch} epochs already done (--epochs {options['epochs']}): nothing to train")
    step = current_step(gan)
    run_checkpoint.save(step)
    distribute.remove_worker_directory(checkpoint_dir, strategy)
    epochs_done = int(state["epoch"].numpy())
    summary = {"step": step, "epoch": epochs_done, "stopped": stopped, "output_dir": output_dir,
               "gif": None, "images": len(digits.train_images), "data_source": digits.source}
    if not chief:
        return summary
    writer.close()

    frames = grids.sample_paths(samples_dir)
    summary["gif"] = grids.write_gif(frames, os.path.join(output_dir, GIF_NAME)) if frames else None
    if stopped:
        print(f"stopped by {stopped} at step {step} ({epochs_done} epochs done); checkpoint saved in "
              f"{output_dir}; resume with --checkpoint {output_dir}", flush=True)
    else:
        print(f"trained to step {step} ({epochs_done} epochs); checkpoint, samples and "
              f"{GIF_NAME} in {output_dir}", flush=True)
    return summary


def _quiet(line):
    """The messages of non-chief workers: the chief reports for the run."""
