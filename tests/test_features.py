"""Feature-cache mode: frozen encoders' tokens computed once and shared, and a model trained on
them predicts exactly what the end-to-end path predicts with the same weights."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from fusion.config import compose, to_container
from fusion.data.datamodule import FusionDataModule
from fusion.evaluate import evaluate
from fusion.features import FeatureCache, feature_datamodule, weights_digest
from fusion.tasks.aqa import AQATask
from fusion.train import train


def overrides(root: Path, tmp_path: Path, *extra: str) -> list[str]:
    return [
        f"data.reader.root={root}",
        f"data.cache.dir={tmp_path / 'cache'}",
        "data.cache.workers=1",
        "data.loader.num_workers=0",
        "data.loader.batch_size=4",
        "data.split.protocol=random",
        "model.dim=32",
        "model.encoders.video.dim=32",
        "model.encoders.pose.dim=32",
        "model.encoders.emg.dim=16",
        "model.encoders.physio.dim=16",
        "trainer.max_epochs=2",
        "trainer.enable_progress_bar=false",
        "features.enabled=true",
        f"features.dir={tmp_path / 'features'}",
        "features.train_passes=2",
        f"out={tmp_path / 'runs'}",
        *extra,
    ]


def rows(path: Path) -> list[dict[str, str]]:
    return sorted(csv.DictReader(path.open()), key=lambda r: r["key"])


@pytest.fixture(scope="module")
def cached_run(flex_root, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("features")
    config = compose(None, overrides(flex_root, tmp_path))
    folder, metrics = train(config)
    return tmp_path, config, folder, metrics


def test_a_model_trained_on_cached_tokens_predicts_as_the_end_to_end_path(cached_run):
    tmp_path, config, folder, metrics = cached_run
    checkpoint = folder / "checkpoints" / "best.ckpt"
    e2e_folder, e2e = evaluate(checkpoint, "test", tmp_path / "e2e")  # raw data, no cache
    for name in ("test/loss", "test/rho", "test/rho_fkg", "test/mae", "test/error_ap"):
        assert e2e[name] == pytest.approx(metrics[name], abs=1e-5), name
    cached, raw = rows(folder / "predictions.csv"), rows(e2e_folder / "predictions.csv")
    assert [r["key"] for r in cached] == [r["key"] for r in raw]
    for a, b in zip(cached, raw, strict=True):
        assert float(a["score_pred"]) == pytest.approx(float(b["score_pred"]), abs=0.011)
        assert a["errors_pred"] == b["errors_pred"]


def test_a_run_trains_the_same_whether_it_built_the_cache_or_found_it(cached_run):
    _, config, _, metrics = cached_run
    _, warm = train(config)  # a new run folder; every token file is there now
    for name in ("test/loss", "test/rho", "test/mae"):
        assert warm[name] == metrics[name], name


def test_the_encoders_stay_frozen_at_the_runs_initial_weights(cached_run):
    _, config, folder, _ = cached_run
    saved = torch.load(folder / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    pl.seed_everything(config.seed)
    initial = AQATask(to_container(config)).model.encoders.state_dict()
    for name, tensor in initial.items():
        assert torch.equal(saved[f"model.encoders.{name}"], tensor), name


def test_tokens_are_shared_by_runs_with_the_same_encoder_weights(cached_run, flex_root):
    tmp_path, _, folder, _ = cached_run
    store = next(p for p in (tmp_path / "features").iterdir() if p.is_dir())
    before = {p.name: p.stat().st_mtime_ns for p in store.glob("*.pt")}
    assert {n.split("-")[0] for n in before} == {"labels.pt", "emg", "physio", "pose", "video"}
    source = folder / "checkpoints" / "last.ckpt"
    config = compose(
        None,
        overrides(
            flex_root,
            tmp_path,
            "model.modalities=[pose,emg]",
            f"features.encoders_from={source}",
            "model.fuser.name=concat",
            "seed=3",
        ),
    )
    _, metrics = train(config)
    after = {p.name: p.stat().st_mtime_ns for p in store.glob("*.pt")}
    assert after == before  # nothing re-computed: pose and emg tokens came from the cache
    assert metrics["test/loss"] > 0

    other = compose(None, overrides(flex_root, tmp_path, "model.modalities=[pose]", "seed=5"))
    train(other)  # new random pose weights: a new pose file beside the old one
    pose_files = sorted(p.name for p in store.glob("pose-*.pt"))
    assert len(pose_files) == 2


def test_passes_are_augmented_and_val_test_clips_deterministic(flex_root, tmp_path):
    config = compose(None, overrides(flex_root, tmp_path, "model.modalities=[pose,video]"))
    data = FusionDataModule(config.data, progress=False)
    task = AQATask(to_container(config))
    module = feature_datamodule(config, data, task.model)
    labels, tokens = module.cache.load()
    assert len(labels["train"]) == 2 and len(tokens["video"]["train"]) == 2
    first, second = tokens["video"]["train"]
    assert first["values"].shape == second["values"].shape
    assert not torch.equal(first["values"], second["values"])  # jitter and flips differ
    keys = [row["key"] for row in labels["test"]]
    assert len(keys) == 2 * len(set(keys))  # the test clips of every sample
    rebuilt = FeatureCache(data, task.model.encoders, {"pose": {}, "video": {}}, config.features)
    assert rebuilt.data_key() == module.cache.data_key()
    one = compose(
        None, overrides(flex_root, tmp_path, "model.modalities=[pose,video]", "data.clip.views=[1]")
    )
    one_view = FeatureCache(
        FusionDataModule(one.data, progress=False),
        task.model.encoders,
        {"pose": {}, "video": {}},
        one.features,
    )
    assert one_view.data_key() == rebuilt.data_key()  # labels and pose tokens are shared
    assert one_view.encoder_key("pose") == rebuilt.encoder_key("pose")
    assert one_view.encoder_key("video") != rebuilt.encoder_key("video")
    workers = compose(
        None,
        overrides(
            flex_root,
            tmp_path,
            "model.modalities=[pose,video]",
            "data.loader.num_workers=1",
            f"features.dir={tmp_path / 'with-workers'}",
        ),
    )
    other = feature_datamodule(workers, FusionDataModule(workers.data, progress=False), task.model)
    labels_w, tokens_w = other.cache.load()  # the same clips, drawn in a loader worker
    assert [r["key"] for r in labels_w["train"][1]] == [r["key"] for r in labels["train"][1]]
    for name in ("values", "times", "offsets"):
        assert torch.equal(tokens_w["video"]["train"][1][name], second[name])
    pose = task.model.encoders["pose"]
    digest = weights_digest(pose)
    with torch.no_grad():
        next(pose.parameters()).view(-1)[0] += 1e-3
    assert weights_digest(pose) != digest


def test_feature_mode_refuses_what_it_cannot_cache(flex_root, tmp_path):
    config = compose(None, overrides(flex_root, tmp_path, "data.balance=two-step"))
    with pytest.raises(ValueError, match="features.enabled: data.balance must be none"):
        train(config)
    missing = tmp_path / "none.ckpt"
    config = compose(None, overrides(flex_root, tmp_path, f"features.encoders_from={missing}"))
    with pytest.raises(ValueError, match=r"features.encoders_from: .*none.ckpt: no such"):
        train(config)
