"""The joint kind: one DiT for molecules and crystals, told by a class label which to generate
(ADiT's "one model for both"): union token layout, mixed data, network, generator, recipe."""
