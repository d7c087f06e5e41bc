"""The training run: data, models, fit() with samples, summaries and checkpoints, the GIF."""

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
from pix2pix_tf.common import options as common_options
from pix2pix_tf.common.errors import UserError

SAMPLES_DIR = "samples"
LOGS_DIR = "logs"
GIF_NAME = "samples.gif"


def build_gan(options):
    """The ConditionalGAN of `options`, compiled with built optimizers (ready to restore into)."""
    generator, discriminator = models.build(options["model"], options["conditional"],
                                            options["latent_dim"])
    gan = gan_lib.ConditionalGAN(generator, discriminator, options["latent_dim"],
                                 conditional=options["conditional"])
    gan.compile(*gan_lib.make_optimizers(options["lr"], options["beta1"]), jit_compile=False)
    gan_lib.build_optimizers(gan)
    return gan


def run_state(options):
    """The variables a checkpoint holds besides the networks and optimizers."""
    fixed_z, _ = callbacks.fixed_inputs(options["latent_dim"], options["seed"])
    return {"epoch": tf.Variable(0, dtype=tf.int64, name="epoch"),
            "fixed_z": tf.Variable(fixed_z, name="fixed_z")}


def current_step(gan):
    return int(keras.ops.convert_to_numpy(gan.g_optimizer.iterations))


def train(options, given=()):
    """Trains (or resumes, with options["checkpoint"]) and returns a summary dict.

    `given` names the options set on the command line, for the resume rules of
    run_options.from_checkpoint.
    """
    options = run_options.with_defaults(options)
    resume_dir = options.get("checkpoint")
    if resume_dir:
        options, _, messages = run_options.from_checkpoint(options, resume_dir, given, strict=True)
        for message in messages:
            print(message)
    output_dir = options.get("output_dir") or resume_dir
    if not output_dir:
        raise UserError("--mode train needs --output_dir (or --checkpoint to resume)")
    if options["epochs"] < 1 or options["batch_size"] < 1 or options["sample_interval"] < 1:
        raise UserError("--epochs, --batch_size and --sample_interval must be positive")
    if options["model"] not in models.MODELS:
        raise UserError(f"--model {options['model']} is not one of {', '.join(models.MODELS)}")
    keras.utils.set_random_seed(options["seed"])

    digits = data.load(options["dataset"], options.get("data_dir"))
    image_size = models.output_shape(options["model"], options["conditional"])[0]
    dataset = data.training_dataset(digits.train_images, digits.train_labels,
                                    options["batch_size"], image_size, options["seed"])

    gan = build_gan(options)
    state = run_state(options)
    run_checkpoint = checkpoints.RunCheckpoint(
        output_dir, generator=gan.generator, discriminator=gan.discriminator,
        d_optimizer=gan.d_optimizer, g_optimizer=gan.g_optimizer, **state)
    if resume_dir:
        path = run_checkpoint.restore(resume_dir)
        print(f"resumed {path}: step {current_step(gan)}, {int(state['epoch'].numpy())} epochs done")
    common_options.save_options(output_dir, {**options, "output_dir": output_dir,
                                             "data_source": digits.source})

    start_epoch = int(state["epoch"].numpy())
    start_step = current_step(gan)
    samples_dir = os.path.join(output_dir, SAMPLES_DIR)
    writer = tf.summary.create_file_writer(os.path.join(output_dir, LOGS_DIR))
    _, fixed_labels = callbacks.fixed_inputs(options["latent_dim"], options["seed"])
    stopped = None
    if start_epoch < options["epochs"]:
        with checkpoints.StopRequests() as stop:
            gan.fit(dataset, epochs=options["epochs"], initial_epoch=start_epoch, shuffle=False,
                    verbose=1 if sys.stdout.isatty() else 2,
                    callbacks=[
                        callbacks.StopOnRequest(stop),
                        callbacks.Samples(gan, state["fixed_z"], fixed_labels, samples_dir, writer,
                                          options["sample_interval"], start_step),
                        callbacks.EpochCheckpoint(run_checkpoint, state["epoch"],
                                                  lambda: current_step(gan)),
                    ])
            stopped = stop.requested
    else:
        print(f"{start_epoch} epochs already done (--epochs {options['epochs']}): nothing to train")
    step = current_step(gan)
    run_checkpoint.save(step)
    writer.close()

    frames = grids.sample_paths(samples_dir)
    gif = grids.write_gif(frames, os.path.join(output_dir, GIF_NAME)) if frames else None
    epochs_done = int(state["epoch"].numpy())
    if stopped:
        print(f"stopped by {stopped} at step {step} ({epochs_done} epochs done); checkpoint saved in "
              f"{output_dir}; resume with --checkpoint {output_dir}", flush=True)
    else:
        print(f"trained to step {step} ({epochs_done} epochs); checkpoint, samples and "
              f"{GIF_NAME} in {output_dir}", flush=True)
    return {"step": step, "epoch": epochs_done, "stopped": stopped, "output_dir": output_dir,
            "gif": gif, "images": len(digits.train_images), "data_source": digits.source}
