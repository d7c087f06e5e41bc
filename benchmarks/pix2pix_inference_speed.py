"""Benchmark (not a test): test and eval modes against the generator's own inference rate.

Makes (once) COUNT synthetic facades validation pairs (256x512 JPEG, as
tools/download-dataset.py synthetic_facades writes them) and a CROP x CROP
pix2pix run of the default width (ngf = ndf = 64, trained a few steps: speed
does not depend on the weights), then in one process, in alternating order:

- generator: the generator alone, as test mode runs it (float32, batch
  statistics and dropout, batch 1) on the COUNT decoded inputs, one call each;
- eval / test: `--mode eval` / `--mode test` on the COUNT pairs, through
  pix2pix_tf.inference.run, timed from the call to its return (loading the
  checkpoint and tracing included), and the rate the mode prints itself.

Each case reports images/sec (wall clock) and the CPU time of the process per
image (all threads), which a shared machine's load disturbs less.

--code_dir times another checkout of the project (for a before/after
comparison) with the same data and run folder.

    python benchmarks/pix2pix_inference_speed.py --rounds 3
"""

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--code_dir", default=REPO, help="checkout of the project to time")
    parser.add_argument("--work_dir", default=os.path.join(REPO, "runs", "bench_inference"),
                        help="where the pairs, the run and the outputs go")
    parser.add_argument("--count", type=int, default=240, help="validation pairs")
    parser.add_argument("--crop_size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of the three cases")
    parser.add_argument("--json", default=None, help="write the figures to this file")
    return parser.parse_args()


def machine():
    """lscpu's model name and the flags of interest, and the load average."""
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except OSError:
        lscpu = ""
    model = re.search(r"Model name:\s*(.+)", lscpu)
    flags = re.search(r"Flags:\s*(.+)", lscpu)
    flags = set(flags.group(1).split()) if flags else set()
    return {"cpu": model.group(1).strip() if model else platform.processor(),
            "cores": os.cpu_count(),
            "flags": sorted(flags & {"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"}),
            "load_average": os.getloadavg()}


def default_options(**values):
    """The package's options with `values`, in the form of the checkout timed
    (a dict before the options refactor, a dataclass since)."""
    try:
        from pix2pix_tf.options import default_options as make
    except ImportError:
        from pix2pix_tf.main import default_options as make
    return make(**values)


def value(options, name):
    return options[name] if isinstance(options, dict) else getattr(options, name)


def make_data(work_dir, count, crop_size, log=print):
    """The validation pairs and a trained run folder (made once, reused)."""
    from pix2pix_tf import train
    from pix2pix_tf.common import image_io
    from pix2pix_tf.dataset_tools import synthetic_facades

    folders = {}
    for split, split_id, n in (("train", 0, 8), ("val", 1, count)):
        folder = os.path.join(work_dir, "facades", split)
        os.makedirs(folder, exist_ok=True)
        for index in range(1, n + 1):
            path = os.path.join(folder, f"{index}.jpg")
            if not os.path.exists(path):
                image_io.write_image(path, synthetic_facades.pair(0, split_id, index))
        folders[split] = folder
    run_dir = os.path.join(work_dir, f"run{crop_size}")
    if not os.path.exists(os.path.join(run_dir, "options.json")):
        log(f"training {run_dir}")
        train.train(default_options(mode="train", input_dir=folders["train"], output_dir=run_dir,
                                         which_direction="BtoA", crop_size=crop_size, max_steps=4,
                                         progress_freq=0, summary_freq=0, save_freq=0),
                    log=lambda line: None)
    return folders["val"], run_dir


class Generator:
    """The generator alone: one traced call per image, batch 1."""

    def __init__(self, val_dir, run_dir):
        import tensorflow as tf

        from pix2pix_tf import data, inference

        options = default_options(mode="test", checkpoint=run_dir, input_dir=val_dir)
        options, generator = inference.load_generator(options, set(), log=lambda line: None)
        paths = data.list_image_files(val_dir)
        dataset = data.test_dataset(paths, batch_size=1,
                                    which_direction=value(options, "which_direction"),
                                    lab_colorization=value(options, "lab_colorization"),
                                    crop_size=value(options, "crop_size"))
        self.inputs = [batch[1] for batch in dataset]
        self.call = tf.function(lambda x: generator(x, training=True))
        self.call(self.inputs[0]).numpy()  # Traces.

    def run(self):
        start, cpu = time.perf_counter(), time.process_time()
        for x in self.inputs:
            self.call(x).numpy()
        return {"images_per_sec": len(self.inputs) / (time.perf_counter() - start),
                "cpu_ms_per_image": 1e3 * (time.process_time() - cpu) / len(self.inputs)}


def run_mode(mode, val_dir, run_dir, work_dir):
    from pix2pix_tf import inference

    lines = []
    options = default_options(mode=mode, checkpoint=run_dir, input_dir=val_dir,
                                   output_dir=os.path.join(work_dir, f"out_{mode}"))
    start, cpu = time.perf_counter(), time.process_time()
    result = inference.run(options, set(), write_images=mode == "test", log=lines.append)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    printed = next(float(m.group(1)) for line in lines
                   for m in [re.search(r"([\d.]+) images/sec", line)] if m)
    return {"images_per_sec": result["count"] / seconds, "printed_images_per_sec": printed,
            "seconds": seconds, "cpu_ms_per_image": 1e3 * cpu / result["count"]}


def main():
    args = parse_args()
    sys.path.insert(0, os.path.abspath(args.code_dir))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import pix2pix_tf

    print(f"code: {os.path.dirname(os.path.abspath(pix2pix_tf.__file__))}")
    before = machine()
    print(f"machine: {before['cpu']}, {before['cores']} cores, flags {' '.join(before['flags'])}; "
          f"load average {before['load_average'][0]:.2f}")
    val_dir, run_dir = make_data(args.work_dir, args.count, args.crop_size)
    generator = Generator(val_dir, run_dir)
    cases = {"generator": generator.run,
             "eval": lambda: run_mode("eval", val_dir, run_dir, args.work_dir),
             "test": lambda: run_mode("test", val_dir, run_dir, args.work_dir)}
    figures = {name: [] for name in cases}
    for round_ in range(args.rounds):
        order = list(cases) if round_ % 2 == 0 else list(cases)[::-1]
        for name in order:
            figures[name].append(cases[name]())
            print(f"round {round_ + 1} {name}: " + ", ".join(
                f"{k} {v:.2f}" for k, v in figures[name][-1].items()), flush=True)
    summary = {name: {key: statistics.median(f[key] for f in runs) for key in runs[0]}
               for name, runs in figures.items()}
    generator_rate = summary["generator"]["images_per_sec"]
    print(f"\nmedians over {args.rounds} rounds ({args.count} pairs, crop {args.crop_size}):")
    for name, values in summary.items():
        line = (f"  {name:9s} {values['images_per_sec']:6.1f} images/sec, "
                f"{values['cpu_ms_per_image']:5.1f} CPU ms/image")
        if name != "generator":
            line += (f" ({values['images_per_sec'] / generator_rate:.0%} of the generator), "
                     f"printed by the mode {values['printed_images_per_sec']:.1f} "
                     f"({values['printed_images_per_sec'] / generator_rate:.0%})")
        print(line)
    after = machine()["load_average"]
    print(f"load average after: {after[0]:.2f} (the machine is shared)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": before, "load_average_after": after, "rounds": figures,
                       "medians": summary, "count": args.count, "crop_size": args.crop_size,
                       "code_dir": os.path.abspath(args.code_dir)}, f, indent=2)


if __name__ == "__main__":
    main()
