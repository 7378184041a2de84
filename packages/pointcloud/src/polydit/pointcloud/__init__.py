"""polydit-pointcloud: 3D point-cloud generation (work in progress)."""
