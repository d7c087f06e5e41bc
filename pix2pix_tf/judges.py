"""Realism judges of generated images, beside test mode's L1/PSNR/SSIM.

fcn: the pix2pix paper's FCN-score. A small fully convolutional network
  learns to segment the run's real training photos into the classes of their
  label maps; it then segments the generated photos (and, as the ceiling, the
  real ones) of the judged split, scored against the input label maps by
  per-pixel accuracy, per-class accuracy and class IoU.
c2st: a classifier two-sample test. A small CNN learns to tell real targets
  from generated outputs on one half of the split and is scored on the other
  half: 0.5 means they cannot be told apart, 1.0 that every one can.

Both train from `seed` alone, so a judge's figures compare only between runs
judged with the same judge options (JUDGE_SIZE, steps, palette).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from pix2pix_tf import data, palettes
from pix2pix_tf.choices import parse_judges
from pix2pix_tf.common import files
from pix2pix_tf.common.errors import UserError
from pix2pix_tf.common.options import load_options

# Images are judged at this size (or the crop size, if smaller): large enough
# for a facade's windows, small enough to train both judges in a minute or two.
JUDGE_SIZE = 128
FCN_STEPS = 600
C2ST_STEPS = 300
BATCH_SIZE = 8
FCN_VERSION = 1  # Bump when the segmenter or its training changes: cached ones are retrained.
MOST_GENERATED = 5  # How many of the most obviously generated images c2st names.


def load_palette(path: str | None) -> tuple[tuple[str, ...], np.ndarray]:
    """(class names, colours uint8 [classes, 3]) of a palette JSON file, e.g.
    {"classes": [{"name": "road", "color": [128, 64, 128]}, ...]}; the CMP
    facades palette when `path` is None."""
    if path is None:
        return palettes.FACADE_CLASSES, np.array(palettes.FACADE_COLOURS, np.uint8)
    try:
        entries = json.loads(files.read_bytes(path))["classes"]
        names = tuple(str(entry["name"]) for entry in entries)
        colours = np.array([entry["color"] for entry in entries], np.int64)
    except OSError as e:
        raise UserError(f"--palette {path}: {e.strerror or e}") from e
    except (ValueError, KeyError, TypeError) as e:
        raise UserError(f"--palette {path} does not parse: expected {{\"classes\": [{{\"name\": "
                        f"..., \"color\": [r, g, b]}}, ...]}} ({type(e).__name__}: {e})") from e
    if len(names) < 2 or colours.shape != (len(names), 3) or colours.min() < 0 or colours.max() > 255:
        raise UserError(f"--palette {path} must list at least two classes, each with a colour "
                        "of three values 0-255")
    return names, colours.astype(np.uint8)


def nearest_class(images: np.ndarray, colours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """uint8 RGB images [..., 3] -> (the index of each pixel's nearest palette
    colour, that colour's distance)."""
    distances = np.linalg.norm(images[..., None, :].astype(np.float32)
                               - colours.astype(np.float32), axis=-1)
    classes = np.argmin(distances, axis=-1)
    return classes.astype(np.int32), np.take_along_axis(distances, classes[..., None], -1)[..., 0]


def segmentation_scores(predicted: np.ndarray, truth: np.ndarray, classes: int) -> dict:
    """Per-pixel accuracy, per-class accuracy and class IoU of class maps, the
    two means over the classes present in `truth` or `predicted` (as the FCN
    evaluation scripts do: a class that appears in neither has no score)."""
    confusion = np.bincount(truth.ravel() * classes + predicted.ravel(),
                            minlength=classes * classes).reshape(classes, classes).astype(np.float64)
    hits = np.diag(confusion)
    in_truth, in_predicted = confusion.sum(axis=1), confusion.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        class_accuracy = np.where(in_truth > 0, hits / in_truth, np.nan)
        iou = hits / (in_truth + in_predicted - hits)
    present = (in_truth + in_predicted) > 0
    return {"per_pixel_accuracy": float(hits.sum() / confusion.sum()),
            "per_class_accuracy": float(np.nanmean(class_accuracy[present & (in_truth > 0)])),
            "class_iou": float(np.nanmean(iou[present]))}


def judge_size(crop_size: int) -> int:
    return min(crop_size, JUDGE_SIZE)


def class_maps(labels: np.ndarray, colours: np.ndarray, size: int) -> np.ndarray:
    """uint8 label-map images -> their class maps at `size` (every n-th pixel:
    a label map is not blended)."""
    step = labels.shape[1] // size
    return nearest_class(labels[:, ::step, ::step], colours)[0]


def shrink(images: np.ndarray | tf.Tensor, size: int) -> np.ndarray:
    """uint8 or [0, 1] float RGB images -> uint8 images size x size (area resize)."""
    images = tf.convert_to_tensor(images)
    if images.dtype == tf.uint8:
        images = tf.cast(images, tf.float32) / 255.0
    if images.shape[1] != size:
        images = tf.image.resize(images, [size, size], method="area")
    return tf.cast(tf.round(tf.clip_by_value(images, 0.0, 1.0) * 255.0), tf.uint8).numpy()


# ---------------------------------------------------------------- networks

def segmenter(size: int, classes: int) -> keras.Model:
    """A small encoder-decoder FCN: 3x3 convs 16-32-64-96 (stride 2 from the
    second), a dilated 3x3 conv at 1/8 size, then bilinear upsampling with
    skips back to full size and a 1x1 conv to the class logits."""
    inputs = keras.Input((size, size, 3))
    x, skips = inputs, []
    for filters, stride in ((16, 1), (32, 2), (64, 2), (96, 2)):
        x = keras.layers.Conv2D(filters, 3, strides=stride, padding="same", activation="relu")(x)
        skips.append(x)
    x = keras.layers.Conv2D(96, 3, dilation_rate=2, padding="same", activation="relu")(x)
    for skip in reversed(skips[:-1]):
        x = keras.layers.UpSampling2D(2, interpolation="bilinear")(x)
        x = keras.layers.Concatenate()([x, skip])
        x = keras.layers.Conv2D(skip.shape[-1], 3, padding="same", activation="relu")(x)
    logits = keras.layers.Conv2D(classes, 1, dtype="float32")(x)
    return keras.Model(inputs, logits, name="fcn_judge")


def classifier(size: int) -> keras.Model:
    """A small CNN: 3x3 stride-2 convs 16-32-64-64, global average pooling,
    one logit (generated vs real)."""
    inputs = keras.Input((size, size, 3))
    x = inputs
    for filters in (16, 32, 64, 64):
        x = keras.layers.Conv2D(filters, 3, strides=2, padding="same")(x)
        x = keras.layers.LeakyReLU(0.2)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(1, dtype="float32")(x), name="c2st_judge")


def fit(model: keras.Model, images: np.ndarray, targets: np.ndarray, loss: keras.losses.Loss,
        steps: int, seed: int, flip_targets: bool) -> keras.Model:
    """Adam (1e-3) on batches drawn from `seed`, each image flipped left-right
    at random (its target too when `flip_targets`: a class map); returns `model`."""
    rng = np.random.default_rng(seed)
    optimizer = keras.optimizers.Adam(1e-3)

    @tf.function(reduce_retracing=True)
    def step(x, y):
        with tf.GradientTape() as tape:
            value = loss(y, model(x, training=True))
        optimizer.apply_gradients(zip(tape.gradient(value, model.trainable_variables),
                                      model.trainable_variables))

    for _ in range(steps):
        batch = rng.integers(0, len(images), BATCH_SIZE)
        flips = rng.random(BATCH_SIZE) < 0.5
        x = np.where(flips[:, None, None, None], images[batch, :, ::-1], images[batch])
        y = targets[batch]
        if flip_targets:
            y = np.where(flips[:, None, None], y[:, :, ::-1], y)
        step(tf.constant(x, tf.float32) / 255.0, tf.constant(y))
    return model


def _predict(model, images):
    return np.concatenate([model(tf.constant(images[i:i + 64], tf.float32) / 255.0).numpy()
                           for i in range(0, len(images), 64)])


# ---------------------------------------------------------------- the judges

def fcn_key(palette: np.ndarray, size: int, steps: int, seed: int, training_files: list[str]) -> str:
    """What the cached segmenter was trained with: another key trains a new one."""
    text = json.dumps([FCN_VERSION, palette.tolist(), size, steps, seed,
                       sorted(os.path.basename(path) for path in training_files)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def trained_segmenter(photos: np.ndarray, classes: np.ndarray, num_classes: int, seed: int,
                      cache_dir: str | None = None, key: str = "", steps: int = FCN_STEPS,
                      log=print) -> keras.Model:
    """The segmenter trained on real `photos` (uint8 RGB) and their class maps,
    loaded from `cache_dir` when trained there before with the same `key`,
    else trained and saved there (when the folder can be written)."""
    keras.utils.set_random_seed(seed)
    model = segmenter(photos.shape[1], num_classes)
    cached = os.path.join(cache_dir, f"fcn-{key}.weights.h5") if cache_dir else None
    with tempfile.TemporaryDirectory() as local:
        path = os.path.join(local, "fcn.weights.h5")  # Keras reads and writes local files.
        if cached and files.isfile(cached):
            with open(path, "wb") as f:
                f.write(files.read_bytes(cached))
            model.load_weights(path)
            log(f"fcn judge: the segmenter trained before ({cached})")
            return model
        log(f"fcn judge: training the segmenter on {len(photos)} real photos, {steps} steps")
        fit(model, photos, classes, keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            steps, seed, flip_targets=True)
        if cached:
            model.save_weights(path)
            try:
                with open(path, "rb") as f:
                    files.write_atomic(cached, f.read())
            except OSError as e:
                log(f"fcn judge: the segmenter is not kept ({cached}: {e.strerror or e})")
    return model


def fcn_score(model: keras.Model, generated: np.ndarray, real: np.ndarray, truth: np.ndarray,
              num_classes: int) -> dict:
    """The FCN-score of `generated` photos and of the `real` ones (the ceiling)
    against the class maps `truth` of their input label maps."""
    return {name: segmentation_scores(np.argmax(_predict(model, images), -1), truth, num_classes)
            for name, images in (("generated", generated), ("real", real))}


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion."""
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def c2st(real: np.ndarray, generated: np.ndarray, seed: int, steps: int = C2ST_STEPS) -> dict:
    """The classifier two-sample test of uint8 RGB image sets of one size.

    Each set is shuffled from `seed` and halved: the classifier trains on the
    first halves and is scored on the second ones.

    Returns:
        {"accuracy", "interval" (95%), "test_images", "most_generated": the
        indices into `generated` of the test images it found most surely generated}.
    """
    count = min(len(real), len(generated))
    if count < 4:
        raise UserError(f"--judge c2st needs at least 4 images to split in halves, not {count}")
    rng = np.random.default_rng(seed)
    real_order, generated_order = rng.permutation(len(real))[:count], rng.permutation(len(generated))[:count]
    half = count // 2
    train = np.concatenate([real[real_order[:half]], generated[generated_order[:half]]])
    labels = np.concatenate([np.zeros(half), np.ones(half)]).astype(np.float32)[:, None]
    keras.utils.set_random_seed(seed)
    model = fit(classifier(real.shape[1]), train, labels,
                keras.losses.BinaryCrossentropy(from_logits=True), steps, seed, flip_targets=False)
    real_test, generated_test = real_order[half:], generated_order[half:]
    real_logits = _predict(model, real[real_test])[:, 0]
    generated_logits = _predict(model, generated[generated_test])[:, 0]
    right = int(np.sum(real_logits < 0) + np.sum(generated_logits >= 0))
    trials = len(real_test) + len(generated_test)
    surest = generated_test[np.argsort(-generated_logits)[:MOST_GENERATED]]
    return {"accuracy": right / trials, "interval": list(wilson_interval(right, trials)),
            "test_images": trials, "most_generated": [int(i) for i in surest]}


# ---------------------------------------------------------------- test and eval modes

def pairs(paths: list[str], which_direction: str, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets) of the A|B files `paths` as uint8 RGB at `size`, as
    test mode reads them at that crop size."""
    dataset = data.test_dataset(paths, batch_size=16, which_direction=which_direction,
                                lab_colorization=False, crop_size=size)
    inputs, targets = [], []
    for _, batch_inputs, batch_targets in dataset:
        inputs.append(shrink((batch_inputs + 1.0) / 2.0, size))
        targets.append(shrink((batch_targets + 1.0) / 2.0, size))
    return np.concatenate(inputs), np.concatenate(targets)


def plan(options, paths: list[str], seed: int = 0) -> dict:
    """What --judge asks of test or eval mode, checked before anything is
    written: {"judges", "seed", and for fcn "classes", "colours", "training_paths"}.

    Args:
        options: the run's options, the checkpoint's merged in.
        paths: the files of the judged split.
        seed: the judges' seed: the same for every run judged, so that their
            figures compare (--seed when given, else 0).
    Raises:
        UserError: an unknown judge, a palette that does not parse, a model
            whose inputs are not label maps in the palette (fcn), a training
            folder that is gone (fcn), too few images (c2st).
    """
    names = parse_judges(options.judge)
    if "c2st" in names and len(paths) < 4:
        raise UserError(f"--judge c2st needs at least 4 images to split in halves, not {len(paths)}")
    if "fcn" not in names:
        return {"judges": names, "seed": seed}
    classes, colours = load_palette(options.palette)
    if options.lab_colorization:
        raise UserError("--judge fcn segments generated photos against input label maps; a "
                        "colouriser's inputs are lightness")
    # At 256x256, where resizing blends few of a label map's pixels.
    share = palettes.label_share(pairs(paths[:4], options.which_direction, 256)[0], colours)
    if share < palettes.LABEL_SHARE:
        raise UserError(f"--judge fcn segments generated photos against their input label maps, "
                        f"but this model's inputs (--which_direction {options.which_direction}) "
                        f"are not label maps in the {options.palette or 'CMP facades'} palette: "
                        f"{share:.0%} of their pixels are its colours")
    training_dir = load_options(options.checkpoint).get("input_dir")
    if not training_dir or not files.isdir(training_dir):
        raise UserError(f"--judge fcn trains its segmenter on the run's training photos, but its "
                        f"--input_dir {training_dir} is not there")
    return {"judges": names, "seed": seed, "classes": classes, "colours": colours,
            "training_paths": data.list_image_files(training_dir, "the run's --input_dir")}


def judge(planned: dict, options, inputs: np.ndarray, targets: np.ndarray,
          outputs: np.ndarray, names: list[str], log=print) -> dict:
    """The figures of the planned judges on a judged split (uint8 RGB at the
    crop size: the input label maps, the real targets, the generated outputs)."""
    size, seed = judge_size(options.crop_size), planned["seed"]
    result = {"size": size, "seed": seed}
    real, generated = shrink(targets, size), shrink(outputs, size)
    if "fcn" in planned["judges"]:
        colours, paths = planned["colours"], planned["training_paths"]
        train_labels, train_photos = pairs(paths, options.which_direction, options.crop_size)
        model = trained_segmenter(
            shrink(train_photos, size), class_maps(train_labels, colours, size), len(colours),
            seed, cache_dir=os.path.join(options.checkpoint, "judge"),
            key=fcn_key(colours, size, FCN_STEPS, seed, paths), log=log)
        scores = fcn_score(model, generated, real, class_maps(inputs, colours, size), len(colours))
        result["fcn"] = {**scores, "palette": options.palette or "CMP facades",
                         "training_images": len(paths), "steps": FCN_STEPS}
        for kind in ("generated", "real"):
            log(f"fcn-score of the {kind} photos: " + ", ".join(
                f"{name.replace('_', ' ')} {value:.3f}" for name, value in scores[kind].items()))
    if "c2st" in planned["judges"]:
        scores = c2st(real, generated, seed)
        scores["most_generated"] = [names[i] for i in scores["most_generated"]]
        result["c2st"] = scores
        low, high = scores["interval"]
        log(f"c2st: a classifier tells real from generated in {scores['accuracy']:.3f} of "
            f"{scores['test_images']} held-out images (95% interval {low:.2f}-{high:.2f}; "
            "0.5: indistinguishable)")
    log(f"judged at {size}x{size} with seed {seed}: compare only with runs judged with "
        "the same judge options")
    return result
