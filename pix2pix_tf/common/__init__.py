"""Helpers shared by both packages: one-line errors, options.json, checkpoints, image files."""
