"""--mode eval: a real-digit classifier's verdict on generated digits, written to metrics.json."""

import os

import numpy as np

from cgan_mnist_tf import classifier as classifier_lib
from cgan_mnist_tf import data, generate, metrics
from cgan_mnist_tf import options as cgan_options
from pix2pix_tf.common import files
from pix2pix_tf.common import options as common_options
from pix2pix_tf.common.errors import UserError

METRICS_FILE = "metrics.json"
CLASSIFIER_DIR = "eval_classifier"


def generated_images(generator, conditional, latent_dim, per_class, seed, batch_size=500):
    """per_class samples of every class (labels 0 0 0 ... 9 9 9), or as many unconditional ones."""
    labels = np.repeat(np.arange(data.NUM_CLASSES, dtype=np.int32), per_class)
    z = generate.noise(len(labels), latent_dim, seed)
    chunks = [generate.sample(generator, conditional, z[i:i + batch_size], labels[i:i + batch_size])
              for i in range(0, len(labels), batch_size)]
    return np.concatenate(chunks), labels


def evaluate(options, given=()):
    """Scores the generator of options.checkpoint; returns the metrics dict."""
    cgan_options.check(options)
    checkpoint_dir = options.checkpoint
    if not checkpoint_dir:
        raise UserError("--mode eval needs --checkpoint, the output folder of a training run")
    per_class = options.eval_samples
    epochs = options.classifier_epochs
    saved = common_options.load_options(checkpoint_dir)
    # The data the classifier learns from: as given, else the run's own.
    dataset = (options.dataset if "dataset" in given or "dataset" not in saved
               else saved["dataset"])
    data_dir = (options.data_dir if "data_dir" in given or "dataset" in given
                else saved.get("data_dir"))
    output_dir = options.output_dir if "output_dir" in given else checkpoint_dir
    files.check_writable_dir(output_dir)

    generator, model_options, path = generate.load_generator(checkpoint_dir)
    digits = data.load(dataset, data_dir)
    train_x, train_y, test_x, test_y = data.held_out_split(digits)
    key = {"data_source": digits.source, "epochs": epochs, "train_images": len(train_x),
           "test_images": len(test_x)}
    classifier = classifier_lib.load_or_train(os.path.join(output_dir, CLASSIFIER_DIR), key,
                                              train_x, train_y, epochs)
    real_pred, real_features = classifier_lib.predict(classifier, data.to_model_range(test_x))
    real_accuracy = metrics.conditional_accuracy(real_pred, test_y)
    # The ceiling's Frechet distance: as many real training digits per class as
    # generated ones, against the same held-out reference.
    ceiling_index = metrics.balanced_sample(train_y, per_class, options.seed)
    _, ceiling_features = classifier_lib.predict(classifier,
                                                 data.to_model_range(train_x[ceiling_index]))

    conditional = model_options.conditional
    images, labels = generated_images(generator, conditional, model_options.latent_dim,
                                      per_class, options.seed)
    fake_pred, fake_features = classifier_lib.predict(classifier, images)
    real_diversity, real_diversity_per_class = metrics.intra_class_diversity(real_features,
                                                                             test_y)
    # Unconditional samples have no requested class: grouped by the class the judge sees.
    diversity, per_class_diversity = metrics.intra_class_diversity(
        fake_features, labels if conditional else fake_pred)
    result = {
        "checkpoint": path,
        "model": model_options.model,
        "conditional": conditional,
        "data_source": digits.source,
        "classifier_train_images": len(train_x),
        "classifier_test_images": len(test_x),
        "classifier_epochs": epochs,
        "classifier_accuracy": real_accuracy,
        "samples_per_class": per_class,
        "frechet_distance": metrics.frechet_distance(real_features, fake_features),
        "predicted_class_shares": metrics.class_shares(fake_pred),
        "conditional_accuracy": metrics.conditional_accuracy(fake_pred, labels) if conditional else None,
        "per_class_accuracy": metrics.per_class_accuracy(fake_pred, labels) if conditional else None,
        "diversity": diversity,
        "per_class_diversity": per_class_diversity,
        # What real digits score under the same judge: the figures to read the others against.
        "real": {
            "conditional_accuracy": real_accuracy,
            "frechet_distance": metrics.frechet_distance(real_features, ceiling_features),
            "frechet_images": int(len(ceiling_index)),
            "diversity": real_diversity,
            "per_class_diversity": real_diversity_per_class,
        },
    }
    files.write_json(os.path.join(output_dir, METRICS_FILE), result)

    real = result["real"]
    print(f"classifier accuracy on {len(test_x)} held-out real images (the ceiling): "
          f"{real_accuracy:.4f}")
    if conditional:
        print(f"conditional accuracy of {len(labels)} generated images: "
              f"{result['conditional_accuracy']:.4f} (real: {real_accuracy:.4f})")
    print(f"Frechet distance (classifier features, {len(test_x)} held-out real vs "
          f"{len(labels)} generated): {result['frechet_distance']:.4f} "
          f"(real: {real['frechet_distance']:.4f})")
    print(f"intra-class diversity (mean pairwise feature distance): "
          f"{_format(diversity)} (real: {_format(real['diversity'])})")
    print(f"wrote {os.path.join(output_dir, METRICS_FILE)}", flush=True)
    return result


def _format(value):
    return "n/a" if value is None else f"{value:.4f}"
