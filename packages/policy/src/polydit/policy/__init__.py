"""polydit-policy: diffusion-transformer robot policies in MuJoCo (MetaWorld)."""
