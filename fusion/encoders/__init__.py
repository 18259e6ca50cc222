"""Per-modality encoders: forward(x, mask) -> tokens (B, N, D)."""
