from setuptools import find_packages, setup

setup(
    name="pix2pix-tf",
    version="0.1.0",
    description="pix2pix and conditional GANs on MNIST in TensorFlow 2 / Keras 3",
    long_description=open("README.md").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["pix2pix_tf", "pix2pix_tf.*", "cgan_mnist_tf", "cgan_mnist_tf.*"]),
    package_data={"pix2pix_tf": ["web/*"]},  # The page pix2pix_tf.serve serves.
    install_requires=[
        "tensorflow>=2.16",
        "keras>=3",
        "tensorboard",
        "tensorflow-datasets",
        "numpy",
        "matplotlib",
        "imageio",
        "pillow",
        "absl-py",
        "scikit-image",
        "mlxtend",
    ],
    extras_require={"test": ["pytest", "selenium"]},
)
