"""Builders that compose encoders, a fuser and heads from a config."""
