"""The pix2pix networks as Keras functional models.

Generator: the reference's U-Net (or the same encoder-decoder without skips).
Discriminator: the PatchGAN (n_layers_D sets the patch size), the 1x1 PixelGAN,
or a whole-image discriminator. All return logits; the sigmoid is in the loss.
"""

from __future__ import annotations

import math
import typing

import keras
from keras import layers

from pix2pix_tf.choices import DISCRIMINATORS, channels, check_crop_size

if typing.TYPE_CHECKING:
    import tensorflow as tf

    from pix2pix_tf.options import Options


def _init():
    return keras.initializers.RandomNormal(0.0, 0.02)


def _batch_norm(name, synchronized=False):
    # Training always normalises with batch statistics, as the reference does;
    # the moving statistics serve only --eval_mode. The reference's momentum
    # (0.1, never used there) would make them the last batch's; 0.99 averages
    # them over the last ~100 batches.
    # synchronized: batch statistics of the global batch, all-reduced over the
    # replicas of a tf.distribute strategy (the same weights either way).
    return layers.BatchNormalization(
        momentum=0.99, epsilon=1e-5, gamma_initializer=keras.initializers.RandomNormal(1.0, 0.02),
        synchronized=synchronized, name=name)


def _down(filters, separable, name):
    """4x4 stride-2 convolution, halving height and width."""
    if separable:
        return layers.SeparableConv2D(filters, 4, strides=2, padding="same",
                                      depthwise_initializer=_init(),
                                      pointwise_initializer=_init(), name=name)
    return layers.Conv2D(filters, 4, strides=2, padding="same", kernel_initializer=_init(), name=name)


def _up(x, filters, separable, name):
    """4x4 stride-2 transposed convolution, or nearest-neighbour upsampling
    followed by a separable convolution (the reference's --separable_conv)."""
    if separable:
        x = layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_upsample")(x)
        return layers.SeparableConv2D(filters, 4, padding="same", depthwise_initializer=_init(),
                                      pointwise_initializer=_init(), name=name)(x)
    return layers.Conv2DTranspose(filters, 4, strides=2, padding="same",
                                  kernel_initializer=_init(), name=name)(x)


def encoder_filters(crop_size: int, ngf: int) -> list[int]:
    """Filters of each encoder level: ngf, 2ngf, 4ngf, 8ngf, 8ngf, ... down to 1x1."""
    check_crop_size(crop_size)
    depth = int(math.log2(crop_size))
    return [ngf * min(2 ** i, 8) for i in range(depth)]


def generator(crop_size: int = 256, in_channels: int = 3, out_channels: int = 3, ngf: int = 64,
              skips: bool = True, separable: bool = False, dropout: bool = True,
              sync_batchnorm: bool = False, name: str = "generator") -> keras.Model:
    """The U-Net generator (skips=True) or the encoder-decoder (skips=False).

    Encoder level i: LeakyReLU(0.2) (not on the first), 4x4 stride-2 conv,
    batch norm (not on the first). Decoder level i: ReLU, 4x4 stride-2
    transposed conv, batch norm, dropout 0.5 on the three innermost levels;
    its input is the level below concatenated with encoder level i (skips).
    dropout=False leaves the dropout layers out (the weights are the same);
    sync_batchnorm synchronises batch statistics over replicas.
    """
    filters = encoder_filters(crop_size, ngf)
    depth = len(filters)
    inputs = keras.Input((crop_size, crop_size, in_channels), name="inputs")

    encoded = []
    x = inputs
    for level, f in enumerate(filters, start=1):
        if level > 1:
            x = LeakyReLU(0.2, name=f"encoder_{level}_lrelu")(x)
        x = _down(f, separable, f"encoder_{level}_conv")(x)
        if level > 1:
            x = _batch_norm(f"encoder_{level}_bn", sync_batchnorm)(x)
        encoded.append(x)

    # Decoder level k mirrors encoder level k: it outputs the size and width
    # of encoder level k - 1. Level 1 outputs the image.
    for level in range(depth, 0, -1):
        if level < depth and skips:
            x = layers.Concatenate(name=f"decoder_{level}_skip")([x, encoded[level - 1]])
        x = layers.ReLU(name=f"decoder_{level}_relu")(x)
        if level == 1:
            x = _up(x, out_channels, separable, "decoder_1_conv")
            outputs = layers.Activation("tanh", dtype="float32", name="outputs")(x)
        else:
            x = _up(x, filters[level - 2], separable, f"decoder_{level}_conv")
            x = _batch_norm(f"decoder_{level}_bn", sync_batchnorm)(x)
            if dropout and level > depth - 3:
                x = layers.Dropout(0.5, name=f"decoder_{level}_dropout")(x)
    return keras.Model(inputs, outputs, name=name)


class LeakyReLU(layers.Layer):
    """LeakyReLU's values and gradients (slope at 0, too) as a select, which
    grappler's remapper leaves alone: it fuses a conv, its bias and a LeakyRelu
    (or the max(x, slope * x) it recognises) even where the conv's output
    has other consumers (the U-Net's skip, the gradient), then fails (an error
    line, and no fusion in the whole step)."""

    def __init__(self, negative_slope: float = 0.2, **kwargs: typing.Any) -> None:
        super().__init__(**kwargs)
        self.negative_slope = negative_slope

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return keras.ops.where(x > 0, x, x * self.negative_slope)


def _patch_conv(x, filters, stride, name):
    """The reference's discriminator conv: pad 1, then a 4x4 'valid' conv."""
    x = layers.ZeroPadding2D(1, name=f"{name}_pad")(x)
    return layers.Conv2D(filters, 4, strides=stride, padding="valid",
                         kernel_initializer=_init(), name=name)(x)


def discriminator(crop_size: int = 256, in_channels: int = 3, target_channels: int = 3,
                  ndf: int = 64, kind: str = "patch", n_layers: int = 3,
                  sync_batchnorm: bool = False, name: str = "discriminator") -> keras.Model:
    """D(input, target) -> logits.

    patch: conv(ndf, stride 2), then n_layers convs of ndf * min(2^i, 8)
      filters (stride 2 but the last, which is 1) with batch norm, then a
      1-filter stride-1 conv; n_layers 1/3/5 give the paper's 16x16, 70x70
      and 286x286 receptive fields, a 256 input a 30x30 map for n_layers 3.
    pixel: 1x1 convs ndf -> 2ndf (batch norm) -> 1, a 1x1 receptive field.
    image: stride-2 convs down to 4x4, then a 4x4 'valid' conv to a single
      logit per image, which sees the whole image.
    sync_batchnorm synchronises batch statistics over replicas.
    """
    source = keras.Input((crop_size, crop_size, in_channels), name="inputs")
    target = keras.Input((crop_size, crop_size, target_channels), name="targets")
    x = layers.Concatenate(name="pair")([source, target])

    if kind == "patch":
        x = _patch_conv(x, ndf, 2, "layer_1_conv")
        x = LeakyReLU(0.2, name="layer_1_lrelu")(x)
        for i in range(n_layers):
            stride = 1 if i == n_layers - 1 else 2
            x = _patch_conv(x, ndf * min(2 ** (i + 1), 8), stride, f"layer_{i + 2}_conv")
            x = _batch_norm(f"layer_{i + 2}_bn", sync_batchnorm)(x)
            x = layers.LeakyReLU(0.2, name=f"layer_{i + 2}_lrelu")(x)
        x = _patch_conv(x, 1, 1, "logits")
    elif kind == "pixel":
        x = layers.Conv2D(ndf, 1, kernel_initializer=_init(), name="layer_1_conv")(x)
        x = LeakyReLU(0.2, name="layer_1_lrelu")(x)
        x = layers.Conv2D(ndf * 2, 1, use_bias=False, kernel_initializer=_init(),
                          name="layer_2_conv")(x)
        x = _batch_norm("layer_2_bn", sync_batchnorm)(x)
        x = layers.LeakyReLU(0.2, name="layer_2_lrelu")(x)
        x = layers.Conv2D(1, 1, kernel_initializer=_init(), name="logits")(x)
    elif kind == "image":
        size, level = crop_size, 1
        while size > 4:
            x = layers.Conv2D(ndf * min(2 ** (level - 1), 8), 4, strides=2, padding="same",
                              kernel_initializer=_init(), name=f"layer_{level}_conv")(x)
            if level > 1:
                x = _batch_norm(f"layer_{level}_bn", sync_batchnorm)(x)
            x = LeakyReLU(0.2, name=f"layer_{level}_lrelu")(x)
            size, level = size // 2, level + 1
        x = layers.Conv2D(1, 4, padding="valid", kernel_initializer=_init(), name="logits")(x)
    else:
        raise ValueError(f"--discriminator must be one of {DISCRIMINATORS}, not {kind!r}")
    logits = layers.Activation("linear", dtype="float32", name="float32_logits")(x)
    return keras.Model([source, target], logits, name=name)


def generator_from_options(options: Options, sync_batchnorm: bool = False) -> keras.Model:
    """The generator that pix2pix_tf.options.Options describe. sync_batchnorm:
    batch statistics over the replicas (--sync_batchnorm under a strategy of
    several replicas)."""
    in_channels, out_channels = channels(options.lab_colorization, options.which_direction)
    return generator(options.crop_size, in_channels, out_channels, options.ngf,
                     skips=options.generator == "unet", separable=options.separable_conv,
                     dropout=options.dropout, sync_batchnorm=sync_batchnorm)


def discriminator_from_options(options: Options, sync_batchnorm: bool = False) -> keras.Model:
    """The discriminator that pix2pix_tf.options.Options describe."""
    in_channels, out_channels = channels(options.lab_colorization, options.which_direction)
    return discriminator(options.crop_size, in_channels, out_channels, options.ndf,
                         kind=options.discriminator, n_layers=options.n_layers_D,
                         sync_batchnorm=sync_batchnorm)


def receptive_field(kind: str = "patch", n_layers: int = 3, crop_size: int = 256) -> int:
    """Receptive field, in input pixels, of one discriminator output."""
    if kind == "pixel":
        return 1
    if kind == "image":
        return crop_size
    # Layers from the output back: k=4 everywhere; strides 1, 1, then 2s.
    strides = [2] + [2] * (n_layers - 1) + [1, 1]
    field = 1
    for stride in reversed(strides):
        field = (field - 1) * stride + 4
    return field
