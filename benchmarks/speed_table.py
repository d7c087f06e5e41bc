"""Benchmark (not a test): this machine's speed table for BENCHMARKS.md.

Runs, on the machine it is started on, the two harnesses with their default
(`auto`) settings against the float32 baseline side by side, and prints one
Markdown section: the machine (lscpu's model name and the flags of interest,
oneDNN's ISA cap if set), the load average, and one row per case with its
command, so that figures of two machine kinds are never mixed in one table.

    python benchmarks/speed_table.py                # the full set, ~15 min on 2 cores
    python benchmarks/speed_table.py --quick        # fewer windows, ~6 min
    ONEDNN_MAX_CPU_ISA=AVX2 python benchmarks/speed_table.py   # oneDNN without AVX-512

Rows: pix2pix 256x256 batch 1 (auto vs baseline; % of the convolution timed
in the same windows; peak memory), cgan `mlp` batch 64 on mnist_5k (auto vs
baseline, steps and seconds per epoch), and, with --quickstart, the README's
quick-start commands (read from README.md) timed end to end.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGS_OF_INTEREST = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16")


def lscpu():
    """(model name, family, model, flags of interest) as lscpu reports them."""
    text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    flags = fields.get("Flags", "").split()
    return (fields.get("Model name", "?"), fields.get("CPU family", "?"), fields.get("Model", "?"),
            [flag for flag in FLAGS_OF_INTEREST if flag in flags], fields.get("CPU(s)", "?"))


def run_json(script, args):
    """Runs a bench script with --json and returns (its figures, the command as a user types it)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "figures.json")
        command = [sys.executable, os.path.join(REPO, script), *args]
        subprocess.run(command + ["--json", path], cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL)
        with open(path) as f:
            return json.load(f), f"python {script} {' '.join(args)}"


def quickstart_commands():
    """The README's quick start after `pip install`: the dataset, train and
    test commands (the `python` lines of its first code block before serving)."""
    with open(os.path.join(REPO, "README.md")) as f:
        block = f.read().split("```bash\n", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.splitlines()
            if line.startswith("python ") and "serving" not in line]


def timed(command, cwd):
    start = time.perf_counter()
    subprocess.run(command, shell=True, cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def pix2pix_row(quick):
    windows, steps = ("4", "3") if quick else ("6", "5")
    figures, command = run_json("benchmarks/pix2pix_bench.py", [
        "--compare_baseline", "--steps", steps, "--windows", windows, "--pipeline_images", "0"])
    fast, base = figures["cases"]["fast"], figures["cases"]["baseline"]
    conv = figures.get("yardstick_gflops", {}).get("conv", {})
    share = (f"{100 * fast['gflops_achieved'] / conv[fast['options']['mixed_precision']]:.0f}% / "
             f"{100 * base['gflops_achieved'] / conv['float32']:.0f}%")
    return (f"| pix2pix 256x256, batch 1 | `{command}` | {fast['options']['mixed_precision']} | "
            f"{fast['images_per_sec']:.3f} | {base['images_per_sec']:.3f} | "
            f"**{figures['speedup']:.2f}x** | {share} | "
            f"{figures['load_average_before'][0]} -> {figures['load_average_after'][0]} |"), figures


def cgan_row(quick):
    windows, steps = ("4", "30") if quick else ("6", "50")
    figures, command = run_json("benchmarks/cgan_bench.py", [
        "--model", "mlp", "--batch_size", "64", "--compare_baseline", "--steps", steps,
        "--windows", windows])
    fast, base = figures["cases"]["fast"], figures["cases"]["baseline"]
    return (f"| cgan mlp, batch 64, mnist_5k | `{command}` | {fast['options']['mixed_precision']} | "
            f"{fast['images_per_sec']:.0f} ({fast['epoch_seconds']:.2f} s/epoch) | "
            f"{base['images_per_sec']:.0f} ({base['epoch_seconds']:.2f} s/epoch) | "
            f"step **{figures['speedup']:.2f}x**, epoch **{figures['epoch_speedup']:.2f}x** | - | "
            f"{figures['load_average_before'][0]} -> {figures['load_average_after'][0]} |"), figures


def quickstart_row():
    """The README's quick start after the install, run as written in an empty
    folder: dataset, train, test, each timed."""
    commands = quickstart_commands()
    with tempfile.TemporaryDirectory() as out:
        load = os.getloadavg()[0]
        seconds = [timed(command.replace("python tools/", f"python {REPO}/tools/"), out)
                   for command in commands]
        with open(os.path.join(out, "facades_train", "run.json")) as f:
            used = json.load(f).get("mixed_precision", "?")
    parts = ", ".join(f"{name} {s:.0f} s" for name, s in zip(("dataset", "train", "test"), seconds))
    return (f"| README quick start, as written after `pip install` | `{' && '.join(commands)}` | "
            f"{used} | {sum(seconds):.0f} s ({parts}) | | | | {load:.2f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter timed windows")
    parser.add_argument("--quickstart", action="store_true",
                        help="also time the README's quick-start commands end to end")
    parser.add_argument("--skip", default="", help="comma-separated rows to leave out: pix2pix,cgan")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    model, family, model_number, flags, cpus = lscpu()
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA")
    rows = []
    if "pix2pix" not in skip:
        rows.append(pix2pix_row(args.quick)[0])
    if "cgan" not in skip:
        rows.append(cgan_row(args.quick)[0])
    if args.quickstart:
        rows.append(quickstart_row())
    title = f"{model} (family {family} model {model_number}), {cpus} CPUs"
    if cap:
        title += f", ONEDNN_MAX_CPU_ISA={cap}"
    print(f"### {title}\n")
    print(f"lscpu flags of interest: {' '.join(flags) or 'none'}"
          + (f"; oneDNN capped at {cap} (kernels above it unused)" if cap else "") + "\n")
    print("| case | command | auto precision | auto | baseline | speed-up | % of conv (auto / "
          "baseline) | load (1 min) before -> after |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(re.sub(r"\s+", " ", row))


if __name__ == "__main__":
    main()
