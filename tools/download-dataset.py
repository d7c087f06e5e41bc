"""Downloads a pix2pix dataset, or generates the offline synthetic_facades one.

    python tools/download-dataset.py facades
    python tools/download-dataset.py synthetic_facades
"""

import os
import sys

# Lets the script run from a checkout without installing the package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pix2pix_tf.dataset_tools import cli

if __name__ == "__main__":
    cli.download_entry()
