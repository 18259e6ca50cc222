"""LightningModules: losses, metrics and optimisers around the models."""
