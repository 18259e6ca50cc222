"""A short training run end to end, the checkpoint round trip, and `fusion eval`."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from fusion.cli import main
from fusion.config import compose
from fusion.fkg.loader import FKGError
from fusion.tasks.aqa import AQATask
from fusion.train import train


@pytest.fixture(scope="module")
def tiny(short_run):
    """Makes the config of a short run with a small video backbone (root, tmp_path, *extra)."""

    def make(root: Path, tmp_path: Path, *extra: str):
        light = "model.encoders.video.backbone=mobilenetv3_small_050"
        return compose(None, [*short_run(root, tmp_path), light, *extra])

    return make


@pytest.fixture(scope="module")
def run(flex_root, tiny, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("train")
    folder, metrics = train(tiny(flex_root, tmp))
    return folder, metrics


def test_a_run_writes_metrics_predictions_checkpoints_and_plots(run):
    folder, metrics = run
    for name in ("metrics.json", "predictions.csv", "config.yaml", "split.json",
                 "learning_curves.png", "scores.png", "checkpoints/last.ckpt"):  # fmt: skip
        assert (folder / name).is_file(), name
    stored = json.loads((folder / "metrics.json").read_text())
    assert -1.0 <= stored["test/rho"] <= 1.0 and stored["epochs"] == 1
    rows = list(csv.DictReader((folder / "predictions.csv").open()))
    split = json.loads((folder / "split.json").read_text())
    assert sorted(r["key"] for r in rows) == sorted(split["test"])
    assert all(0.0 <= float(r["fkg_score"]) <= 100.0 for r in rows)
    state = torch.load(folder / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    assert state["threshold"].item() == pytest.approx(stored["test/threshold"])


def _validation_rows(task: AQATask, probs: torch.Tensor, errors: torch.Tensor) -> None:
    """Queue one validation row per sample of action 0 with these error probabilities."""
    e = task.max_errors
    for i, (p, y) in enumerate(zip(probs, errors, strict=True)):
        task._outputs["val"].append(
            {
                "key": f"k{i}", "action": torch.tensor(0), "score": torch.tensor(70.0),
                "score_mask": torch.tensor(True), "errors": y, "errors_mask": y >= 0,
                "error_spans": torch.full((e, 2), float("nan")),
                "action_logits": torch.zeros(task.num_actions), "action_used": torch.tensor(0),
                "pred_score": torch.tensor(70.0), "fkg_score": torch.tensor(70.0),
                "error_probs": p, "frame_probs": torch.zeros(4, e), "bin_times": torch.arange(4.0),
                "bin_width": torch.tensor(1.0),
            }
        )  # fmt: skip


@pytest.mark.parametrize(("fixed", "expected"), [("null", 0.3), (0.5, 0.5)])
def test_validation_tunes_the_error_threshold_unless_one_is_fixed(tmp_path, fixed, expected):
    task = AQATask(OmegaConf.to_container(compose(None, [f"task.error_threshold={fixed}"])))
    errors = (torch.arange(12)[:, None] % 3 == 0).float().expand(12, task.max_errors)
    probs = (
        0.1 + 0.2 * errors
    )  # positives at 0.3, negatives at 0.1: F1 = 1 for t in [0.1, 0.3), closest to 0.5 wins
    _validation_rows(task, probs, errors)
    task.on_validation_epoch_end()
    assert task.error_threshold == pytest.approx(expected)


def test_validation_tunes_the_span_threshold_on_temporal_map(tmp_path):
    """Bins inside the true span at 0.35, outside at 0.15: only cuts in [0.15, 0.35) find it."""
    task = AQATask(OmegaConf.to_container(compose(None, [])))
    e = task.max_errors
    errors = torch.zeros(4, e)
    errors[:, 0] = 1.0
    _validation_rows(task, torch.full((4, e), 0.9) * errors, errors)
    for row in task._outputs["val"]:
        row["error_spans"][0] = torch.tensor([1.0, 3.0])
        row["frame_probs"] = torch.full((4, e), 0.15)
        row["frame_probs"][1:3, 0] = 0.35
    task.on_validation_epoch_end()
    assert task.span_threshold == pytest.approx(0.3)
    assert task.error_threshold == pytest.approx(0.5)


def test_checkpoint_reloads_without_arguments_and_predicts_the_same(run, flex_root):
    folder, _ = run
    task = AQATask.load_from_checkpoint(str(folder / "checkpoints" / "last.ckpt"))
    again = AQATask.load_from_checkpoint(str(folder / "checkpoints" / "last.ckpt"))
    task.eval(), again.eval()
    batch = {
        "video": torch.rand(2, 5, 8, 3, 64, 64),
        "video_mask": torch.ones(2, 5, dtype=torch.bool),
        "video_times": torch.linspace(0, 3, 8).expand(2, 8),
    }
    with torch.no_grad():
        assert torch.equal(task(batch)["score"], again(batch)["score"])


def test_a_checkpoint_from_another_fkg_is_refused(run, tmp_path):
    folder, _ = run
    other = tmp_path / "fkg.yaml"
    source = Path(__file__).resolve().parents[2] / "configs" / "fkg" / "flex.yaml"
    other.write_text(source.read_text().replace('version: "1.0"', 'version: "1.1"', 1))
    checkpoint = torch.load(folder / "checkpoints" / "last.ckpt", weights_only=False)
    checkpoint["hyper_parameters"]["config"]["task"]["fkg"] = str(other)
    torch.save(checkpoint, tmp_path / "other.ckpt")
    with pytest.raises(FKGError, match="trained with FKG"):
        AQATask.load_from_checkpoint(str(tmp_path / "other.ckpt"))


def test_fusion_eval_writes_metrics_and_predictions(run, tmp_path, capsys):
    folder, _ = run
    out = tmp_path / "eval"
    code = main(["eval", str(folder / "checkpoints" / "last.ckpt"), "--out", str(out)])
    assert code == 0
    assert "test/rho" in json.loads((out / "metrics.json").read_text())
    assert (out / "predictions.csv").is_file()


def test_fusion_eval_reads_the_data_from_where_it_lies_now(run, flex_root, tmp_path, capsys):
    folder, _ = run
    moved = Path(shutil.copytree(flex_root, tmp_path / "moved"))
    checkpoint = str(folder / "checkpoints" / "last.ckpt")
    out = tmp_path / "eval"
    cache = f"data.cache.dir={tmp_path / 'cache'}"
    assert main(["eval", checkpoint, f"data.reader.root={moved}", cache, "--out", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["test/rho"] == pytest.approx(
        json.loads((folder / "metrics.json").read_text())["test/rho"], abs=1e-6
    )
    assert main(["eval", checkpoint, "model.dim=8"]) == 2
    assert "expected data.KEY=VALUE" in capsys.readouterr().err
    assert main(["eval", checkpoint, "data.reader.colour=red"]) == 2
    assert "colour" in capsys.readouterr().err


def test_a_modality_the_dataset_lacks_is_refused(faqa_root, tmp_path, capsys):
    code = main(
        ["train", f"data.reader.root={faqa_root}", f"data.cache.dir={tmp_path}",
         "data.split.protocol=dataset", f"out={tmp_path / 'runs'}"]
    )  # fmt: skip
    assert code == 2
    assert "asks for pose" in capsys.readouterr().err


def test_resume_continues_the_epoch_count(run, tiny, flex_root, tmp_path):
    folder, _ = run
    copy = tmp_path / "run" / "checkpoints"
    copy.mkdir(parents=True)
    shutil.copy(folder / "checkpoints" / "last.ckpt", copy / "last.ckpt")
    config = tiny(flex_root, tmp_path, "trainer.max_epochs=2")
    resumed, metrics = train(config, resume=str(copy / "last.ckpt"))
    assert resumed == tmp_path / "run" and metrics["epochs"] == 2
    log = list(csv.DictReader((resumed / "metrics.csv").open()))
    assert {r["epoch"] for r in log if r.get("val/loss")} == {"1"}
