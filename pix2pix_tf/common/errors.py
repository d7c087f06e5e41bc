"""Errors caused by what the user asked for, reported as one line without a traceback."""

import sys


class UserError(Exception):
    """Bad input: a missing folder, an undecodable image, a conflicting flag.

    The command-line entry points print the message on one line and exit with
    status 2; nothing else in the packages catches it.
    """


def run_reporting_user_errors(fn, *args, **kwargs):
    """Calls fn; turns a UserError into `error: MESSAGE` on stderr and exit 2."""
    try:
        return fn(*args, **kwargs)
    except UserError as e:
        message = " ".join(str(e).split())  # Always exactly one line.
        print(f"error: {message}", file=sys.stderr, flush=True)
        sys.exit(2)
