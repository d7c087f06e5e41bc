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
    """||mu_a - mu_b||^2 + Tr(C_a + C_b - 2 (C_a C_b)^(1/2)) of two (N, D) feature sets.

    Tr((C_a C_b)^(1/2)) is the sum of the square roots of the eigenvalues of the
    symmetric C_a^(1/2) C_b C_a^(1/2), which stays real and stable when the
    covariances are singular (ReLU features often are).
    """
    a = np.asarray(features_a, np.float64)
    b = np.asarray(features_b, np.float64)
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root_a = _sqrt_psd(cov_a)
    middle = root_a @ cov_b @ root_a
    trace_root = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0.0, None)))
    distance = np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2.0 * trace_root
    return float(max(distance, 0.0))
