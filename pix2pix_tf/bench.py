"""Training-speed benchmark of pix2pix_tf.

    python -m pix2pix_tf.bench --compare_baseline --json bench.json

builds the models and the training step exactly as `--mode train` does
(train.build_model, train.make_train_step) for one case (--crop_size,
--batch_size, --ngf, --ndf and the speed flags --jit_compile,
--mixed_precision, --cache), warms up, then times --windows windows of
--steps training steps each on a fixed batch and reports images/sec (median
of the windows, with min and max), ms/step, FLOP/step and GFLOP/s, peak
resident memory, the input pipeline's own rate and the generator's inference
latency. --baseline times the same models with every optimisation off (float32,
no XLA, no cache); --compare_baseline times both in this process, alternating
their windows, and reports the speed-up as a ratio measured side by side.

FLOP convention: one multiply-add is 2 FLOP. Counted layers: Conv2D
(out_h * out_w * filters * k_h * k_w * in_channels multiply-adds),
Conv2DTranspose (in_h * in_w * in_channels * k_h * k_w * filters: each input
pixel scattered through the kernel), SeparableConv2D (depthwise plus
pointwise) and Dense. Padding is counted as if it were data; batch norm,
activations, dropout, concatenation, the losses and the optimizers are not
counted (elementwise, a few percent). A training step is G forward (G), two
D forwards (real and fake pairs, 2D), and backward passes at twice their
forward: D's loss back through both D passes (4D), G's loss back through the
fake D pass for input gradients only (D's weights are not its sources: 1D)
and through G (2G): 3G + 7D in all, 81 GFLOP for 256x256, ngf = ndf = 64.
"""

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

from pix2pix_tf import data, options as pix2pix_options, train  # noqa: E402
from pix2pix_tf.common import benchmarking, image_io, options as common_options, threads  # noqa: E402,E501

BASELINE = {"jit_compile": False, "mixed_precision": "float32", "fused_optimizer": False,
            "cache": False}


# ---------------------------------------------------------------- FLOP count

def layer_macs(layer):
    """Multiply-adds of one image through `layer` (0 for uncounted kinds)."""
    if isinstance(layer, keras.Model):
        return sum(layer_macs(sub) for sub in layer.layers)
    if isinstance(layer, layers.SeparableConv2D):
        in_channels = layer.input.shape[-1] * layer.depth_multiplier
        pixels = layer.output.shape[1] * layer.output.shape[2]
        depthwise = pixels * in_channels * layer.kernel_size[0] * layer.kernel_size[1]
        return depthwise + pixels * in_channels * layer.filters
    if isinstance(layer, layers.Conv2DTranspose):
        height, width, in_channels = layer.input.shape[1:]
        return height * width * in_channels * layer.kernel_size[0] * layer.kernel_size[1] * layer.filters
    if isinstance(layer, layers.Conv2D):
        height, width = layer.output.shape[1:3]
        in_channels = layer.input.shape[-1] // layer.groups
        return height * width * layer.filters * layer.kernel_size[0] * layer.kernel_size[1] * in_channels
    if isinstance(layer, layers.Dense):
        return int(np.prod(layer.input.shape[1:])) * layer.units
    return 0


def model_macs(model):
    """[(layer name, multiply-adds per image)] of the counted layers of `model`."""
    return [(layer.name, layer_macs(layer)) for layer in model.layers if layer_macs(layer)]


def step_flops(generator, discriminator, batch_size=1):
    """FLOP of one training step under the module's convention (3G + 7D)."""
    g = 2 * sum(macs for _, macs in model_macs(generator))
    d = 2 * sum(macs for _, macs in model_macs(discriminator))
    return {"generator_forward": g * batch_size, "discriminator_forward": d * batch_size,
            "train_step": (3 * g + 7 * d) * batch_size}


# ---------------------------------------------------------------- machine

def cpu_info():
    """Model name, cores, clock (MHz) and ISA flags from /proc/cpuinfo."""
    info = {"model": "unknown", "cores": os.cpu_count(), "mhz": None, "flags": set()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key == "model name":
                    info["model"] = value
                elif key == "cpu MHz" and info["mhz"] is None:
                    info["mhz"] = float(value)
                elif key == "flags":
                    info["flags"] = set(value.split())
    except OSError:
        pass
    return info


def peak_gflops(info):
    """Estimated peak (float32, bfloat16) GFLOP/s: cores x clock x FLOP/cycle.

    FLOP/cycle per core assumes two FMA pipes of the widest vector unit:
    2 pipes x 16 float32 lanes x 2 (multiply and add) = 64 with AVX-512 (as
    Zen 5 and recent Xeons), 32 with AVX2 + FMA. AVX-512 BF16's VDPBF16PS does
    two bfloat16 multiply-adds per float32 lane: twice that. The clock is the
    nominal one /proc/cpuinfo reports (boost clocks would raise the peak).
    """
    if not info["mhz"]:
        return None, None
    flags = info["flags"]
    per_cycle = 64 if "avx512f" in flags else 32 if "fma" in flags else 8
    fp32 = info["cores"] * info["mhz"] * 1e-3 * per_cycle
    bf16 = fp32 * 2 if "avx512_bf16" in flags or "amx_bf16" in flags else fp32
    return fp32, bf16


def load_average():
    return [round(x, 2) for x in os.getloadavg()]


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB.


# ---------------------------------------------------------------- timing

class Case(benchmarking.TimedCase):
    """One configuration's model and training step, built as training builds them."""

    def __init__(self, name, options, batch):
        super().__init__(name, options)
        keras.utils.set_random_seed(options.seed)
        self.model = train.build_model(options)
        self.step = train.make_train_step(self.model, options)
        self.batch = batch

    def run_step(self):
        return self.step(self.batch)["generator_loss_L1"]


def fixed_batch(options, seed=0):
    """A fixed (inputs, targets) batch in [-1, 1] of the case's shapes."""
    rng = np.random.default_rng(seed)
    in_channels, out_channels = data.channels(options.lab_colorization, options.which_direction)
    size = (options.batch_size, options.crop_size, options.crop_size)
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


def pipeline_rate(paths, options, cache, images):
    """Images/sec of the training input pipeline alone (decode or cache,
    jitter, batch), over at least `images` images after one warm-up batch."""
    batches = max(1, images // options.batch_size)

    def epochs():
        epoch = 0
        while True:
            yield from data.training_dataset(
                paths, seed=options.seed, epoch=epoch, skip_batches=0,
                batch_size=options.batch_size, which_direction=options.which_direction,
                lab_colorization=options.lab_colorization,
                scale_size=pix2pix_options.scale_size(options), crop_size=options.crop_size,
                flip=options.flip, cache=cache)
            epoch += 1

    stream = epochs()
    next(stream)
    start, count = time.perf_counter(), 0
    for _ in range(batches):
        count += int(next(stream)[0].shape[0])
    return count / (time.perf_counter() - start)


def inference_ms(options, repeats=20):
    """ms per image of the generator as test mode runs it (float32, batch 1,
    batch statistics and dropout as in the paper)."""
    generator = pix2pix_options.generator_from_options(options)
    translate = tf.function(lambda x: generator(x, training=True))
    x = fixed_batch(common_options.replace(options, batch_size=1))[0]
    for _ in range(3):
        translate(x).numpy()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        translate(x).numpy()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


# ---------------------------------------------------------------- command line

def parse_args(argv):

    defaults = pix2pix_options.default_options()
    parser = argparse.ArgumentParser(prog="python -m pix2pix_tf.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--crop_size", type=int, default=256)
    parser.add_argument("--batch_size", type=int, default=1)
    parser.add_argument("--ngf", type=int, default=64)
    parser.add_argument("--ndf", type=int, default=64)
    benchmarking.add_common_arguments(parser, defaults, steps=10, windows=5, warmup=3)
    parser.add_argument("--pipeline_only", action="store_true",
                        help="time only the input pipeline")
    parser.add_argument("--pipeline_images", type=int, default=200,
                        help="images timed through the input pipeline (0: skip it)")
    parser.add_argument("--input_dir", default=None,
                        help="images for the pipeline row (default: generated JPEG pairs)")
    parser.add_argument("--intra_op_threads", type=int, default=0, help="0: TensorFlow's default")
    parser.add_argument("--inter_op_threads", type=int, default=0, help="0: TensorFlow's default")
    args = parser.parse_args(argv)
    options = pix2pix_options.default_options(crop_size=args.crop_size, batch_size=args.batch_size,
                               ngf=args.ngf, ndf=args.ndf, jit_compile=args.jit_compile,
                               mixed_precision=args.mixed_precision, cache=args.cache,
                               fused_optimizer=args.fused_optimizer, seed=0)
    if args.baseline:
        options = common_options.replace(options, **BASELINE)
    pix2pix_options.check(options)
    return args, options


def format_table(result):
    lines = [f"pix2pix_tf.bench  crop {result['crop_size']}  batch {result['batch_size']}  "
             f"ngf {result['ngf']}  ndf {result['ndf']}  "
             f"{result['flops']['train_step'] / 1e9:.2f} GFLOP/step  "
             f"load {result['load_average_before']} -> {result['load_average_after']}",
             f"{'row':<36}{'images/sec (min-max)':>26}{'ms/step':>10}{'GFLOP/s':>10}{'% peak':>8}"]
    for name, case in result["cases"].items():
        peak = result["peak_gflops_bf16" if case["options"]["mixed_precision"] == "bfloat16"
                      else "peak_gflops_fp32"]
        percent = f"{100 * case['gflops_achieved'] / peak:.1f}" if peak else "-"
        flags = (f"xla={int(case['options']['jit_compile'])} "
                 f"fused={int(case['options']['fused_optimizer'])} "
                 f"{case['options']['mixed_precision']}")
        spread = (f"{case['images_per_sec']:.3f} ({case['images_per_sec_min']:.3f}-"
                  f"{case['images_per_sec_max']:.3f})")
        lines.append(f"{name + ' ' + flags:<36}{spread:>26}{case['ms_per_step']:>10.1f}"
                     f"{case['gflops_achieved']:>10.1f}{percent:>8}")
    for name, rate in result.get("pipeline_images_per_sec", {}).items():
        lines.append(f"{'pipeline ' + name:<36}{rate:>26.1f}")
    if "speedup" in result:
        lines.append(f"speedup (fast / baseline images/sec, alternating windows): "
                     f"{result['speedup']:.2f}x")
    if "inference_ms_per_image" in result:
        lines.append(f"inference: {result['inference_ms_per_image']:.1f} ms/image "
                     "(float32 generator, batch 1)")
    lines.append(f"peak resident memory: {result['peak_rss_mb']:.0f} MB")
    return "\n".join(lines)


def main(argv=None, out=sys.stdout):
    """Runs the benchmark for `argv` (sys.argv[1:] by default); returns the figures."""
    args, options = parse_args(sys.argv[1:] if argv is None else argv)
    if not threads.configure_threads(args.intra_op_threads, args.inter_op_threads):
        print("--intra_op_threads/--inter_op_threads ignored: TensorFlow is already running",
              file=out)
    info = cpu_info()
    peak_fp32, peak_bf16 = peak_gflops(info)
    result = {"crop_size": options.crop_size, "batch_size": options.batch_size,
              "ngf": options.ngf, "ndf": options.ndf, "steps": args.steps,
              "windows": args.windows, "cpu": info["model"], "cores": info["cores"],
              "mhz": info["mhz"], "tensorflow": tf.__version__, "keras": keras.__version__,
              "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on)"),
              "intra_op_threads": args.intra_op_threads, "inter_op_threads": args.inter_op_threads,
              "peak_gflops_fp32": peak_fp32, "peak_gflops_bf16": peak_bf16,
              "load_average_before": load_average(), "cases": {}}

    if not args.pipeline_only:
        # The count is the same for every dtype: build the float32 models once.
        counted = train.build_model(common_options.replace(options, mixed_precision="float32"))
        result["flops"] = step_flops(counted.generator, counted.discriminator, options.batch_size)
        result["generator_layer_macs"] = model_macs(counted.generator)
        del counted
        batch = fixed_batch(options)
        cases = [Case("baseline" if args.baseline else "fast", options, batch)]
        if args.compare_baseline and not args.baseline:
            cases.append(Case("baseline", common_options.replace(options, **BASELINE), batch))
        result.update(benchmarking.compare(
            cases, warmup=args.warmup, windows=args.windows, steps=args.steps,
            batch_size=options.batch_size, flops=result["flops"]["train_step"],
            option_names=BASELINE))
        result["inference_ms_per_image"] = inference_ms(options)

    if args.pipeline_images > 0 or args.pipeline_only:
        images = args.pipeline_images or 200
        with tempfile.TemporaryDirectory() as tmp:
            if args.input_dir:
                paths = data.list_image_files(args.input_dir)
            else:
                paths = data.list_image_files(
                    write_synthetic_pairs(tmp, 64, options.crop_size))
            rates = {"decode": pipeline_rate(paths, options, None, images)}
            if options.cache:
                rates["cache"] = pipeline_rate(paths, options, data.DecodedImages(paths), images)
        result["pipeline_images_per_sec"] = rates
        if result["cases"]:
            training = next(iter(result["cases"].values()))["images_per_sec"]
            result["pipeline_over_training"] = max(rates.values()) / training

    result["peak_rss_mb"] = peak_rss_mb()
    result["load_average_after"] = load_average()
    if "flops" not in result:
        result["flops"] = {"train_step": 0}
    print(format_table(result), file=out)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
    return result


if __name__ == "__main__":
    main()
