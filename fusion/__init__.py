"""fusion: multimodal fusion training for fitness Action Quality Assessment."""

__version__ = "0.1.0"
