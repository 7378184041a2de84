"""polydit-audio: speech and sound generation (work in progress)."""
