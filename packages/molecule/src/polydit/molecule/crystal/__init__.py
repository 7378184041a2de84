"""The crystal kind: periodic cells as one lattice token + one token per atom (ADiT's periodic
case): codec, built-in set and CIF data, generator, training recipe, CDVAE/DiffCSP metrics."""
