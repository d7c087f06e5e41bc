"""The training loop: data in, checkpoints, summaries and progress out."""

import os
import re
import time

import keras
import tensorflow as tf

from pix2pix_tf import data, display, gan, optimizers, options as pix2pix_options, report
from pix2pix_tf.common import checkpoints, distribute
from pix2pix_tf.common.errors import UserError
from pix2pix_tf.common.options import load_options, merge_saved_options, save_options


# --mixed_precision -> Keras dtype policy. mixed_bfloat16 keeps float32
# variables (so checkpoints are the same either way) and computes in bfloat16;
# the models' outputs and logits, and so the losses, stay float32.
DTYPE_POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16"}


def dtype_policy(opts):
    return DTYPE_POLICIES[opts.get("mixed_precision") or "float32"]


def build_model(opts, sync_batchnorm=False):
    """A compiled Pix2Pix for the options (sizes, kinds, weights, optimizers),
    its layers computing in the --mixed_precision dtype. Call it under a
    strategy's scope to train with that strategy; sync_batchnorm: batch norm
    over the global batch, for strategies with several replicas."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(dtype_policy(opts))
    try:
        generator = pix2pix_options.generator_from_options(opts, sync_batchnorm)
        discriminator = pix2pix_options.discriminator_from_options(opts, sync_batchnorm)
    finally:
        keras.config.set_dtype_policy(previous)
    model = gan.Pix2Pix(generator, discriminator, opts["gan_weight"], opts["l1_weight"])
    fused = opts.get("fused_optimizer", False)
    model.compile(
        generator_optimizer=optimizers.adam(opts["lr"], opts["beta1"], fused),
        discriminator_optimizer=optimizers.adam(opts["lr"], opts["beta1"], fused))
    return model


def make_train_step(model, opts, strategy=None):
    """The training step the loop runs: model.train_step as one graph,
    compiled by XLA with --jit_compile, on every replica of `strategy`
    (default: the current one)."""
    step = tf.function(model.train_step, reduce_retracing=True,
                       jit_compile=bool(opts.get("jit_compile")))
    return distribute.replicated(strategy or tf.distribute.get_strategy(), step,
                                 reduce_retracing=True)


def configure_threads(opts):
    """--intra_op_threads (threads of one op) and --inter_op_threads (ops run
    at once); 0 leaves TensorFlow's choice. They only take effect before
    TensorFlow runs its first op: returns False if they came too late."""
    threading = tf.config.threading
    try:
        if opts.get("intra_op_threads"):
            threading.set_intra_op_parallelism_threads(opts["intra_op_threads"])
        if opts.get("inter_op_threads"):
            threading.set_inter_op_parallelism_threads(opts["inter_op_threads"])
    except RuntimeError:
        return False
    return True


def decoded_cache(paths, opts, log=print):
    """--cache: every image decoded once, if they fit in memory; else None."""
    if not opts.get("cache"):
        return None
    fits, needed = data.cache_fits(paths)
    if not fits:
        log(f"not caching: the decoded images need {needed / 2 ** 30:.1f} GiB, more than "
            f"{data.CACHE_MEMORY_FRACTION:.0%} of the memory; decoding them every epoch")
        return None
    return data.DecodedImages(paths)


def run_checkpoint(model, output_dir, global_step):
    return checkpoints.RunCheckpoint(
        output_dir, generator=model.generator, discriminator=model.discriminator,
        generator_optimizer=model.generator_optimizer,
        discriminator_optimizer=model.discriminator_optimizer, global_step=global_step)


def _format_duration(seconds):
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


def _every(step, freq, last):
    return freq > 0 and (step % freq == 0 or step == last)


class Summaries:
    """TensorBoard scalars and images, and the --display_freq index.html.

    Under a strategy every worker runs the predictions (a collective step that
    also updates batch norm's moving statistics, as training=True does), and
    only the chief (`write_files`) writes them.
    """

    def __init__(self, model, opts, strategy=None, write_files=True, start_step=0):
        self.model = model
        self.opts = opts
        self.write_files = write_files
        self.writer = tf.summary.create_file_writer(opts["output_dir"]) if write_files else None
        self.losses = report.loss_history(opts["output_dir"], start_step) if write_files else None
        self.image_dir = os.path.join(opts["output_dir"], "images")
        self._predict = distribute.gathered(strategy or tf.distribute.get_strategy(),
                                            model.predict_step)

    def _images(self, batch):
        (inputs, targets), predictions = self._predict(batch)
        if not self.write_files:
            return None, None
        images = display.to_rgb(inputs, predictions["outputs"], targets,
                                self.opts["lab_colorization"], self.opts["which_direction"])
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
        report.write_training_index(self.opts["output_dir"], self.image_dir)

    def plot_losses(self):
        """losses.png (and losses.json) of the losses written so far."""
        if self.write_files:
            self.losses.write_plot(report.LOSS_PANELS)


def prepare(opts, given=(), log=print):
    """Checks the options and the data before anything is written.

    `given` names the options set on the command line: when resuming, the
    model-defining ones must agree with the checkpoint's options.json.
    Returns (opts with the checkpoint's model options merged in, image paths).
    """
    if opts["checkpoint"]:
        saved = load_options(opts["checkpoint"])
        checkpoints.latest_checkpoint(opts["checkpoint"])
        opts, messages = merge_saved_options(opts, saved, pix2pix_options.MODEL_KEYS, given,
                                             strict=True)
        if "seed" not in given and "seed" in saved:
            opts["seed"] = saved["seed"]  # The same data order and jitter as before.
        for message in messages:
            log(message)
    pix2pix_options.check(opts)
    paths = data.list_image_files(opts["input_dir"])
    opts["image_aspect"] = data.check_image_files(paths, paired=not opts["lab_colorization"])
    if not opts["output_dir"]:
        raise UserError("--output_dir is required")
    output_dir = os.path.abspath(opts["output_dir"])
    resuming_here = opts["checkpoint"] and os.path.abspath(opts["checkpoint"]) == output_dir
    if not resuming_here and os.path.isdir(output_dir) and tf.train.latest_checkpoint(output_dir):
        raise UserError(f"--output_dir {opts['output_dir']} already holds a checkpoint: resume it "
                        f"with --checkpoint {opts['output_dir']}, or choose another --output_dir")
    return opts, paths


def train(opts, given=(), log=print):
    """Trains pix2pix with `opts` (a dict of every option); returns the final step.

    `opts["checkpoint"]`, if set, is a folder to resume from: weights, both
    optimizers and the global step come back, and the epoch position follows
    from the step. Stops at max_steps / max_epochs counted from the first run.

    `opts["strategy"]` spreads the run over devices, machines or TPUs; the
    batch size is the global one. Only the chief writes files and progress.
    """
    if not configure_threads(opts):
        log("--intra_op_threads/--inter_op_threads ignored: TensorFlow is already running")
    # First: multi_worker must be set up before TensorFlow runs any op.
    strategy = distribute.make_strategy(opts.get("strategy") or "default", opts.get("tpu"))
    chief = distribute.is_chief(strategy)
    if not chief:
        log = _quiet
    opts, paths = prepare(opts, given, log)
    distribute.check_batch_size(opts["batch_size"], strategy, opts.get("strategy"))
    keras.utils.set_random_seed(opts["seed"])
    with strategy.scope():
        sync = bool(opts.get("sync_batchnorm")) and strategy.num_replicas_in_sync > 1
        model = build_model(opts, sync_batchnorm=sync)
        global_step = tf.Variable(0, dtype=tf.int64, name="global_step")
    checkpoint_dir = distribute.checkpoint_directory(opts["output_dir"], strategy)
    checkpoint = run_checkpoint(model, checkpoint_dir, global_step)
    if opts["checkpoint"]:
        path = checkpoint.restore(opts["checkpoint"])
        log(f"resumed from {path} at step {int(global_step.numpy())}")

    if chief:
        os.makedirs(opts["output_dir"], exist_ok=True)
        save_options(opts["output_dir"], opts)

    batch_size = opts["batch_size"]
    # Several replicas (or a TPU) need whole global batches: the last, partial
    # batch of each epoch is left out.
    full_batches = distribute.needs_full_batches(strategy)
    if full_batches:
        steps_per_epoch = len(paths) // batch_size
        if steps_per_epoch == 0:
            raise UserError(f"--batch_size {batch_size} is more than the {len(paths)} images of "
                            f"--input_dir {opts['input_dir']}")
    else:
        steps_per_epoch = data.steps_per_epoch(len(paths), batch_size)
    if opts["max_steps"] is not None:
        max_steps = opts["max_steps"]
    elif opts["max_epochs"] is not None:
        max_steps = opts["max_epochs"] * steps_per_epoch
    else:
        max_steps = None  # Until stopped: the reference's default too.
    step = int(global_step.numpy())
    log(f"training on {len(paths)} images from {opts['input_dir']}, {steps_per_epoch} steps per epoch, "
        f"until step {max_steps if max_steps is not None else 'interrupted (Ctrl-C saves and stops)'}")

    train_step = make_train_step(model, opts, strategy)
    cache = decoded_cache(paths, opts, log)
    summaries = Summaries(model, opts, strategy, write_files=chief, start_step=step)

    def save():
        global_step.assign(step)
        summaries.plot_losses()
        return checkpoint.save(step)

    first_step = step
    start_time, start_step = None, step
    with checkpoints.StopRequests() as stop:
        while max_steps is None or step < max_steps:
            epoch = step // steps_per_epoch
            batches = data.training_dataset(
                paths, seed=opts["seed"], epoch=epoch, skip_batches=step % steps_per_epoch,
                batch_size=batch_size, which_direction=opts["which_direction"],
                lab_colorization=opts["lab_colorization"],
                scale_size=pix2pix_options.scale_size(opts), crop_size=opts["crop_size"],
                flip=opts["flip"], cache=cache)
            if full_batches:
                batches = batches.rebatch(batch_size, drop_remainder=True)
            batches = distribute.distribute_dataset(strategy, batches)
            try:
                for batch in batches:
                    logs = train_step(batch)
                    step += 1
                    if start_time is None:  # The first step traces and compiles.
                        start_time, start_step = time.time(), step
                    last = step == max_steps
                    if _every(step, opts["summary_freq"], last):
                        summaries.write(step, logs, batch)
                    if _every(step, opts["display_freq"], last):
                        summaries.display(step, batch)
                    if _every(step, opts["progress_freq"], last):
                        log(_progress(step, steps_per_epoch, max_steps, batch_size,
                                      start_time, start_step, logs))
                    if _every(step, opts["save_freq"], False):
                        save()
                    if stop.requested:
                        path = save()
                        log(f"stopped by {stop.requested} at step {step}; saved {path}; "
                            f"resume with --checkpoint {opts['output_dir']}")
                        return step
                    if last:
                        break
            except tf.errors.InvalidArgumentError as e:
                if step > first_step:
                    save()  # Keep what was trained before the bad file came up.
                bad = data.find_undecodable(paths)
                reason = re.sub(r"\{\{.*?\}\}", "", e.message.splitlines()[0]).strip()
                raise UserError(f"{bad or 'an image of ' + opts['input_dir']} could not be decoded: "
                                f"{reason}") from e
    path = save()
    log(f"saved {path} at step {step}")
    distribute.dump_weights_for_tests(
        {"generator": model.generator, "discriminator": model.discriminator}, strategy)
    distribute.remove_worker_directory(checkpoint_dir, strategy)
    return step


def _quiet(line):
    """The log of non-chief workers: the chief reports for the run."""


def _progress(step, steps_per_epoch, max_steps, batch_size, start_time, start_step, logs):
    epoch = (step - 1) // steps_per_epoch + 1
    elapsed = time.time() - start_time
    rate = (step - start_step) * batch_size / elapsed if elapsed > 0 and step > start_step else 0.0
    line = [f"progress  epoch {epoch}  step {(step - 1) % steps_per_epoch + 1}/{steps_per_epoch}",
            f"global step {step}" + (f"/{max_steps}" if max_steps else "")]
    line.append(f"image/sec {rate:.1f}")
    if max_steps and rate > 0:
        line.append(f"remaining {_format_duration((max_steps - step) * batch_size / rate)}")
    line += [f"{name} {float(value):.4f}" for name, value in logs.items()]
    return "  ".join(line)
