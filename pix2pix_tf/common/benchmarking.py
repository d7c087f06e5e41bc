"""Timing training steps side by side: what both benchmark harnesses share.

- `TimedCase`, `compare`: one configuration's step timed in windows, several
  configurations in alternating windows (so a load change hits them alike).
- `tune`: every combination of the speed flags against the `auto` one,
  window for window; `thread_layouts`/`time_in_processes` for the thread
  flags, which only take effect in a fresh process.
- `add_arguments`: the harnesses' shared flags (speed flags as training's,
  timing windows, --baseline, --compare_baseline, --tune, --json).
- `machine_figures`, `limit_lines`: the machine, its theoretical peak and its
  measured matrix-product and convolution rates, and a step's share of them.
- `begin`, `time_fast_and_baseline`, `run_tune`, `format_table`, `end`: the
  shape of a harness's run, so each harness keeps only its own case, FLOP
  count and extra rows.
- `profile_op_types`: where a case's step time goes, by op type, from
  TensorFlow's profiler (benchmarks/*_profile.py).
"""

import argparse
import collections
import glob
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import keras
import tensorflow as tf

from pix2pix_tf.common import machine as machine_lib
from pix2pix_tf.common import options as common_options
from pix2pix_tf.common import precision, speed, threads

# Every optimisation off: what "baseline" means in both harnesses.
BASELINE = {"jit_compile": False, "mixed_precision": "float32", "fused_optimizer": False,
            "cache": False}
SPEED_OPTIONS = tuple(BASELINE)


def with_settings(options, **values):
    """`options` with the speed `values` both asked and used (so no `auto`
    decision overrides them): the baseline's and --tune's combinations."""
    used = {speed.used_key(name): value for name, value in values.items()
            if hasattr(options, speed.used_key(name))}
    return common_options.replace(options, **values, **used)


class TimedCase:
    """One configuration's training step, timed in windows of steps.

    Subclasses build their model from `options` and implement `run_step()`,
    which runs one training step and returns a loss tensor.
    """

    def __init__(self, name, options):
        self.name = name
        self.options = options
        self.window_seconds = []
        self.compile_seconds = None

    def run_step(self):
        raise NotImplementedError

    def run(self, steps):
        loss = None
        for _ in range(steps):
            loss = self.run_step()
        return None if loss is None else float(loss)  # Reading it waits for the last step.

    def warm_up(self, steps):
        start = time.perf_counter()
        self.run(1)  # Traces and compiles.
        self.compile_seconds = time.perf_counter() - start
        self.run(steps)

    def time_window(self, steps):
        start = time.perf_counter()
        self.run(steps)
        self.window_seconds.append((time.perf_counter() - start) / steps)

    def figures(self, batch_size, flops, option_names=SPEED_OPTIONS):
        rates = [batch_size / s for s in self.window_seconds]
        median_seconds = statistics.median(self.window_seconds)
        return {"options": {k: getattr(self.options, k) for k in option_names
                            if hasattr(self.options, k)},
                "images_per_sec": statistics.median(rates), "images_per_sec_min": min(rates),
                "images_per_sec_max": max(rates), "ms_per_step": 1e3 * median_seconds,
                "gflops_achieved": flops / median_seconds / 1e9,
                "compile_seconds": self.compile_seconds,
                "window_ms_per_step": [round(1e3 * s, 3) for s in self.window_seconds]}


class KernelCase(TimedCase):
    """A yardstick kernel of `machine.kernel` timed in the same windows as the
    cases, so the step's share of it is measured under the same load."""

    def __init__(self, kind, dtype, seconds_per_window=0.5):
        super().__init__(f"{kind} {dtype}", None)
        self.kind, self.dtype = kind, dtype
        self.run_step, self.flops = machine_lib.kernel(kind, dtype)
        self.seconds_per_window = seconds_per_window
        self.calls = 1

    def run(self, steps):
        for _ in range(steps):
            out = self.run_step()
        out.numpy()  # Waits for the last call.

    def warm_up(self, steps):
        self.run(1)
        start = time.perf_counter()
        self.run(3)
        per_call = (time.perf_counter() - start) / 3
        self.calls = max(1, round(self.seconds_per_window / per_call))

    def time_window(self, steps):
        super().time_window(self.calls)

    def gflops(self):
        return self.flops / statistics.median(self.window_seconds) / 1e9


def compare(cases, *, warmup, windows, steps, batch_size, flops, option_names=SPEED_OPTIONS,
            yardsticks=()):
    """Warms up each case, times them in alternating windows and returns
    {"cases": {name: figures}}, plus, for two cases (fast, baseline), the
    `speedup` of the first over the second and its per-window spread, and
    for `yardsticks` (KernelCases, timed after each window of the cases)
    {"yardstick_gflops": {kind: {dtype: median GFLOP/s}}}."""
    for case in list(cases) + list(yardsticks):
        case.warm_up(warmup)
    for window in range(windows):
        # ABBA order, so a load change during the run hits both cases alike.
        for case in (cases if window % 2 == 0 else cases[::-1]):
            case.time_window(steps)
            for yardstick in yardsticks:
                yardstick.time_window(steps)
    result = {"cases": {case.name: case.figures(batch_size, flops, option_names)
                        for case in cases}}
    if yardsticks:
        result["yardstick_gflops"] = {}
        for yardstick in yardsticks:
            result["yardstick_gflops"].setdefault(yardstick.kind, {})[yardstick.dtype] = \
                yardstick.gflops()
    if len(cases) == 2:
        fast, baseline = (result["cases"][case.name] for case in cases)
        result["speedup"] = fast["images_per_sec"] / baseline["images_per_sec"]
        result["speedup_per_window"] = [
            round(b / f, 3) for f, b in zip(cases[0].window_seconds, cases[1].window_seconds)]
    return result


def begin(argv, parse_args, out, **tune_defaults):
    """The start both harnesses share: --tune's shorter defaults (where not
    given), the arguments parsed by the harness's `parse_args(argv)` ->
    (args, options, machine, speed lines), the thread pools, the speed lines
    printed, and the figures every harness records.

    Returns:
        (argv as completed, args, options, the figures so far).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--tune" in argv:  # Fewer, shorter windows unless asked: the table in minutes.
        argv = with_defaults(argv, **tune_defaults)
    args, options, machine, speed_lines = parse_args(argv)
    if not threads.configure_threads(options.intra_op_threads, options.inter_op_threads):
        print("--intra_op_threads/--inter_op_threads ignored: TensorFlow is already running",
              file=out)
    for line in speed_lines:
        print(line, file=out, flush=True)
    result = {"batch_size": options.batch_size, "steps": args.steps, "windows": args.windows,
              "tensorflow": tf.__version__, "keras": keras.__version__,
              "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on)"),
              "intra_op_threads": options.intra_op_threads,
              "inter_op_threads": options.inter_op_threads,
              "load_average_before": load_average(), "cases": {}}
    result.update(machine_figures(machine, [options.mixed_precision], args.measure_seconds))
    return argv, args, options, result


def end(result, format_table, tune_table, args, out):
    """The end both harnesses share: peak memory and load, the table (and
    --tune's), the --json file; returns the figures."""
    result["peak_rss_mb"] = peak_rss_mb()
    result["load_average_after"] = load_average()
    print(format_table(result), file=out)
    if tune_table:
        print(tune_table, file=out)
    if args.json:
        write_json(args.json, result)
    return result


def time_fast_and_baseline(make_case, options, args, flops, yardstick):
    """The harnesses' default run: the case of `options` ("fast"; "baseline"
    with --baseline), and beside it, with --compare_baseline, the baseline
    (BASELINE), timed by `compare` with `yardstick` ("conv" or "matmul")
    kernels in the same windows.

    Args:
        make_case: (name, options) -> a TimedCase of the harness.
        options: the harness's options (speed flags resolved).
        args: its parsed arguments (warmup, windows, steps, baseline, compare_baseline).
        flops: FLOP per training step.
        yardstick: the kind of KernelCase the step is a share of.

    Returns:
        (the cases, `compare`'s figures).
    """
    cases = [make_case("baseline" if args.baseline else "fast", options)]
    if args.compare_baseline and not args.baseline:
        cases.append(make_case("baseline", with_settings(options, **BASELINE)))
    figures = compare(cases, warmup=args.warmup, windows=args.windows, steps=args.steps,
                      batch_size=options.batch_size, flops=flops,
                      yardsticks=yardsticks(yardstick,
                                            [case.options.mixed_precision for case in cases]))
    return cases, figures


def run_tune(module, make_case, options, argv, args, result, extra_child_flags, out, what=""):
    """--tune: every combination of the speed flags against `auto` in this
    process, then the thread layouts in fresh ones; puts the figures in
    result["tune"] and returns the table to print.

    Args:
        module: the harness's module name, for its child processes.
        make_case: (name, options) -> a TimedCase of the harness.
        options, argv, args: the harness's options, command line and parsed arguments.
        result: its figures so far (result["flops"]["train_step"] is used).
        extra_child_flags: flags for the children that time thread layouts
            (sparing them the harness's extra rows).
        out: where progress lines go.
        what: words on the case for the first line (e.g. "at crop 256 ").
    """
    def log(line):
        print(line, file=out, flush=True)

    machine = machine_lib.probe()
    combos = combinations(machine, options, fixed=given_flags(argv))
    reference = make_case("auto", options)
    candidates = [(combo, lambda combo=combo: make_case(
        "candidate", with_settings(options, **combo))) for combo in combos[1:]]
    log(f"tuning {len(combos)} combinations {what}against auto, {args.windows} windows of "
        f"{args.steps} steps each")
    rows = tune(reference, candidates, warmup=args.warmup, windows=args.windows, steps=args.steps,
                batch_size=options.batch_size, flops=result["flops"]["train_step"], log=log)
    layouts = None
    if tunes_threads(machine, argv):
        command = child_command(module, argv) + child_flags(rows[0]["options"]) + [
            "--measure_seconds", "0", "--inference_repeats", "0", *extra_child_flags]
        layouts = time_in_processes(command, thread_layouts(machine.cpu.cores), log=log)
    result["tune"] = tune_figures(rows, layouts)
    return format_tune(rows, layouts)


# ---------------------------------------------------------------- tuning

TUNED = ("mixed_precision", "jit_compile", "fused_optimizer")


def combinations(machine, options, fixed=()):
    """The speed settings worth timing on `machine`: every precision the
    hardware runs natively plus float32, XLA on and off, fused Adam on and
    off, except the options named in `fixed` (given on the command line),
    which keep their value; the `auto` combination (`options`, resolved) first."""
    native, _ = precision.choose(machine.cpu.flags, machine.gpus, machine.onednn_max_isa,
                                 machine.onednn_enabled)
    reference = {name: getattr(options, name) for name in TUNED}
    values = {"mixed_precision": sorted({"float32", native}), "jit_compile": (False, True),
              "fused_optimizer": (True, False)}
    found = [reference]
    for combination in itertools.product(*(
            [reference[name]] if name in fixed else values[name] for name in TUNED)):
        combination = dict(zip(TUNED, combination))
        if combination not in found:
            found.append(combination)
    return found


def given_flags(argv):
    """Names of the flags given in `argv` (--NAME, --NAME=V, --no-NAME)."""
    names = set()
    for arg in argv:
        if arg.startswith("--"):
            name = arg[2:].split("=")[0]
            names.add(name[3:] if name.startswith("no-") else name)
    return names


def tunes_threads(machine, argv):
    """Whether --tune times thread layouts: on a CPU of several cores, unless
    the command line fixed the thread flags."""
    return (machine.cpu.cores > 1 and not machine.gpus
            and not given_flags(argv) & {"intra_op_threads", "inter_op_threads"})


def child_flags(options):
    """The harness flags that fix a combination's speed settings in a child process."""
    return ["--mixed_precision", options["mixed_precision"],
            "--jit_compile", str(bool(options["jit_compile"])).lower(),
            "--fused_optimizer" if options["fused_optimizer"] else "--no-fused_optimizer"]


def tune(reference, candidates, *, warmup, windows, steps, batch_size, flops, log=print):
    """Times each candidate in `windows` windows alternating with `reference`.

    Args:
        reference: a built TimedCase (the `auto` settings), kept throughout.
        candidates: [(options, build)] where build() returns the TimedCase of
            those options; each is built, timed and dropped in turn, so only
            two cases hold memory at once.
        log: called with a line as each candidate finishes.

    Returns:
        Rows sorted fastest first: {"options", "images_per_sec", "ms_per_step",
        "gflops_achieved", "vs_auto" (median of the window-pair ratios),
        "compile_seconds"}; the reference's row has vs_auto 1.0.
    """
    reference.warm_up(warmup)
    rows = []
    for options, build in candidates:
        case = build()
        case.warm_up(warmup)
        pairs = []
        for window in range(windows):
            order = (case, reference) if window % 2 == 0 else (reference, case)
            for timed in order:
                timed.time_window(steps)
            pairs.append(reference.window_seconds[-1] / case.window_seconds[-1])
        row = _row(case, options, batch_size, flops)
        row["vs_auto"] = statistics.median(pairs)
        rows.append(row)
        log(f"  timed {format_options(options)}: {row['images_per_sec']:.3f} images/sec, "
            f"{row['vs_auto']:.2f}x auto")
        del case
    auto = _row(reference, {name: getattr(reference.options, name) for name in TUNED},
                batch_size, flops)
    auto.update(vs_auto=1.0, auto=True)
    rows.append(auto)
    return sorted(rows, key=lambda row: -row["vs_auto"])


def _row(case, options, batch_size, flops):
    figures = case.figures(batch_size, flops, ())
    return {"options": dict(options), "images_per_sec": figures["images_per_sec"],
            "ms_per_step": figures["ms_per_step"], "gflops_achieved": figures["gflops_achieved"],
            "compile_seconds": figures["compile_seconds"]}


def thread_layouts(cores):
    """(intra-op, inter-op) layouts worth timing on `cores` cores (0: TensorFlow's choice)."""
    layouts = [(0, 0), (cores, 1)]
    if cores >= 2:
        layouts.append((max(1, cores // 2), 2))
    return list(dict.fromkeys(layouts))


def time_in_processes(command, layouts, rounds=2, log=print):
    """Images/sec of `command` (a harness command line that writes --json) in a
    fresh process per thread layout, the layouts in turn `rounds` times.

    Returns {(intra, inter): median images/sec of the first case over the rounds}.
    """
    rates = {layout: [] for layout in layouts}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "figures.json")
        for _ in range(rounds):
            for intra, inter in layouts:
                subprocess.run(command + ["--intra_op_threads", str(intra), "--inter_op_threads",
                                          str(inter), "--json", path],
                               check=True, stdout=subprocess.DEVNULL)
                with open(path) as f:  # Local: the temporary folder above.
                    cases = json.load(f)["cases"]
                rate = next(iter(cases.values()))["images_per_sec"]
                rates[(intra, inter)].append(rate)
                log(f"  timed threads intra-op {intra or 'default'}, inter-op "
                    f"{inter or 'default'}: {rate:.3f} images/sec")
    return {layout: statistics.median(values) for layout, values in rates.items()}


def tune_figures(rows, layouts):
    """--tune's figures for the JSON output."""
    return {"rows": rows, "threads": {f"{intra},{inter}": rate
                                      for (intra, inter), rate in (layouts or {}).items()}}


def format_options(options):
    """Speed options as the training command line's flags."""
    flags = []
    for name, value in options.items():
        if isinstance(value, bool):
            flags.append(f"--{name}" if value else f"--no{name}")
        else:
            flags.append(f"--{name} {value}")
    return " ".join(flags)


def format_tune(rows, layouts=None):
    """The table of `tune`'s rows (and the thread layouts' rates), and the line of flags to paste."""
    lines = [f"{'settings':<64}{'images/sec':>12}{'ms/step':>10}{'vs auto':>9}{'compile s':>11}"]
    for row in rows:
        name = format_options(row["options"]) + ("  (auto)" if row.get("auto") else "")
        lines.append(f"{name:<64}{row['images_per_sec']:>12.3f}{row['ms_per_step']:>10.1f}"
                     f"{row['vs_auto']:>8.2f}x{row['compile_seconds']:>11.1f}")
    best = dict(rows[0]["options"])
    if layouts:
        lines.append(f"{'threads (intra-op, inter-op), fresh process each':<64}{'images/sec':>12}")
        for (intra, inter), rate in sorted(layouts.items(), key=lambda item: -item[1]):
            lines.append(f"{f'  {intra or 0}, {inter or 0}' + ('  (0: TensorFlow default)' if not intra else ''):<64}"
                         f"{rate:>12.3f}")
        intra, inter = max(layouts, key=layouts.get)
        if (intra, inter) != (0, 0):
            best.update(intra_op_threads=intra, inter_op_threads=inter)
    lines.append(f"fastest here: {format_options(best)}")
    return "\n".join(lines)


# ---------------------------------------------------------------- machine and limit

def load_average():
    return [round(x, 2) for x in os.getloadavg()]


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB.


def latency_ms(run, repeats=20):
    """Median ms of `run()` (which returns a tensor) after three warm-up calls."""
    for _ in range(3):
        run().numpy()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run().numpy()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def machine_figures(machine, precisions, measure_seconds=1.0):
    """The machine's description, theoretical peak and the rates measured now
    (float32, and each of `precisions` the hardware runs natively)."""
    native, _ = precision.choose(machine.cpu.flags, machine.gpus, machine.onednn_max_isa,
                                 machine.onednn_enabled)
    dtypes = ["float32"] + [p for p in dict.fromkeys(precisions) if p == native != "float32"]
    figures = {"machine": machine_lib.describe(machine), "cpu": machine.cpu.model,
               "cpu_family": machine.cpu.family, "cpu_model": machine.cpu.model_number,
               "cpu_flags": machine_lib.flags_of_interest(machine.cpu),
               "onednn_max_cpu_isa": machine.onednn_max_isa, "cores": machine.cpu.cores,
               "mhz": machine.cpu.mhz, "theoretical_peak": machine_lib.theoretical_peak(machine)}
    if measure_seconds > 0:
        figures["measured_gflops"] = machine_lib.measured_rates(dtypes, measure_seconds)
    return figures


def yardsticks(kind, precisions):
    """KernelCases of `kind` for each of `precisions` (once each)."""
    return [KernelCase(kind, dtype) for dtype in dict.fromkeys(precisions)]


def step_shares(case, figures, kernel="conv"):
    """(% of the `kernel` rate measured in the same windows (or, without,
    at the start), % of the theoretical peak) of a case's GFLOP/s, in its
    precision; None where that yardstick is missing."""
    dtype = case["options"].get("mixed_precision", "float32")
    measured = (figures.get("yardstick_gflops", {}).get(kernel, {}).get(dtype)
                or figures.get("measured_gflops", {}).get(kernel, {}).get(dtype))
    peak = (figures.get("theoretical_peak") or {}).get(dtype)
    achieved = case["gflops_achieved"]
    return (100 * achieved / measured if measured else None,
            100 * achieved / peak if peak else None)


def limit_lines(figures):
    """The machine and its limit, in the words of the harnesses' tables."""
    lines = [f"machine: {figures['machine']}"]
    measured = figures.get("measured_gflops")
    if measured:
        lines.append("measured now: " + "; ".join(
            f"{dtype} matmul {measured['matmul'][dtype]:.0f}, conv {measured['conv'][dtype]:.0f} GFLOP/s"
            for dtype in measured["conv"]) + " (fastest call)")
    for kind, rates in figures.get("yardstick_gflops", {}).items():
        lines.append(f"{kind} in the same windows (median): " + ", ".join(
            f"{dtype} {rate:.0f} GFLOP/s" for dtype, rate in rates.items()))
    peak = figures.get("theoretical_peak")
    if peak:
        bf16 = f", bfloat16 {peak['bfloat16']:.0f}" if peak["bfloat16"] else ""
        lines.append(f"theoretical peak: float32 {peak['float32']:.0f}{bf16} GFLOP/s "
                     f"({peak['basis']}; nominal clock)")
    else:
        lines.append("theoretical peak: unknown for this CPU (its FMA units are not modelled)")
    return lines


def format_table(title, result, kernel, rate_digits, notes=(), epoch_column=False):
    """The harnesses' table: the title line (with the load), the machine's
    limits, one row per case (flags, images/sec median (min-max), ms/step,
    GFLOP/s and its share of `kernel`'s measured rate and of the peak; with
    `epoch_column`, seconds per epoch), the speed-up, `notes`, the inference
    latency and the peak memory."""
    short = {"conv": "% conv", "matmul": "% mm"}[kernel]
    lines = [f"{title}  {result['flops']['train_step'] / 1e9:.3f} GFLOP/step  "
             f"load {result['load_average_before']} -> {result['load_average_after']}",
             *limit_lines(result),
             f"{'row':<36}{'images/sec (min-max)':>28}{'ms/step':>10}{'GFLOP/s':>10}"
             f"{short:>8}{'% peak':>8}" + (f"{'s/epoch':>9}" if epoch_column else "")]
    for name, case in result["cases"].items():
        options = case["options"]
        share, peak = step_shares(case, result, kernel=kernel)
        flags = (f"xla={int(options['jit_compile'])} fused={int(options['fused_optimizer'])} "
                 f"{options['mixed_precision']}")
        spread = (f"{case['images_per_sec']:.{rate_digits}f} "
                  f"({case['images_per_sec_min']:.{rate_digits}f}-"
                  f"{case['images_per_sec_max']:.{rate_digits}f})")
        epoch = (f"{case['epoch_seconds']:>9.2f}" if "epoch_seconds" in case else f"{'-':>9}") \
            if epoch_column else ""
        lines.append(f"{name + ' ' + flags:<36}{spread:>28}{case['ms_per_step']:>10.2f}"
                     f"{case['gflops_achieved']:>10.1f}{format_share(share):>8}"
                     f"{format_share(peak):>8}{epoch}")
    if "speedup" in result:
        lines.append(f"speedup (fast / baseline images/sec, alternating windows): "
                     f"{result['speedup']:.2f}x")
    lines.extend(notes)
    if "inference_ms_per_image" in result:
        lines.append(f"inference: {result['inference_ms_per_image']:.2f} ms/image "
                     "(float32 generator, batch 1)")
    lines.append(f"peak resident memory: {result['peak_rss_mb']:.0f} MB (the whole process)")
    return "\n".join(lines)


def format_share(value):
    return f"{value:.0f}%" if value is not None else "-"


# ---------------------------------------------------------------- command line

class _SwitchAction(argparse.Action):
    """--NAME (true), --no-NAME (false) or --NAME auto|true|false."""

    def __init__(self, option_strings, dest, **kwargs):
        names = list(option_strings)
        names += [f"--no-{name[2:]}" for name in option_strings if name.startswith("--")]
        super().__init__(names, dest, nargs="?", **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        if option_string.startswith("--no-"):
            value = False
        else:
            try:
                value = True if values is None else common_options.parse_switch(values)
            except ValueError as e:
                parser.error(f"{option_string}: {e}")
        setattr(namespace, self.dest, value)


def add_arguments(parser, defaults, steps, windows, warmup):
    """The harnesses' shared flags: the speed flags (training's defaults), the
    timing windows, the baseline comparison, --tune and the JSON output."""
    parser.add_argument("--mixed_precision", choices=precision.CHOICES,
                        default=defaults.mixed_precision, help="(training's default)")
    parser.add_argument("--jit_compile", action=_SwitchAction, default=defaults.jit_compile,
                        help="auto, true or false (training's default)")
    parser.add_argument("--fused_optimizer", action=argparse.BooleanOptionalAction,
                        default=defaults.fused_optimizer, help="(training's default)")
    parser.add_argument("--cache", action=_SwitchAction, default=defaults.cache,
                        help="auto, true or false (training's default)")
    for name in ("intra_op_threads", "inter_op_threads"):
        parser.add_argument(f"--{name}", type=_threads, default=getattr(defaults, name),
                            help="auto or a count (0: TensorFlow's choice)")
    parser.add_argument("--steps", type=int, default=steps, help="training steps per timed window")
    parser.add_argument("--windows", type=int, default=windows, help="timed windows (per case)")
    parser.add_argument("--warmup", type=int, default=warmup, help="steps after the compiling one")
    parser.add_argument("--baseline", action="store_true",
                        help="time only the models with every optimisation off")
    parser.add_argument("--compare_baseline", action="store_true",
                        help="time the case and the baseline, alternating windows")
    parser.add_argument("--tune", action="store_true",
                        help="time every combination of the speed flags that applies to this "
                             "machine against the auto one, and print the fastest as flags")
    parser.add_argument("--measure_seconds", type=float, default=1.0,
                        help="seconds per kernel measuring the machine's own rate (0: skip)")
    parser.add_argument("--json", default=None, help="write the figures to this file")


def _threads(value):
    try:
        return common_options.parse_threads(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from e


def resolve_arguments(args, machine, flops_per_weight=None):
    """The speed options of a harness run with `auto` decided as training
    decides it (for a step of `flops_per_weight`, where training passes it):
    ({name: value} for the options class, lines saying why)."""
    requested = {name: getattr(args, name) for name in
                 ("mixed_precision", "jit_compile", "intra_op_threads", "inter_op_threads")}
    used, lines = speed.resolve(requested, machine, flops_per_weight)
    decided = {name: used[speed.used_key(name)] for name in requested}
    return {**decided, **used, "fused_optimizer": args.fused_optimizer, "cache": args.cache}, lines


def with_defaults(argv, **values):
    """argv with --NAME VALUE added for each of `values` not given in it."""
    given = given_flags(argv)
    extra = []
    for name, value in values.items():
        if name not in given:
            extra += [f"--{name}", str(value)]
    return list(argv) + extra


def write_json(path, result):
    with open(path, "w") as f:  # Local: a benchmark's --json figures.
        json.dump(result, f, indent=2, default=str)
        f.write("\n")


def child_command(module, argv):
    """The command line of this harness again, without the flags a child sets itself."""
    skip = {"--tune", "--compare_baseline", "--baseline"}
    valued = {"--json", "--intra_op_threads", "--inter_op_threads"}
    kept, argv = [], list(argv)
    while argv:
        arg = argv.pop(0)
        name = arg.split("=")[0]
        if name in skip:
            continue
        if name in valued:
            if "=" not in arg and argv:
                argv.pop(0)
            continue
        kept.append(arg)
    return [sys.executable, "-m", module] + kept


# Profiler events that only wrap the ops inside them: counting them would count
# twice. ("Process" and "Run" are the executor's own events around them.)
PROFILE_WRAPPERS = ("StatefulPartitionedCall", "PartitionedCall", "While", "If", "StatelessIf",
                    "__inference", "Identity", "NoOp", "_Retval", "_Arg", "Process", "Run")


def op_type_seconds(logdir):
    """{op type: seconds} summed over the host's TensorFlow op events in the
    profile written to `logdir`."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2  # Only the profile scripts need it.

    totals = collections.Counter()
    for path in glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True):
        space = xplane_pb2.XSpace()
        with open(path, "rb") as f:
            space.ParseFromString(f.read())
        for plane in space.planes:
            if not plane.name.startswith("/host:CPU"):
                continue
            for line in plane.lines:
                for event in line.events:
                    name = plane.event_metadata[event.metadata_id].name
                    if ":" not in name:  # TensorFlow ops are "name:Type".
                        continue
                    op_type = name.rsplit(":", 1)[1].strip()
                    if not op_type.startswith(PROFILE_WRAPPERS):
                        totals[op_type] += event.duration_ps * 1e-12
    return totals


def profile_op_types(case, steps, top=15, out=sys.stdout):
    """Times `steps` steps of the warmed-up TimedCase `case` under TensorFlow's
    profiler and prints the wall time per step and a table of the `top` op
    types by time on the host's TensorFlow threads. Ops that run at once (the
    executor runs independent ops in parallel) each count, so the op time can
    exceed the wall time.

    Returns:
        {op type: seconds over the `steps` steps}.
    """
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        start = time.perf_counter()
        case.run(steps)
        wall = (time.perf_counter() - start) / steps
        tf.profiler.experimental.stop()
        totals = op_type_seconds(logdir)
    total = sum(totals.values())
    print(f"{1e3 * wall:.1f} ms/step wall while profiled; op time {1e3 * total / steps:.1f}"
          " ms/step (ops running at once each counted)", file=out)
    print("| op type | ms/step | share |\n|---|---|---|", file=out)
    for op_type, seconds in totals.most_common(top):
        print(f"| {op_type} | {1e3 * seconds / steps:.2f} | {seconds / total:.1%} |", file=out)
    return totals
