"""Timing training steps side by side: what both benchmark harnesses share."""

import argparse
import statistics
import time


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
        return float(loss)  # Reading the loss waits for the last step.

    def warm_up(self, steps):
        start = time.perf_counter()
        self.run(1)  # Traces and compiles.
        self.compile_seconds = time.perf_counter() - start
        self.run(steps)

    def time_window(self, steps):
        start = time.perf_counter()
        self.run(steps)
        self.window_seconds.append((time.perf_counter() - start) / steps)

    def figures(self, batch_size, flops, option_names):
        rates = [batch_size / s for s in self.window_seconds]
        median_seconds = statistics.median(self.window_seconds)
        return {"options": {k: getattr(self.options, k) for k in option_names},
                "images_per_sec": statistics.median(rates), "images_per_sec_min": min(rates),
                "images_per_sec_max": max(rates), "ms_per_step": 1e3 * median_seconds,
                "gflops_achieved": flops / median_seconds / 1e9,
                "compile_seconds": self.compile_seconds,
                "window_ms_per_step": [round(1e3 * s, 3) for s in self.window_seconds]}


def compare(cases, *, warmup, windows, steps, batch_size, flops, option_names):
    """Warms up each case, times them in alternating windows and returns
    {"cases": {name: figures}}, plus, for two cases (fast, baseline), the
    `speedup` of the first over the second and its per-window spread."""
    for case in cases:
        case.warm_up(warmup)
    for window in range(windows):
        # ABBA order, so a load change during the run hits both cases alike.
        for case in (cases if window % 2 == 0 else cases[::-1]):
            case.time_window(steps)
    result = {"cases": {case.name: case.figures(batch_size, flops, option_names)
                        for case in cases}}
    if len(cases) == 2:
        fast, baseline = (result["cases"][case.name] for case in cases)
        result["speedup"] = fast["images_per_sec"] / baseline["images_per_sec"]
        result["speedup_per_window"] = [
            round(b / f, 3) for f, b in zip(cases[0].window_seconds, cases[1].window_seconds)]
    return result


def add_common_arguments(parser, defaults, steps, windows, warmup):
    """The harnesses' shared flags: the speed flags (training's defaults), the
    timing windows, the baseline comparison and the JSON output."""
    speed_flag = dict(action=argparse.BooleanOptionalAction, help="(training's default)")
    parser.add_argument("--jit_compile", default=defaults.jit_compile, **speed_flag)
    parser.add_argument("--mixed_precision", choices=["float32", "bfloat16"],
                        default=defaults.mixed_precision, help="(training's default)")
    parser.add_argument("--fused_optimizer", default=defaults.fused_optimizer, **speed_flag)
    parser.add_argument("--cache", default=defaults.cache, **speed_flag)
    parser.add_argument("--steps", type=int, default=steps, help="training steps per timed window")
    parser.add_argument("--windows", type=int, default=windows, help="timed windows (per case)")
    parser.add_argument("--warmup", type=int, default=warmup, help="steps after the compiling one")
    parser.add_argument("--baseline", action="store_true",
                        help="time only the models with every optimisation off")
    parser.add_argument("--compare_baseline", action="store_true",
                        help="time the case and the baseline, alternating windows")
    parser.add_argument("--json", default=None, help="write the figures to this file")
