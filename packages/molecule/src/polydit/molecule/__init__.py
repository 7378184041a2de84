"""polydit-molecule: all-atom generation of 3D molecules and crystals (ADiT-style)."""
