"""Evaluation: scoring checkpoints on test splits, frame-level and localisation metrics, predict."""
