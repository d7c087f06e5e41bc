"""Generators and discriminators as Keras functional builders.

Conditional models take [noise or image, integer label]; unconditional ones
take the noise or the image alone. Discriminators return one logit per image.
"""

from __future__ import annotations

import typing

import keras
from keras import layers, ops

from cgan_mnist_tf.choices import MODELS
from cgan_mnist_tf.data import NUM_CLASSES

if typing.TYPE_CHECKING:
    import tensorflow as tf

MNIST_SHAPE = (28, 28, 1)
CONV_SHAPE = (32, 32, 1)
# FLOP of a training step per weight of both networks, per image (latent_dim 100;
# "gan": the plain GAN): what --mixed_precision auto weighs. benchmarks/cgan_bench.py
# counts them, and its test checks these against it.
STEP_FLOPS_PER_WEIGHT_PER_IMAGE = {"mlp": 11.0, "conv": 180.0, "dcgan_proj": 202.0,
                                   "stackgan": 592.0, "gan": 10.0}
STAGE1_SHAPE = (16, 16, 1)  # StackGAN's stage I draws these...
STACKGAN_SHAPE = (64, 64, 1)  # ...and its stage II these, from them.
STAGE1_GENERATOR = "stage1_generator"
STAGE2_GENERATOR = "stage2_generator"


def _inputs(shape, name):
    """The first input (noise or image) and the integer label."""
    return keras.Input(shape, name=name), keras.Input((), dtype="int32", name="label")


def _label_embedding(num_classes, dim=None):
    # PyTorch's nn.Embedding starts from N(0, 1); Keras' default U(-0.05, 0.05)
    # would leave the label a whisper next to z and the 784 pixels.
    return layers.Embedding(num_classes, dim or num_classes,
                            embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0))


def _batch_norm(sync_batchnorm, **kwargs):
    # synchronized=True: under a tf.distribute strategy with several replicas,
    # the statistics of the global batch rather than of each replica's part.
    return layers.BatchNormalization(synchronized=sync_batchnorm, **kwargs)


def _logits(units=1, **kwargs):
    # float32 even under a mixed_bfloat16 policy: the losses see float32 logits.
    return layers.Dense(units, dtype="float32", **kwargs)


def _dense_block(x, units, normalize=True, epsilon=0.8, momentum=0.9, sync_batchnorm=False):
    x = layers.Dense(units)(x)
    if normalize:
        # The PyTorch code this follows calls BatchNorm1d(units, 0.8): its second
        # argument is eps, so epsilon is 0.8. PyTorch's momentum 0.1 is Keras' 0.9.
        x = _batch_norm(sync_batchnorm, epsilon=epsilon, momentum=momentum)(x)
    return layers.LeakyReLU(0.2)(x)


def mlp_generator(latent_dim: int = 100, num_classes: int = NUM_CLASSES,
                  sync_batchnorm: bool = False) -> keras.Model:
    """The CGAN generator of PyTorch-GAN's cgan.py: [embedding(y), z] -> 784 -> tanh."""
    z, y = _inputs((latent_dim,), "z")
    x = layers.Concatenate()([_label_embedding(num_classes)(y), z])
    x = _dense_block(x, 128, normalize=False)
    for units in (256, 512, 1024):
        x = _dense_block(x, units, sync_batchnorm=sync_batchnorm)
    x = layers.Dense(28 * 28, activation="tanh")(x)
    images = layers.Reshape(MNIST_SHAPE)(x)
    return keras.Model([z, y], images, name="mlp_generator")


def mlp_discriminator(num_classes: int = NUM_CLASSES, dropout: float = 0.4) -> keras.Model:
    """[flattened image, embedding(y)] -> 512 -> 512 -> 512 (dropout 0.4) -> logit.

    dropout=0 builds the same weights without the dropout layers (for steps
    that must be reproducible, e.g. comparing devices or compilers).
    """
    image, y = _inputs(MNIST_SHAPE, "image")
    x = layers.Concatenate()([layers.Flatten()(image), _label_embedding(num_classes)(y)])
    x = layers.LeakyReLU(0.2)(layers.Dense(512)(x))
    for _ in range(2):
        x = layers.Dense(512)(x)
        if dropout:
            x = layers.Dropout(dropout)(x)
        x = layers.LeakyReLU(0.2)(x)
    logit = _logits()(x)
    return keras.Model([image, y], logit, name="mlp_discriminator")


def conv_generator(latent_dim: int = 100, num_classes: int = NUM_CLASSES,
                   sync_batchnorm: bool = False) -> keras.Model:
    """DCGAN-style: [z, one-hot(y)] as a 1x1 map -> 4x4x256 -> 8x8x128 -> 16x16x64 -> 32x32x1."""
    z, y = _inputs((latent_dim,), "z")
    x = layers.Concatenate()([z, ops.one_hot(y, num_classes)])
    x = layers.Reshape((1, 1, latent_dim + num_classes))(x)
    for filters, strides, padding in ((256, 1, "valid"), (128, 2, "same"), (64, 2, "same")):
        x = layers.Conv2DTranspose(filters, 4, strides, padding=padding, use_bias=False)(x)
        x = _batch_norm(sync_batchnorm)(x)
        x = layers.LeakyReLU(0.2)(x)
    images = layers.Conv2DTranspose(1, 4, 2, padding="same", activation="tanh")(x)
    return keras.Model([z, y], images, name="conv_generator")


def conv_discriminator(num_classes: int = NUM_CLASSES, sync_batchnorm: bool = False) -> keras.Model:
    """[image, one-hot(y) as 10 constant maps] -> 16x16x32 -> 8x8x64 -> 4x4x128 -> 4x4 valid conv."""
    image, y = _inputs(CONV_SHAPE, "image")
    label_maps = ops.one_hot(y, num_classes)[:, None, None, :] * ops.ones_like(image)
    x = layers.Concatenate()([image, label_maps])
    for filters in (32, 64, 128):
        x = layers.Conv2D(filters, 4, 2, padding="same", use_bias=filters == 32)(x)
        if filters != 32:  # As in DCGAN, no batch norm on the input layer.
            x = _batch_norm(sync_batchnorm)(x)
        x = layers.LeakyReLU(0.2)(x)
    logit = layers.Flatten(dtype="float32")(layers.Conv2D(1, 4, padding="valid", dtype="float32")(x))
    return keras.Model([image, y], logit, name="conv_discriminator")


def _conditional_batch_norm(x, y, num_classes, sync_batchnorm):
    """Batch norm whose scale and shift are looked up per label (de Vries et al. 2017)."""
    channels = x.shape[-1]
    x = _batch_norm(sync_batchnorm, center=False, scale=False)(x)
    gamma = layers.Embedding(num_classes, channels, embeddings_initializer="zeros")(y)
    beta = layers.Embedding(num_classes, channels, embeddings_initializer="zeros")(y)
    return x * (1.0 + gamma[:, None, None, :]) + beta[:, None, None, :]


def dcgan_proj_generator(latent_dim: int = 100, num_classes: int = NUM_CLASSES, width: int = 32,
                         sync_batchnorm: bool = False) -> keras.Model:
    """DCGAN-style conditional generator, 28x28:

    [z, embedding(y)] -> dense 7x7x(2w) -> CBN, ReLU -> upsample, conv3 w (14x14) -> CBN, ReLU
    -> upsample, conv3 w/2 (28x28) -> CBN, ReLU -> conv3 1 -> tanh. CBN: batch norm
    with a per-label scale and shift, so the label steers every block.
    """
    z, y = _inputs((latent_dim,), "z")
    x = layers.Concatenate()([z, _label_embedding(num_classes)(y)])
    x = layers.Reshape((7, 7, 2 * width))(layers.Dense(7 * 7 * 2 * width, use_bias=False)(x))
    x = layers.ReLU()(_conditional_batch_norm(x, y, num_classes, sync_batchnorm))
    for filters in (width, width // 2):
        x = layers.UpSampling2D()(x)
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.ReLU()(_conditional_batch_norm(x, y, num_classes, sync_batchnorm))
    images = layers.Conv2D(1, 3, padding="same", activation="tanh", dtype="float32")(x)
    return keras.Model([z, y], images, name="dcgan_proj_generator")


def projection_discriminator(num_classes: int = NUM_CLASSES, width: int = 32) -> keras.Model:
    """Projection discriminator (Miyato & Koyama 2018), spectrally normalised, 28x28:

    image -> conv4/2 w (14x14) -> conv4/2 2w (7x7), LeakyReLU 0.1 -> flattened = phi(x)
    (7 x 7 x 2w features); logit = psi(phi(x)) + <embed(y), phi(x)>.
    """
    image, y = _inputs(MNIST_SHAPE, "image")
    x = image
    for filters in (width, 2 * width):
        # The kernel rescaled to spectral norm 1 (one power iteration) on every training call.
        x = layers.SpectralNormalization(layers.Conv2D(filters, 4, 2, padding="same"))(x)
        x = layers.LeakyReLU(0.1)(x)
    # phi keeps where each feature is: summed over positions (the paper's ResNet
    # head), the projection could not tell the digits apart (docs/cgan.md).
    features = layers.Flatten(dtype="float32", name="phi")(ops.cast(x, "float32"))
    unconditional = layers.SpectralNormalization(layers.Dense(1, dtype="float32"))(features)
    embedded = layers.Embedding(num_classes, features.shape[-1], dtype="float32",
                                name="projection")(y)
    projection = ops.sum(embedded * features, axis=-1, keepdims=True)
    return keras.Model([image, y], unconditional + projection, name="projection_discriminator")


def stage1_generator(latent_dim: int = 100, num_classes: int = NUM_CLASSES, width: int = 16,
                     embedding_dim: int = 16, sync_batchnorm: bool = False) -> keras.Model:
    """StackGAN's stage I, 16x16: the rough shape of the digit from label and noise.

    [z, embedding(y)] -> dense 4x4x(4w) -> BN, ReLU -> (upsample, conv3, BN, ReLU) to
    8x8x(2w), 16x16xw -> conv3 1 -> tanh: the paper's upsampling blocks (nearest
    upsampling, 3x3 convolution), the label where the paper puts the text: at the input.
    """
    z, y = _inputs((latent_dim,), "z")
    label = _label_embedding(num_classes, embedding_dim)(y)
    x = layers.Dense(4 * 4 * 4 * width, use_bias=False)(layers.Concatenate()([z, label]))
    x = layers.Reshape((4, 4, 4 * width))(x)
    x = layers.ReLU()(_batch_norm(sync_batchnorm)(x))
    for filters in (2 * width, width):
        x = layers.UpSampling2D()(x)
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.ReLU()(_batch_norm(sync_batchnorm)(x))
    images = layers.Conv2D(1, 3, padding="same", activation="tanh", dtype="float32")(x)
    return keras.Model([z, y], images, name=STAGE1_GENERATOR)


def _residual_block(x, sync_batchnorm):
    """x + (conv3, BN, ReLU, conv3, BN)(x), then ReLU: the paper's stage-II residual block."""
    channels = x.shape[-1]
    h = layers.Conv2D(channels, 3, padding="same", use_bias=False)(x)
    h = layers.ReLU()(_batch_norm(sync_batchnorm)(h))
    h = layers.Conv2D(channels, 3, padding="same", use_bias=False)(h)
    return layers.ReLU()(layers.Add()([x, _batch_norm(sync_batchnorm)(h)]))


def stage2_generator(num_classes: int = NUM_CLASSES, width: int = 16, embedding_dim: int = 16,
                     residual_blocks: int = 2, sync_batchnorm: bool = False) -> keras.Model:
    """StackGAN's stage II, 16x16 -> 64x64: redraws the stage-I digit with detail.

    Encoder: stage-I image -> conv3 w (16x16), ReLU -> conv4/2 4w (8x8), BN, ReLU.
    Joined: embedding(y) copied to every 8x8 position and concatenated, conv3 4w,
    BN, ReLU, then `residual_blocks` residual blocks. Decoder: (upsample, conv3,
    BN, ReLU) to 16x16x(2w), 32x32xw, 64x64x(w/2) -> conv3 1 -> tanh. No noise:
    as in the paper, stage II's randomness is the stage-I image's.
    """
    low, y = _inputs(STAGE1_SHAPE, "stage1_image")
    x = layers.ReLU()(layers.Conv2D(width, 3, padding="same")(low))
    x = layers.Conv2D(4 * width, 4, 2, padding="same", use_bias=False)(x)
    x = layers.ReLU()(_batch_norm(sync_batchnorm)(x))
    label = _label_embedding(num_classes, embedding_dim)(y)
    label_maps = label[:, None, None, :] * ops.ones_like(x[..., :1])
    x = layers.Concatenate()([x, ops.cast(label_maps, x.dtype)])
    x = layers.Conv2D(4 * width, 3, padding="same", use_bias=False)(x)
    x = layers.ReLU()(_batch_norm(sync_batchnorm)(x))
    for _ in range(residual_blocks):
        x = _residual_block(x, sync_batchnorm)
    for filters in (2 * width, width, width // 2):
        x = layers.UpSampling2D()(x)
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.ReLU()(_batch_norm(sync_batchnorm)(x))
    images = layers.Conv2D(1, 3, padding="same", activation="tanh", dtype="float32")(x)
    return keras.Model([low, y], images, name=STAGE2_GENERATOR)


def stackgan_generator(latent_dim: int = 100, num_classes: int = NUM_CLASSES,
                       sync_batchnorm: bool = False) -> keras.Model:
    """[z, y] -> stage I (16x16) -> stage II with y again -> 64x64: what sampling
    draws; the stages are its layers STAGE1_GENERATOR and STAGE2_GENERATOR."""
    z, y = _inputs((latent_dim,), "z")
    stage1 = stage1_generator(latent_dim, num_classes, sync_batchnorm=sync_batchnorm)
    stage2 = stage2_generator(num_classes, sync_batchnorm=sync_batchnorm)
    return keras.Model([z, y], stage2([stage1([z, y]), y]), name="stackgan_generator")


def stage_discriminator(shape: tuple[int, int, int], filters: tuple[int, ...], num_classes: int = NUM_CLASSES,
                        embedding_dim: int = 16, sync_batchnorm: bool = False,
                        name: str = "stage_discriminator") -> keras.Model:
    """A StackGAN stage's discriminator, down to 4x4 then joined to the label:

    image -> conv4/2 for each of `filters` (LeakyReLU 0.2, BN after the first)
    -> 4x4 -> embedding(y) copied to every position and concatenated -> conv1
    filters[-1], BN, LeakyReLU -> conv4 valid -> logit. The paper's
    discriminator: the condition joins the image features at the lowest
    resolution.
    """
    image, y = _inputs(shape, "image")
    x = image
    for i, channels in enumerate(filters):
        x = layers.Conv2D(channels, 4, 2, padding="same", use_bias=i == 0)(x)
        if i:  # As in DCGAN, no batch norm on the input layer.
            x = _batch_norm(sync_batchnorm)(x)
        x = layers.LeakyReLU(0.2)(x)
    label = _label_embedding(num_classes, embedding_dim)(y)
    label_maps = label[:, None, None, :] * ops.ones_like(x[..., :1])
    x = layers.Concatenate()([x, ops.cast(label_maps, x.dtype)])
    x = layers.Conv2D(filters[-1], 1, use_bias=False)(x)
    x = layers.LeakyReLU(0.2)(_batch_norm(sync_batchnorm)(x))
    logit = layers.Conv2D(1, 4, padding="valid", dtype="float32")(x)
    return keras.Model([image, y], layers.Flatten(dtype="float32")(logit), name=name)


class StackDiscriminator(keras.Model):
    """Both stages' discriminators as one model (one checkpoint entry, one
    optimizer): called on [image, label], the image's size picks the stage."""

    def __init__(self, num_classes: int = NUM_CLASSES, width: int = 16, sync_batchnorm: bool = False,
                 **kwargs: typing.Any) -> None:
        super().__init__(name="stackgan_discriminator", **kwargs)
        # 16x16 -> 8x8 -> 4x4; 64x64 -> 32 -> 16 -> 8 -> 4.
        self.stage1 = stage_discriminator(STAGE1_SHAPE, (2 * width, 4 * width), num_classes,
                                          sync_batchnorm=sync_batchnorm,
                                          name="stage1_discriminator")
        self.stage2 = stage_discriminator(STACKGAN_SHAPE, (width, 2 * width, 4 * width,
                                                           8 * width), num_classes,
                                          sync_batchnorm=sync_batchnorm,
                                          name="stage2_discriminator")
        self.built = True

    def call(self, inputs: list[tf.Tensor], training: bool = False) -> tf.Tensor:
        image = inputs[0]
        stage = self.stage1 if image.shape[1] == STAGE1_SHAPE[0] else self.stage2
        return stage(inputs, training=training)


def gan_generator(latent_dim: int = 100, sync_batchnorm: bool = False) -> keras.Model:
    """The plain GAN: z -> 256 -> 512 -> 1024 (batch norm, momentum 0.8) -> 784 -> tanh."""
    z = keras.Input((latent_dim,), name="z")
    x = z
    for units in (256, 512, 1024):
        x = layers.LeakyReLU(0.2)(layers.Dense(units)(x))
        x = _batch_norm(sync_batchnorm, momentum=0.8)(x)
    x = layers.Dense(28 * 28, activation="tanh")(x)
    return keras.Model(z, layers.Reshape(MNIST_SHAPE)(x), name="gan_generator")


def gan_discriminator() -> keras.Model:
    """The plain GAN: flattened image -> 512 -> 256 -> logit."""
    image = keras.Input(MNIST_SHAPE, name="image")
    x = layers.Flatten()(image)
    for units in (512, 256):
        x = layers.LeakyReLU(0.2)(layers.Dense(units)(x))
    return keras.Model(image, _logits()(x), name="gan_discriminator")


def build(model: str = "mlp", conditional: bool = True, latent_dim: int = 100, dropout: bool = True,
          sync_batchnorm: bool = False) -> tuple[keras.Model, keras.Model]:
    """(generator, discriminator) for `--model` and `--conditional`, computing in
    the current dtype policy (the discriminators' logits float32 either way).
    dropout=False leaves out the mlp discriminator's dropout (the only dropout);
    sync_batchnorm: batch norm over the global batch of all replicas.
    """
    sync = sync_batchnorm
    if not conditional:
        return gan_generator(latent_dim, sync_batchnorm=sync), gan_discriminator()
    if model == "mlp":
        return (mlp_generator(latent_dim, sync_batchnorm=sync),
                mlp_discriminator(dropout=0.4 if dropout else 0.0))
    if model == "conv":
        return (conv_generator(latent_dim, sync_batchnorm=sync),
                conv_discriminator(sync_batchnorm=sync))
    if model == "dcgan_proj":
        return (dcgan_proj_generator(latent_dim, sync_batchnorm=sync), projection_discriminator())
    if model == "stackgan":
        return (stackgan_generator(latent_dim, sync_batchnorm=sync),
                StackDiscriminator(sync_batchnorm=sync))
    raise ValueError(f"unknown model {model!r}; expected one of {MODELS}")


def step_flops_per_weight(model: str, conditional: bool, batch_size: int) -> float:
    """A training step's FLOP per weight at `batch_size` (approximate)."""
    return STEP_FLOPS_PER_WEIGHT_PER_IMAGE[model if conditional else "gan"] * batch_size


def output_shape(model: str, conditional: bool = True) -> tuple[int, int, int]:
    """The image shape the built generator produces (the plain GAN is always 28x28)."""
    if not conditional:
        return MNIST_SHAPE
    return {"conv": CONV_SHAPE, "stackgan": STACKGAN_SHAPE}.get(model, MNIST_SHAPE)
