"""Attention layers: MultiHeadAttention, GroupQueryAttention (GroupedQueryAttention), Attention, AdditiveAttention."""

from lamina.layers.attention.additive_attention import AdditiveAttention
from lamina.layers.attention.attention import Attention
from lamina.layers.attention.grouped_query_attention import GroupQueryAttention
from lamina.layers.attention.multi_head_attention import MultiHeadAttention

GroupedQueryAttention = GroupQueryAttention  # Keras's class name

__all__ = ["AdditiveAttention", "Attention", "GroupQueryAttention", "GroupedQueryAttention", "MultiHeadAttention"]
