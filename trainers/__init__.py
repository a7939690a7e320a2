"""The like-count regressor: model, streaming data, losses, training loop, evaluation, export."""
