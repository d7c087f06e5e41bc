"""A pix2pix training process that also saves the weights it ends with, for
tests of multi-worker runs: each worker's weights can then be compared.

    python -m tests.support.train_worker --weights_out W.npz --mode train ...

takes the flags of `python -m pix2pix_tf.main` plus --weights_out.
"""

import numpy as np
from absl import app, flags

from pix2pix_tf import main as cli
from pix2pix_tf import train

flags.DEFINE_string("weights_out", None, "Where to save {model/variable path: value} (.npz).")


def run(argv):
    del argv
    options, given = cli.options_from_flags()
    result = train.train(options, given)
    np.savez(flags.FLAGS.weights_out, **{
        f"{name}/{variable.path}": np.asarray(variable.numpy())
        for name, model in (("generator", result.model.generator),
                            ("discriminator", result.model.discriminator))
        for variable in model.weights})


if __name__ == "__main__":
    flags.mark_flag_as_required("weights_out")
    app.run(run)
