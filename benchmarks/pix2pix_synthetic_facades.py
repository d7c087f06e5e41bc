"""Benchmark (not a test): does pix2pix learn the offline synthetic facades?

Runs the README workflow through the command line, as a user would:
generates synthetic_facades if absent, saves an untrained generator
(--max_steps 0), trains for --steps steps (labels -> photo, BtoA), and scores
both on the 100 val images with --mode eval. Prints the val L1/PSNR/SSIM of
each and the ratio of the L1s.

    python benchmarks/pix2pix_synthetic_facades.py --steps 300
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args):
    subprocess.run([sys.executable, *args], cwd=REPO, check=True)


def evaluate(run_dir, data_dir, out_dir):
    run("-m", "pix2pix_tf.main", "--mode", "eval", "--checkpoint", run_dir,
        "--input_dir", os.path.join(data_dir, "val"), "--output_dir", out_dir)
    with open(os.path.join(out_dir, "metrics.json")) as f:
        return json.load(f)["average"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--work_dir", default=os.path.join(REPO, "runs", "bench_facades"))
    parser.add_argument("--extra", default="", help="more training flags, e.g. '--crop_size 128'")
    args = parser.parse_args()

    data_dir = os.path.join(REPO, "synthetic_facades")
    run(os.path.join(REPO, "tools", "download-dataset.py"), "synthetic_facades",
        "--output_dir", REPO)
    results = {}
    for steps in (0, args.steps):
        run_dir = os.path.join(args.work_dir, f"train_{steps}")
        if not os.path.exists(os.path.join(run_dir, "checkpoint")):
            start = time.time()
            run("-m", "pix2pix_tf.main", "--mode", "train", "--input_dir",
                os.path.join(data_dir, "train"), "--output_dir", run_dir, "--which_direction",
                "BtoA", "--max_steps", str(steps), "--seed", "0", *args.extra.split())
            print(f"trained {steps} steps in {time.time() - start:.0f}s")
        results[steps] = evaluate(run_dir, data_dir, os.path.join(args.work_dir, f"eval_{steps}"))

    print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"flags: --which_direction BtoA {args.extra}")
    print(f"{'steps':>6} {'val L1':>8} {'PSNR':>7} {'SSIM':>6}")
    for steps, m in results.items():
        print(f"{steps:>6} {m['L1']:8.4f} {m['PSNR']:7.2f} {m['SSIM']:6.3f}")
    print(f"val L1 after {args.steps} steps / untrained: {results[args.steps]['L1'] / results[0]['L1']:.2f}")


if __name__ == "__main__":
    main()
