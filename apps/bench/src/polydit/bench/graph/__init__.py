"""Experiment scripts of polydit-graph (outside the installed package)."""
