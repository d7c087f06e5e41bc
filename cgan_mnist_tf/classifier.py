"""The small CNN that judges generated digits, trained once per dataset and cached."""

import json
import os

import keras
import numpy as np
import tensorflow as tf

from cgan_mnist_tf import data
from pix2pix_tf.common import files

FEATURES_LAYER = "features"
WEIGHTS_FILE = "classifier.weights.h5"
INFO_FILE = "classifier.json"
IMAGE_SIZE = 28


def build_classifier(num_classes=10):
    """28x28x1 in [-1, 1] -> class logits; the 128-unit `features` layer feeds the FID."""
    images = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 1), name="image")
    x = keras.layers.Conv2D(32, 3, activation="relu")(images)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(64, 3, activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(128, activation="relu", name=FEATURES_LAYER)(x)
    x = keras.layers.Dropout(0.3)(x)
    return keras.Model(images, keras.layers.Dense(num_classes)(x), name="classifier")


def predict(classifier, images, batch_size=500):
    """(predicted classes, penultimate features) as numpy arrays of images in [-1, 1],
    resized to 28x28 if they are not."""
    images = tf.convert_to_tensor(images, tf.float32)
    if images.shape[1] != IMAGE_SIZE:
        images = tf.image.resize(images, (IMAGE_SIZE, IMAGE_SIZE), antialias=True)
    features_model = keras.Model(classifier.inputs, [classifier.outputs[0],
                                                     classifier.get_layer(FEATURES_LAYER).output])
    logits, features = features_model.predict(images, batch_size=batch_size, verbose=0)
    return np.argmax(logits, axis=1), features


def train_classifier(images, labels, epochs, batch_size=128, seed=0):
    """Fits a new classifier on uint8 images and int labels."""
    keras.utils.set_random_seed(seed)
    classifier = build_classifier()
    classifier.compile(keras.optimizers.Adam(1e-3),
                       keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                       metrics=["accuracy"])
    classifier.fit(data.to_model_range(images).numpy(), labels, epochs=epochs,
                   batch_size=batch_size, shuffle=True, verbose=2)
    return classifier


def load_or_train(cache_dir, key, train_images, train_labels, epochs):
    """The classifier cached in `cache_dir` if it was trained for `key` (a dict:
    data source, epochs...), else a new one, which replaces the cache."""
    weights = os.path.join(cache_dir, WEIGHTS_FILE)
    info = os.path.join(cache_dir, INFO_FILE)
    if files.isfile(weights) and files.isfile(info) and json.loads(files.read_bytes(info)) == key:
        classifier = build_classifier()
        classifier.load_weights(weights)  # Keras reads gs://... through tf.io.gfile.
        print(f"eval classifier: cached in {cache_dir}", flush=True)
        return classifier
    print(f"eval classifier: training on {len(train_images)} real images for {epochs} epochs",
          flush=True)
    classifier = train_classifier(train_images, train_labels, epochs)
    files.makedirs(cache_dir)
    tmp = os.path.join(cache_dir, ".tmp-" + WEIGHTS_FILE)
    classifier.save_weights(tmp)
    files.replace(tmp, weights)
    files.write_json(info, key)
    return classifier
