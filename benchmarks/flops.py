"""Counting the floating-point work of Keras models, for the benches.

Convention: one multiply-add is 2 FLOP. Counted layers: Conv2D
(out_h * out_w * filters * k_h * k_w * in_channels multiply-adds),
Conv2DTranspose (in_h * in_w * in_channels * k_h * k_w * filters: each input
pixel scattered through the kernel), SeparableConv2D (depthwise plus
pointwise) and Dense. Padding is counted as if it were data; batch norm,
activations, dropout, embeddings, concatenation, losses and optimizers are
not (elementwise work, a few percent). Each package's bench says how its
training step adds up its networks' forward passes.
"""

import keras
import numpy as np
from keras import layers


def layer_macs(layer: keras.layers.Layer) -> int:
    """Multiply-adds of one image through `layer` (0 for uncounted kinds)."""
    if isinstance(layer, keras.Model):
        return sum(layer_macs(sub) for sub in layer.layers)
    # A wrapper (e.g. SpectralNormalization) costs its layer's work, at its own shapes.
    inner = layer.layer if isinstance(layer, layers.Wrapper) else layer
    if not isinstance(inner, (layers.Conv2D, layers.Conv2DTranspose, layers.SeparableConv2D,
                              layers.Dense)):
        return 0
    return _macs(inner, layer.input.shape, layer.output.shape)


def _macs(layer, input_shape, output_shape):
    if isinstance(layer, layers.SeparableConv2D):
        in_channels = input_shape[-1] * layer.depth_multiplier
        pixels = output_shape[1] * output_shape[2]
        depthwise = pixels * in_channels * layer.kernel_size[0] * layer.kernel_size[1]
        return depthwise + pixels * in_channels * layer.filters
    if isinstance(layer, layers.Conv2DTranspose):
        height, width, in_channels = input_shape[1:]
        return height * width * in_channels * layer.kernel_size[0] * layer.kernel_size[1] * layer.filters
    if isinstance(layer, layers.Conv2D):
        height, width = output_shape[1:3]
        in_channels = input_shape[-1] // layer.groups
        return height * width * layer.filters * layer.kernel_size[0] * layer.kernel_size[1] * in_channels
    if isinstance(layer, layers.Dense):
        return int(np.prod(input_shape[1:])) * layer.units
    return 0


def model_macs(model: keras.Model) -> list[tuple[str, int]]:
    """[(layer name, multiply-adds per image)] of the counted layers of `model`."""
    return [(layer.name, layer_macs(layer)) for layer in model.layers if layer_macs(layer)]


def forward_flops(model: keras.Model, batch_size: int = 1) -> int:
    """FLOP of one forward pass of `model` over `batch_size` images."""
    return 2 * batch_size * sum(macs for _, macs in model_macs(model))


def step_flops(generator: keras.Model, discriminator: keras.Model, generator_passes: int,
               discriminator_passes: int, batch_size: int = 1) -> dict:
    """FLOP of a GAN training step that costs `generator_passes` forward passes
    of the generator and `discriminator_passes` of the discriminator
    (backward passes counted as their multiple of a forward one)."""
    g = forward_flops(generator, batch_size)
    d = forward_flops(discriminator, batch_size)
    return {"generator_forward": g, "discriminator_forward": d,
            "train_step": generator_passes * g + discriminator_passes * d}
