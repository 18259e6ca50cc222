"""A 2-process CPU DDP run (gloo) of the default model: one run folder, the metrics of a
single-process run, and a checkpoint that loads and evaluates in one process."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from fusion.evaluate import evaluate


def test_a_two_process_ddp_run_writes_one_folder_that_evaluates_in_one_process(
    tmp_path, flex_root, fast_dev
):
    overrides = [
        *fast_dev(flex_root, tmp_path)[:-1],
        "trainer=cpu-ddp",
        "trainer.max_epochs=2",
        "trainer.enable_progress_bar=false",
        f"out={tmp_path / 'runs'}",
    ]
    done = subprocess.run(
        [sys.executable, "-m", "fusion.cli", "train", *overrides],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "MEMBER: 2/2" in done.stderr  # rank 1 joined the process group
    (folder,) = (tmp_path / "runs").iterdir()  # both ranks wrote the folder rank 0 chose
    assert done.stdout.count("run folder:") == 1  # rank 0 alone tests and reports
    metrics = json.loads((folder / "metrics.json").read_text())
    cache = [p.name for p in (tmp_path / "cache").iterdir() if not p.name.endswith(".lock")]
    assert len(cache) == 1 and not cache[0].startswith(".")  # one build, no leftover

    single = subprocess.run(
        [sys.executable, "-m", "fusion.cli", "train", *overrides[:-2], "trainer.max_epochs=1",
         "trainer.limit_train_batches=1", f"out={tmp_path / 'single'}"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert single.returncode == 0, single.stderr[-3000:]
    (one,) = (tmp_path / "single").iterdir()
    reference = json.loads((one / "metrics.json").read_text())
    assert set(metrics) == set(reference)  # the same metrics, whatever the number of ranks

    _, again = evaluate(folder / "checkpoints" / "best.ckpt", "test", tmp_path / "eval")
    for name in ("test/loss", "test/rho", "test/rho_fkg", "test/error_f1", "test/mae"):
        assert again[name] == pytest.approx(metrics[name], abs=1e-6), name
