"""A tiny complete polydit domain (point sets on a ring): the core README's example, run by
the conformance suite like an installed domain."""
