"""Tiny generated datasets shared by the data tests (made once per test process)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fusion.data.synth.generate import generate


@pytest.fixture(scope="session")
def flex_root(tmp_path_factory) -> Path:
    """A read-only small-preset FLEX dataset of 12 repetitions; copy it before breaking it."""
    root = tmp_path_factory.mktemp("flex") / "ds"
    generate("small", root, seed=0, fmt="flex", limit=12, workers=1, progress=False)
    return root


@pytest.fixture(scope="session")
def faqa_root(tmp_path_factory) -> Path:
    """A read-only small-preset Fitness-AQA dataset of 12 clips; copy it before breaking it."""
    root = tmp_path_factory.mktemp("faqa") / "ds"
    generate("small", root, seed=0, fmt="fitness-aqa", limit=12, workers=1, progress=False)
    return root


@pytest.fixture()
def flex_copy(flex_root, tmp_path) -> Path:
    """A private, writable copy of the FLEX fixture for tests that damage files."""
    return Path(shutil.copytree(flex_root, tmp_path / "ds"))


@pytest.fixture()
def faqa_copy(faqa_root, tmp_path) -> Path:
    """A private, writable copy of the Fitness-AQA fixture for tests that damage files."""
    return Path(shutil.copytree(faqa_root, tmp_path / "ds"))
