r"""Conditional GANs on MNIST: train, generate, eval.

    python -m cgan_mnist_tf.main --mode train --output_dir runs/cgan --dataset mnist_5k
    python -m cgan_mnist_tf.main --mode generate --checkpoint runs/cgan --labels 3,1,4 \
        --num 8 --output digits.png
    python -m cgan_mnist_tf.main --mode eval --checkpoint runs/cgan
"""

from absl import app
from absl import flags
from absl import logging

from cgan_mnist_tf import data
from cgan_mnist_tf import models
from cgan_mnist_tf import run_options
from pix2pix_tf.common import distribute
from pix2pix_tf.common import speed
from pix2pix_tf.common.errors import run_reporting_user_errors

D = run_options.DEFAULTS
flags.DEFINE_enum("mode", "train", ["train", "generate", "eval"], "What to do.")
flags.DEFINE_string("output_dir", None, "Folder of the run (train) or of metrics.json (eval).")
flags.DEFINE_string("checkpoint", None, "A run's folder: resume it (train) or use its generator.")
flags.DEFINE_enum("model", D["model"], list(models.MODELS), "mlp (28x28) or conv (DCGAN, 32x32).")
flags.DEFINE_boolean("conditional", D["conditional"], "Condition on the label; --noconditional "
                     "trains the plain MLP GAN.")
flags.DEFINE_enum("dataset", D["dataset"], list(data.DATASETS), "The digits to learn.")
flags.DEFINE_string("data_dir", None, "A folder with the four MNIST IDX files (gzip or not) or "
                    "mnist.npz, used instead of tensorflow-datasets.")
flags.DEFINE_integer("epochs", D["epochs"], "Epochs to train in total.")
flags.DEFINE_integer("batch_size", D["batch_size"], "Images per step.")
flags.DEFINE_integer("latent_dim", D["latent_dim"], "Size of the noise z.")
flags.DEFINE_float("lr", D["lr"], "Adam learning rate of both networks.")
flags.DEFINE_float("beta1", D["beta1"], "Adam beta_1.")
flags.DEFINE_integer("sample_interval", D["sample_interval"], "Steps between sample grids.")
flags.DEFINE_integer("seed", D["seed"], "Random seed (training; noise of generate and eval).")
# Speed: the same model either way; `auto` is decided on the run's machine.
speed.define_flags()
# Distribution: --batch_size is the global batch, split over the replicas.
flags.DEFINE_enum("strategy", D["strategy"], list(distribute.STRATEGIES),
                  "default: one device; mirrored: every GPU of this machine (the CPU without); "
                  "multi_worker: every machine of the TF_CONFIG cluster; tpu: the TPU of --tpu.")
flags.DEFINE_string("tpu", None, "--strategy tpu: TPU name, grpc:// address or 'local' "
                    "(default: $TPU_NAME).")
flags.DEFINE_boolean("sync_batchnorm", D["sync_batchnorm"], "With several replicas, batch norm "
                     "uses the statistics of the global batch rather than each replica's part.")
flags.DEFINE_string("labels", None, "generate: comma-separated digits, one row each (default 0..9).")
flags.DEFINE_integer("num", 8, "generate: samples per label (steps of the walk with --interpolate).")
flags.DEFINE_string("output", None, "generate: the PNG to write (default CHECKPOINT/generated.png).")
flags.DEFINE_boolean("interpolate", False, "generate: walk z between two points for each label.")
flags.DEFINE_integer("eval_samples", 100, "eval: generated images per class.")
flags.DEFINE_integer("classifier_epochs", 3, "eval: epochs of the classifier (trained once, cached).")

FLAGS = flags.FLAGS
OPTION_FLAGS = ("output_dir", "checkpoint", "model", "conditional", "dataset", "data_dir", "epochs",
                "batch_size", "latent_dim", "lr", "beta1", "sample_interval", "seed",
                "jit_compile", "mixed_precision", "cache", "fused_optimizer", "intra_op_threads",
                "inter_op_threads", "strategy", "tpu", "sync_batchnorm",
                "labels", "num", "output", "interpolate", "eval_samples", "classifier_epochs")


def run(mode, options, given):
    if mode == "train":
        from cgan_mnist_tf import train  # Imports TensorFlow: only once the flags are fine.
        return train.train(options, given)
    if mode == "generate":
        from cgan_mnist_tf import generate
        return generate.generate(options)
    from cgan_mnist_tf import evaluate
    return evaluate.evaluate(options, given)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    logging.set_verbosity(logging.WARNING)  # TensorFlow's INFO lines would bury the progress.
    options = {name: FLAGS[name].value for name in OPTION_FLAGS}
    given = {name for name in OPTION_FLAGS if FLAGS[name].present}
    run_reporting_user_errors(run, FLAGS.mode, options, given)


if __name__ == "__main__":
    app.run(main)
