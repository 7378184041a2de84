"""Experiment scripts of polydit-pointcloud (outside the installed package)."""
