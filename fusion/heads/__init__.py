"""Task heads: AQA (score, errors, spans), EMG regression, LMM text."""
