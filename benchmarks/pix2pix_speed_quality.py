"""Benchmark (not a test): do pix2pix_tf's speed settings keep the quality?

Trains pix2pix on the offline synthetic facades twice through the command line,
once in plain float32 (--mixed_precision float32 --nofused_optimizer
--nojit_compile --nocache) and once with the fast settings (the training
defaults, or the flags given with --fast_flags), for the same number of
steps from the same seed, then scores
both on the val split with `--mode eval --eval_mode` (moving batch-norm
statistics and no dropout: deterministic) and with `--mode eval` (the paper's
test-time batch statistics and dropout, what test mode shows), and compares
their metrics.json. The fast settings pass when, in both, their val L1 is at
most 5% above float32's and their SSIM at most 5% below it.

At batch size 1 the moving statistics (momentum 0.1: about the last training
image's) do not suit other images, and --eval_mode's outputs are poor for both
settings (val L1 about 0.49 after 400 steps, against 0.12 with batch
statistics); its comparison is reported, but the paper's mode is the one
that says whether the fast settings learnt as well.

    python benchmarks/pix2pix_speed_quality.py --output_dir runs/speed_quality

Crop 128 (the files' 256x256 halves resized to 143 and cropped) and 400 steps
by default: a few minutes per run on 2 cores, long enough for the generator
to learn the facades' layout. One seed per setting: the two runs' dropout
masks differ, so part of any difference is run-to-run noise.
"""

import argparse
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOLERANCE = 0.05


def run(args, log):
    log.write("$ " + " ".join(args) + "\n")
    log.flush()
    start = time.time()
    subprocess.run(args, check=True, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    return time.time() - start


def train_and_eval(name, speed_flags, opts, log):
    """Trains and evaluates one setting; returns its figures."""
    out = os.path.join(opts.output_dir, name)
    cli = [sys.executable, "-m", "pix2pix_tf.main"]
    seconds = run(cli + ["--mode", "train", "--input_dir", os.path.join(opts.data_dir, "train"),
                         "--output_dir", os.path.join(out, "train"), "--which_direction", "BtoA",
                         "--crop_size", str(opts.crop_size), "--max_steps", str(opts.steps),
                         "--seed", str(opts.seed), "--summary_freq", "0", "--save_freq", "0",
                         "--progress_freq", "100", *speed_flags], log)
    figures = {"flags": speed_flags, "train_seconds": seconds,
               "steps_per_sec": opts.steps / seconds}
    for mode, flag in (("eval_mode", ["--eval_mode"]), ("paper_mode", [])):
        run(cli + ["--mode", "eval", *flag, "--input_dir", os.path.join(opts.data_dir, "val"),
                   "--output_dir", os.path.join(out, mode), "--seed", str(opts.seed),
                   "--checkpoint", os.path.join(out, "train")], log)
        with open(os.path.join(out, mode, "metrics.json")) as f:
            figures[mode] = json.load(f)["average"]
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output_dir", default="runs/speed_quality")
    parser.add_argument("--data_dir", default="synthetic_facades")
    parser.add_argument("--crop_size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fast_flags", default="",
                        help="speed flags of the fast run (default: training's defaults)")
    opts = parser.parse_args()
    opts.output_dir = os.path.abspath(opts.output_dir)
    opts.data_dir = os.path.abspath(os.path.join(REPO, opts.data_dir))
    os.makedirs(opts.output_dir, exist_ok=True)
    with open(os.path.join(opts.output_dir, "log.txt"), "a") as log:
        if not os.path.isdir(os.path.join(opts.data_dir, "train")):
            run([sys.executable, "tools/download-dataset.py", "synthetic_facades"], log)
        plain = train_and_eval(
            "float32", ["--mixed_precision", "float32", "--nofused_optimizer", "--nojit_compile",
                        "--nocache"], opts, log)
        fast = train_and_eval("fast", opts.fast_flags.split(), opts, log)

    result = {"crop_size": opts.crop_size, "steps": opts.steps, "seed": opts.seed,
              "float32": plain, "fast": fast, "load_average": os.getloadavg()}
    for mode in ("eval_mode", "paper_mode"):
        l1_change = fast[mode]["L1"] / plain[mode]["L1"] - 1
        ssim_change = fast[mode]["SSIM"] / plain[mode]["SSIM"] - 1
        result[mode] = {"L1_change": l1_change, "SSIM_change": ssim_change,
                        "within_tolerance": l1_change <= TOLERANCE and ssim_change >= -TOLERANCE}
    with open(os.path.join(opts.output_dir, "result.json"), "w") as f:
        json.dump(result, f, indent=2)
    for name, figures in (("float32", plain), ("fast", fast)):
        print(f"{name:<8} train {figures['train_seconds']:.0f} s ({figures['steps_per_sec']:.2f} "
              f"steps/s)  flags {' '.join(figures['flags']) or '(defaults)'}")
        for mode in ("eval_mode", "paper_mode"):
            m = figures[mode]
            print(f"  {mode:<11} L1 {m['L1']:.4f}  PSNR {m['PSNR']:.2f}  SSIM {m['SSIM']:.4f}")
    for mode in ("eval_mode", "paper_mode"):
        r = result[mode]
        print(f"fast vs float32 ({mode}): L1 {100 * r['L1_change']:+.1f}%  "
              f"SSIM {100 * r['SSIM_change']:+.1f}%  "
              f"{'within' if r['within_tolerance'] else 'NOT within'} {TOLERANCE:.0%}")


if __name__ == "__main__":
    main()
