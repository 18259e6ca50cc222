"""Everything that turns dataset files into batches: readers, the generator, transforms."""
