"""Training-speed benchmark of cgan_mnist_tf.

    python benchmarks/cgan_bench.py --compare_baseline --json bench.json
    python benchmarks/cgan_bench.py --tune

builds the GAN and its training step exactly as `--mode train` does
(train.build_gan, then the train function fit() runs) for one case (--model,
--conditional, --batch_size and the speed flags, `auto` decided as training
decides it), warms up, then times --windows windows of --steps training steps
each on a fixed batch and reports images/sec (median of the windows, with min
and max), ms/step, FLOP/step and GFLOP/s, the step's share of this machine's
measured matrix-product rate and of its theoretical peak, peak resident
memory, the generator's inference latency and the seconds of the second of
two fit() epochs over the first --epoch_images mnist_5k digits (the real
input pipeline and Keras' loop, as many steps per call as training runs).
--baseline times the same models with every optimisation off (float32, no
XLA, no cache, Keras' Adam, one step per call); --compare_baseline times both
in this process, alternating their windows, and reports the speed-up measured
side by side. --tune times every combination of the speed flags that applies
to this machine against the `auto` one, each in a child process of this
script, and prints the fastest as flags. The option flags are training's
(--model, --nofused_optimizer...), made from its Options.

A CGAN step draws new samples for G's half, so it runs G forward twice and D
forward three times: D's step is G + 2D forward and 4D backward (weights and
inputs at twice the forward), G's step is G + D forward, 1D back through D
(input gradients only) and 2G back through G: 4G + 8D in all (FLOP
convention: benchmarks/flops.py; the embeddings are not counted).
"""

import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
from pix2pix_tf.common import quiet

quiet.load_tensorflow("--verbose" in sys.argv)

import keras
import numpy as np
import tensorflow as tf
from absl import flags

from benchmarks import bench_flags, flops, harness, report, timing, tune
from cgan_mnist_tf import data, models, train
from cgan_mnist_tf.options import Options
from pix2pix_tf.common import lifecycle, speed
from pix2pix_tf.common import machine as machine_lib
from pix2pix_tf.common import options as common_options
from pix2pix_tf.common.errors import run_reporting_user_errors

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


def _training_steps(gan, options):
    """The compiled steps a training run calls (common.lifecycle.make_steps)."""
    return lifecycle.make_steps(gan, speed.used(options, "jit_compile"),
                                tf.distribute.get_strategy())


class Case(timing.TimedCase):
    """One configuration's GAN and its training step as a run calls it (one step a call)."""

    def __init__(self, name, options, batch):
        super().__init__(name, options)
        keras.utils.set_random_seed(options.seed)
        self.gan = train.build_gan(options)
        self.steps = _training_steps(self.gan, options)
        self.iterator = iter(tf.data.Dataset.from_tensors(batch).repeat())

    def run_step(self):
        logs, _ = self.steps(self.iterator, 1)
        return logs["d_loss"]


def epoch_seconds(options: Options, digits, baseline: bool = False) -> tuple[float, int]:
    """(Seconds of the second of two epochs over `digits` (the first traces),
    steps per call) of a GAN built and called as training does it, in calls of
    lifecycle.STEPS_PER_CALL steps; the baseline in calls of one step."""
    image_size = models.output_shape(options.model, options.conditional)[0]
    training = data.TrainingDigits(digits.train_images, digits.train_labels, image_size,
                                   cache=options.cache is not False)
    gan = train.build_gan(options)
    steps = _training_steps(gan, options)
    per_call = 1 if baseline else lifecycle.STEPS_PER_CALL
    steps_per_epoch = data.steps_per_epoch(len(digits.train_images), options.batch_size)
    seconds = []
    for epoch in range(2):
        iterator = iter(training.dataset(options.batch_size, options.seed,
                                         epochs=(epoch, epoch + 1)))
        start = time.perf_counter()
        done = 0
        while done < steps_per_epoch:
            count = min(per_call, steps_per_epoch - done)
            logs, _ = steps(iterator, count)
            done += count
        float(logs["d_loss"])  # Waits for the last step.
        seconds.append(time.perf_counter() - start)
    return seconds[-1], per_call


def inference_ms(options, repeats=50):
    """ms per image of the float32 generator (as generate and eval run it), batch 1."""
    generator, _ = models.build(options.model, options.conditional, options.latent_dim)
    inputs = [tf.random.normal((1, options.latent_dim)), tf.constant([3], tf.int32)]
    if not options.conditional:
        inputs = inputs[0]
    generate = tf.function(lambda x: generator(x, training=False))
    return timing.latency_ms(lambda: generate(inputs), repeats)


# ---------------------------------------------------------------- command line

CASE_FLAGS = ("model", "conditional", "batch_size", "latent_dim")


def define_flags(flag_values):
    """Training's flags for the options the bench uses, and the bench's own."""
    bench_flags.define_option_flags(flag_values, Options, CASE_FLAGS + bench_flags.SPEED_FLAGS)
    bench_flags.define_bench_flags(flag_values, steps=50, windows=6, warmup=5)
    flags.DEFINE_integer("epoch_images", 5000, "Time one fit() epoch of the first N mnist_5k "
                         "digits (0: skip).", lower_bound=0, flag_values=flag_values)
    flags.DEFINE_integer("inference_repeats", 50, "Generator calls timed for the inference row "
                         "(0: skip it).", lower_bound=0, flag_values=flag_values)


def parse_args(argv):
    """(flags, flags given, options, machine, speed lines) of `argv`."""
    flag_values = flags.FlagValues()
    define_flags(flag_values)
    args, given = bench_flags.parse(flag_values, argv, __doc__)
    case = {name: getattr(args, name) for name in CASE_FLAGS}
    machine = machine_lib.probe()
    speed_options, lines = bench_flags.resolve_speed(
        args, machine, train.flops_per_weight(Options(**case)))
    options = Options(seed=0, **case, **speed_options)
    if args.baseline:
        options = timing.with_settings(options, **timing.BASELINE)
    common_options.check_positive(options, "batch_size", "latent_dim")
    return args, given, options, machine, lines


def format_table(result):
    notes = []
    if "epoch_speedup" in result:
        notes.append(f"s/epoch speedup (baseline / fast): {result['epoch_speedup']:.2f}x")
    if "epoch_images" in result:
        notes.append(f"s/epoch: second fit() epoch over {result['epoch_images']} mnist_5k digits "
                     f"(steps per call: fast {result.get('steps_per_call', '-')}, "
                     "baseline 1)")
    title = (f"cgan_bench  {result['model']}"
             f"{'' if result['conditional'] else ' (plain GAN)'}  batch {result['batch_size']}")
    return report.format_table(title, result, "matmul", 0, notes, epoch_column=True)


def time_epochs(cases: list, result: dict, count: int) -> None:
    """Each case's seconds per epoch over the first `count` mnist_5k digits."""
    digits = data.load_mnist_5k()
    digits = data.Digits(digits.train_images[:count], digits.train_labels[:count],
                         source=digits.source)
    result["epoch_images"] = len(digits.train_images)
    for case in cases:
        seconds, calls = epoch_seconds(case.options, digits, baseline=case.name == "baseline")
        result["cases"][case.name]["epoch_seconds"] = seconds
        if case.name != "baseline":
            result["steps_per_call"] = calls
    if len(cases) == 2:
        result["epoch_speedup"] = (result["cases"]["baseline"]["epoch_seconds"]
                                   / result["cases"]["fast"]["epoch_seconds"])


def main(argv=None, out=sys.stdout):
    """Runs the benchmark for `argv` (sys.argv[1:] by default); returns the figures."""
    argv, args, given, options, result = harness.begin(
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
        tune_table = tune.run_tune(os.path.abspath(__file__), options, argv, given, result,
                                   ["--epoch_images", "0", "--inference_repeats", "0"],
                                   lambda line: print(line, file=out, flush=True))
    else:
        cases, figures = harness.time_fast_and_baseline(
            make_case, options, args, result["flops"]["train_step"], "matmul")
        result.update(figures)
        if args.epoch_images > 0 and not args.tune_against:
            time_epochs(cases, result, args.epoch_images)
        if args.inference_repeats > 0 and not args.tune_against:
            result["inference_ms_per_image"] = inference_ms(options, args.inference_repeats)

    return harness.end(result, format_table, tune_table, args, out)


if __name__ == "__main__":
    run_reporting_user_errors(main)
