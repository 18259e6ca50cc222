"""Every study file under experiments/ runs each of its grid points (and pretrain runs) for one
training batch."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from fusion.ablate.runner import run_study
from fusion.ablate.spec import load_spec

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
STUDIES = sorted(
    path for path in EXPERIMENTS.glob("*.yaml") if "ablation" in yaml.safe_load(path.read_text())
)


def test_the_repository_has_the_issue_studies():
    assert {p.stem for p in STUDIES} >= {"modalities", "views", "fusers", "annotations"}


@pytest.mark.parametrize("path", STUDIES, ids=[p.stem for p in STUDIES])
def test_every_grid_point_runs_one_batch(path, flex_root, fast_dev, tmp_path):
    spec = load_spec(path)
    # The feature options go to the grid's runs only: a pretrain run may be another task
    # (pose_distill) without a `features` section.
    features = [f"features.dir={tmp_path / 'features'}", "features.train_passes=1"]
    spec = dataclasses.replace(spec, seeds=spec.seeds[:1], base=[*spec.base, *features])
    extra = (
        *fast_dev(flex_root, tmp_path)[:-1],
        # One batch per epoch instead of fast_dev_run, which writes no checkpoint for the
        # runs that start from a pretrain run's.
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=1",
        "trainer.limit_val_batches=1",
    )
    outcomes = run_study(spec, tmp_path / "study", extra, say=lambda _: None)
    failed = {o.job.run.label: o.error for o in outcomes if o.status != "done"}
    assert not failed
    assert len(outcomes) == len(spec.runs())
