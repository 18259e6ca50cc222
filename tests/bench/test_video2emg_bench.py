"""`fusion bench video2emg` end to end on the tiny fixture, and the shipped benchmark file."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import yaml

from fusion.bench.video2emg import datamodule_for, load_spec, run_benchmark, run_config
from fusion.cli import main
from fusion.config import CONFIG_ROOT, ConfigError

SHIPPED = CONFIG_ROOT.parent / "experiments" / "video2emg.yaml"


def tiny_spec(root: Path, tmp_path: Path, external: Path | None = None) -> Path:
    spec = {
        "benchmark": "video2emg",
        "name": "tiny",
        "data": "small",
        "seeds": [0],
        "base": {
            "data": {
                "reader": {"root": str(root)},
                "cache": {"dir": str(tmp_path / "cache"), "workers": 1},
                "clip": {"frames": 2, "test_clips": 1},
                "augment": [],
                "loader": {"batch_size": 4, "num_workers": 0},
                "split": {"test_fraction": 0.25, "val_fraction": 0.2},
            },
            "trainer": {"max_epochs": 1, "accelerator": "cpu", "enable_progress_bar": False},
        },
        "protocols": {
            "random": {"data": {"split": {"protocol": "random"}}},
            "cross-view": {
                "data": {
                    "split": {
                        "protocol": "cross-view",
                        "train_views": [1, 2, 3, 4],
                        "test_views": [5],
                    }
                }
            },
        },  # fmt: skip
        "models": {
            "action_mean": {"kind": "action_mean"},
            "nearest_video": {"kind": "nearest", "features": "video"},
            "pose_transformer": {
                "modalities": ["pose"],
                "encoders": {"pose": {"name": "pose_transformer", "joints": 21, "dim": 16}},
            },
        },
    }
    if external is not None:  # a quick second run: one baseline and the external file
        spec["protocols"] = {"random": spec["protocols"]["random"]}
        spec["models"] = {"action_mean": spec["models"]["action_mean"]}
        spec["external"] = [{"name": "mine", "protocol": "random", "predictions": str(external)}]
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_benchmark_writes_results_plots_and_scores_an_external_file(flex_root, tmp_path):
    out = tmp_path / "out"
    lines: list[str] = []
    spec = load_spec(tiny_spec(flex_root, tmp_path))
    rows = run_benchmark(spec, out, progress=False, report=lines.append)
    # Cross-view changes only the views, so models that read no video are not run again.
    assert [(r["model"], r["protocol"]) for r in rows] == [
        *((m, "random") for m in ("action_mean", "nearest_video", "pose_transformer")),
        ("nearest_video", "cross-view"),
    ]
    skipped = [line for line in lines if "skipped" in line]
    assert len(skipped) == 2 and all("cross-view" in line for line in skipped)
    for row in rows:
        assert all(np.isfinite(row[m]) for m in ("mae", "rmse")) and len(row["r_ch"]) == 16
    with (out / "results.csv").open() as file:
        assert len(list(csv.DictReader(file))) == 4
    table = (out / "results.md").read_text()
    assert table.count("\n") == 6 and "| cross-view | nearest_video | 1 |" in table
    assert (out / "targets-cross-view.npz").stat().st_size > 0
    for name in ("per_muscle_r.png", "envelopes.png", "targets-random.npz"):
        assert (out / name).stat().st_size > 0
    # A predictions file written by the benchmark, given back as an external model, scores
    # exactly as that model did: the external path uses the same scoring.
    mine = out / "predictions" / "pose_transformer-random-s0.npz"
    again = run_benchmark(
        load_spec(tiny_spec(flex_root, tmp_path, external=mine)), tmp_path / "again", False
    )
    external = next(r for r in again if r["model"] == "mine")
    trained = next(r for r in rows if (r["model"], r["protocol"]) == ("pose_transformer", "random"))
    for name in ("mae", "rmse", "r", "clip_r", "contribution_mae"):
        assert external[name] == pytest.approx(trained[name], rel=1e-6)


def test_cross_view_tests_on_a_view_it_never_trained_on(flex_root, tmp_path):
    spec = load_spec(tiny_spec(flex_root, tmp_path))
    datamodule = datamodule_for(run_config(spec, "cross-view", "action_mean", 0), False)
    train, test = datamodule.dataset("train"), datamodule.dataset("test")
    assert train.views == (1, 2, 3, 4) and test.views == (5,)
    assert not set(datamodule.split.train) & set(datamodule.split.test)
    item = test[0]
    assert item["video"].shape[0] == 1 and item["envelope"].shape[1] == 16


def test_shipped_benchmark_composes_every_cell():
    spec = load_spec(SHIPPED)
    assert set(spec.protocols) == {"random", "cross-subject", "cross-view"}
    kinds = set()
    for protocol in spec.protocols:
        for model in spec.models:
            config = run_config(spec, protocol, model, spec.seeds[0])
            kinds.add(config.model.kind)
            if protocol == "cross-view":
                assert list(config.data.split.test_views) == [5]
    assert kinds == {"learned", "action_mean", "nearest"}
    pose = run_config(spec, "random", "pose_transformer", 0)  # a model's own loader and budget
    video = run_config(spec, "random", "video", 0)
    assert (pose.data.loader.batch_size, video.data.loader.batch_size) == (64, 16)
    assert pose.data.split == video.data.split and pose.trainer.max_epochs == 100


def test_bad_spec_files_exit_2_with_the_key(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("benchmark: video2emg\nmodels: {a: {kind: action_mean}}\nprotocol: {}\n")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['protocol'\]"):
        load_spec(path)
    assert main(["bench", "video2emg", str(path)]) == 2
    assert "unknown key(s) ['protocol']" in capsys.readouterr().err
    path.write_text("benchmark: video2emg\nprotocols: {r: {}}\nmodels: {a: {knd: x}}\n")
    spec = load_spec(path)
    with pytest.raises(ConfigError, match="knd"):
        run_config(spec, "r", "a", 0)


def write_mia_folder(root: Path) -> None:
    """A small MIA layout whose 8-muscle envelope follows the joints' heights."""
    rng = np.random.default_rng(0)
    for split, subjects in (("train", (0, 1, 2)), ("val", (3,)), ("test", (4,))):
        for subject in subjects:
            for exercise in ("Squat", "ElbowPunch"):
                for clip in range(2):
                    folder = root / split / f"Subject{subject}" / exercise / str(clip)
                    folder.mkdir(parents=True)
                    joints = rng.normal(size=(30, 49, 3)).astype(np.float32)
                    np.save(folder / "joints3d.npy", joints)
                    np.save(folder / "emgvalues.npy", np.abs(joints[:, :8, 1]).T)


def test_the_mia_benchmark_file_runs_on_mia_data(tmp_path):
    root = tmp_path / "MIADatasetOfficial"
    write_mia_folder(root)
    spec = yaml.safe_load(SHIPPED.with_name("video2emg_mia.yaml").read_text())
    spec["seeds"] = [0]
    spec["base"]["data"].update(
        reader={**spec["base"]["data"]["reader"], "root": str(root)},
        cache={"dir": str(tmp_path / "cache"), "workers": 1, "image_size": None},
        loader={"batch_size": 4, "num_workers": 0},
    )
    spec["base"]["trainer"].update(max_epochs=1, accelerator="cpu")
    path = tmp_path / "mia.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    rows = run_benchmark(load_spec(path), tmp_path / "out", progress=False)
    assert {(r["model"], r["protocol"]) for r in rows} == {
        (m, p) for m in spec["models"] for p in ("dataset", "cross-subject")
    }
    for row in rows:
        assert len(row["r_ch"]) == 8 and np.isfinite(row["mae"])
    datamodule = datamodule_for(run_config(load_spec(path), "cross-subject", "action_mean", 0),
                                False)  # fmt: skip
    split = datamodule.split
    assert not {split.subjects[k] for k in split.train} & {split.subjects[k] for k in split.test}
    item = datamodule.dataset("test")[0]
    assert item["envelope"].shape == (30, 8) and item["contribution"].shape == (4,)
