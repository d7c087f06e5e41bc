"""The training loop: data in, checkpoints, summaries and progress out."""

import os
import re
import time

import keras
import tensorflow as tf

from pix2pix_tf import data, display, gan, optimizers, options as pix2pix_options, report
from pix2pix_tf.common import checkpoints, distribute, precision, speed
from pix2pix_tf.common.errors import UserError
from pix2pix_tf.common.options import load_options, merge_saved_options, save_options


def build_model(opts, sync_batchnorm=False):
    """A compiled Pix2Pix for the options (sizes, kinds, weights, optimizers),
    its layers computing in the --mixed_precision dtype the run uses (float16:
    the optimizers under loss scaling). Call it under a strategy's scope to
    train with that strategy; sync_batchnorm: batch norm over the global
    batch, for strategies with several replicas."""
    dtype = speed.used(opts, "mixed_precision")
    with precision.policy_scope(dtype):
        generator = pix2pix_options.generator_from_options(opts, sync_batchnorm)
        discriminator = pix2pix_options.discriminator_from_options(opts, sync_batchnorm)
    model = gan.Pix2Pix(generator, discriminator, opts["gan_weight"], opts["l1_weight"])
    fused = opts.get("fused_optimizer", False)
    model.compile(
        generator_optimizer=precision.wrap_optimizer(
            optimizers.adam(opts["lr"], opts["beta1"], fused), dtype),
        discriminator_optimizer=precision.wrap_optimizer(
            optimizers.adam(opts["lr"], opts["beta1"], fused), dtype))
    return model


def make_train_step(model, opts, strategy=None):
    """The training step the loop runs: model.train_step as one graph,
    compiled by XLA with --jit_compile, on every replica of `strategy`
    (default: the current one)."""
    step = tf.function(model.train_step, reduce_retracing=True,
                       jit_compile=bool(speed.used(opts, "jit_compile")))
    return distribute.replicated(strategy or tf.distribute.get_strategy(), step,
                                 reduce_retracing=True)


def run_checkpoint(model, output_dir, global_step):
    return checkpoints.RunCheckpoint(
        output_dir, generator=model.generator, discriminator=model.discriminator,
        generator_optimizer=precision.checkpointed(model.generator_optimizer),
        discriminator_optimizer=precision.checkpointed(model.discriminator_optimizer),
        global_step=global_step)


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

    def __init__(self, model, opts, strategy=None, write_files=True):
        self.model = model
        self.opts = opts
        self.write_files = write_files
        self.writer = tf.summary.create_file_writer(opts["output_dir"]) if write_files else None
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
        report.write_index(os.path.join(self.opts["output_dir"], "index.html"),
                           ["step", *report.KINDS], report.training_rows(self.image_dir))


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
    # The speed settings of this machine (`auto` decided here, on every run).
    speed.check(opts)
    used, speed_lines = speed.resolve(opts)
    opts = {**opts, **used}
    threads_set = speed.configure_threads(opts)
    # First: multi_worker must be set up before TensorFlow runs any op.
    strategy = distribute.make_strategy(opts.get("strategy") or "default", opts.get("tpu"))
    chief = distribute.is_chief(strategy)
    if not chief:
        log = _quiet
    for line in speed_lines:
        log(line)
    if not threads_set:
        log("--intra_op_threads/--inter_op_threads ignored: TensorFlow is already running")
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

    use_cache, cache_line = speed.cache_decision(opts.get("cache", speed.AUTO),
                                                 data.decoded_bytes(paths))
    log(cache_line)
    opts[speed.used_key("cache")] = use_cache
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
    cache = data.DecodedImages(paths) if use_cache else None
    summaries = Summaries(model, opts, strategy, write_files=chief)

    def save():
        global_step.assign(step)
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
