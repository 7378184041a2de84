"""`randomised`: a network with every parameter random, for tests of what trained weights do."""

import torch


def randomised(model: torch.nn.Module, seed: int = 0, scale: float = 0.2) -> torch.nn.Module:
    """Every parameter (the zero-initialised adaLN/output layers too) ~ N(0, scale²), seeded."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * scale)
    return model.eval()
