"""The study runner: finished runs are skipped, killed ones resume, failed ones are reported."""

from __future__ import annotations

import concurrent.futures
import csv
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from fusion.ablate.results import result_rows, write_csv
from fusion.ablate.runner import (
    Job,
    Outcome,
    _start_worker,
    describe,
    plan,
    pretrain_job,
    run_key,
    run_study,
)
from fusion.ablate.spec import PlannedRun, load_spec
from fusion.config import compose
from fusion.features import FeatureCache

STUDY = """
ablation: tiny
base:
  - data.split.protocol=random
  - data.loader.num_workers=0
  - data.loader.batch_size=4
  - data.cache.workers=1
  - data.augment=[]
  - model.modalities=[pose]
  - model.dim=32
  - model.encoders.pose.dim=32
  - model.fuser.name=concat
  - trainer.max_epochs={epochs}
axes:
  variant:
    plain: []
    broken: [model.encoders.pose.dim=-4]
    unknown: [model.no_such_key=1]
metrics: [test/rho_fkg]
"""


def tiny_study(tmp_path: Path, flex_root: Path, epochs: int, variants: str = "") -> tuple:
    text = STUDY.format(epochs=epochs)
    if variants:
        keep = variants.split(",")
        text = "\n".join(
            line
            for line in text.splitlines()
            if not line.strip().endswith(("[]", "=-4]", "=1]"))
            or line.split(":")[0].strip() in keep
        )
    path = tmp_path / "study.yaml"
    path.write_text(text)
    extra = (f"data.reader.root={flex_root}", f"data.cache.dir={tmp_path / 'cache'}")
    return load_spec(path), extra


def test_the_run_key_ignores_where_a_run_is_written_but_not_what_it_computes():
    base = compose(None, [])
    assert run_key(base) == run_key(compose(None, ["out=elsewhere", "name=other"]))
    assert run_key(base) == run_key(compose(None, ["trainer.enable_progress_bar=false"]))
    assert run_key(base) != run_key(compose(None, ["seed=1"]))
    assert run_key(base) != run_key(compose(None, ["model.fuser.name=concat"]))


def test_failed_runs_are_reported_and_finished_runs_skipped(tmp_path, flex_root):
    spec, extra = tiny_study(tmp_path, flex_root, epochs=1)
    out = tmp_path / "study"
    lines: list[str] = []
    outcomes = run_study(spec, out, extra, say=lines.append)
    status = {o.job.run.axes["variant"]: o for o in outcomes}
    assert status["plain"].status == "done"
    assert status["broken"].status == "failed"
    assert "dim" in status["broken"].error
    assert "Traceback" in (status["broken"].job.folder / "error.txt").read_text()
    assert status["unknown"].status == "failed"
    assert "no_such_key" in status["unknown"].error
    assert any("broken" in line and "FAILED" in line for line in lines)
    write_csv(result_rows(spec, outcomes), out / "results.csv")
    rows = {r["variant"]: r for r in csv.DictReader((out / "results.csv").open())}
    assert rows["broken"]["status"] == "failed" and rows["broken"]["error"]
    assert float(rows["plain"]["test/rho_fkg"]) == pytest.approx(
        status["plain"].metrics["test/rho_fkg"]
    )
    folder = status["plain"].job.folder
    saved = json.loads((folder / "result.json").read_text())
    assert saved["metrics"]["test/rho_fkg"] == status["plain"].metrics["test/rho_fkg"]
    stamp = (folder / "result.json").stat().st_mtime_ns

    again = run_study(spec, out, extra, say=lines.append)
    assert [o.status for o in again] == ["finished", "failed", "failed"]
    assert again[0].metrics == status["plain"].metrics
    assert (folder / "result.json").stat().st_mtime_ns == stamp


def _steps(folder: Path) -> int:
    return torch.load(folder / "checkpoints" / "last.ckpt", weights_only=False)["global_step"]


def test_a_run_killed_mid_way_resumes_with_the_same_number_of_steps(tmp_path, flex_root):
    epochs = 8
    spec, extra = tiny_study(tmp_path, flex_root, epochs, variants="plain")
    out = tmp_path / "killed"
    (job,) = plan(spec, out, list(extra))
    last = job.folder / "checkpoints" / "last.ckpt"
    command = [sys.executable, "-m", "fusion.cli", "ablate", str(spec.path), "--out", str(out)]
    process = subprocess.Popen(
        [*command, "--set", *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while not last.is_file() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    assert last.is_file(), "the run never wrote a checkpoint"
    assert not (job.folder / "result.json").exists(), "the run finished before it was killed"
    done_before = torch.load(last, weights_only=False)["epoch"] + 1
    assert done_before < epochs

    lines: list[str] = []
    (resumed,) = run_study(spec, out, extra, say=lines.append)
    assert resumed.status == "done"
    assert resumed.resumed_from is not None and resumed.resumed_from >= done_before
    assert any("resuming" in line for line in lines)
    (straight,) = run_study(spec, tmp_path / "straight", extra, say=lambda _: None)
    assert straight.job.key == resumed.job.key
    assert _steps(resumed.job.folder) == _steps(straight.job.folder)
    epochs_logged = {
        int(row["epoch"])
        for row in csv.DictReader((resumed.job.folder / "metrics.csv").open())
        if row.get("val/loss")
    }
    # The epochs after the checkpoint are all logged; what the killed process had not yet
    # flushed to metrics.csv is lost with it.
    assert set(range(done_before, epochs)) <= epochs_logged


PRETRAINED = """
ablation: frozen
pretrain:
  source: {source}
base:
  - features.enabled=true
  - features.train_passes=1
  - features.encoders_from=@source
  - model.fuser.name=concat
axes:
  inputs:
    pose: ["model.modalities=[pose]"]
    emg: ["model.modalities=[emg]"]
    both: ["model.modalities=[pose,emg]"]
metrics: [test/rho_fkg]
"""


def test_pretrain_runs_first_and_its_encoders_are_cached_once(
    tmp_path, flex_root, fast_dev, monkeypatch
):
    source = [
        "model.modalities=[pose,emg]",
        "model.fuser.name=concat",
        "trainer.max_epochs=1",
        "data.augment=[]",
    ]
    path = tmp_path / "frozen.yaml"
    path.write_text(PRETRAINED.format(source=source).replace("'", '"'))
    spec = load_spec(path)
    extra = (
        *fast_dev(flex_root, tmp_path)[:-1],  # no fast_dev_run: the source needs a checkpoint
        "trainer.max_epochs=1",
        f"features.dir={tmp_path / 'features'}",
    )
    passes: list[tuple[str, list[str]]] = []
    extract = FeatureCache._pass

    def counted(self, part, index, modalities):
        passes.append((part, sorted(modalities)))
        return extract(self, part, index, modalities)

    monkeypatch.setattr(FeatureCache, "_pass", counted)
    lines: list[str] = []
    outcomes = run_study(spec, tmp_path / "study", extra, say=lines.append)
    assert [o.status for o in outcomes] == ["done"] * 3, [o.error for o in outcomes]
    assert lines[0] == "[frozen] pretrain source: training"
    assert lines[3].startswith("[frozen] features pose,emg: ready in ")
    # one pass over each part for both modalities, before the grid; none inside the runs
    assert passes == [
        ("train", ["emg", "pose"]),
        ("val", ["emg", "pose"]),
        ("test", ["emg", "pose"]),
    ]
    (store,) = (p for p in (tmp_path / "features").iterdir() if p.is_dir())
    assert sorted(p.name.split("-")[0] for p in store.glob("*.pt")) == ["emg", "labels.pt", "pose"]
    source_ckpt = next((tmp_path / "study" / "runs").glob("pretrain=source*/checkpoints/best.ckpt"))
    assert all(str(source_ckpt) == o.job.config.features.encoders_from for o in outcomes)


def test_a_failed_pretrain_fails_the_runs_that_need_it(tmp_path, flex_root, fast_dev):
    path = tmp_path / "frozen.yaml"
    path.write_text(PRETRAINED.format(source='["model.encoders.pose.dim=-1"]'))
    spec = load_spec(path)
    outcomes = run_study(spec, tmp_path / "study", tuple(fast_dev(flex_root, tmp_path)), say=print)
    assert {o.status for o in outcomes} == {"failed"}
    assert all(o.error.startswith("pretrain source: ") for o in outcomes)


def test_parallel_workers_end_with_a_killed_runner_and_a_rerun_finishes(tmp_path, flex_root):
    spec, extra = tiny_study(tmp_path, flex_root, epochs=30, variants="plain")
    path = tmp_path / "two.yaml"
    path.write_text(spec.path.read_text() + "\nseeds: [0, 1]\n")
    out = tmp_path / "parallel"
    command = [sys.executable, "-m", "fusion.cli", "ablate", str(path), "--out", str(out)]
    process = subprocess.Popen(
        [*command, "--parallel", "2", "--set", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    started = 0
    for line in process.stdout:
        started += line.rstrip().endswith(": training")
        if started == 2:
            break
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 20
    locks = out / "runs" / ".locks"
    while time.monotonic() < deadline and any(_held(lock) for lock in locks.glob("*.lock")):
        time.sleep(0.2)
    assert not any(_held(lock) for lock in locks.glob("*.lock")), "a worker outlived the runner"

    quick = [*extra, "trainer.max_epochs=1"]  # another config: new folders, trained now
    outcomes = run_study(load_spec(path), out, tuple(quick), parallel=2, say=lambda _: None)
    assert [o.status for o in outcomes] == ["done", "done"]
    sequential = run_study(load_spec(path), tmp_path / "seq", tuple(quick), say=lambda _: None)
    for a, b in zip(outcomes, sequential, strict=True):
        assert a.metrics["test/loss"] == pytest.approx(b.metrics["test/loss"], abs=1e-6)


def _held(lock: Path) -> bool:
    from filelock import FileLock, Timeout

    try:
        FileLock(str(lock), timeout=0).acquire().lock.release()
    except Timeout:
        return True
    return False


def test_pool_workers_fork_their_loader_workers():
    # A spawned worker would spawn its loaders' workers too: torch re-imported per loader.
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(
        1, mp_context=context, initializer=_start_worker, initargs=(os.getpid(),)
    ) as pool:
        # Looked up in the worker: a pickled `get_start_method` carries this process's context.
        found = pool.submit(eval, "__import__('multiprocessing').get_start_method()")
        assert found.result() == "fork"


def test_a_later_pretrain_run_starts_from_an_earlier_ones_checkpoint(tmp_path):
    path = tmp_path / "chain.yaml"
    path.write_text(
        "ablation: chain\npretrain:\n  first: []\n  second: [model.encoders_from=@first]\n"
        "axes: {a: {x: []}}\n"
    )
    spec = load_spec(path)
    assert spec.name == "chain"
    done = pretrain_job(spec, "second", tmp_path, [], {"first": tmp_path / "first.ckpt"})
    assert done.config.model.encoders_from == str(tmp_path / "first.ckpt")
    assert done.run.axes == {"pretrain": "second"} and done.index == 1
    failed = pretrain_job(spec, "second", tmp_path, [], {"first": "exit 1"})
    assert failed.config is None and failed.error == "pretrain first: exit 1"


def test_progress_lines_show_the_study_metrics_or_else_the_runs_own():
    job = Job(0, PlannedRun({"pretrain": "distill"}, 0, []), "", None)
    distill = Outcome(job, "done", {"test/loss": 0.04, "test/mpjpe_mm": 39.46}, minutes=25.8)
    assert describe(distill, ["test/rho"]) == "done in 25.8 min (test/mpjpe_mm 39.460)"
    aqa = Outcome(job, "finished", {"test/rho": 0.81, "test/mae": 9.0})
    assert describe(aqa, ["test/rho"]) == "finished earlier (test/rho 0.810)"
    assert describe(Outcome(job, "done", {}, minutes=1.0), ["test/rho"]) == "done in 1.0 min"
