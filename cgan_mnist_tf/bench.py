"""Training-speed benchmark of cgan_mnist_tf.

    python -m cgan_mnist_tf.bench --compare_baseline --json bench.json

builds the GAN and its training step exactly as `--mode train` does
(train.build_gan, then the train function fit() runs) for one case (--model,
--conditional, --batch_size and the speed flags --jit_compile,
--mixed_precision, --cache, --fused_optimizer), warms up, then times --windows windows of --steps
training steps each on a fixed batch and reports images/sec (median of the
windows, with min and max), ms/step, FLOP/step and GFLOP/s, peak resident
memory, the generator's inference latency and the seconds of one fit() epoch
of mnist_5k (the real input pipeline, Keras' loop and its progress
callbacks). --baseline times the same models with every optimisation off
(float32, no XLA, no cache, Keras' Adam); --compare_baseline times both in this process,
alternating their windows, and reports the speed-up measured side by side.

FLOP convention (that of pix2pix_tf.bench, whose counter it uses): one
multiply-add is 2 FLOP; Dense and convolution layers are counted; embeddings,
batch norm, activations, dropout, the losses and the optimizers are not. A
CGAN step draws new samples for G's half, so it runs G forward twice and D
forward three times: D's step is G + 2D forward and 4D backward (weights and
inputs at twice the forward), G's step is G + D forward, 1D back through D
(input gradients only) and 2G back through G: 4G + 8D in all.
"""

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from cgan_mnist_tf import data, models, options as cgan_options, train  # noqa: E402
from pix2pix_tf import bench as pix2pix_bench  # noqa: E402  The generic counters and probes.
from pix2pix_tf.common import benchmarking, options as common_options  # noqa: E402

BASELINE = {"jit_compile": False, "mixed_precision": "float32", "cache": False,
            "fused_optimizer": False}


def step_flops(generator, discriminator, batch_size=1):
    """FLOP of one training step under the module's convention (4G + 8D)."""
    g = 2 * sum(macs for _, macs in pix2pix_bench.model_macs(generator))
    d = 2 * sum(macs for _, macs in pix2pix_bench.model_macs(discriminator))
    return {"generator_forward": g * batch_size, "discriminator_forward": d * batch_size,
            "train_step": (4 * g + 8 * d) * batch_size}


def fixed_batch(options, seed=0):
    """A fixed (images, labels) batch in [-1, 1] of the case's shapes."""
    rng = np.random.default_rng(seed)
    size = models.output_shape(options.model, options.conditional)
    images = rng.uniform(-1, 1, (options.batch_size,) + size).astype(np.float32)
    labels = rng.integers(0, models.NUM_CLASSES, options.batch_size).astype(np.int32)
    return images, labels


class Case(benchmarking.TimedCase):
    """One configuration's GAN and the train function fit() would run."""

    def __init__(self, name, options, batch):
        super().__init__(name, options)
        keras.utils.set_random_seed(options.seed)
        self.gan = train.build_gan(options)
        self.gan.make_train_function()
        self.iterator = iter(tf.data.Dataset.from_tensors(batch).repeat())

    def run_step(self):
        return self.gan.train_function(self.iterator)["d_loss"]

    def epoch_seconds(self, digits):
        """Seconds of the second of two fit() epochs over `digits` (the first traces)."""
        image_size = models.output_shape(self.options.model, self.options.conditional)[0]
        dataset = data.training_dataset(digits.train_images, digits.train_labels,
                                        self.options.batch_size, image_size,
                                        self.options.seed, cache=self.options.cache)
        timer = EpochTimer()
        self.gan.fit(dataset, epochs=2, verbose=0, shuffle=False, callbacks=[timer])
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
    for _ in range(3):
        generate(inputs).numpy()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        generate(inputs).numpy()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def parse_args(argv):
    defaults = cgan_options.Options()
    parser = argparse.ArgumentParser(prog="python -m cgan_mnist_tf.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=models.MODELS, default=defaults.model)
    parser.add_argument("--conditional", action=argparse.BooleanOptionalAction,
                        default=defaults.conditional)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--latent_dim", type=int, default=defaults.latent_dim)
    benchmarking.add_common_arguments(parser, defaults, steps=50, windows=6, warmup=5)
    parser.add_argument("--epoch_images", type=int, default=5000,
                        help="time one fit() epoch of the first N mnist_5k digits (0: skip)")
    args = parser.parse_args(argv)
    if args.batch_size < 1 or args.steps < 1 or args.windows < 1:
        parser.error("--batch_size, --steps and --windows must be positive")
    options = cgan_options.Options(**{
        "model": args.model, "conditional": args.conditional, "batch_size": args.batch_size,
        "latent_dim": args.latent_dim, "jit_compile": args.jit_compile,
        "mixed_precision": args.mixed_precision, "cache": args.cache,
        "fused_optimizer": args.fused_optimizer, "seed": 0})
    if args.baseline:
        options = common_options.replace(options, **BASELINE)
    return args, options


def format_table(result):
    lines = [f"cgan_mnist_tf.bench  {result['model']}"
             f"{'' if result['conditional'] else ' (plain GAN)'}  batch {result['batch_size']}  "
             f"{result['flops']['train_step'] / 1e9:.3f} GFLOP/step  "
             f"load {result['load_average_before']} -> {result['load_average_after']}",
             f"{'row':<30}{'images/sec (min-max)':>28}{'ms/step':>9}{'GFLOP/s':>9}"
             f"{'% peak':>8}{'s/epoch':>9}"]
    for name, case in result["cases"].items():
        options = case["options"]
        peak = result["peak_gflops_bf16" if options["mixed_precision"] == "bfloat16"
                      else "peak_gflops_fp32"]
        percent = f"{100 * case['gflops_achieved'] / peak:.1f}" if peak else "-"
        flags = (f"xla={int(options['jit_compile'])} fused={int(options['fused_optimizer'])} "
                 f"{options['mixed_precision']}")
        spread = (f"{case['images_per_sec']:.0f} ({case['images_per_sec_min']:.0f}-"
                  f"{case['images_per_sec_max']:.0f})")
        epoch = f"{case['epoch_seconds']:.2f}" if "epoch_seconds" in case else "-"
        lines.append(f"{name + ' ' + flags:<30}{spread:>28}{case['ms_per_step']:>9.2f}"
                     f"{case['gflops_achieved']:>9.1f}{percent:>8}{epoch:>9}")
    if "speedup" in result:
        lines.append(f"speedup (fast / baseline images/sec, alternating windows): "
                     f"{result['speedup']:.2f}x")
    if "epoch_images" in result:
        lines.append(f"s/epoch: second fit() epoch over {result['epoch_images']} mnist_5k digits "
                     "(cache as the row's --cache)")
    lines.append(f"inference: {result['inference_ms_per_image']:.2f} ms/image "
                 "(float32 generator, batch 1)")
    lines.append(f"peak resident memory: {result['peak_rss_mb']:.0f} MB (the whole process)")
    return "\n".join(lines)


def main(argv=None, out=sys.stdout):
    """Runs the benchmark for `argv` (sys.argv[1:] by default); returns the figures."""
    args, options = parse_args(sys.argv[1:] if argv is None else argv)
    info = pix2pix_bench.cpu_info()
    peak_fp32, peak_bf16 = pix2pix_bench.peak_gflops(info)
    result = {"model": options.model, "conditional": options.conditional,
              "batch_size": options.batch_size, "steps": args.steps, "windows": args.windows,
              "cpu": info["model"], "cores": info["cores"], "mhz": info["mhz"],
              "tensorflow": tf.__version__, "keras": keras.__version__,
              "peak_gflops_fp32": peak_fp32, "peak_gflops_bf16": peak_bf16,
              "load_average_before": pix2pix_bench.load_average(), "cases": {}}

    # The count is the same for every dtype: count the float32 networks.
    generator, discriminator = models.build(options.model, options.conditional,
                                            options.latent_dim)
    result["flops"] = step_flops(generator, discriminator, options.batch_size)
    result["generator_layer_macs"] = pix2pix_bench.model_macs(generator)
    del generator, discriminator

    batch = fixed_batch(options)
    cases = [Case("baseline" if args.baseline else "fast", options, batch)]
    if args.compare_baseline and not args.baseline:
        cases.append(Case("baseline", common_options.replace(options, **BASELINE), batch))
    result.update(benchmarking.compare(
        cases, warmup=args.warmup, windows=args.windows, steps=args.steps,
        batch_size=options.batch_size, flops=result["flops"]["train_step"],
        option_names=BASELINE))

    if args.epoch_images > 0:
        digits = data.load_mnist_5k()
        digits = data.Digits(digits.train_images[:args.epoch_images],
                             digits.train_labels[:args.epoch_images], source=digits.source)
        result["epoch_images"] = len(digits.train_images)
        for case in cases:
            result["cases"][case.name]["epoch_seconds"] = case.epoch_seconds(digits)

    result["inference_ms_per_image"] = inference_ms(options)
    result["peak_rss_mb"] = pix2pix_bench.peak_rss_mb()
    result["load_average_after"] = pix2pix_bench.load_average()
    print(format_table(result), file=out)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
    return result


if __name__ == "__main__":
    main()
