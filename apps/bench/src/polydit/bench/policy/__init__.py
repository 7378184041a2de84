"""Experiment scripts of polydit-policy (outside the installed package)."""
