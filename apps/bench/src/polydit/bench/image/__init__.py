"""Experiment scripts of polydit-image (outside the installed package)."""
