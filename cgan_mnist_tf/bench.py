"""Training-speed benchmark of cgan_mnist_tf.

    python -m cgan_mnist_tf.bench --compare_baseline --json bench.json
    python -m cgan_mnist_tf.bench --tune

builds the GAN and its training step exactly as `--mode train` does
(train.build_gan, then the train function fit() runs) for one case (--model,
--conditional, --batch_size and the speed flags, `auto` decided as training
decides it), warms up, then times --windows windows of --steps training steps
each on a fixed batch and reports images/sec (median of the windows, with min
and max), ms/step, FLOP/step and GFLOP/s, the step's share of this machine's
measured matrix-product rate and of its theoretical peak, peak resident
memory, the generator's inference latency and the seconds of one fit() epoch
of mnist_5k (the real input pipeline, Keras' loop and the training run's
callbacks, as many steps per call as training runs). --baseline times the
same models with every optimisation off (float32, no XLA, no cache, Keras'
Adam, one step per call); --compare_baseline times both in this process,
alternating their windows, and reports the speed-up measured side by side.
--tune times every combination of the speed flags that applies to this
machine against the `auto` one and prints the fastest as flags.

A CGAN step draws new samples for G's half, so it runs G forward twice and D
forward three times: D's step is G + 2D forward and 4D backward (weights and
inputs at twice the forward), G's step is G + D forward, 1D back through D
(input gradients only) and 2G back through G: 4G + 8D in all (FLOP
convention: pix2pix_tf/common/flops.py; the embeddings are not counted).
"""

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from cgan_mnist_tf import callbacks, choices, data, models, options as cgan_options, train  # noqa: E402
from pix2pix_tf.common import benchmarking, flops, machine as machine_lib  # noqa: E402
from pix2pix_tf.common import options as common_options  # noqa: E402
from pix2pix_tf.common.benchmarking import BASELINE  # noqa: E402

TUNE_STEPS, TUNE_WINDOWS, TUNE_WARMUP = 40, 4, 5


def step_flops(generator, discriminator, batch_size=1):
    """FLOP of one training step under the module's convention (4G + 8D)."""
    return flops.step_flops(generator, discriminator, 4, 8, batch_size)


def fixed_batch(options, seed=0):
    """A fixed (images, labels) batch in [-1, 1] of the case's shapes."""
    rng = np.random.default_rng(seed)
    size = models.output_shape(options.model, options.conditional)
    images = rng.uniform(-1, 1, (options.batch_size,) + size).astype(np.float32)
    labels = rng.integers(0, models.NUM_CLASSES, options.batch_size).astype(np.int32)
    return images, labels


class Case(benchmarking.TimedCase):
    """One configuration's GAN and the train function fit() would run (one step a call)."""

    def __init__(self, name, options, batch):
        super().__init__(name, options)
        keras.utils.set_random_seed(options.seed)
        self.gan = train.build_gan(options, steps_per_execution=1)
        self.gan.make_train_function()
        self.iterator = iter(tf.data.Dataset.from_tensors(batch).repeat())

    def run_step(self):
        return self.gan.train_function(self.iterator)["d_loss"]

    def epoch_seconds(self, digits, baseline=False):
        """Seconds of the second of two fit() epochs over `digits` (the first
        traces), with training's callbacks and steps per call (baseline: one
        step per call, as before they were grouped)."""
        options = self.options
        image_size = models.output_shape(options.model, options.conditional)[0]

        training = data.TrainingDigits(digits.train_images, digits.train_labels, image_size,
                                       cache=options.cache is not False)

        def batches(epoch, skip):
            return training.dataset(options.batch_size, options.seed, epochs=(epoch, epoch + 1),
                                    skip_batches=skip)

        gan = train.build_gan(options, steps_per_execution=1 if baseline else None)
        fixed_z, fixed_labels = callbacks.fixed_inputs(options.latent_dim, options.seed)
        timer = EpochTimer()
        with tempfile.TemporaryDirectory() as tmp:
            writer = tf.summary.create_file_writer(tmp)
            samples = callbacks.Samples(gan, fixed_z, fixed_labels, tmp, tmp, writer,
                                        options.sample_interval, lambda: train.current_step(gan))
            train.run_epochs(gan, batches, 0, 2, 0, [samples, timer], verbose=0)
            writer.close()
        return timer.seconds[-1]


class EpochTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)


def inference_ms(options, repeats=50):
    """ms per image of the float32 generator (as generate and eval run it), batch 1."""
    generator, _ = models.build(options.model, options.conditional, options.latent_dim)
    inputs = [tf.random.normal((1, options.latent_dim)), tf.constant([3], tf.int32)]
    if not options.conditional:
        inputs = inputs[0]
    generate = tf.function(lambda x: generator(x, training=False))
    return benchmarking.latency_ms(lambda: generate(inputs), repeats)


def parse_args(argv):
    defaults = cgan_options.Options()
    parser = common_options.ArgumentParser(
        prog="python -m cgan_mnist_tf.bench", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=choices.MODELS, default=defaults.model)
    parser.add_argument("--conditional", action=argparse.BooleanOptionalAction,
                        default=defaults.conditional)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--latent_dim", type=int, default=defaults.latent_dim)
    benchmarking.add_arguments(parser, defaults, steps=50, windows=6, warmup=5)
    parser.add_argument("--epoch_images", type=int, default=5000,
                        help="time one fit() epoch of the first N mnist_5k digits (0: skip)")
    parser.add_argument("--inference_repeats", type=int, default=50,
                        help="generator calls timed for the inference row (0: skip it)")
    args = parser.parse_args(argv)
    if args.batch_size < 1 or args.steps < 1 or args.windows < 1:
        parser.error("--batch_size, --steps and --windows must be positive")
    machine = machine_lib.probe()
    speed_options, lines = benchmarking.resolve_arguments(
        args, machine, train.flops_per_weight(args))
    options = cgan_options.Options(model=args.model, conditional=args.conditional,
                                   batch_size=args.batch_size, latent_dim=args.latent_dim, seed=0,
                                   **speed_options)
    if args.baseline:
        options = benchmarking.with_settings(options, **BASELINE)
    return args, options, machine, lines


def format_table(result):
    notes = []
    if "epoch_speedup" in result:
        notes.append(f"s/epoch speedup (baseline / fast): {result['epoch_speedup']:.2f}x")
    if "epoch_images" in result:
        notes.append(f"s/epoch: second fit() epoch over {result['epoch_images']} mnist_5k digits "
                     f"(steps per call: fast {result['steps_per_execution']}, baseline 1)")
    title = (f"cgan_mnist_tf.bench  {result['model']}"
             f"{'' if result['conditional'] else ' (plain GAN)'}  batch {result['batch_size']}")
    return benchmarking.format_table(title, result, "matmul", 0, notes, epoch_column=True)


def main(argv=None, out=sys.stdout):
    """Runs the benchmark for `argv` (sys.argv[1:] by default); returns the figures."""
    argv, args, options, result = benchmarking.begin(
        argv, parse_args, out, steps=TUNE_STEPS, windows=TUNE_WINDOWS, warmup=TUNE_WARMUP,
        epoch_images=0)
    result.update(model=options.model, conditional=options.conditional)

    # The count is the same for every dtype: count the float32 networks.
    generator, discriminator = models.build(options.model, options.conditional,
                                            options.latent_dim)
    result["flops"] = step_flops(generator, discriminator, options.batch_size)
    result["generator_layer_macs"] = flops.model_macs(generator)
    del generator, discriminator

    batch = fixed_batch(options)

    def make_case(name, case_options):
        return Case(name, case_options, batch)

    tune_table = None
    if args.tune:
        tune_table = benchmarking.run_tune("cgan_mnist_tf.bench", make_case, options, argv, args,
                                           result, ["--epoch_images", "0"], out)
    else:
        cases, figures = benchmarking.time_fast_and_baseline(
            make_case, options, args, result["flops"]["train_step"], "matmul")
        result.update(figures)
        if args.epoch_images > 0:
            digits = data.load_mnist_5k()
            digits = data.Digits(digits.train_images[:args.epoch_images],
                                 digits.train_labels[:args.epoch_images], source=digits.source)
            result["epoch_images"] = len(digits.train_images)
            result["steps_per_execution"] = train.steps_per_call(options)
            for case in cases:
                result["cases"][case.name]["epoch_seconds"] = case.epoch_seconds(
                    digits, baseline=case.name == "baseline")
            if len(cases) == 2:
                result["epoch_speedup"] = (result["cases"]["baseline"]["epoch_seconds"]
                                           / result["cases"]["fast"]["epoch_seconds"])
        if args.inference_repeats > 0:
            result["inference_ms_per_image"] = inference_ms(options, args.inference_repeats)

    return benchmarking.end(result, format_table, tune_table, args, out)


if __name__ == "__main__":
    main()
