"""Running a study's grid: one run folder per resolved config, keyed by its hash.

A rerun skips runs whose folder holds `result.json`, resumes those with a `last.ckpt` and
starts the rest afresh. A run that raises is recorded with its error (`error.txt` holds the
traceback) and the others go on. A folder lock keeps two processes off one run.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import functools
import json
import logging
import multiprocessing
import os
import re
import shutil
import signal
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from omegaconf import DictConfig

from fusion.ablate.spec import AblationSpec, PlannedRun
from fusion.ablate.tokens import prepare_tokens
from fusion.config import ConfigError, compose, run_key

RESULT = "result.json"
PRINT = functools.partial(print, flush=True)
PR_SET_PDEATHSIG = 1  # prctl(2) option: the signal a process gets when its parent dies


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9=,._+-]", "_", label)[:80]


@dataclass
class Job:
    """A planned run with its composed config and folder (config None: it did not compose)."""

    index: int
    run: PlannedRun
    key: str
    folder: Path | None
    config: DictConfig | None = None
    error: str = ""
    prefix: str = ""  # what names it on progress lines, e.g. "[study] 3/18 axis=value,seed=0"


@dataclass
class Outcome:
    """What became of a job: done (trained now), finished (an earlier run), failed or busy."""

    job: Job
    status: str
    metrics: dict[str, Any] = field(default_factory=dict)
    minutes: float = 0.0
    error: str = ""
    resumed_from: int | None = None


def _compose(spec: AblationSpec, index: int, run: PlannedRun, out: Path, extra: list[str]) -> Job:
    """A job with its composed config and folder, or with the error that stopped composing."""
    try:
        config = compose(
            spec.config,
            [
                *run.overrides,
                *extra,
                f"name={spec.name}",
                "trainer.enable_progress_bar=false",
                "trainer.enable_model_summary=false",
            ],
        )
    except ConfigError as error:
        return Job(index, run, "", None, error=str(error))
    key = run_key(config)
    folder = out / "runs" / f"{_slug(run.label)}-{key}"
    config.out = str(folder.parent)
    return Job(index, run, key, folder, config)


def resolve_checkpoints(
    overrides: list[str], pretrained: dict[str, Path | str]
) -> tuple[list[str], str]:
    """`key=@name` made `key=<pretrain name's checkpoint>`, and the problem ("" if none) when
    that pretrain run failed (its value is then a str: its error) or has not run."""
    resolved, problem = [], ""
    for item in overrides:
        key, value = item.split("=", 1)
        if value.startswith("@"):
            found = pretrained.get(value[1:], f"pretrain {value[1:]} has not run")
            if isinstance(found, str):
                problem = f"pretrain {value[1:]}: {found}"
            value = str(found)
        resolved.append(f"{key}={value}")
    return resolved, problem


def pretrain_job(
    spec: AblationSpec, name: str, out: Path, extra: list[str], pretrained: dict[str, Path | str]
) -> Job:
    """The pretrain run `name` (its own overrides and `--set`, not `base`), its `@earlier`
    references made the checkpoints of the pretrain runs before it."""
    index = list(spec.pretrain).index(name)
    overrides, problem = resolve_checkpoints(spec.pretrain[name], pretrained)
    run = PlannedRun({"pretrain": name}, 0, overrides)
    return (
        Job(index, run, "", None, error=problem)
        if problem
        else _compose(spec, index, run, out, extra)
    )


def checkpoint_of(job: Job) -> Path:
    """Where a finished pretrain job's checkpoint is: best.ckpt, else last.ckpt."""
    best = job.folder / "checkpoints" / "best.ckpt"
    return best if best.is_file() else job.folder / "checkpoints" / "last.ckpt"


def plan(
    spec: AblationSpec,
    out: Path,
    extra: list[str],
    pretrained: dict[str, Path | str] | None = None,
) -> list[Job]:
    """Compose every run's config, with `key=@name` made `key=<pretrain name's checkpoint>`;
    a run that does not compose, or whose pretrain run failed (a str: its error), is a job with
    its error."""
    jobs = []
    for index, run in enumerate(spec.runs()):
        overrides, problem = resolve_checkpoints(run.overrides, pretrained or {})
        if problem:
            jobs.append(Job(index, run, "", None, error=problem))
            continue
        planned = PlannedRun(run.axes, run.seed, overrides)
        jobs.append(_compose(spec, index, planned, out, extra))
    return jobs


def _epochs_done(checkpoint: Path) -> int | None:
    """Epochs a last.ckpt has finished; None when it cannot be read (start afresh)."""
    from fusion.checkpoints import CheckpointError, read_checkpoint

    try:
        return 1 + int(read_checkpoint(checkpoint)["epoch"])
    except CheckpointError:  # an unreadable checkpoint means starting afresh
        return None


def quiet_lightning() -> None:
    """Keep Lightning's per-run banners (devices, seeds, model summary) out of the progress."""
    import pytorch_lightning  # noqa: F401 - its import sets its logger to INFO; set it after

    for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)


def execute(job: Job, threads: int | None = None, say: Callable[[str], None] = PRINT) -> Outcome:
    """Train one job in this process (or find it finished), saying so when it starts to
    train; never raises."""
    if job.config is None or job.folder is None:
        return Outcome(job, "failed", error=job.error)
    quiet_lightning()
    if threads:
        import torch

        torch.set_num_threads(threads)
    folder = job.folder
    folder.mkdir(parents=True, exist_ok=True)
    locks = folder.parent / ".locks"
    locks.mkdir(exist_ok=True)
    try:
        lock = FileLock(str(locks / f"{folder.name}.lock"), timeout=0)
        lock.acquire()
    except Timeout:
        return Outcome(job, "busy", error=f"{folder} is being trained by another process")
    try:
        return _execute_locked(job, folder, say)
    finally:
        lock.release()


def _execute_locked(job: Job, folder: Path, say: Callable[[str], None]) -> Outcome:
    result = folder / RESULT
    if result.is_file():
        saved = json.loads(result.read_text())
        return Outcome(job, "finished", saved["metrics"], saved["minutes"])
    last = folder / "checkpoints" / "last.ckpt"
    epoch = _epochs_done(last) if last.is_file() else None
    if epoch is None:
        for child in folder.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    if job.prefix:
        say(f"{job.prefix}: {'training' if epoch is None else 'resuming'}")
    started = time.perf_counter()
    try:
        from fusion.train import train

        _, metrics = train(
            job.config, resume=str(last) if epoch is not None else None, folder=folder
        )
    except Exception as error:  # noqa: BLE001 - a failed run is reported, the others go on
        (folder / "error.txt").write_text(traceback.format_exc())
        return Outcome(job, "failed", error=f"{type(error).__name__}: {error}", resumed_from=epoch)
    minutes = (time.perf_counter() - started) / 60
    record = {
        "key": job.key,
        "label": job.run.label,
        "axes": job.run.axes,
        "seed": job.run.seed,
        "metrics": metrics,
        "minutes": minutes,
    }
    tmp = folder / f".{RESULT}.tmp"
    tmp.write_text(json.dumps(record, indent=1) + "\n")
    tmp.replace(result)
    (folder / "error.txt").unlink(missing_ok=True)
    return Outcome(job, "done", metrics, minutes, resumed_from=epoch)


def _start_worker(parent: int) -> None:
    """A pool worker ends with the runner (Linux: SIGTERM when its parent dies), so a study
    that is killed leaves no orphan training in its folders. Its loaders fork their workers as
    `fusion train` does: a spawned process would otherwise spawn them too, re-importing torch
    and re-pickling the dataset for every loader (this made feature extraction 10x slower)."""
    if "fork" in multiprocessing.get_all_start_methods():
        multiprocessing.set_start_method("fork", force=True)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the runner died before the line above
        os._exit(1)


def run_jobs(
    jobs: list[Job], parallel: int = 1, say: Callable[[str], None] = PRINT
) -> Iterator[Outcome]:
    """Outcomes as the jobs end: in order in this process, or from `parallel` processes
    sharing the CPU cores (which print their own start lines)."""
    if parallel <= 1:
        for job in jobs:
            yield execute(job, say=say)
        return
    threads = max(1, (os.cpu_count() or 1) // parallel)
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(
        parallel, mp_context=context, initializer=_start_worker, initargs=(os.getpid(),)
    ) as pool:
        futures = [pool.submit(execute, job, threads) for job in jobs]
        for future in concurrent.futures.as_completed(futures):
            yield future.result()


def describe(outcome: Outcome, metrics: list[str]) -> str:
    """The progress line's verdict for one run."""
    if outcome.status == "failed":
        return f"FAILED: {outcome.error}"
    if outcome.status == "busy":
        return f"busy: {outcome.error}"
    numbers = {k: v for k, v in outcome.metrics.items() if isinstance(v, int | float)}
    # A pretrain run of another task (pose_distill) has none of the study's metrics: its own.
    names = [m for m in metrics if m in numbers] or [
        k for k in numbers if k.startswith("test/") and k != "test/loss"
    ]
    shown = f" ({', '.join(f'{m} {numbers[m]:.3f}' for m in names)})" if names else ""
    if outcome.status == "finished":
        return f"finished earlier{shown}"
    resumed = (
        "" if outcome.resumed_from is None else f", resumed after {outcome.resumed_from} epoch(s)"
    )
    return f"done in {outcome.minutes:.1f} min{resumed}{shown}"


def run_study(
    spec: AblationSpec,
    out: Path,
    extra: tuple[str, ...] = (),
    parallel: int = 1,
    say: Callable[[str], None] = PRINT,
) -> list[Outcome]:
    """Train the pretrain runs, extract the tokens of the feature-mode runs, then train every
    run of the grid (a line as each starts and ends); the grid's outcomes in grid order."""
    pretrained: dict[str, Path | str] = {}
    for name in spec.pretrain:
        job = pretrain_job(spec, name, out, list(extra), pretrained)
        job.prefix = f"[{spec.name}] pretrain {name}"
        outcome = execute(job, say=say)
        say(f"{job.prefix}: {describe(outcome, spec.metrics)}")
        ok = outcome.status in ("done", "finished")
        pretrained[name] = checkpoint_of(job) if ok else outcome.error or outcome.status
    jobs = plan(spec, out, list(extra), pretrained)
    say(f"[{spec.name}] {len(jobs)} runs under {out / 'runs'}, {parallel} at a time")
    for job in jobs:
        job.prefix = f"[{spec.name}] {job.index + 1}/{len(jobs)} {job.run.label}"
    pending = [j.config for j in jobs if j.folder is not None and not (j.folder / RESULT).is_file()]
    prepare_tokens(pending, say, f"[{spec.name}]")
    outcomes = []
    for outcome in run_jobs(jobs, parallel, say):
        say(f"{outcome.job.prefix}: {describe(outcome, spec.metrics)}")
        outcomes.append(outcome)
    return sorted(outcomes, key=lambda o: o.job.index)
