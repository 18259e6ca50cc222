"""The LMM text head: prompt and answer templates, answer parsing (issue #6)."""
