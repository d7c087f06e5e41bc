"""Benchmark (not a test): where a cgan_mnist_tf training step's time goes, by op type.

The step `benchmarks/cgan_bench.py` times (one D and one G update on a
fixed batch, the speed flags given or `auto`), recorded with TensorFlow's
profiler after a warm-up: the op types that took the most time on the
host's TensorFlow threads, with their share (ops that run at once each count).

    python benchmarks/cgan_profile.py --model mlp --batch_size 64
    python benchmarks/cgan_profile.py --model mlp --mixed_precision float32
"""

import argparse
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
from pix2pix_tf.common import quiet

quiet.load_tensorflow("--verbose" in sys.argv)

from benchmarks import cgan_bench as bench
from benchmarks import profiling
from cgan_mnist_tf import choices, train
from cgan_mnist_tf.options import Options
from pix2pix_tf.common import speed


def main(argv=None, out=sys.stdout):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=choices.MODELS, default="mlp")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--mixed_precision", default="auto")
    parser.add_argument("--fused_optimizer", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)

    opts = Options(model=args.model, batch_size=args.batch_size, seed=0,
                   mixed_precision=args.mixed_precision, jit_compile=False,
                   fused_optimizer=args.fused_optimizer)
    dtype = speed.used(opts, "mixed_precision", flops_per_weight=train.flops_per_weight(opts))
    print(f"{args.model}, batch {args.batch_size}: precision {dtype}; fused Adam: "
          f"{args.fused_optimizer}; ONEDNN_MAX_CPU_ISA="
          f"{os.environ.get('ONEDNN_MAX_CPU_ISA', '(unset)')}", file=out)
    case = bench.Case("profiled", opts, bench.fixed_batch(opts))
    case.warm_up(args.warmup)
    return profiling.profile_op_types(case, args.steps, args.top, out)


if __name__ == "__main__":
    main()
