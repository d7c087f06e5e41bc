"""The shape of a bench's run, so each bench keeps only its own case, FLOP
count and extra rows: `begin` (flags, threads, the machine's figures),
`time_fast_and_baseline` (the default run), `end` (table, --json).
"""

import json
import os
import sys
from collections.abc import Callable
from typing import Any, TextIO

import keras
import tensorflow as tf

from benchmarks import report, timing, tune
from pix2pix_tf.common import threads


def begin(argv: list[str] | None, parse_args: Callable, out: TextIO, **tune_defaults) -> tuple:
    """The start both benches share: --tune's shorter defaults (where not
    given), the flags parsed by the bench's `parse_args(argv)` -> (args,
    given, options, machine, speed lines), the thread pools, the speed lines
    printed, and the figures every bench records.

    Returns:
        (argv as completed, args, the flags given, options, the figures so far).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--tune" in argv:  # Fewer, shorter windows unless asked: the table in minutes.
        argv = tune.with_defaults(argv, **tune_defaults)
    args, given, options, machine, speed_lines = parse_args(argv)
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
              "load_average_before": report.load_average(), "cases": {}}
    result.update(report.machine_figures(machine, [options.mixed_precision],
                                         args.measure_seconds))
    return argv, args, given, options, result


def time_fast_and_baseline(make_case: Callable, options: Any, args: Any, flops: float,
                           yardstick: str) -> tuple[list, dict]:
    """The benches' default run: the case of `options` ("fast"; "baseline"
    with --baseline), and beside it, with --compare_baseline, the baseline
    (BASELINE), or with --tune_against (a --tune child) those settings
    ("auto"), timed by `compare` with `yardstick` ("conv" or "matmul")
    kernels in the same windows.

    Args:
        make_case: (name, options) -> a TimedCase of the bench.
        options: the bench's options (speed flags resolved).
        args: its parsed flags (warmup, windows, steps, baseline,
            compare_baseline, tune_against).
        flops: FLOP per training step.
        yardstick: the kind of KernelCase the step is a share of.

    Returns:
        (the cases, `compare`'s figures).
    """
    cases = [make_case("baseline" if args.baseline else "fast", options)]
    if args.tune_against:
        cases.append(make_case("auto", timing.with_settings(options,
                                                            **json.loads(args.tune_against))))
    elif args.compare_baseline and not args.baseline:
        cases.append(make_case("baseline", timing.with_settings(options, **timing.BASELINE)))
    kernels = [] if args.tune_against else timing.yardsticks(
        yardstick, [case.options.mixed_precision for case in cases])
    figures = timing.compare(cases, warmup=args.warmup, windows=args.windows, steps=args.steps,
                             batch_size=options.batch_size, flops=flops, yardsticks=kernels)
    return cases, figures


def end(result: dict, format_table: Callable[[dict], str], tune_table: str | None, args: Any,
        out: TextIO) -> dict:
    """The end both benches share: peak memory and load, the table (and
    --tune's), the --json file; returns the figures."""
    result["peak_rss_mb"] = report.peak_rss_mb()
    result["load_average_after"] = report.load_average()
    print(format_table(result), file=out)
    if tune_table:
        print(tune_table, file=out)
    if args.json:
        report.write_json(args.json, result)
    return result
