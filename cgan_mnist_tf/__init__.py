"""Conditional GANs on MNIST (and the plain GAN to compare them with) in TensorFlow 2 / Keras 3."""
