"""Errors caused by what the user asked for, reported as one line without a traceback."""

import contextlib
import errno
import signal
import sys


class UserError(Exception):
    """Bad input: a missing folder, an undecodable image, a conflicting flag.

    The command-line entry points print the message on one line and exit with
    status 2; nothing else in the packages catches it.
    """


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived during `interrupting_signals()`.

    A BaseException (as KeyboardInterrupt), so that only `finally` blocks and
    the entry points see it; they exit with the shell's status 128 + signal.
    """

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def interrupting_signals():
    """SIGINT and SIGTERM raise Interrupted inside the block, so that its
    `finally` clean-ups run (SIGTERM's default action would kill the process
    without them). In a thread other than the main one, signals are left alone.

        with interrupting_signals():
            try: ...write temporary files...
            finally: ...remove them...
    """
    raised = []

    def handle(signum, frame):
        if not raised:  # Once: a second signal must not cut the clean-ups short.
            raised.append(signum)
            raise Interrupted(signum)

    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[sig] = signal.signal(sig, handle)
        except ValueError:  # Not the main thread.
            pass
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def exit_status(signum):
    """The status of a job ended by signal `signum`, as shells report it (143 for SIGTERM)."""
    return 128 + int(signum)


def exit_with_error(message):
    """Prints `error: MESSAGE` as one line on stderr and exits with status 2:
    how the entry points report bad input."""
    message = " ".join(str(message).split())  # Always exactly one line.
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def disk_full(error: BaseException) -> bool:
    """Whether `error` (an OSError, or TensorFlow's for its own writes) says the disk is full."""
    return getattr(error, "errno", None) == errno.ENOSPC or "No space left on device" in str(error)


def run_reporting_user_errors(fn, *args, **kwargs):
    """Calls fn; turns a UserError into `error: MESSAGE` on stderr and exit 2,
    and an interruption (Ctrl-C, SIGTERM) into one line and the status 128 + signal.

    A result with a `stopped` signal name (a training run that saved and
    stopped on SIGTERM or Ctrl-C) also exits with 128 + that signal, so that
    a job scheduler sees the job as terminated, not finished.
    """
    try:
        result = fn(*args, **kwargs)
    except UserError as e:
        exit_with_error(e)
    except Exception as e:  # TensorFlow's file errors are not OSErrors.
        if not disk_full(e):
            raise
        where = getattr(e, "filename", None) or " ".join(str(e).split())[:300]
        exit_with_error(f"no space left on the device: {where}")
    except Interrupted as e:
        print(f"stopped by {e}", file=sys.stderr, flush=True)
        sys.exit(exit_status(e.signum))
    except KeyboardInterrupt:
        print("stopped by SIGINT", file=sys.stderr, flush=True)
        sys.exit(exit_status(signal.SIGINT))
    stopped = getattr(result, "stopped", None)
    if stopped:
        sys.exit(exit_status(signal.Signals[stopped]))
    return result
