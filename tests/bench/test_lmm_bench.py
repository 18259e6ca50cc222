"""`fusion bench lmm`: the study file is checked, composes, and a tiny study writes its table."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import yaml

from fusion.bench.aqa_baselines import BASELINES
from fusion.bench.lmm import (
    _resolve,
    baseline_margin,
    load_spec,
    markdown_table,
    run_study,
    shared_data,
)
from fusion.config import ConfigError, compose

STUDY = Path(__file__).resolve().parents[2] / "experiments" / "fitness_aqa_lmm.yaml"


def test_the_shipped_study_composes_every_run():
    spec = load_spec(STUDY)
    assert set(spec.errors) == {"KIE", "KFE", "elbows", "knees"}
    best = {name: f"runs/{name}/checkpoints/best.ckpt" for name in spec.runs}
    configs = {
        name: compose(None, [*spec.base, *(_resolve(o, best) for o in overrides)])
        for name, overrides in spec.runs.items()
    }
    assert configs["aqa_head"].task.kind == "aqa"
    assert {c.task.kind for n, c in configs.items() if n.startswith("text")} == {"text"}
    assert configs["text_none"].model.encoders_from == best["aqa_head"]
    assert {"none", "two-step", "dynamic-step"} <= {c.data.balance for c in configs.values()}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"benchmark": "video2emg"}, "benchmark: lmm"),
        ({"extra": 1}, "unknown key"),
        ({"runs": {"a": "task=text"}}, "list of key=value"),
        ({"errors": {"KIE": "knees_inward"}}, "<action id>/<error>"),
        ({"seeds": []}, "non-empty list"),
        ({"runs": {"a": ["model.encoders_from=@b"], "b": ["task=aqa"]}}, "needs run 'b' before"),
    ],
)
def test_a_bad_study_file_names_the_key(tmp_path, change, message):
    raw = yaml.safe_load(STUDY.read_text())
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump({**raw, **change}))
    with pytest.raises(ConfigError, match=message):
        load_spec(path)


def test_a_tiny_study_trains_both_heads_and_writes_the_table(faqa_root, tmp_path):
    spec_file = tmp_path / "study.yaml"
    spec_file.write_text(
        yaml.safe_dump(
            {
                "benchmark": "lmm",
                "name": "tiny",
                "seeds": [0],
                "base": [
                    "data=fitness_aqa",
                    "model=video_only",
                    f"data.reader.root={faqa_root}",
                    f"data.cache.dir={tmp_path / 'cache'}",
                    "data.cache.workers=1",
                    "data.cache.image_size=32",
                    "data.clip.frames=2",
                    "data.clip.cache_frames=4",
                    "data.loader.num_workers=0",
                    "data.loader.batch_size=4",
                    "data.split.protocol=random",
                    "model.encoders.video.backbone=test_efficientnet",
                    "trainer.max_epochs=1",
                    "trainer.limit_train_batches=1",
                ],
                "runs": {
                    "aqa_head": ["task=aqa"],
                    "text": [
                        "task=text",
                        "task.prompt=temporal",
                        "task.max_new_tokens=8",
                        "model.encoders_from=@aqa_head",
                    ],
                },
                "errors": {"KFE": "A01/knees_forward", "elbows": "A06/elbows"},
            }
        )
    )
    spec = load_spec(spec_file)
    rows = run_study(spec, tmp_path / "out", progress=False)
    assert [r["run"] for r in rows] == [*BASELINES, "aqa_head", "text"]
    assert [r["head"] for r in rows] == ["baseline"] * 3 + ["aqa", "text"]
    aqa, text = rows[3:]
    text_config = (Path(text["folder"]) / "config.yaml").read_text()
    assert f"encoders_from: {Path(aqa['folder'])}/checkpoints/" in text_config
    assert math.isnan(aqa["parse_rate"]) and 0.0 <= text["parse_rate"] <= 1.0
    for baseline in rows[:3]:  # F1 only: no AP, exercise or parse columns
        assert not math.isnan(baseline["f1_KFE"]) and math.isnan(baseline["f1_elbows"])
        assert all(math.isnan(baseline[k]) for k in ("ap_KFE", "mAP", "action_acc", "parse_rate"))
    assert rows[0]["f1_KFE"] > 0 and rows[1]["f1_KFE"] == 0  # yes / no to every error
    written = list(csv.DictReader((tmp_path / "out" / "results.csv").open()))
    assert [(r["run"], r["head"], r["seed"]) for r in written[:3]] == [
        (name, "baseline", "") for name in BASELINES
    ]
    assert [r["run"] for r in written[3:]] == ["aqa_head", "text"]
    assert float(written[0]["f1_KFE"]) == pytest.approx(rows[0]["f1_KFE"])
    table = (tmp_path / "out" / "results.md").read_text()
    assert table.strip() == markdown_table(spec, rows)
    assert "| run | seed | F1 KFE | F1 elbows | F1 mean | AP KFE |" in table
    assert "| *baseline: yes-to-all* | — | " in table
    assert table.strip().splitlines()[-1].startswith("Best learned run: ")
    assert (tmp_path / "out" / "f1.png").stat().st_size > 0


def row(run: str, head: str, macro_f1: float, seed: int | None = 0) -> dict:
    return {"run": run, "head": head, "seed": seed, "macro_f1": macro_f1}


def test_the_margin_is_the_best_learned_mean_over_seeds_minus_the_best_baseline():
    rows = [
        row("yes-to-all", "baseline", 0.46, None),
        row("no-to-all", "baseline", 0.0, None),
        row("aqa_head", "aqa", 0.70),  # mean 0.55 over two seeds
        row("aqa_head", "aqa", 0.40, 1),
        row("text", "text", 0.60),  # mean 0.58: the best run, though not the best row
        row("text", "text", 0.56, 1),
        row("broken", "text", math.nan),
    ]
    assert baseline_margin(rows) == (
        "Best learned run: text, F1 mean 0.580 over 2 seed(s); best trivial baseline: "
        "yes-to-all, 0.460; margin +0.120."
    )
    assert baseline_margin(rows[:2]).startswith("No learned run and baseline")


def test_a_run_on_another_split_than_the_baselines_is_refused(tmp_path):
    raw = yaml.safe_load(STUDY.read_text())
    raw["runs"]["text_none"].append("data.split.protocol=random")
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match="runs.text_none: changes data.split"):
        shared_data(load_spec(path))
    assert shared_data(load_spec(STUDY)).split.protocol == "dataset"
