"""Curves of what training logs, and histograms of per-image scores, as PNG
files drawn with matplotlib's Agg renderer.

The values are kept in a small JSON file beside the plot, so a resumed run's
curves start at its first step.
"""

import io
import json
import math
import os

import numpy as np
from matplotlib.figure import Figure  # Not pyplot: no GUI backend, no global figure state.
from matplotlib.ticker import MaxNLocator

from pix2pix_tf.common import files


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
