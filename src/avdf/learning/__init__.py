"""Learning: models, losses, optimisers, the training loop and its scoring."""
