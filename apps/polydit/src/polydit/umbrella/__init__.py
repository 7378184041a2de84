"""polydit."""
