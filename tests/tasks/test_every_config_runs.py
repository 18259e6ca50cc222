"""A `fast_dev_run` of the default run and of every config file under configs/ and experiments/."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
import yaml

from fusion.config import CONFIG_ROOT, GROUPS, compose
from fusion.train import train

EXPERIMENTS = CONFIG_ROOT.parent / "experiments"
# Group choices a config needs beside itself: Fitness-AQA has video only.
NEEDS = {("data", "fitness_aqa"): ["model=video_only"]}


def config_cases() -> list[tuple[str, str | None, list[str]]]:
    """(test id, top-level file or None, overrides) for every run config in the repository."""
    cases: list[tuple[str, str | None, list[str]]] = [("default", None, [])]
    for group in GROUPS:
        for path in sorted((CONFIG_ROOT / group).glob("*.yaml")):
            choice = [f"{group}={path.stem}", *NEEDS.get((group, path.stem), [])]
            cases.append((f"{group}/{path.stem}", None, choice))
    for path in sorted(EXPERIMENTS.rglob("*.yaml")):
        if {"benchmark", "ablation"} & set(yaml.safe_load(path.read_text())):
            continue  # a `fusion bench` or `fusion ablate` file: tests/bench and tests/ablate
        cases.append((str(path.relative_to(EXPERIMENTS.parent)), str(path), []))
    return cases


CASES = config_cases()


@pytest.mark.parametrize(("top", "choices"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_config_runs_one_fast_dev_batch(top, choices, request, fast_dev, tmp_path: Path):
    fitness_aqa = "data=fitness_aqa" in choices
    root = request.getfixturevalue("faqa_root" if fitness_aqa else "flex_root")
    config = compose(
        top,
        [
            *choices,
            *fast_dev(root, tmp_path),
            "trainer.enable_progress_bar=false",
            f"out={tmp_path / 'runs'}",
        ],
    )
    folder, metrics = train(config)
    assert math.isfinite(metrics["test/loss"])
    rows = list(csv.DictReader((folder / "predictions.csv").open()))
    split = json.loads((folder / "split.json").read_text())
    assert rows and {r["key"] for r in rows} <= set(split["test"])  # one batch: 1-2 samples
