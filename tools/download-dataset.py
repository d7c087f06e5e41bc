"""Downloads a pix2pix dataset, or generates the offline synthetic_facades one.

    python tools/download-dataset.py facades
    python tools/download-dataset.py synthetic_facades
"""

import argparse
import os
import sys

# Lets `python tools/download-dataset.py` run from a checkout without installing the package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pix2pix_tf.common.errors import run_reporting_user_errors  # noqa: E402
from pix2pix_tf.dataset_tools import download, synthetic_facades  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("name", help="one of " + ", ".join(download.DATASETS + (synthetic_facades.NAME,)))
    parser.add_argument("--output_dir", default=".", help="folder to put the dataset folder in")
    parser.add_argument("--url_base", help=f"mirror of the dataset server (default ${download.URL_ENV} "
                                           f"or {download.DEFAULT_URL_BASE})")
    parser.add_argument("--count", type=int, default=400,
                        help="synthetic_facades: number of train images (val gets count/4)")
    parser.add_argument("--seed", type=int, default=0, help="synthetic_facades: random seed")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.name == synthetic_facades.NAME:
        synthetic_facades.generate(args.output_dir, count=args.count, seed=args.seed)
    else:
        download.download(args.name, args.output_dir, base=args.url_base)


if __name__ == "__main__":
    run_reporting_user_errors(main)
