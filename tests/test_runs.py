"""Run folders: a new one per run, `resume=auto` finds the unfinished run of the same config,
every rank agrees on the folder, and a killed run resumes with the same optimiser steps."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from fusion.config import ConfigError, compose, run_key
from fusion.runs import (
    RESUME_ENV,
    RUN_FOLDER_ENV,
    ContinuedCSVLogger,
    logged_rows,
    place_run,
    shared_with_launched_ranks,
)


def _config(tmp_path: Path, *extra: str):
    return compose(None, [f"out={tmp_path / 'runs'}", *extra])


def _fake_run(config, name: str, finished: bool = False) -> Path:
    folder = Path(config.out) / name
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "config.yaml").write_text(OmegaConf.to_yaml(config))
    (folder / "checkpoints" / "last.ckpt").write_bytes(b"x")
    if finished:
        (folder / "metrics.json").write_text("{}")
    return folder


def test_auto_resume_takes_the_newest_unfinished_run_of_the_same_config(tmp_path):
    config = _config(tmp_path, "resume=auto")
    assert place_run(config).checkpoint is None  # nothing to resume: a new folder
    older = _fake_run(config, "aqa-1")
    _fake_run(config, "aqa-2", finished=True)
    _fake_run(_config(tmp_path, "seed=7"), "aqa-3")  # another config
    place = place_run(config)
    assert place.folder == older and place.checkpoint == older / "checkpoints" / "last.ckpt"
    time.sleep(0.01)
    newer = _fake_run(
        compose(None, [f"out={tmp_path / 'runs'}", "trainer.enable_progress_bar=false"]), "aqa-4"
    )
    assert place_run(config).folder == newer  # progress bar and `out` are not the config


def test_a_named_checkpoint_must_exist(tmp_path):
    with pytest.raises(ConfigError, match="resume: .*nope.ckpt: no such checkpoint"):
        place_run(_config(tmp_path, f"resume={tmp_path / 'nope.ckpt'}"))


def test_every_rank_writes_the_folder_rank_zero_chose(tmp_path, monkeypatch):
    config = _config(tmp_path)
    chosen = place_run(config)
    with shared_with_launched_ranks(chosen):
        assert place_run(config) == chosen  # what a rank Lightning launched sees
    assert RUN_FOLDER_ENV not in os.environ and RESUME_ENV not in os.environ
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "job17")
    key = run_key(config)[:8]
    assert place_run(config).folder == tmp_path / "runs" / f"aqa-job17-{key}"  # torchrun: by job
    for unset in ("none", ""):  # torchrun without --rdzv-id says "none"
        monkeypatch.setenv("TORCHELASTIC_RUN_ID", unset)
        with pytest.raises(ConfigError, match=f"--rdzv-id.*{RUN_FOLDER_ENV}"):
            place_run(config)
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    assert place_run(config).folder == tmp_path / "runs" / f"aqa-4242-{key}"  # srun: by job


def test_the_continued_log_keeps_the_rows_of_the_epochs_the_checkpoint_holds(tmp_path):
    with (tmp_path / "metrics.csv").open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=["epoch", "step", "val/loss"])
        writer.writeheader()
        writer.writerows([{"epoch": e, "step": e, "val/loss": 1.0 / (e + 1)} for e in range(3)])
    kept = logged_rows(tmp_path, epochs_done=2)
    assert [r["epoch"] for r in kept] == ["0", "1"]
    logger = ContinuedCSVLogger(tmp_path, kept)
    logger.log_metrics({"val/loss": 0.1, "epoch": 2}, step=9)
    logger.save()
    rows = list(csv.DictReader((tmp_path / "metrics.csv").open()))
    assert [(r["epoch"], r["val/loss"]) for r in rows] == [("0", "1.0"), ("1", "0.5"), ("2", "0.1")]


def _last_steps(folder: Path) -> int:
    return torch.load(folder / "checkpoints" / "last.ckpt", weights_only=True)["global_step"]


def test_a_killed_run_resumes_with_resume_auto_to_the_same_steps(tmp_path, flex_root, fast_dev):
    epochs = 8
    overrides = [
        *fast_dev(flex_root, tmp_path)[:-1],
        "model.modalities=[pose]",
        "model.fuser.name=concat",
        f"trainer.max_epochs={epochs}",
        "trainer.enable_progress_bar=false",
        "trainer.accumulate_grad_batches=2",
    ]
    command = [sys.executable, "-m", "fusion.cli", "train", *overrides, "resume=auto"]
    killed = [*command, f"out={tmp_path / 'killed'}"]
    process = subprocess.Popen(killed, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            if list((tmp_path / "killed").glob("aqa-*/checkpoints/last.ckpt")):
                break
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    (folder,) = (tmp_path / "killed").iterdir()
    assert (folder / "checkpoints" / "last.ckpt").is_file(), "no checkpoint before the kill"
    assert not (folder / "metrics.json").exists(), "the run finished before it was killed"
    done_before = torch.load(folder / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] + 1
    assert done_before < epochs

    subprocess.run(killed, check=True, capture_output=True)
    assert list((tmp_path / "killed").iterdir()) == [folder]  # continued in its own folder
    assert (folder / "metrics.json").is_file()
    straight = [*command, f"out={tmp_path / 'straight'}"]
    subprocess.run(straight, check=True, capture_output=True)
    (reference,) = (tmp_path / "straight").iterdir()
    assert _last_steps(folder) == _last_steps(reference) > 0
    logged = {
        int(r["epoch"])
        for r in csv.DictReader((folder / "metrics.csv").open())
        if r.get("val/loss")
    }
    assert set(range(done_before, epochs)) <= logged
