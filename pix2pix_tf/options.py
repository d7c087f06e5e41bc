"""What the pix2pix options mean beyond their flags: which define the model,
their checks, and the values derived from others."""

import math

from pix2pix_tf import data, models
from pix2pix_tf.common.errors import UserError

# Options whose values the checkpoint's weights depend on, and --dropout: the
# weights are the same without dropout, but a network trained without it is
# tested and resumed without it. (--strategy and --sync_batchnorm are not
# here: how a run is spread over devices may change when it is resumed.)
MODEL_KEYS = ("which_direction", "lab_colorization", "ngf", "ndf", "crop_size", "generator",
              "discriminator", "n_layers_D", "separable_conv", "dropout")


def scale_size(options):
    """--scale_size, or the reference's 286/256 ratio of the crop when not given."""
    if options.get("scale_size"):
        return options["scale_size"]
    return round(options["crop_size"] * 286 / 256)


def check(options):
    """Raises UserError for values that cannot train or test (every mode calls
    it, after the checkpoint's model options are merged in)."""
    _check_numbers(options)
    try:
        models.check_crop_size(options["crop_size"])
    except ValueError as e:
        raise UserError(str(e)) from e
    if scale_size(options) < options["crop_size"]:
        raise UserError(f"--scale_size {scale_size(options)} is smaller than "
                        f"--crop_size {options['crop_size']}: the random crop needs scale_size >= crop_size")
    for name in ("batch_size", "ngf", "ndf"):
        if options[name] < 1:
            raise UserError(f"--{name} must be at least 1, not {options[name]}")
    if options["discriminator"] == "patch" and options["n_layers_D"] < 1:
        raise UserError(f"--n_layers_D must be at least 1, not {options['n_layers_D']}")
    # The PatchGAN's stride-2 layers must leave at least a 4x4 map for its last two convs.
    if options["discriminator"] == "patch" and options["crop_size"] // 2 ** options["n_layers_D"] < 4:
        raise UserError(f"--n_layers_D {options['n_layers_D']} is too deep for "
                        f"--crop_size {options['crop_size']}")


def _check_numbers(options):
    def integer(name, low, optional=False):
        value = options.get(name)
        if value is None and optional:
            return
        if not isinstance(value, int) or value < low:
            raise UserError(f"--{name} must be at least {low}, not {value}")

    def number(name, low, high=None, low_open=False):
        value = options.get(name)
        ok = (isinstance(value, (int, float)) and math.isfinite(value)
              and (value > low if low_open else value >= low) and (high is None or value < high))
        if not ok:
            bounds = (f"in [{low}, {high})" if high is not None else
                      f"more than {low}" if low_open else f"at least {low}")
            raise UserError(f"--{name} must be a number {bounds}, not {value}")

    for name in ("max_steps", "max_epochs"):
        integer(name, 0, optional=True)
    integer("scale_size", 1, optional=True)
    for name in ("summary_freq", "progress_freq", "display_freq", "save_freq",
                 "intra_op_threads", "inter_op_threads", "seed"):
        integer(name, 0)
    number("lr", 0, low_open=True)
    number("beta1", 0, 1)
    number("l1_weight", 0)
    number("gan_weight", 0)
    number("aspect_ratio", 0, low_open=True)


def generator_from_options(opts, sync_batchnorm=False):
    """sync_batchnorm: batch statistics over the replicas (training under a
    tf.distribute strategy with several replicas and --sync_batchnorm)."""
    in_channels, out_channels = data.channels(opts["lab_colorization"], opts["which_direction"])
    return models.generator(opts["crop_size"], in_channels, out_channels, opts["ngf"],
                            skips=opts["generator"] == "unet", separable=opts["separable_conv"],
                            dropout=opts.get("dropout", True), sync_batchnorm=sync_batchnorm)


def discriminator_from_options(opts, sync_batchnorm=False):
    in_channels, out_channels = data.channels(opts["lab_colorization"], opts["which_direction"])
    return models.discriminator(opts["crop_size"], in_channels, out_channels, opts["ndf"],
                                kind=opts["discriminator"], n_layers=opts["n_layers_D"],
                                sync_batchnorm=sync_batchnorm)
