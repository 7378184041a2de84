"""Experiment scripts of polydit-video (outside the installed package)."""
