"""Benchmarks of the checkout (not installed): the speed benches, their
harness, and the quality and profile scripts.

Scripts put the repository root first on sys.path, so `benchmarks.*` and the
packages import from the checkout; tests import `benchmarks.*` the same way.
Nothing in pix2pix_tf/ or cgan_mnist_tf/ imports from here.
"""
