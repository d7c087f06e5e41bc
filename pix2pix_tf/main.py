"""Command line of pix2pix_tf, the flags of the reference pix2pix.py.

    python -m pix2pix_tf.main --mode train --input_dir facades/train \\
        --output_dir facades_train --which_direction BtoA --max_epochs 200
"""

import os
import random

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging  # noqa: E402

from pix2pix_tf import models  # noqa: E402
from pix2pix_tf.common import distribute, speed  # noqa: E402
from pix2pix_tf.common.errors import run_reporting_user_errors  # noqa: E402

_ABSL_FLAGS = set(flags.FLAGS)

flags.DEFINE_enum("mode", None, ["train", "test", "eval", "export"],
                  "train; test: images, metrics and index.html of a folder; eval: metrics only; "
                  "export: a SavedModel of the generator.")
flags.DEFINE_string("input_dir", None, "Folder of A|B image pairs (or of photos with --lab_colorization).")
flags.DEFINE_string("output_dir", None, "Where checkpoints, summaries and images go.")
flags.DEFINE_integer("seed", None, "Random seed; a random one (saved in options.json) if not given.")
flags.DEFINE_string("checkpoint", None, "Folder of a run to resume (train) or to use (test, export).")

flags.DEFINE_integer("max_steps", None, "Number of training steps, counted from the first run.")
flags.DEFINE_integer("max_epochs", None, "Number of training epochs, counted from the first run.")
flags.DEFINE_integer("summary_freq", 100, "Write TensorBoard summaries every N steps (0: never).")
flags.DEFINE_integer("progress_freq", 50, "Print progress every N steps (0: never).")
flags.DEFINE_integer("display_freq", 0, "Write images and index.html every N steps (0: never).")
flags.DEFINE_integer("save_freq", 5000, "Save a checkpoint every N steps (0: only at the end).")

# Distribution: not model-defining (saved in options.json, a resumed run may change them).
flags.DEFINE_enum("strategy", "default", list(distribute.STRATEGIES),
                  "default: one device; mirrored: every GPU of this machine (the CPU without); "
                  "multi_worker: every machine of the TF_CONFIG cluster; tpu: the TPU of --tpu. "
                  "--batch_size is the global batch, split over the replicas.")
flags.DEFINE_string("tpu", None, "--strategy tpu: TPU name, grpc:// address or 'local' "
                    "(default: $TPU_NAME).")
flags.DEFINE_boolean("sync_batchnorm", False, "With several replicas, batch norm uses the "
                     "statistics of the global batch rather than each replica's part of it.")

flags.DEFINE_float("aspect_ratio", 1.0, "Width/height ratio of the images written by test mode.")
flags.DEFINE_boolean("eval_mode", False, "Test/eval/export with moving batch-norm statistics and no "
                     "dropout (deterministic), instead of the paper's batch statistics and dropout.")
flags.DEFINE_enum("output_filetype", "png", ["png", "jpeg"], "Image format the export returns.")
flags.DEFINE_boolean("lab_colorization", False, "Train a colouriser: lightness in, colour out.")
flags.DEFINE_integer("batch_size", 1, "Images per batch.")
flags.DEFINE_enum("which_direction", "AtoB", ["AtoB", "BtoA"], "Which half of each pair is the input.")
flags.DEFINE_integer("ngf", 64, "Generator filters in the first conv layer.")
flags.DEFINE_integer("ndf", 64, "Discriminator filters in the first conv layer.")
flags.DEFINE_integer("scale_size", None, "Resize images to this size before the random crop "
                     "(default 286 for crop 256, the same ratio for other crops).")
flags.DEFINE_integer("crop_size", 256, "Crop size: the networks' input size, a power of two 32..1024.")
flags.DEFINE_boolean("flip", True, "Flip images left-right at random (--noflip: never).")
flags.DEFINE_float("lr", 0.0002, "Adam learning rate.")
flags.DEFINE_float("beta1", 0.5, "Adam beta1.")
flags.DEFINE_float("l1_weight", 100.0, "Weight of the L1 term of the generator loss.")
flags.DEFINE_float("gan_weight", 1.0, "Weight of the GAN term of the generator loss.")

flags.DEFINE_boolean("separable_conv", False, "Separable convolutions and nearest-neighbour "
                     "upsampling in the generator.")
flags.DEFINE_boolean("dropout", True, "Dropout 0.5 in the generator's three innermost decoder "
                     "levels, as the paper (--nodropout: none; the same weights, but kept for "
                     "test, export and resume like the model options).")
flags.DEFINE_enum("generator", "unet", list(models.GENERATORS),
                  "unet, or encoder_decoder: the same network without skip connections.")
flags.DEFINE_enum("discriminator", "patch", list(models.DISCRIMINATORS),
                  "patch (PatchGAN), pixel (1x1 PixelGAN) or image (one logit per image).")
flags.DEFINE_integer("n_layers_D", 3, "PatchGAN depth: 1, 3, 5 give 16x16, 70x70, 286x286 patches.")

# Speed: not model-defining (saved in options.json, a resumed run may change
# them); `auto` is decided on the machine the run is on (common/speed.py).
speed.define_flags()

FLAGS = flags.FLAGS

# The options of a run: everything above, saved to options.json.
OPTION_NAMES = sorted(set(FLAGS) - _ABSL_FLAGS)


def default_options(**overrides):
    """Every option at its flag's default, then `overrides`: for calling the
    modes from Python (tests, notebooks) the way the command line does."""
    opts = {name: FLAGS[name].default for name in OPTION_NAMES}
    unknown = set(overrides) - set(opts)
    if unknown:
        raise ValueError(f"unknown options: {sorted(unknown)}")
    opts.update(overrides)
    if opts["seed"] is None:
        opts["seed"] = 0
    return opts


def options_from_flags():
    """(dict of every option's value, set of the options given on the command line)."""
    opts = {name: FLAGS[name].value for name in OPTION_NAMES}
    given = {name for name in OPTION_NAMES if FLAGS[name].present}
    if opts["seed"] is None:
        opts["seed"] = random.randint(0, 2 ** 31 - 1)
    return opts, given


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    logging.set_verbosity(logging.WARNING)  # TensorFlow's INFO lines drown the progress output.
    opts, given = options_from_flags()
    from pix2pix_tf import export, inference, train

    run = {
        "train": train.train,
        "test": lambda opts, given: inference.run(opts, given, write_images=True),
        "eval": lambda opts, given: inference.run(opts, given, write_images=False),
        "export": export.export,
    }[opts["mode"]]
    run_reporting_user_errors(run, opts, given)


if __name__ == "__main__":
    flags.mark_flag_as_required("mode")
    app.run(main)
