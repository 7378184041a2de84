"""polydit-video: video generation, prediction and interpolation with one DiT (VDT-style)."""
