"""Benchmark (not a test): where a pix2pix training step's time goes, by op type.

Builds the training step as `python -m pix2pix_tf.bench` does (a fixed batch,
the speed flags given or `auto`), runs a few warm-up steps, records
`--steps` steps with TensorFlow's profiler and prints the op types that took
the most time on the host's TensorFlow threads, with their share. Ops that
run at the same time (the executor runs independent ops in parallel) each
count, so the total can exceed the wall time.

    python benchmarks/pix2pix_profile.py --mixed_precision float32
    ONEDNN_MAX_CPU_ISA=AVX2 python benchmarks/pix2pix_profile.py  # AVX2 kernels
"""

import argparse
import collections
import glob
import os
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
from tensorflow.tsl.profiler.protobuf import xplane_pb2  # noqa: E402

from pix2pix_tf import bench  # noqa: E402
from pix2pix_tf.common import speed  # noqa: E402
from pix2pix_tf.options import default_options  # noqa: E402

# Events that only wrap the ops inside them: counting them would count twice.
# ("Process" and "Run" are the executor's own events around them.)
WRAPPERS = ("StatefulPartitionedCall", "PartitionedCall", "While", "If", "StatelessIf",
            "__inference", "Identity", "NoOp", "_Retval", "_Arg", "Process", "Run")


def op_type_seconds(logdir):
    """{op type: seconds} summed over the host's TensorFlow op events in the
    profile written to `logdir`."""
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
                    if not op_type.startswith(WRAPPERS):
                        totals[op_type] += event.duration_ps * 1e-12
    return totals


def main(argv=None, out=sys.stdout):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crop_size", type=int, default=256)
    parser.add_argument("--ngf", type=int, default=64)
    parser.add_argument("--ndf", type=int, default=64)
    parser.add_argument("--mixed_precision", default="auto")
    parser.add_argument("--fused_optimizer", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)

    opts = default_options(mode="train", crop_size=args.crop_size, scale_size=args.crop_size,
                           ngf=args.ngf, ndf=args.ndf,
                           mixed_precision=args.mixed_precision, jit_compile=False,
                           fused_optimizer=args.fused_optimizer)
    print(f"precision: {speed.used(opts, 'mixed_precision')}; fused Adam: "
          f"{args.fused_optimizer}; ONEDNN_MAX_CPU_ISA="
          f"{os.environ.get('ONEDNN_MAX_CPU_ISA', '(unset)')}", file=out)
    case = bench.Case("profiled", opts, bench.fixed_batch(opts))
    case.warm_up(2)
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        start = time.perf_counter()
        case.run(args.steps)
        wall = (time.perf_counter() - start) / args.steps
        tf.profiler.experimental.stop()
        totals = op_type_seconds(logdir)
    total = sum(totals.values())
    print(f"{1e3 * wall:.0f} ms/step wall while profiled; op time {1e3 * total / args.steps:.0f}"
          " ms/step (ops running at once each counted)", file=out)
    print("| op type | ms/step | share |\n|---|---|---|", file=out)
    for op_type, seconds in totals.most_common(args.top):
        print(f"| {op_type} | {1e3 * seconds / args.steps:.1f} | {seconds / total:.1%} |",
              file=out)
    return totals


if __name__ == "__main__":
    main()
