"""Experiment scripts of polydit-molecule (outside the installed package)."""
