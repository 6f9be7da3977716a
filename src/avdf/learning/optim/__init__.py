"""Gradient balancing components that the trainer calls."""
