"""Per-modality encoders: forward(x, mask, times) -> Tokens (B, N, D) with masks and times."""
