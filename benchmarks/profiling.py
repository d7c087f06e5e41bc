"""Where a bench case's step time goes, by op type, from TensorFlow's
profiler (benchmarks/*_profile.py)."""

import collections
import glob
import os
import sys
import tempfile
import time

import tensorflow as tf

# Profiler events that only wrap the ops inside them: counting them would count
# twice. ("Process" and "Run" are the executor's own events around them.)
PROFILE_WRAPPERS = ("StatefulPartitionedCall", "PartitionedCall", "While", "If", "StatelessIf",
                    "__inference", "Identity", "NoOp", "_Retval", "_Arg", "Process", "Run")


def op_type_seconds(logdir: str) -> collections.Counter:
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


def profile_op_types(case, steps: int, top: int = 15, out=sys.stdout) -> collections.Counter:
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
