"""`fusion predict`: an exported model on sample folders gives what `fusion eval` gave for
them, by TorchScript and by ONNX Runtime, without loading the training stack."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf

from fusion.checkpoints import read_checkpoint
from fusion.cli import main
from fusion.config import Video2EMGRunConfig, to_container
from fusion.constants import EMG_CHANNELS
from fusion.data.config import EnvelopeConfig, data_config
from fusion.data.datamodule import FusionDataModule
from fusion.data.dataset import collate
from fusion.data.video2emg import Video2EMGDataModule
from fusion.export.run import export
from fusion.predict.artifact import open_artifact
from fusion.predict.run import predict
from fusion.predict.samples import no_targets, sample_batch, sample_path
from fusion.report import prediction_rows
from fusion.tasks.aqa import AQATask
from fusion.tasks.video2emg import Video2EMGTask


@pytest.fixture(scope="module")
def exported(aqa_checkpoint, tmp_path_factory) -> Path:
    return export(aqa_checkpoint, ["torchscript", "onnx"], tmp_path_factory.mktemp("p") / "out")


@pytest.fixture(scope="module")
def evaluated(aqa_checkpoint):
    """The test split through the checkpoint as `fusion eval` runs it: raw rows by key and
    the predictions.csv rows."""
    task = AQATask.load_from_checkpoint(str(aqa_checkpoint), map_location="cpu")
    trainer = pl.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False)
    trainer.test(task, datamodule=FusionDataModule(task.config["data"]), verbose=False)
    rows = {row["key"]: row for row in task.last_predictions}
    return task, rows, {row["key"]: row for row in prediction_rows(task)}


@pytest.mark.parametrize("runtime", ["torchscript", "onnx"])
def test_predict_on_sample_folders_matches_eval(exported, evaluated, flex_root, tmp_path, runtime):
    task, rows, csv_rows = evaluated
    keys = sorted(rows)
    paths = [flex_root / key for key in keys]
    folder, records = predict(open_artifact(exported, runtime), paths, tmp_path / "pred")
    assert [r["key"] for r in records] == keys and len(keys) >= 2
    written = list(csv.DictReader((folder / "predictions.csv").open()))
    for record, line in zip(records, written, strict=True):
        row = rows[record["key"]]
        names = [e["name"] for e in record["errors"]]
        assert record["score"] == pytest.approx(float(row["pred_score"]), abs=1e-4)
        assert record["fkg_score"] == pytest.approx(float(row["fkg_score"]), abs=1e-4)
        probs = [e["probability"] for e in record["errors"]]
        assert probs == pytest.approx(row["error_probs"][: len(names)].tolist(), abs=1e-4)
        expected = csv_rows[record["key"]]
        for column in ("action_pred", "errors_pred", "spans_pred", "points_lost", "feedback"):
            assert line[column] == expected[column], column
        assert line["path"] == str(flex_root / record["key"])
        lost = sum(item["points_lost"] for item in record["breakdown"]["items"])
        assert record["breakdown"]["score"] == pytest.approx(100.0 - lost)
    assert json.loads((folder / "predictions.json").read_text()) == records


def test_a_sample_lacking_a_modality_and_an_mp4_are_scored_with_it_masked(
    exported, flex_root, faqa_root, tmp_path
):
    key = "A01/001"
    partial = tmp_path / "partial"
    (partial / key).parent.mkdir(parents=True)
    (partial / key).symlink_to(flex_root / key)
    (partial / "Skeleton" / "A01").mkdir(parents=True)
    (partial / "Skeleton" / key).symlink_to(flex_root / "Skeleton" / key)
    video = next((faqa_root / "videos").glob("*.mp4"))
    artifact = open_artifact(exported / "model.pt")
    _, records = predict(artifact, [partial / key, flex_root / key, video], tmp_path / "pred")
    without_emg, full, clip = records
    assert without_emg["score"] != pytest.approx(full["score"], abs=1e-6)  # EMG mattered
    for record in records:
        assert 0.0 <= record["score"] <= 100.0 and 0.0 <= record["fkg_score"] <= 100.0
    assert clip["key"] == video.stem and clip["path"] == str(video)


def test_predict_runs_without_lightning_or_the_model_classes(exported, flex_root, tmp_path):
    code = (
        "import sys; from fusion.predict.artifact import open_artifact; "
        "from fusion.predict.run import predict; "
        f"predict(open_artifact({str(exported)!r}), [{str(flex_root / 'A01/001')!r}], "
        f"{str(tmp_path / 'p')!r}); "
        "print(sorted(m for m in sys.modules if m.startswith(('pytorch_lightning', "
        "'fusion.tasks', 'fusion.models', 'fusion.encoders'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    assert (tmp_path / "p" / "predictions.json").is_file()


def test_the_command_prints_the_readout_and_writes_its_folder(
    exported, flex_root, tmp_path, capsys
):
    out = tmp_path / "pred"
    assert main(["predict", str(exported), str(flex_root / "A01/001"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    record = json.loads((out / "predictions.json").read_text())[0]
    assert printed.startswith(f"A01/001: {record['action']['name']}")
    assert f"score {record['score']:.1f}" in printed
    for item in record["breakdown"]["items"]:
        assert item["feedback"] in printed
    assert sorted(p.name for p in out.iterdir()) == ["predictions.csv", "predictions.json"]


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


@pytest.mark.parametrize(
    ("damage", "expected", "runtime"),
    [
        (lambda f: _truncate(f / "model.pt"), "not a loadable TorchScript file", "torchscript"),
        (lambda f: _truncate(f / "model.onnx"), "not a loadable ONNX model", "onnx"),
        (lambda f: (f / "model.json").write_text("{"), "model.json: not valid JSON", "onnx"),
        (lambda f: (f / "model.json").unlink(), "model.json: no such file", "torchscript"),
        (lambda f: (f / "fkg.yaml").write_text("name: x\n"), "fkg.yaml", "torchscript"),
    ],
    ids=["truncated-torchscript", "truncated-onnx", "broken-json", "no-json", "changed-fkg"],
)
def test_a_damaged_artifact_is_refused_by_name(
    exported, flex_root, tmp_path, capsys, damage, expected, runtime
):
    broken = tmp_path / "export"
    broken.mkdir()
    for file in exported.iterdir():
        (broken / file.name).write_bytes(file.read_bytes())
    damage(broken)
    out = tmp_path / "pred"
    args = [str(broken), str(flex_root / "A01/001"), "--out", str(out), "--runtime", runtime]
    assert main(["predict", *args]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".pred.*-*"))


def test_a_path_that_is_no_sample_is_refused_by_name(exported, flex_root, tmp_path, capsys):
    for path in (tmp_path / "none", flex_root / "Skeleton", tmp_path):
        assert main(["predict", str(exported), str(path), "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert str(path) in err and "expected a FLEX sample folder" in err
    assert not (tmp_path / "o").exists()


def test_onnx_runtime_is_refused_when_not_exported(aqa_checkpoint, flex_root, tmp_path, capsys):
    folder = export(aqa_checkpoint, ["safetensors"], tmp_path / "weights")
    args = ["predict", str(folder), str(flex_root / "A01/001"), "--out", str(tmp_path / "o")]
    assert main(args) == 2
    assert "this export has neither" in capsys.readouterr().err
    assert main([*args, "--runtime", "onnx"]) == 2
    assert "holds no onnx export" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_video2emg_export_writes_the_envelope_eval_predicts(flex_root, tmp_path):
    config = OmegaConf.structured(Video2EMGRunConfig)
    config.data.reader.root = str(flex_root)
    config.data.cache.dir = str(tmp_path / "cache")
    config.data.cache.workers = 1
    config.data.split.protocol = "random"
    config.model.modalities = ["physio", "pose"]
    config.model.encoders = {"pose": {"name": "pose", "dim": 16, "layers": 1},
                             "physio": {"name": "physio", "dim": 8, "layers": 1}}  # fmt: skip
    config.model.dim = 16
    config = to_container(config)
    torch.manual_seed(0)
    task = Video2EMGTask(config).eval()
    path = tmp_path / "best.ckpt"
    torch.save({"state_dict": task.state_dict(), "hyper_parameters": {"config": config}}, path)
    folder = export(path, ["torchscript"], tmp_path / "export")
    datamodule = Video2EMGDataModule(config["data"], EnvelopeConfig(**config["task"]["envelope"]))
    test = datamodule.dataset("test")
    item = test[0]
    batch = datamodule.prepare_batch(collate([item]), training=False)
    with torch.no_grad():
        expected = task.model(batch)["envelope"][0]
    out, records = predict(open_artifact(folder), [flex_root / item["key"]], tmp_path / "pred")
    rows = list(csv.reader((out / records[0]["envelope"]).open()))
    assert rows[0] == ["time_s", *EMG_CHANNELS]
    values = torch.tensor([[float(v) for v in row] for row in rows[1:]])
    assert records[0]["rows"] == len(values) == len(expected) > 10
    torch.testing.assert_close(values[:, 0], batch["envelope_times"][0], atol=1e-4, rtol=0)
    torch.testing.assert_close(values[:, 1:], expected, atol=1e-5, rtol=0)


def test_views_chosen_for_predict_are_the_views_the_model_sees(aqa_checkpoint, flex_root, tmp_path):
    config = read_checkpoint(aqa_checkpoint)["hyper_parameters"]["config"]
    data = data_config(config["data"])
    sample = sample_path(flex_root / "A01/001")
    for views, count in (([1, 3], 2), (None, 5)):
        scratch = tmp_path / str(count)
        batch = sample_batch(data, sample, scratch, no_targets, ("video", "pose"), views)
        assert batch["video"].shape[:3] == (data.clip.test_clips, count, data.clip.frames)
        assert batch["video_mask"].all() and "emg" not in batch
