"""`fusion synth`: simulate a whole dataset in parallel and write it atomically.

The dataset is built in a hidden sibling folder and renamed into place, so a crash never
leaves a partial dataset behind; an existing different dataset is only replaced with `force`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from fusion.data.layouts import FITNESS_AQA_ERRORS, FITNESS_AQA_EXERCISES
from fusion.fkg.graph import FitnessKnowledgeGraph
from fusion.fkg.loader import load_fkg
from fusion.outputs import (
    OutputError,
    check_output_folder,
    say_swept,
    sweep_stale,
    temporary,
    writer_lock,
)
from fusion.pools import worker_context
from fusion.synth.cameras import camera_rig
from fusion.synth.manifest import META, manifest_problems, take_manifest
from fusion.synth.presets import FITNESS_AQA_RATES, PRESETS, Preset
from fusion.synth.repetition import plan_repetition, simulate_repetition
from fusion.synth.subjects import Subject, sample_subjects
from fusion.synth.summary import summarize
from fusion.synth.writers import (
    write_fitness_aqa_clip,
    write_flex_sample,
    write_json,
    write_split_mat,
)

GENERATOR_VERSION = "4"  # bump when a preset's bytes change (4: load-velocity concentric)
FORMATS = ("flex", "fitness-aqa")
MAX_SEED = 2**32 - 1


class SynthError(RuntimeError):
    """A generation request that cannot be carried out; the message is one line for the user."""


@dataclass(frozen=True)
class Job:
    """One repetition to simulate and where it goes."""

    action_id: str
    subject_index: int
    rep: int
    sample_id: int
    key: str = ""  # Fitness-AQA clip key

    @property
    def action_number(self) -> int:
        return int(self.action_id[1:])


@dataclass(frozen=True)
class Request:
    """Everything that determines the bytes of a dataset."""

    preset: str
    seed: int
    format: str
    limit: int | None
    fkg_sha256: str
    version: str = GENERATOR_VERSION


def plan_jobs(
    preset: Preset, fkg: FitnessKnowledgeGraph, fmt: str, subjects: list[Subject]
) -> list[Job]:
    """All repetitions of the dataset in a fixed order."""
    jobs = []
    if fmt == "flex":
        for action_id in preset.actions or fkg.action_ids:
            for subject in subjects:
                for rep in range(preset.reps):
                    sample_id = subject.index * preset.reps + rep + 1
                    jobs.append(Job(action_id, subject.index, rep, sample_id))
        return jobs
    for action_id, exercise in FITNESS_AQA_EXERCISES.items():
        for subject in subjects:
            for rep in range(preset.fitness_aqa_reps):
                key = f"{exercise}_{subject.id}_{rep + 1:03d}"
                jobs.append(Job(action_id, subject.index, rep, rep + 1, key))
    return jobs


_STATE: dict = {}


def _init_worker(
    fkg_source: str, subjects: list[Subject], preset: Preset, request: Request, root: Path
) -> None:
    """Per-process state: one thread each (the pool is the parallelism), the FKG loaded once."""
    torch.set_num_threads(1)
    _STATE.update(
        fkg=load_fkg(fkg_source), subjects=subjects, preset=preset, request=request, root=root
    )


def _init_pool_worker(*args: object) -> None:
    """A pool worker's state; Ctrl-C is left to the parent, which removes the temporary folder
    and stops the pool (a worker's KeyboardInterrupt would only print a traceback)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _init_worker(*args)


def _run_job(job: Job) -> dict:
    """Simulate and write one repetition; return its summary row."""
    fkg, preset, request = _STATE["fkg"], _STATE["preset"], _STATE["request"]
    subject = _STATE["subjects"][job.subject_index]
    action = fkg.action(job.action_id)
    rng = np.random.default_rng([request.seed, 3, job.action_number, job.subject_index, job.rep])
    rates = None
    if request.format == "fitness-aqa":
        rates = {"default": 0.0} | {
            name: FITNESS_AQA_RATES[faqa]
            for faqa, (a, name) in FITNESS_AQA_ERRORS.items()
            if a == job.action_id
        }
    plan = plan_repetition(action, subject, rng, rates, job.rep)
    cameras = camera_rig(
        preset.render.width,
        preset.render.height,
        jitter=0.03,
        rng=np.random.default_rng([request.seed, 2, job.subject_index]),
    )
    rep = simulate_repetition(plan, subject, job.rep, preset.render, rng, cameras)
    root = _STATE["root"]
    if request.format == "flex":
        write_flex_sample(root, job.action_number, job.sample_id, rep)
    else:
        write_fitness_aqa_clip(root, job.key, rep)
    return {
        "action": job.action_id,
        "sample_id": job.sample_id,
        "key": job.key,
        "subject": subject.id,
        "skill": subject.skill,
        "score": rep.annotation["score"],
        "errors": [{"name": e["name"], "span_s": e["span_s"]} for e in rep.annotation["errors"]],
    }


def _check_request(
    preset: str, seed: int, fmt: str, out: Path, workers: int | None, limit: int | None
) -> None:
    if preset not in PRESETS:
        raise SynthError(f"unknown preset {preset!r}: expected one of {', '.join(PRESETS)}")
    if fmt not in FORMATS:
        raise SynthError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if not 0 <= seed <= MAX_SEED:
        raise SynthError(f"seed {seed} out of range: expected an integer in [0, {MAX_SEED}]")
    for name, value in (("workers", workers), ("limit", limit)):
        if value is not None and value < 1:
            raise SynthError(f"--{name} {value}: expected a whole number >= 1")
    parent = out.resolve().parent
    existing = next((p for p in (parent, *parent.parents) if p.exists()), None)
    if existing is None or not existing.is_dir() or not os.access(existing, os.W_OK):
        raise SynthError(f"cannot write {out}: {existing or parent} is not a writable folder")


def _existing_request(out: Path) -> dict | None:
    """The request recorded in an existing dataset, or None when `out` is absent or empty."""
    if not out.exists() or (out.is_dir() and not any(out.iterdir())):
        return None
    meta = out / META
    if not meta.is_file():
        return {}
    try:
        found = json.loads(meta.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return found if isinstance(found, dict) and isinstance(found.get("request"), dict) else {}


def generate(
    preset_name: str,
    out: Path,
    seed: int = 0,
    fmt: str = "flex",
    *,
    force: bool = False,
    workers: int | None = None,
    limit: int | None = None,
    fkg_path: str | Path | None = None,
    progress: bool = True,
) -> dict:
    """Generate a dataset into `out` and return its dataset.json content (with the summary).

    One writer at a time per `out` (its `.NAME.lock`); leftovers of an interrupted run are
    removed first; an existing dataset is reused only when its files match its manifest."""
    out = Path(out)
    _check_request(preset_name, seed, fmt, out, workers, limit)
    try:
        check_output_folder(out)
    except OutputError as error:
        raise SynthError(str(error)) from None
    fkg = load_fkg(fkg_path)
    preset = PRESETS[preset_name]
    request = Request(preset_name, seed, fmt, limit, fkg.sha256)
    try:
        with writer_lock(out, "synth"):
            say_swept(sweep_stale(out), "synth")
            existing = _reusable(out, request, force)
            if existing is not None:
                return existing
            return _build(out, request, preset, fkg, workers, progress)
    except OutputError as error:
        raise SynthError(str(error)) from None


def _reusable(out: Path, request: Request, force: bool) -> dict | None:
    """The existing dataset when it is this request's and intact; None when `out` is to be
    (re)written; SynthError when it must not be."""
    existing = _existing_request(out)
    if existing is None:
        return None
    if not existing:
        raise SynthError(
            f"{out}: holds files that are not a fusion dataset (no {META} with a request); "
            "expected an empty folder or a fusion dataset, not replacing it even with --force"
        )
    if existing.get("request") != asdict(request):
        if force:
            return None
        raise SynthError(f"{out} already holds a different dataset; pass --force to replace it")
    if "manifest" not in existing:
        problems = [f"{META} has no manifest (written by an older fusion)"]
    else:
        problems = manifest_problems(out, existing["manifest"])
    if not problems:
        return existing
    if force:
        return None
    raise SynthError(
        f"{out}: {len(problems)} file(s) missing or changed since it was generated "
        f"({'; '.join(problems[:3])}{'; ...' if len(problems) > 3 else ''}); "
        "pass --force to regenerate it"
    )


def _build(
    out: Path,
    request: Request,
    preset: Preset,
    fkg: FitnessKnowledgeGraph,
    workers: int | None,
    progress: bool,
) -> dict:
    """Simulate every sample into `.NAME.tmp-PID` and rename it into place; an interruption
    removes the temporary folder."""
    subjects = sample_subjects(preset.skills, request.seed)
    jobs = plan_jobs(preset, fkg, request.format, subjects)[: request.limit]
    tmp = temporary(out)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        rows = _run_jobs(jobs, fkg, subjects, preset, request, tmp, workers, progress)
        meta = _finish(tmp, rows, preset, request, subjects, fkg, request.format, request.seed)
        _replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return meta


def _run_jobs(
    jobs: list[Job],
    fkg: FitnessKnowledgeGraph,
    subjects: list[Subject],
    preset: Preset,
    request: Request,
    root: Path,
    workers: int | None,
    progress: bool,
) -> list[dict]:
    """Run every job (in a process pool unless one worker) and return rows in dataset order."""
    workers = workers or min(os.cpu_count() or 1, 8)
    init_args = (fkg.source, subjects, preset, request, root)
    bar = tqdm(
        total=len(jobs),
        desc=f"synth {request.preset}",
        unit="sample",
        file=sys.stderr,
        disable=not progress,
    )
    rows = []
    if workers == 1:
        _init_worker(*init_args)
        for job in jobs:
            rows.append(_run_job(job))
            bar.update()
    else:
        with worker_context().Pool(workers, _init_pool_worker, init_args) as pool:
            for row in pool.imap_unordered(_run_job, jobs, chunksize=2):
                rows.append(row)
                bar.update()
    bar.close()
    return sorted(rows, key=lambda r: (r["action"], r["sample_id"], r["key"]))


def _finish(
    root: Path,
    rows: list[dict],
    preset: Preset,
    request: Request,
    subjects: list[Subject],
    fkg: FitnessKnowledgeGraph,
    fmt: str,
    seed: int,
) -> dict:
    """Write splits, labels and dataset.json once every sample is on disk."""
    rng = np.random.default_rng([seed, 4])
    if fmt == "flex":
        _write_flex_splits(root, rows, preset, rng)
    else:
        _write_fitness_aqa_labels(root, rows, preset, rng)
    meta = {
        "format": fmt,
        "preset": preset.name,
        "seed": seed,
        "request": asdict(request),
        "fkg": {"name": fkg.name, "version": fkg.version, "sha256": fkg.sha256},
        "render": asdict(preset.render),
        "subjects": [s.to_dict() for s in subjects],
        "summary": summarize(rows),
        "manifest": take_manifest(root),
    }
    write_json(root / META, meta)
    return meta


def _write_flex_splits(
    root: Path, rows: list[dict], preset: Preset, rng: np.random.Generator
) -> None:
    table = np.array(
        [[int(r["action"][1:]), r["sample_id"], r["score"]] for r in rows], dtype=np.float64
    )
    is_test = np.zeros(len(table), dtype=bool)
    for action in np.unique(table[:, 0]):
        idx = np.flatnonzero(table[:, 0] == action)
        n_test = max(1, int(round(preset.test_fraction * len(idx)))) if len(idx) > 1 else 0
        is_test[rng.permutation(idx)[:n_test]] = True
    write_split_mat(
        root / "Split_4" / "split_4_train_list.mat", "consolidated_train_list", table[~is_test]
    )
    write_split_mat(
        root / "Split_4" / "split_4_test_list.mat", "consolidated_test_list", table[is_test]
    )


def _write_fitness_aqa_labels(
    root: Path, rows: list[dict], preset: Preset, rng: np.random.Generator
) -> None:
    for faqa, (action_id, name) in FITNESS_AQA_ERRORS.items():
        labels = {}
        for r in rows:
            if r["action"] == action_id:
                spans = [e["span_s"] for e in r["errors"] if e["name"] == name]
                labels[r["key"]] = spans[0] if spans else []
        write_json(root / "Labels" / f"error_{faqa}.json", labels)
    keys = [r["key"] for r in rows]
    order = rng.permutation(len(keys))
    n_test = int(round(preset.test_fraction * len(keys)))
    n_val = int(round(preset.val_fraction * len(keys)))
    parts = {
        "test": order[:n_test],
        "val": order[n_test : n_test + n_val],
        "train": order[n_test + n_val :],
    }
    for split, idx in parts.items():
        write_json(root / "Splits" / f"{split}_keys.json", sorted(keys[i] for i in idx))


def _replace(tmp: Path, out: Path) -> None:
    """Move the finished dataset into place; an old one is removed only after the swap."""
    if out.exists():
        trash = temporary(out, "old")
        out.rename(trash)
        tmp.rename(out)
        if trash.is_dir():
            shutil.rmtree(trash, ignore_errors=True)
        else:
            trash.unlink()
    else:
        tmp.rename(out)
