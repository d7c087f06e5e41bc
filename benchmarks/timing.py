"""Timing training steps: one configuration's step in windows of steps,
several configurations in alternating windows (so a load change hits them
alike), and the yardstick kernels timed in the same windows.
"""

import statistics
import time
from collections.abc import Callable
from typing import Any

import tensorflow as tf

from benchmarks import rates
from pix2pix_tf.common import options as common_options

# Every optimisation off: what "baseline" means in both benches.
BASELINE = {"jit_compile": False, "mixed_precision": "float32", "fused_optimizer": False,
            "cache": False}
SPEED_OPTIONS = tuple(BASELINE)


def with_settings(options: Any, **values) -> Any:
    """`options` with the speed `values` decided (so no `auto` decision
    overrides them): the baseline's and --tune's combinations."""
    return common_options.replace(options, **values)


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

    def run_step(self) -> tf.Tensor:
        raise NotImplementedError

    def run(self, steps: int) -> float | None:
        """Runs `steps` steps; the last loss, read (which waits for it)."""
        loss = None
        for _ in range(steps):
            loss = self.run_step()
        return None if loss is None else float(loss)  # Reading it waits for the last step.

    def warm_up(self, steps: int) -> None:
        """The compiling step (timed on its own), then `steps` more."""
        start = time.perf_counter()
        self.run(1)  # Traces and compiles.
        self.compile_seconds = time.perf_counter() - start
        self.run(steps)

    def time_window(self, steps: int) -> None:
        """Times one window of `steps` steps."""
        start = time.perf_counter()
        self.run(steps)
        self.window_seconds.append((time.perf_counter() - start) / steps)

    def figures(self, batch_size: int, flops: float, option_names: tuple = SPEED_OPTIONS) -> dict:
        """The case's rates over its windows, for the table and --json."""
        rates_ = [batch_size / s for s in self.window_seconds]
        median_seconds = statistics.median(self.window_seconds)
        return {"options": {k: getattr(self.options, k) for k in option_names
                            if hasattr(self.options, k)},
                "images_per_sec": statistics.median(rates_), "images_per_sec_min": min(rates_),
                "images_per_sec_max": max(rates_), "ms_per_step": 1e3 * median_seconds,
                "gflops_achieved": flops / median_seconds / 1e9,
                "compile_seconds": self.compile_seconds,
                "window_ms_per_step": [round(1e3 * s, 3) for s in self.window_seconds]}


class KernelCase(TimedCase):
    """A yardstick kernel of `rates.kernel` timed in the same windows as the
    cases, so the step's share of it is measured under the same load."""

    def __init__(self, kind, dtype, seconds_per_window=0.5):
        super().__init__(f"{kind} {dtype}", None)
        self.kind, self.dtype = kind, dtype
        self.run_step, self.flops = rates.kernel(kind, dtype)
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

    def gflops(self) -> float:
        return self.flops / statistics.median(self.window_seconds) / 1e9


def yardsticks(kind: str, precisions: list) -> list:
    """KernelCases of `kind` for each of `precisions` (once each)."""
    return [KernelCase(kind, dtype) for dtype in dict.fromkeys(precisions)]


def compare(cases: list, *, warmup: int, windows: int, steps: int, batch_size: int, flops: float,
            option_names: tuple = SPEED_OPTIONS, yardsticks: list = ()) -> dict:
    """Warms up each case, times them in alternating windows and returns
    {"cases": {name: figures}}, plus, for two cases (first, second), the
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
        first, second = (result["cases"][case.name] for case in cases)
        result["speedup"] = first["images_per_sec"] / second["images_per_sec"]
        result["speedup_per_window"] = [
            round(b / f, 3) for f, b in zip(cases[0].window_seconds, cases[1].window_seconds)]
    return result


def latency_ms(run: Callable[[], tf.Tensor], repeats: int = 20) -> float:
    """Median ms of `run()` (which returns a tensor) after three warm-up calls."""
    for _ in range(3):
        run().numpy()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run().numpy()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)
