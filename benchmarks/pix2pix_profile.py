"""Benchmark (not a test): where a pix2pix training step's time goes, by op type.

Builds the training step as `benchmarks/pix2pix_bench.py` does (a fixed batch,
the speed flags given or `auto`), runs a few warm-up steps, records
`--steps` steps with TensorFlow's profiler and prints the op types that took
the most time on the host's TensorFlow threads, with their share. Ops that
run at the same time (the executor runs independent ops in parallel) each
count, so the total can exceed the wall time.

    python benchmarks/pix2pix_profile.py --mixed_precision float32
    ONEDNN_MAX_CPU_ISA=AVX2 python benchmarks/pix2pix_profile.py  # AVX2 kernels
"""

import argparse
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
from pix2pix_tf.common import quiet

quiet.load_tensorflow("--verbose" in sys.argv)

from benchmarks import pix2pix_bench as bench
from benchmarks import profiling
from pix2pix_tf.common import speed
from pix2pix_tf.options import default_options


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
    return profiling.profile_op_types(case, args.steps, args.top, out)


if __name__ == "__main__":
    main()
