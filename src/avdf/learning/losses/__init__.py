"""Losses: one small module each, its math in the docstring."""
