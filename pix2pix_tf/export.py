"""Export mode: the generator as a SavedModel with two signatures.

serving_default: `input`, base64 PNG/JPEG strings (any size, 1, 3 or 4
  channels, standard or URL-safe alphabet) -> `output`, base64 (URL-safe)
  PNG or JPEG strings of crop_size x crop_size, as the reference's export.
translate: `images`, float [batch, crop, crop, channels] in [-1, 1] ->
  `outputs`, the generator's output in [-1, 1].
"""

import os
import shutil
import tempfile

import tensorflow as tf

from pix2pix_tf import data, display
from pix2pix_tf.inference import load_generator
from pix2pix_tf.common.errors import UserError
from pix2pix_tf.common.options import require_output_dir


class ExportedGenerator(tf.Module):

    def __init__(self, generator, options):
        super().__init__()
        self.generator = generator
        # Keras 3 does not expose dropout's random state to tf.Module tracking;
        # the SavedModel must hold it for dropout to run at serving time.
        self.seed_states = [layer.seed_generator.state for layer in generator.layers
                            if getattr(layer, "seed_generator", None) is not None]
        self.crop_size = options.crop_size
        self.training = not options.eval_mode
        self.lab_colorization = options.lab_colorization
        self.which_direction = options.which_direction
        self.filetype = options.output_filetype
        channels = generator.input_shape[-1]
        self.translate = tf.function(
            self._translate,
            input_signature=[tf.TensorSpec([None, self.crop_size, self.crop_size, channels],
                                           tf.float32, name="images")])
        self.serve = tf.function(
            self._serve, input_signature=[tf.TensorSpec([None], tf.string, name="input")])

    def _translate(self, images):
        return {"outputs": self.generator(images, training=self.training)}

    def _decode(self, encoded):
        urlsafe = tf.strings.regex_replace(tf.strings.regex_replace(encoded, r"\+", "-"), "/", "_")
        image = data.decode_bytes(tf.io.decode_base64(tf.strings.strip(urlsafe)))
        return tf.image.resize(image, [self.crop_size, self.crop_size], method="area")

    def _encode(self, image):
        image = display.to_uint8(image)
        encoded = (tf.io.encode_png(image) if self.filetype == "png"
                   else tf.io.encode_jpeg(image, quality=95))
        return tf.io.encode_base64(encoded, pad=True)

    def _serve(self, encoded):
        rgb = tf.map_fn(self._decode, encoded, fn_output_signature=tf.float32)
        if self.lab_colorization:
            inputs, _ = data.split_pair(rgb, self.which_direction, lab_colorization=True)
            outputs = self._translate(inputs)["outputs"]
            result = display.compose_lab(inputs, outputs, self.which_direction)
        else:
            result = (self._translate(rgb * 2.0 - 1.0)["outputs"] + 1.0) / 2.0
        return {"output": tf.map_fn(self._encode, result, fn_output_signature=tf.string)}


def export(options, given=(), log=print):
    """Writes output_dir/export, replacing an earlier export only once the new one is complete."""
    options, generator = load_generator(options, given, log)
    require_output_dir(options, "export")
    module = ExportedGenerator(generator, options)
    target = os.path.join(options.output_dir, "export")
    try:
        os.makedirs(options.output_dir, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=".export-", dir=options.output_dir)
    except OSError as e:
        raise UserError(f"cannot write to --output_dir {options.output_dir}: {e.strerror}") from e
    try:
        tf.saved_model.save(module, staging, signatures={
            "serving_default": module.serve, "translate": module.translate})
        if os.path.exists(target):
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log(f"exported the generator to {target}")
    return target
