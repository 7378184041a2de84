"""Training-free accelerators: denoiser wrappers driven by the sampler's StepContext."""

CACHE_NAMES = ("none",)
