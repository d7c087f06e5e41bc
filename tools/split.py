"""Moves the images of a folder into train/ and val/ (and test/) subfolders.

    python tools/split.py --dir facades_combined
"""

import os
import sys

# Lets the script run from a checkout without installing the package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pix2pix_tf.dataset_tools import cli

if __name__ == "__main__":
    cli.split_entry()
