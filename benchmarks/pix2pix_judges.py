"""Benchmark (not a test): the pix2pix paper's Table 1 ordering on synthetic_facades.

Trains three models through the command line at equal steps, labels -> photo
(BtoA), with the quick start's size: L1 alone (--gan_weight 0), cGAN alone
(--l1_weight 0) and L1+cGAN (the defaults); judges each on the 100 val
images with `--mode eval --judge fcn,c2st`, and prints one markdown table:
L1, SSIM, the FCN-score (per-pixel accuracy, per-class accuracy, class IoU),
the C2ST accuracy and the real photos' ceiling, with each stage's seconds.

    python benchmarks/pix2pix_judges.py --steps 2000
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = (("L1", ["--gan_weight", "0"]), ("cGAN", ["--l1_weight", "0"]), ("L1+cGAN", []))


def run(*args):
    subprocess.run([sys.executable, *args], cwd=REPO, check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work_dir", default=os.path.join(REPO, "runs", "bench_judges"))
    parser.add_argument("--size", default="--crop_size 128 --ngf 32 --ndf 32",
                        help="the model's size flags (default: the quick start's)")
    args = parser.parse_args()

    run(os.path.join(REPO, "tools", "download-dataset.py"), "synthetic_facades",
        "--output_dir", args.work_dir)
    data_dir = os.path.join(args.work_dir, "synthetic_facades")
    rows, seconds = [], {}
    for name, flags in MODELS:
        run_dir = os.path.join(args.work_dir, f"{name}_{args.steps}")
        if not os.path.exists(os.path.join(run_dir, "checkpoint")):
            start = time.time()
            run("-m", "pix2pix_tf.main", "--mode", "train", "--input_dir",
                os.path.join(data_dir, "train"), "--output_dir", run_dir, "--which_direction",
                "BtoA", "--max_steps", str(args.steps), "--seed", str(args.seed),
                "--progress_freq", "500", *args.size.split(), *flags)
            seconds[f"train {name}"] = time.time() - start
        out_dir = os.path.join(args.work_dir, f"judged_{name}_{args.steps}")
        start = time.time()
        run("-m", "pix2pix_tf.main", "--mode", "eval", "--checkpoint", run_dir, "--input_dir",
            os.path.join(data_dir, "val"), "--output_dir", out_dir, "--judge", "fcn,c2st")
        seconds[f"judge {name}"] = time.time() - start
        with open(os.path.join(out_dir, "metrics.json")) as f:
            result = json.load(f)
        rows.append((name, result["average"], result["judges"]))

    print(f"\n{args.steps} steps each, seed {args.seed}, {args.size}; {platform.processor() or ''}")
    print("| model | L1 | SSIM | FCN per-pixel acc. | FCN per-class acc. | FCN class IoU | "
          "C2ST accuracy (95% interval) |")
    print("|---|---|---|---|---|---|---|")
    for name, average, judged in rows:
        fcn, c2st = judged["fcn"]["generated"], judged["c2st"]
        low, high = c2st["interval"]
        print(f"| {name} | {average['L1']:.4f} | {average['SSIM']:.3f} | "
              f"{fcn['per_pixel_accuracy']:.3f} | {fcn['per_class_accuracy']:.3f} | "
              f"{fcn['class_iou']:.3f} | {c2st['accuracy']:.2f} ({low:.2f}-{high:.2f}) |")
    real = rows[-1][2]["fcn"]["real"]
    print(f"| real photos | 0 | 1 | {real['per_pixel_accuracy']:.3f} | "
          f"{real['per_class_accuracy']:.3f} | {real['class_iou']:.3f} | 0.5 |")
    print("\nseconds: " + ", ".join(f"{key} {value:.0f}" for key, value in seconds.items()))


if __name__ == "__main__":
    main()
