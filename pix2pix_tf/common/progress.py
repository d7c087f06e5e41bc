"""Progress lines with count, rate and time remaining, throttled to about one a second."""

import sys
import time


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
