"""--tune: every combination of the speed flags against the `auto` one, each
in a child process of the bench (so the bench's memory stays that of one run
with two cases: TensorFlow keeps every traced function of a process), then
the thread layouts, which only take effect in a fresh process.

Each child times its combination and `auto` in alternating windows
(--tune_against); the table ranks them by the median of those window pairs.
"""

import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from typing import Any

from pix2pix_tf.common import machine as machine_lib
from pix2pix_tf.common import precision

TUNED = ("mixed_precision", "jit_compile", "fused_optimizer")


def combinations(machine: machine_lib.Machine, options: Any, fixed=()) -> list[dict]:
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


def given_flags(argv: list[str]) -> set[str]:
    """Names of the flags given in `argv` (--NAME, --NAME=V, --no-NAME)."""
    names = set()
    for arg in argv:
        if arg.startswith("--"):
            name = arg[2:].split("=")[0]
            names.add(name[3:] if name.startswith("no-") else name)
    return names


def with_defaults(argv: list[str], **values) -> list[str]:
    """argv with --NAME VALUE added for each of `values` not given in it."""
    given = given_flags(argv)
    extra = []
    for name, value in values.items():
        if name not in given:
            extra += [f"--{name}", str(value)]
    return list(argv) + extra


def tunes_threads(machine: machine_lib.Machine, argv: list[str]) -> bool:
    """Whether --tune times thread layouts: on a CPU of several cores, unless
    the command line fixed the thread flags."""
    return (machine.cpu.cores > 1 and not machine.gpus
            and not given_flags(argv) & {"intra_op_threads", "inter_op_threads"})


def format_options(options: dict) -> str:
    """Speed options as the training command line's flags."""
    flags = []
    for name, value in options.items():
        if isinstance(value, bool):
            flags.append(f"--{name}" if value else f"--no{name}")
        else:
            flags.append(f"--{name} {value}")
    return " ".join(flags)


def child_flags(options: dict) -> list[str]:
    """The flags that fix a combination's speed settings in a child process."""
    return format_options(options).split()


def child_command(script: str, argv: list[str]) -> list[str]:
    """The command line of the bench `script` again, without the flags a child sets itself."""
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
    return [sys.executable, script] + kept


def child_figures(command: list[str]) -> dict:
    """The --json figures of a bench's `command` run in a child process."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "figures.json")
        subprocess.run(command + ["--json", path], check=True, stdout=subprocess.DEVNULL)
        with open(path) as f:  # Local: the temporary folder above.
            return json.load(f)


def tune(combinations_: list[dict], measure: Callable[[dict], dict], *, batch_size: int,
         flops: float, log: Callable[[str], None] = print) -> list[dict]:
    """Times each combination but the first (`auto`) against `auto`.

    Args:
        combinations_: speed settings, `auto`'s first.
        measure: (settings) -> the figures of `timing.compare` of a case of
            those settings ("fast") and of `auto` ("auto"), alternating windows.
        log: called with a line as each combination finishes.

    Returns:
        Rows sorted fastest first: {"options", "images_per_sec", "ms_per_step",
        "gflops_achieved", "vs_auto" (median of the window-pair ratios),
        "compile_seconds"}; `auto`'s row (its windows of every measure) has
        vs_auto 1.0.
    """
    rows, auto_windows, auto_compile = [], [], []
    for options in combinations_[1:] or combinations_[:1]:
        figures = measure(options)
        case, auto = figures["cases"]["fast"], figures["cases"]["auto"]
        row = _row(options, case["ms_per_step"] / 1e3, batch_size, flops,
                   case["compile_seconds"])
        row["vs_auto"] = statistics.median(figures["speedup_per_window"])
        auto_windows += auto["window_ms_per_step"]
        auto_compile.append(auto["compile_seconds"])
        if len(combinations_) > 1:
            rows.append(row)
            log(f"  timed {format_options(options)}: {row['images_per_sec']:.3f} images/sec, "
                f"{row['vs_auto']:.2f}x auto")
    auto = _row(combinations_[0], statistics.median(auto_windows) / 1e3, batch_size, flops,
                statistics.median(auto_compile))
    auto.update(vs_auto=1.0, auto=True)
    rows.append(auto)
    return sorted(rows, key=lambda row: -row["vs_auto"])


def _row(options, seconds_per_step, batch_size, flops, compile_seconds):
    return {"options": dict(options), "images_per_sec": batch_size / seconds_per_step,
            "ms_per_step": 1e3 * seconds_per_step, "gflops_achieved": flops / seconds_per_step / 1e9,
            "compile_seconds": compile_seconds}


def thread_layouts(cores: int) -> list[tuple[int, int]]:
    """(intra-op, inter-op) layouts worth timing on `cores` cores (0: TensorFlow's choice)."""
    layouts = [(0, 0), (cores, 1)]
    if cores >= 2:
        layouts.append((max(1, cores // 2), 2))
    return list(dict.fromkeys(layouts))


def time_in_processes(command: list[str], layouts: list, rounds: int = 2,
                      log: Callable[[str], None] = print) -> dict:
    """Images/sec of `command` (a bench command line that writes --json) in a
    fresh process per thread layout, the layouts in turn `rounds` times.

    Returns {(intra, inter): median images/sec of the first case over the rounds}.
    """
    rates = {layout: [] for layout in layouts}
    for _ in range(rounds):
        for intra, inter in layouts:
            cases = child_figures(command + ["--intra_op_threads", str(intra),
                                             "--inter_op_threads", str(inter)])["cases"]
            rate = next(iter(cases.values()))["images_per_sec"]
            rates[(intra, inter)].append(rate)
            log(f"  timed threads intra-op {intra or 'default'}, inter-op "
                f"{inter or 'default'}: {rate:.3f} images/sec")
    return {layout: statistics.median(values) for layout, values in rates.items()}


def tune_figures(rows: list[dict], layouts: dict | None) -> dict:
    """--tune's figures for the JSON output."""
    return {"rows": rows, "threads": {f"{intra},{inter}": rate
                                      for (intra, inter), rate in (layouts or {}).items()}}


def format_tune(rows: list[dict], layouts: dict | None = None) -> str:
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
            layout = f"  {intra or 0}, {inter or 0}" + ("  (0: TensorFlow default)" if not intra else "")
            lines.append(f"{layout:<64}"
                         f"{rate:>12.3f}")
        intra, inter = max(layouts, key=layouts.get)
        if (intra, inter) != (0, 0):
            best.update(intra_op_threads=intra, inter_op_threads=inter)
    lines.append(f"fastest here: {format_options(best)}")
    return "\n".join(lines)


def run_tune(script: str, options: Any, argv: list[str], given: set[str], result: dict,
             extra_child_flags: list[str], log: Callable[[str], None], what: str = "",
             layout_flags=()) -> str:
    """--tune of the bench `script`: each combination in a child process, then
    the thread layouts; puts the figures in result["tune"] and returns the table.

    Args:
        script: the bench's path, run again for each child.
        options: its options (speed flags resolved): `auto`.
        argv: its command line (with --tune's defaults); given: the flags given on it.
        result: its figures so far (result["flops"]["train_step"] is used).
        extra_child_flags: flags sparing the children the bench's extra rows.
        log: called with each progress line.
        what: words on the case for the first line (e.g. "at crop 256 ").
        layout_flags: more flags for the children timing thread layouts.
    """
    machine = machine_lib.probe()
    combos = combinations(machine, options, fixed=given)
    threads = ["--intra_op_threads", str(options.intra_op_threads),
               "--inter_op_threads", str(options.inter_op_threads)]
    base = child_command(script, argv) + threads + ["--measure_seconds", "0",
                                                    *extra_child_flags]
    log(f"tuning {len(combos)} combinations {what}against auto, each in a child process")

    def measure(combo):
        return child_figures(base + child_flags(combo) + ["--tune_against", json.dumps(combos[0])])

    rows = tune(combos, measure, batch_size=options.batch_size,
                flops=result["flops"]["train_step"], log=log)
    layouts = None
    if tunes_threads(machine, argv):
        command = child_command(script, argv) + child_flags(rows[0]["options"]) + [
            "--measure_seconds", "0", *extra_child_flags, *layout_flags]
        layouts = time_in_processes(command, thread_layouts(machine.cpu.cores), log=log)
    result["tune"] = tune_figures(rows, layouts)
    return format_tune(rows, layouts)
