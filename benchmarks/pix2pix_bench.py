"""Training-speed benchmark of pix2pix_tf.

    python benchmarks/pix2pix_bench.py --compare_baseline --json bench.json
    python benchmarks/pix2pix_bench.py --tune

builds the models and the training step exactly as `--mode train` does
(train.build_model, train.make_train_step) for one case (--crop_size,
--batch_size, --ngf, --ndf and the speed flags, `auto` decided as training
decides it), warms up, then times --windows windows of --steps training steps
each on a fixed batch and reports images/sec (median of the windows, with min
and max), ms/step, FLOP/step and GFLOP/s, the step's share of this machine's
measured convolution rate and of its theoretical peak, peak resident memory,
the input pipeline's own rate and the generator's inference latency.
--baseline times the same models with every optimisation off (float32, no XLA,
no cache, Keras' Adam); --compare_baseline times both in this process,
alternating their windows, and reports the speed-up measured side by side.

--tune times every combination of the speed flags that applies to this
machine against the `auto` one, window for window, each combination in a
child process of this script (its memory that of one run), then the thread
layouts (each in a fresh process: TensorFlow fixes its threads at start), and
prints the table and the fastest settings as flags to paste. The option flags
are training's (--crop_size, --nofused_optimizer...), made from its Options.

A training step is G forward (G), two D forwards (real and fake pairs, 2D),
and backward passes at twice their forward: D's loss back through both D
passes (4D), G's loss back through the fake D pass for input gradients only
(D's weights are not its sources: 1D) and through G (2G): 3G + 7D in all,
81 GFLOP for 256x256, ngf = ndf = 64 (FLOP convention: benchmarks/flops.py).
"""

import os
import sys
import tempfile
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
from pix2pix_tf import choices, data, models, train
from pix2pix_tf import options as pix2pix_options
from pix2pix_tf.common import image_io
from pix2pix_tf.common import machine as machine_lib
from pix2pix_tf.common import options as common_options
from pix2pix_tf.common.errors import run_reporting_user_errors

# --tune's windows unless given: at 256x256 on 2 cores, 4 combinations take about
# 4 minutes and the thread layouts 3 more on an idle machine (BENCHMARKS.md).
TUNE_STEPS, TUNE_WINDOWS, TUNE_WARMUP = 2, 3, 1


def step_flops(generator, discriminator, batch_size=1):
    """FLOP of one training step under the module's convention (3G + 7D)."""
    return flops.step_flops(generator, discriminator, 3, 7, batch_size)


class Case(timing.TimedCase):
    """One configuration's model and training step, built as training builds them."""

    def __init__(self, name, opts, batch):
        super().__init__(name, opts)
        keras.utils.set_random_seed(opts.seed)
        self.model = train.build_model(opts)
        self.step = train.make_train_step(self.model, opts)
        self.batch = batch

    def run_step(self):
        return self.step(self.batch)["generator_loss_L1"]


def fixed_batch(opts, seed=0):
    """A fixed (inputs, targets) batch in [-1, 1] of the case's shapes."""
    rng = np.random.default_rng(seed)
    in_channels, out_channels = choices.channels(opts.lab_colorization, opts.which_direction)
    size = (opts.batch_size, opts.crop_size, opts.crop_size)
    return (tf.constant(rng.uniform(-1, 1, size + (in_channels,)).astype(np.float32)),
            tf.constant(rng.uniform(-1, 1, size + (out_channels,)).astype(np.float32)))


def write_synthetic_pairs(folder, count, size, seed=0):
    """`count` JPEG A|B pairs of size x 2size (facades-like files) for the pipeline."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:2 * size] / size
    for i in range(count):
        phase = rng.uniform(0, 2 * np.pi, 3)
        image = np.stack([np.sin(9 * x + p) * np.cos(7 * y - p) for p in phase], axis=-1)
        image = (image + 1) * 127.5 + rng.normal(0, 8, image.shape)
        image_io.write_image(os.path.join(folder, f"{i + 1}.jpg"),
                             np.clip(image, 0, 255).astype(np.uint8))
    return folder


def pipeline_rate(paths, opts, cache, images):
    """Images/sec of the training input pipeline alone (decode or cache,
    jitter, batch), over at least `images` images after one warm-up batch."""
    batches = max(1, images // opts.batch_size)

    def epochs():
        epoch = 0
        while True:
            yield from data.training_dataset(
                paths, seed=opts.seed, epoch=epoch, skip_batches=0,
                batch_size=opts.batch_size, which_direction=opts.which_direction,
                lab_colorization=opts.lab_colorization,
                scale_size=pix2pix_options.scale_size(opts), crop_size=opts.crop_size,
                flip=opts.flip, cache=cache)
            epoch += 1

    stream = epochs()
    next(stream)
    start, count = time.perf_counter(), 0
    for _ in range(batches):
        count += int(next(stream)[0].shape[0])
    return count / (time.perf_counter() - start)


def inference_ms(opts, repeats=20):
    """ms per image of the generator as test mode runs it (float32, batch 1,
    batch statistics and dropout as in the paper)."""
    generator = models.generator_from_options(opts)
    translate = tf.function(lambda x: generator(x, training=True))
    x = fixed_batch(common_options.replace(opts, batch_size=1))[0]
    return timing.latency_ms(lambda: translate(x), repeats)


# ---------------------------------------------------------------- command line

CASE_FLAGS = ("crop_size", "batch_size", "ngf", "ndf")


def define_flags(flag_values):
    """Training's flags for the options the bench uses, and the bench's own."""
    bench_flags.define_option_flags(flag_values, pix2pix_options.Options,
                                    CASE_FLAGS + bench_flags.SPEED_FLAGS)
    bench_flags.define_bench_flags(flag_values, steps=10, windows=5, warmup=3)
    flags.DEFINE_boolean("pipeline_only", False, "Time only the input pipeline.",
                         flag_values=flag_values)
    flags.DEFINE_integer("pipeline_images", 200, "Images timed through the input pipeline "
                         "(0: skip it).", lower_bound=0, flag_values=flag_values)
    flags.DEFINE_string("input_dir", None, "Images for the pipeline row (default: generated "
                        "JPEG pairs).", flag_values=flag_values)
    flags.DEFINE_integer("inference_repeats", 20, "Generator calls timed for the inference row "
                         "(0: skip it).", lower_bound=0, flag_values=flag_values)


def parse_args(argv):
    """(flags, flags given, options, machine, speed lines) of `argv`."""
    flag_values = flags.FlagValues()
    define_flags(flag_values)
    args, given = bench_flags.parse(flag_values, argv, __doc__)
    machine = machine_lib.probe()
    speed_options, lines = bench_flags.resolve_speed(args, machine)
    opts = pix2pix_options.default_options(
        seed=0, **{name: getattr(args, name) for name in CASE_FLAGS}, **speed_options)
    if args.baseline:
        opts = timing.with_settings(opts, **timing.BASELINE)
    pix2pix_options.check(opts)
    return args, given, opts, machine, lines


def format_table(result):
    notes = [f"{'pipeline ' + name:<36}{rate:>28.1f}"
             for name, rate in result.get("pipeline_images_per_sec", {}).items()]
    title = (f"pix2pix_bench  crop {result['crop_size']}  batch {result['batch_size']}  "
             f"ngf {result['ngf']}  ndf {result['ndf']}")
    return report.format_table(title, result, "conv", 3, notes)


def main(argv=None, out=sys.stdout):
    """Runs the benchmark for `argv` (sys.argv[1:] by default); returns the figures."""
    argv, args, given, opts, result = harness.begin(
        argv, parse_args, out, steps=TUNE_STEPS, windows=TUNE_WINDOWS, warmup=TUNE_WARMUP,
        pipeline_images=0)
    result.update(crop_size=opts.crop_size, ngf=opts.ngf, ndf=opts.ndf)

    tune_table = None
    if not args.pipeline_only:
        # The count is the same for every dtype: build the float32 models once.
        counted = train.build_model(timing.with_settings(opts, mixed_precision="float32"))
        result["flops"] = step_flops(counted.generator, counted.discriminator, opts.batch_size)
        result["generator_layer_macs"] = flops.model_macs(counted.generator)
        del counted
        batch = fixed_batch(opts)

        def make_case(name, options):
            return Case(name, options, batch)

        if args.tune:
            tune_table = tune.run_tune(
                os.path.abspath(__file__), opts, argv, given, result,
                ["--pipeline_images", "0", "--inference_repeats", "0"],
                lambda line: print(line, file=out, flush=True),
                what=f"at crop {opts.crop_size} ", layout_flags=["--windows", "2"])
        else:
            _, figures = harness.time_fast_and_baseline(
                make_case, opts, args, result["flops"]["train_step"], "conv")
            result.update(figures)
            if args.inference_repeats > 0 and not args.tune_against:
                result["inference_ms_per_image"] = inference_ms(opts, args.inference_repeats)

    if args.pipeline_images > 0 or args.pipeline_only:
        images = args.pipeline_images or 200
        with tempfile.TemporaryDirectory() as tmp:
            if args.input_dir:
                paths = data.list_image_files(args.input_dir)
            else:
                paths = data.list_image_files(
                    write_synthetic_pairs(tmp, 64, opts.crop_size))
            rates = {"decode": pipeline_rate(paths, opts, None, images)}
            if opts.cache is not False:
                rates["cache"] = pipeline_rate(paths, opts, data.DecodedImages(paths), images)
        result["pipeline_images_per_sec"] = rates
        if result["cases"]:
            training = next(iter(result["cases"].values()))["images_per_sec"]
            result["pipeline_over_training"] = max(rates.values()) / training

    if "flops" not in result:
        result["flops"] = {"train_step": 0}
    return harness.end(result, format_table, tune_table, args, out)


if __name__ == "__main__":
    run_reporting_user_errors(main)
