"""The command lines of the dataset tools: tools/process.py, tools/split.py and
tools/download-dataset.py in a checkout, pix2pix-process, pix2pix-split and
pix2pix-download once installed. Each *_main(argv) parses its arguments and
calls the operation."""

from pix2pix_tf.common.errors import run_reporting_user_errors
from pix2pix_tf.common.options import ArgumentParser
from pix2pix_tf.dataset_tools import download, process, split, synthetic_facades


def _process_args(argv=None):
    parser = ArgumentParser(
        description="Applies one operation to every image of a folder, e.g. to build pix2pix datasets.")
    parser.add_argument("--input_dir", required=True, help="folder of input images")
    parser.add_argument("--output_dir", required=True, help="folder for the PNG outputs")
    parser.add_argument("--operation", required=True, choices=process.OPERATIONS)
    parser.add_argument("--workers", type=int, default=1, help="number of processes")
    parser.add_argument("--pad", action="store_true", help="resize: pad to a square instead of cropping")
    parser.add_argument("--size", type=int, default=256, help="resize: side of the output")
    parser.add_argument("--b_dir", help="combine: folder of the B images, paired by file name")
    return parser.parse_args(argv)


def process_main(argv=None):
    """tools/process.py, pix2pix-process: one operation on every image of a folder."""
    args = _process_args(argv)
    written, _ = process.run(args.input_dir, args.output_dir, args.operation,
                             b_dir=args.b_dir, size=args.size, pad=args.pad, workers=args.workers)
    if written:
        print(f"wrote {written} images to {args.output_dir}")


def _split_args(argv=None):
    parser = ArgumentParser(
        description="Moves the images of a folder into train/ and val/ (and test/) subfolders.")
    parser.add_argument("--dir", required=True, help="folder of images to split in place")
    parser.add_argument("--train_frac", type=float, default=0.8, help="fraction moved to train/")
    parser.add_argument("--test_frac", type=float, default=0.0, help="fraction moved to test/")
    parser.add_argument("--sort", action="store_true",
                        help="split in file name order instead of a seeded shuffle")
    return parser.parse_args(argv)


def split_main(argv=None):
    """tools/split.py, pix2pix-split: train/ and val/ (and test/) of a folder."""
    args = _split_args(argv)
    split.run(args.dir, args.train_frac, args.test_frac, args.sort)


def _download_args(argv=None):
    parser = ArgumentParser(
        description="Downloads a pix2pix dataset, or generates the offline synthetic_facades one.")
    parser.add_argument("name", help="one of " + ", ".join(download.DATASETS + (synthetic_facades.NAME,)))
    parser.add_argument("--output_dir", default=".", help="folder to put the dataset folder in")
    parser.add_argument("--url_base", help=f"mirror of the dataset server (default ${download.URL_ENV} "
                                           f"or {download.DEFAULT_URL_BASE})")
    parser.add_argument("--count", type=int, default=400,
                        help="synthetic_facades: number of train images (val gets count/4)")
    parser.add_argument("--seed", type=int, default=0, help="synthetic_facades: random seed")
    return parser.parse_args(argv)


def download_main(argv=None):
    """tools/download-dataset.py, pix2pix-download: a dataset by name."""
    args = _download_args(argv)
    if args.name == synthetic_facades.NAME:
        synthetic_facades.generate(args.output_dir, count=args.count, seed=args.seed)
    else:
        download.download(args.name, args.output_dir, base=args.url_base)


# Entry points (console_scripts and tools/): a UserError is one `error:` line, exit status 2.
def process_entry():
    run_reporting_user_errors(process_main)


def split_entry():
    run_reporting_user_errors(split_main)


def download_entry():
    run_reporting_user_errors(download_main)
