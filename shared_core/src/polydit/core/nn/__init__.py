"""Transformer building blocks: attention, RoPE, adaLN-Zero blocks, MM-DiT joint blocks, MoE."""

from polydit.core.nn.attention import Attention
from polydit.core.nn.blocks import BlockInputs, DiTBlock, FinalLayer, JointBlock
from polydit.core.nn.embeddings import LabelEmbedding, TimestepEmbedding, sincos_embedding
from polydit.core.nn.mlp import MLP, MoEConfig, MoEMLP
from polydit.core.nn.rope import AxialRoPE

__all__ = [
    "MLP",
    "Attention",
    "AxialRoPE",
    "BlockInputs",
    "DiTBlock",
    "FinalLayer",
    "JointBlock",
    "LabelEmbedding",
    "MoEConfig",
    "MoEMLP",
    "TimestepEmbedding",
    "sincos_embedding",
]
