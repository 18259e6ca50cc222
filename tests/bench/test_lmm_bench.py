"""`fusion bench lmm`: the study file is checked, composes, and a tiny study writes its table."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import yaml

from fusion.bench.lmm import _resolve, load_spec, markdown_table, run_study
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
                "errors": {"KIE": "A01/knees_inward", "elbows": "A06/elbows"},
            }
        )
    )
    spec = load_spec(spec_file)
    rows = run_study(spec, tmp_path / "out", progress=False)
    assert [r["run"] for r in rows] == ["aqa_head", "text"]
    assert [r["head"] for r in rows] == ["aqa", "text"]
    text_config = (Path(rows[1]["folder"]) / "config.yaml").read_text()
    assert f"encoders_from: {Path(rows[0]['folder'])}/checkpoints/" in text_config
    assert math.isnan(rows[0]["parse_rate"]) and 0.0 <= rows[1]["parse_rate"] <= 1.0
    written = list(csv.DictReader((tmp_path / "out" / "results.csv").open()))
    assert [r["run"] for r in written] == ["aqa_head", "text"]
    table = (tmp_path / "out" / "results.md").read_text()
    assert table.strip() == markdown_table(spec, rows)
    assert "| run | seed | F1 KIE | F1 elbows | F1 mean | AP KIE |" in table
    assert (tmp_path / "out" / "f1.png").stat().st_size > 0
