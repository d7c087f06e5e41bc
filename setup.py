"""The project is described in pyproject.toml; this file lets older tools install it."""

from setuptools import setup

setup()
