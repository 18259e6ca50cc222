"""Fusion modules: Dict[str, tokens] + masks -> fused tokens."""
