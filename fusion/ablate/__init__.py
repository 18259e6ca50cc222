"""`fusion ablate`: declare a study in one file, run its grid, resume it, tabulate it."""
