"""Moves the images of a folder into train/ and val/ (and test/) subfolders.

    python tools/split.py --dir facades_combined
"""

import argparse
import os
import sys

# Lets `python tools/split.py` run from a checkout without installing the package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pix2pix_tf.common.errors import run_reporting_user_errors  # noqa: E402
from pix2pix_tf.dataset_tools import split  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", required=True, help="folder of images to split in place")
    parser.add_argument("--train_frac", type=float, default=0.8, help="fraction moved to train/")
    parser.add_argument("--test_frac", type=float, default=0.0, help="fraction moved to test/")
    parser.add_argument("--sort", action="store_true",
                        help="split in file name order instead of a seeded shuffle")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    split.run(args.dir, args.train_frac, args.test_frac, args.sort)


if __name__ == "__main__":
    run_reporting_user_errors(main)
