"""Quality metrics of generated digits, as pure numpy functions."""

import numpy as np


def conditional_accuracy(predicted, requested):
    """The share of samples the classifier assigns to the label they were generated for."""
    predicted, requested = np.asarray(predicted), np.asarray(requested)
    return float(np.mean(predicted == requested))


def per_class_accuracy(predicted, requested, num_classes=10):
    predicted, requested = np.asarray(predicted), np.asarray(requested)
    return [float(np.mean(predicted[requested == c] == c)) if np.any(requested == c) else None
            for c in range(num_classes)]


def class_shares(predicted, num_classes=10):
    """How often each class is predicted: the spread of an unconditional generator."""
    counts = np.bincount(np.asarray(predicted), minlength=num_classes)
    return (counts / max(1, counts.sum())).tolist()


def _sqrt_psd(matrix):
    """The symmetric square root of a positive semi-definite matrix, by eigen-decomposition."""
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(features_a, features_b):
    """||mu_a - mu_b||^2 + Tr(C_a + C_b - 2 (C_a C_b)^(1/2)) of two (N, D) feature sets;
    the trace root through the symmetric C_a^(1/2) C_b C_a^(1/2), real and stable
    when the covariances are singular (ReLU features often are)."""
    a = np.asarray(features_a, np.float64)
    b = np.asarray(features_b, np.float64)
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root_a = _sqrt_psd(cov_a)
    middle = root_a @ cov_b @ root_a
    trace_root = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0.0, None)))
    distance = np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2.0 * trace_root
    return float(max(distance, 0.0))


def mean_pairwise_distance(features):
    """The mean Euclidean distance over all pairs of rows of (N, D) `features` (0 if N < 2)."""
    x = np.asarray(features, np.float64)
    n = len(x)
    if n < 2:
        return 0.0
    squared = np.sum(x * x, axis=1)
    # ||a - b||^2 = |a|^2 + |b|^2 - 2 a.b, clipped: rounding can make it slightly negative.
    distances = np.sqrt(np.clip(squared[:, None] + squared[None, :] - 2.0 * x @ x.T, 0.0, None))
    return float(distances[np.triu_indices(n, k=1)].mean())


def intra_class_diversity(features, labels, num_classes=10):
    """Mean pairwise feature distance within each class, and its mean over the classes.

    A generator that draws one digit per class (mode collapse) scores 0 however
    recognisable that digit is; real digits set the level to reach.

    Args:
        features: (N, D) features of the images (the eval classifier's).
        labels: (N,) the class of each image (requested for generated images).
        num_classes: classes 0..num_classes-1; a class with fewer than 2 images is None.

    Returns:
        (mean over the classes that have 2+ images, per-class list).
    """
    features, labels = np.asarray(features), np.asarray(labels)
    per_class = [mean_pairwise_distance(features[labels == c]) if np.sum(labels == c) >= 2
                 else None for c in range(num_classes)]
    present = [value for value in per_class if value is not None]
    return (float(np.mean(present)) if present else None), per_class


def balanced_sample(labels, per_class, seed=0, num_classes=10):
    """Indices of up to `per_class` randomly chosen items of each class (seeded)."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    chosen = [rng.permutation(np.flatnonzero(labels == c))[:per_class] for c in range(num_classes)]
    return np.sort(np.concatenate(chosen)).astype(np.int64)
