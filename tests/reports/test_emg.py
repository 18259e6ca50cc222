"""Video->EMG results in a report: found where `fusion bench video2emg` leaves them, scored
as the benchmark scores them, and no EMG section at all when a run has none."""

from __future__ import annotations

import re

import numpy as np
import pytest
import yaml

from fusion.cli import main
from fusion.config import Video2EMGRunConfig, merge_config, to_container
from fusion.data.sample import DataError
from fusion.emg_predictions import score, write_predictions, write_targets
from fusion.reports.page import build_page
from fusion.reports.run import ReportError, load_run

KEYS = ("A01/001", "A01/002", "A01/004")


def clip_records() -> list[dict]:
    rng = np.random.default_rng(0)
    out = []
    for n, key in enumerate(KEYS):
        rows = 20 + n
        target = rng.random((rows, 16)).astype(np.float32)
        out.append(
            {
                "key": key,
                "times": np.arange(rows, dtype=np.float32) / 10,
                "target": target,
                "envelope": (target + rng.normal(0, 0.1, target.shape)).astype(np.float32),
                "contribution_target": np.full(8, 0.5, np.float32),
                "contribution": np.full(8, 0.55, np.float32),
            }
        )
    return out


@pytest.fixture()
def bench(flex_root, tmp_path):
    """A benchmark folder with one learned cell's run folder, predictions and targets."""
    bench = tmp_path / "bench"
    cell = bench / "runs" / "pose-random-s0"
    cell.mkdir(parents=True)
    config = merge_config(
        Video2EMGRunConfig,
        {"name": "pose-random-s0", "data": {"reader": {"root": str(flex_root)}}},
        {"data": {"split": {"protocol": "random"}}},
    )
    (cell / "config.yaml").write_text(yaml.safe_dump(to_container(config)))
    (cell / "metrics.csv").write_text(
        "epoch,step,train/loss_epoch,val/loss,val/r\n0,3,0.5,,\n0,3,,0.4,0.7\n"
    )
    records = clip_records()
    write_predictions(records, bench / "predictions" / "pose-random-s0.npz")
    write_targets(records, bench / "targets-random.npz")
    return cell, records


def test_a_video2emg_run_shows_its_scored_figures_curves_and_clip_cards(bench):
    cell, records = bench
    run = load_run(cell)
    assert run.kind == "video2emg" and run.emg is not None
    expected = score(records)
    assert run.metrics["test/mae"] == pytest.approx(expected["mae"])
    html = build_page(run, cards=2)
    assert f"<td>envelope MAE</td><td>test/mae</td><td>{expected['mae']:.3f}</td>" in html
    assert f"<td>Pearson r</td><td>test/r</td><td>{expected['r']:.3f}</td>" in html
    assert re.findall(r'<h3>([^<]*)</h3><img class="plot"', html) == [
        "Learning curves", "Video→EMG envelopes"
    ]  # fmt: skip
    assert 'id="emg"' in html and "targets-random.npz" in html
    assert re.findall(r'id="card-([^"]+)"', html) == list(KEYS[:2])
    assert html.count('<img class="card-plot"') == 2
    assert '<div class="timeline"' not in html  # no error spans in a Video->EMG run


def test_an_aqa_run_shows_the_emg_section_only_with_emg_predictions(aqa_run, bench):
    cell, records = bench
    folder = aqa_run()
    assert 'id="emg"' not in build_page(load_run(folder))
    beside = cell.parent / folder.name
    folder.rename(beside)
    write_predictions(records, cell.parent.parent / "predictions" / f"{folder.name}.npz")
    write_targets(records, cell.parent.parent / "targets-cross-subject.npz")  # its protocol
    html = build_page(load_run(beside))
    assert html.count('id="emg"') == 1 and "<td>envelope RMSE</td>" in html


def test_a_video2emg_run_without_predictions_is_an_error_naming_the_file(bench):
    cell, _ = bench
    (cell.parent.parent / "predictions" / "pose-random-s0.npz").unlink()
    with pytest.raises(ReportError, match=r"predictions/pose-random-s0\.npz: not found"):
        load_run(cell)


def test_predictions_that_miss_a_clip_exit_2_naming_the_file(bench, capsys):
    cell, records = bench
    predictions = cell.parent.parent / "predictions" / "pose-random-s0.npz"
    write_predictions(records[:2], predictions)
    with pytest.raises(DataError, match="1 missing"):
        load_run(cell)
    assert main(["report", str(cell)]) == 2
    assert str(predictions) in capsys.readouterr().err
