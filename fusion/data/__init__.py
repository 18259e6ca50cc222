"""Everything that turns dataset files into batches: readers, transforms, cache, splits,
datamodules. No model code and no simulator code (docs/architecture.md)."""
