"""Applies one operation to every image of a folder, e.g. to build pix2pix datasets.

    python tools/process.py --input_dir photos --operation resize --output_dir photos_256
"""

import os
import sys

# Lets the script run from a checkout without installing the package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pix2pix_tf.dataset_tools import cli

if __name__ == "__main__":
    cli.process_entry()
