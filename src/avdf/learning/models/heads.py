"""A small classification head shared by the baselines."""

from __future__ import annotations

from torch import nn


def classifier_head(dim_in: int, dropout: float) -> nn.Module:
    """(B, dim_in) -> (B, 1): Linear, GELU, Dropout, Linear."""
    return nn.Sequential(
        nn.Linear(dim_in, dim_in // 2), nn.GELU(), nn.Dropout(dropout), nn.Linear(dim_in // 2, 1)
    )
