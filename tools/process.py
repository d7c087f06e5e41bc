"""Applies one operation to every image of a folder, e.g. to build pix2pix datasets.

    python tools/process.py --input_dir photos --operation resize --output_dir photos_256
"""

import argparse
import os
import sys

# Lets `python tools/process.py` run from a checkout without installing the package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pix2pix_tf.common.errors import run_reporting_user_errors  # noqa: E402
from pix2pix_tf.dataset_tools import process  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--input_dir", required=True, help="folder of input images")
    parser.add_argument("--output_dir", required=True, help="folder for the PNG outputs")
    parser.add_argument("--operation", required=True, choices=process.OPERATIONS)
    parser.add_argument("--workers", type=int, default=1, help="number of processes")
    parser.add_argument("--pad", action="store_true", help="resize: pad to a square instead of cropping")
    parser.add_argument("--size", type=int, default=256, help="resize: side of the output")
    parser.add_argument("--b_dir", help="combine: folder of the B images, paired by file name")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    written, _ = process.run(args.input_dir, args.output_dir, args.operation,
                                   b_dir=args.b_dir, size=args.size, pad=args.pad,
                                   workers=args.workers)
    if written:
        print(f"wrote {written} images to {args.output_dir}")


if __name__ == "__main__":
    run_reporting_user_errors(main)
