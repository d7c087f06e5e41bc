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
memory, the generator's inference latency and the seconds of one epoch of
the first --epoch_images mnist_5k digits in a whole training run
(train.train: the real input pipeline, loop, steps per call, samples and
checkpoints), from the wall times of a 3-epoch and a 1-epoch run.
--baseline times the same models with every optimisation off (float32, no
XLA, no cache, Keras' Adam); --compare_baseline times both
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

import contextlib
import io
import os
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import flags  # noqa: E402

from benchmarks import bench_flags, flops, harness, report, timing, tune  # noqa: E402
from cgan_mnist_tf import data, models, train  # noqa: E402
from cgan_mnist_tf.options import Options  # noqa: E402
from pix2pix_tf.common import machine as machine_lib  # noqa: E402
from pix2pix_tf.common import options as common_options  # noqa: E402
from pix2pix_tf.common.errors import run_reporting_user_errors  # noqa: E402

TUNE_STEPS, TUNE_WINDOWS, TUNE_WARMUP = 40, 4, 5
# The epoch figure: (wall of a run of the last count - of the first) per epoch
# between them, so start-up, tracing and data loading cancel out.
EPOCH_RUNS = (1, 3)


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


class Case(timing.TimedCase):
    """One configuration's GAN and the train function fit() would run (one step a call)."""

    def __init__(self, name, options, batch):
        super().__init__(name, options)
        keras.utils.set_random_seed(options.seed)
        self.gan = train.build_gan(options, steps_per_execution=1)
        self.gan.make_train_function()
        self.iterator = iter(tf.data.Dataset.from_tensors(batch).repeat())

    def run_step(self):
        return self.gan.train_function(self.iterator)["d_loss"]


def write_digits(folder, count):
    """The first `count` mnist_5k digits as folder/mnist.npz (a --data_dir)."""
    digits = data.load_mnist_5k()
    images, labels = digits.train_images[:count], digits.train_labels[:count]
    np.savez(os.path.join(folder, "mnist.npz"), x_train=images, y_train=labels,
             x_test=images[:10], y_test=labels[:10])
    return len(images)


def epoch_seconds(options, data_dir):
    """Seconds per epoch of whole training runs of `options` on `data_dir`:
    the wall-time difference of runs of EPOCH_RUNS epochs, per epoch."""
    walls = []
    with tempfile.TemporaryDirectory() as tmp:
        for epochs in EPOCH_RUNS:
            run = common_options.replace(options, mode="train", data_dir=data_dir, epochs=epochs,
                                         output_dir=os.path.join(tmp, f"run{epochs}"))
            start = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):  # The run's own progress lines.
                train.train(run)
            walls.append(time.perf_counter() - start)
    return (walls[1] - walls[0]) / (EPOCH_RUNS[1] - EPOCH_RUNS[0])


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
    flags.DEFINE_integer("epoch_images", 5000, "Time an epoch of whole training runs on the "
                         "first N mnist_5k digits (0: skip).", lower_bound=0,
                         flag_values=flag_values)
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
        notes.append(f"s/epoch: whole training runs over {result['epoch_images']} mnist_5k "
                     f"digits, (wall of {EPOCH_RUNS[1]} epochs - of {EPOCH_RUNS[0]}) per epoch")
    title = (f"cgan_bench  {result['model']}"
             f"{'' if result['conditional'] else ' (plain GAN)'}  batch {result['batch_size']}")
    return report.format_table(title, result, "matmul", 0, notes, epoch_column=True)


def time_epochs(cases, result, count):
    """Each case's seconds per epoch of whole training runs over `count` digits."""
    with tempfile.TemporaryDirectory() as data_dir:
        result["epoch_images"] = write_digits(data_dir, count)
        for case in cases:
            result["cases"][case.name]["epoch_seconds"] = epoch_seconds(case.options, data_dir)
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
