"""Experiment scripts of polydit-audio (outside the installed package)."""
