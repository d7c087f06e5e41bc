"""What runs show a person: progress lines, curves of what training logs, and
histograms of per-image scores (PNG files drawn with matplotlib's Agg renderer).

The curves' values are kept in a small JSON file beside the plot, so a
resumed run's curves start at its first step.
"""

from __future__ import annotations

import io
import json
import math
import os
import sys
import time

import numpy as np
from matplotlib.figure import Figure  # Not pyplot: no GUI backend, no global figure state.
from matplotlib.ticker import MaxNLocator

from pix2pix_tf.common import files


def plot_interval(max_steps: int | None, most: int, points: int = 100) -> int:
    """Steps between the points of a loss curve: about `points` over a run of
    `max_steps`, never fewer points than every `most` steps gives (0: none)."""
    if most <= 0:
        return 0
    return max(1, min(most, (max_steps or most * points) // points))


class History:
    """Values logged at training steps, loaded from and saved to a JSON file.

    Args:
        path: the JSON file, read if it exists.
        start_step: the step training starts from; records after it (logged by
            a run that stopped before its next checkpoint) are dropped, since
            the resumed run logs those steps again.
    """

    def __init__(self, path, start_step=0):
        self.path = path
        self.records = []
        if start_step and files.isfile(path):
            try:
                self.records = [r for r in json.loads(files.read_bytes(path))
                                if r["step"] <= start_step]
            except (OSError, ValueError, TypeError, KeyError):
                self.records = []  # Only a plot's history: start it again rather than fail.

    def add(self, step, logs):
        """Records {name: scalar} (floats, numpy or tensor scalars) at `step`."""
        self.records.append({"step": int(step), **{k: float(v) for k, v in logs.items()}})

    def write_plot(self, panels):
        """Saves the records and plots them beside, as NAME.png for NAME.json
        (see `plot` for `panels`); returns the PNG's path, or None (and
        writes nothing) while nothing was recorded."""
        if not self.records:
            return None
        files.write_json(self.path, self.records)
        path = os.path.splitext(self.path)[0] + ".png"
        plot(path, self.records, panels)
        return path


def plot(path, records, panels, xlabel="step"):
    """Writes a PNG of one panel per entry of `panels`, side by side.

    Args:
        path: the PNG file, written atomically.
        records: [{"step": int, name: float, ...}] as History keeps them.
        panels: [(title, [(name, label), ...])]: the curves of each panel.
    """
    figure = Figure(figsize=(4.2 * len(panels), 3.2), dpi=100, layout="constrained")
    steps = [record["step"] for record in records]
    marker = "." if len(steps) < 30 else None  # A few points: show them, not only lines.
    for axes, (title, curves) in zip(figure.subplots(1, len(panels), squeeze=False)[0], panels):
        for name, label in curves:
            axes.plot(steps, [record.get(name, math.nan) for record in records], label=label,
                      marker=marker)
        axes.set_title(title)
        axes.set_xlabel(xlabel)
        axes.grid(alpha=0.3)
        if len(curves) > 1:
            axes.legend()
    _save(figure, path)


def histograms(path, columns):
    """Writes a PNG of one histogram per entry of `columns`, side by side,
    each with its mean marked.

    Args:
        path: the PNG file, written atomically.
        columns: {x-axis label: list of numbers}, e.g. a metric over images.
    """
    figure = Figure(figsize=(4.5 * len(columns), 3.2), dpi=100, layout="constrained")
    for axes, (label, values) in zip(figure.subplots(1, len(columns), squeeze=False)[0],
                                     columns.items()):
        values = np.asarray(values, np.float64)
        axes.hist(values, bins=int(np.clip(np.sqrt(len(values)), 5, 40)), color="#4a7ab5")
        axes.axvline(values.mean(), color="#c33", linestyle="--", label=f"mean {values.mean():.4f}")
        axes.set_xlabel(label)
        axes.set_ylabel("count")
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.legend(fontsize="small")
    _save(figure, path)


def _save(figure, path):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    files.write_atomic(path, buffer.getvalue())


def format_duration(seconds):
    seconds = int(max(0, seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    return f"{minutes}m{secs:02d}s"


def format_bytes(count):
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.0f}{unit}" if unit == "B" else f"{count:.1f}{unit}"
        count /= 1024.0
    return f"{count}B"  # Unreachable; keeps linters quiet.


def counting_line(done, total, elapsed, unit="images"):
    """`12/100 done, 3.4 images/sec, 0m25s remaining`."""
    rate = done / elapsed if elapsed > 0 else 0.0
    remaining = (total - done) / rate if rate > 0 else 0.0
    return (f"{done}/{total} done, {rate:.1f} {unit}/sec, "
            f"{format_duration(elapsed)} elapsed, {format_duration(remaining)} remaining")


def bytes_line(done, total, elapsed, width=30):
    """`[#####.....] 45% 12.0MB/26.7MB 3.1MB/s 0m05s remaining` (no total: no bar)."""
    rate = done / elapsed if elapsed > 0 else 0.0
    if not total:
        return f"{format_bytes(done)} {format_bytes(rate)}/s"
    fraction = min(1.0, done / total)
    filled = int(fraction * width)
    remaining = (total - done) / rate if rate > 0 else 0.0
    return (f"[{'#' * filled}{'.' * (width - filled)}] {fraction * 100:3.0f}% "
            f"{format_bytes(done)}/{format_bytes(total)} {format_bytes(rate)}/s "
            f"{format_duration(remaining)} remaining")


class Reporter:
    """Prints a line from `make_line(done, total, elapsed)` at most every `interval` s.

    On a terminal the line is redrawn in place; in a log every update is a new line.
    """

    def __init__(self, total, make_line, stream=None, interval=1.0, clock=time.monotonic):
        self.total = total
        self.make_line = make_line
        self.stream = stream or sys.stderr
        self.interval = interval
        self.clock = clock
        self.start = clock()
        self.last_print = None
        self.in_place = hasattr(self.stream, "isatty") and self.stream.isatty()

    def update(self, done, force=False):
        now = self.clock()
        if not force and self.last_print is not None and now - self.last_print < self.interval:
            return
        self.last_print = now
        line = self.make_line(done, self.total, now - self.start)
        if self.in_place:
            self.stream.write("\r" + line + "\033[K")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def finish(self, done):
        self.update(done, force=True)
        if self.in_place:
            self.stream.write("\n")
            self.stream.flush()


class TrainingProgress:
    """The progress line of a training run: epoch, step of the run's steps,
    images/sec, time remaining and the losses, e.g.

        progress  epoch 2  step 50/200  image/sec 3.1  remaining 0m48s  d_loss 0.6931
    """

    def __init__(self, steps_per_epoch: int, max_steps, batch_size: int, log):
        self.steps_per_epoch = steps_per_epoch
        self.max_steps = max_steps
        self.batch_size = batch_size
        self.log = log
        self.start_time = self.start_step = None

    def show(self, step: int, logs: dict, count: int = 1) -> None:
        """Prints the line of `step`, reached by a call of `count` steps."""
        self.log(self.line(step, logs, count))

    def started(self, step: int) -> None:
        """Marks the end of the first call, which traces and compiles: rates count from there."""
        if self.start_time is None:
            self.start_time, self.start_step = time.time(), step

    def line(self, step: int, logs: dict, count: int = 1) -> str:
        elapsed = time.time() - self.start_time if self.start_time is not None else 0.0
        done = step - self.start_step if self.start_step is not None else 0
        rate = done * self.batch_size / elapsed if elapsed > 0 and done > 0 else 0.0
        parts = [f"progress  epoch {(step - 1) // self.steps_per_epoch + 1}",
                 f"step {step}" + (f"/{self.max_steps}" if self.max_steps else ""),
                 f"image/sec {rate:.1f}"]
        if self.max_steps and rate > 0:
            parts.append(f"remaining "
                         f"{format_duration((self.max_steps - step) * self.batch_size / rate)}")
        parts += [f"{name} {float(value):.4f}" for name, value in logs.items()]
        return "  ".join(parts)
