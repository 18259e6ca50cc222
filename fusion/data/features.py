"""Moved to `fusion.features` (issue #11: the data layer holds no model code).

Kept only for `tests/ablate/test_runner.py`, which another change is editing; once its import
reads `from fusion.features import FeatureCache`, delete this module and its
`ignore_imports` line in pyproject.toml.
"""

from fusion.features import FeatureCache

__all__ = ["FeatureCache"]
