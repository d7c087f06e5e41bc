"""Preparing pix2pix datasets: image operations, splitting, downloading, a synthetic set."""
