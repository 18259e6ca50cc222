"""A `fast_dev_run` of the default run and of every config file under configs/ and experiments/."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
import torch
import yaml

from fusion.config import CONFIG_ROOT, GROUPS, compose
from fusion.train import PREDICTIONS, train

EXPERIMENTS = CONFIG_ROOT.parent / "experiments"
# Group choices a config needs beside itself: Fitness-AQA has video only.
NEEDS = {
    ("data", "fitness_aqa"): ["model=video_only"],
    ("model", "pose_distill"): ["task=pose_distill", "data=small_distill"],
    ("task", "pose_distill"): ["model=pose_distill", "data=small_distill"],
}
# Trainer presets that cannot run inside this pytest process, and why.
MULTI_PROCESS = (
    "launches one process per device, each re-running the command: tests/test_distributed.py"
)
NO_GPU = "needs a CUDA GPU; tests/test_trainer_options.py checks that it composes"
UNRUNNABLE = {
    "trainer/cpu-ddp": MULTI_PROCESS,
    "trainer/ddp": f"{NO_GPU}; it also {MULTI_PROCESS}",
    "trainer/fsdp": f"{NO_GPU}; it also {MULTI_PROCESS}",
    "trainer/gpu": None if torch.cuda.is_available() else NO_GPU,
}


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


def runnable(case: tuple[str, str | None, list[str]]):
    """The case as a pytest param, skipped with the reason when this process cannot run it."""
    reason = UNRUNNABLE.get(case[0])
    return pytest.param(*case[1:], id=case[0], marks=[pytest.mark.skip(reason)] if reason else [])


CASES = config_cases()


@pytest.mark.parametrize(("top", "choices"), [runnable(c) for c in CASES])
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
    if config.task.kind not in PREDICTIONS:
        assert not (folder / "predictions.csv").exists()
        return
    rows = list(csv.DictReader((folder / "predictions.csv").open()))
    split = json.loads((folder / "split.json").read_text())
    assert rows and {r["key"] for r in rows} <= set(split["test"])  # one batch: 1-2 samples
