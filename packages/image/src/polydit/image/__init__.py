"""polydit-image: class- and text-conditional image generation with a DiT."""
