"""Training engine, cross-validation, metrics, plots and checkpoints."""
