"""python -m pix2pix_tf.serving --model RUN: the pix2pix-serve command."""

from pix2pix_tf.serving.cli import entry

if __name__ == "__main__":
    entry()
