"""Which run folder a `fusion train` writes, and which checkpoint it continues.

A new run gets `<out>/<name>-<YYYYmmdd-HHMMSS>`. `resume=auto` continues the newest
unfinished run folder of the same config (same `run_key`; `checkpoints/last.ckpt` and no
`metrics.json`), or starts a new one. Every rank of a distributed run must agree on both: the
processes Lightning launches inherit rank 0's choice through the environment, and processes
started by torchrun or SLURM name the folder after the job (`TORCHELASTIC_RUN_ID`,
`SLURM_JOB_ID`), or take `FUSION_RUN_FOLDER`.
"""

from __future__ import annotations

import contextlib
import csv
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.loggers import CSVLogger

from fusion.config import ConfigError, run_key

RUN_FOLDER_ENV = "FUSION_RUN_FOLDER"
RESUME_ENV = "FUSION_RESUME"
JOB_ID_ENVS = ("TORCHELASTIC_RUN_ID", "SLURM_JOB_ID")
WORLD_SIZE_ENVS = ("WORLD_SIZE", "SLURM_NTASKS")


@dataclass
class RunPlace:
    """Where a run writes and the checkpoint it continues (None: from the start)."""

    folder: Path
    checkpoint: Path | None = None


def _launched_world_size() -> int:
    """How many processes a launcher (torchrun, SLURM) started for this job; 1 if none."""
    for name in WORLD_SIZE_ENVS:
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 1


def new_run_folder(config: DictConfig) -> Path:
    """<out>/<name>-<stamp>, created; under a multi-process launcher,
    <out>/<name>-<job id>-<config key>, the same for every rank."""
    if _launched_world_size() > 1:
        # torchrun's run id is "none" unless --rdzv-id (or --standalone) sets one: every job
        # would share `<name>-none`.
        ids = (os.environ.get(e, "") for e in JOB_ID_ENVS)
        job = next((i for i in ids if i not in ("", "none")), None)
        if job is None:
            raise ConfigError(
                f"{_launched_world_size()} processes were launched without a job id "
                f"({' or '.join(JOB_ID_ENVS)}; torchrun sets it from --rdzv-id): "
                f"set {RUN_FOLDER_ENV} to one run folder for all"
            )
        # The config's key apart, two configs of one job would share a folder; a requeued job
        # (same id, same config) finds its own again, for resume=auto.
        folder = Path(config.out) / f"{config.name}-{job}-{run_key(config)[:8]}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(config.out) / f"{config.name}-{stamp}"
    folder, n = base, 1
    while folder.exists():
        n += 1
        folder = base.with_name(f"{base.name}-{n}")
    folder.mkdir(parents=True)
    return folder


def unfinished_run(config: DictConfig) -> Path | None:
    """The newest `last.ckpt` of an unfinished run folder of this config under `out`."""
    key = run_key(config)
    found = sorted(
        Path(config.out).glob(f"{config.name}-*/checkpoints/last.ckpt"),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for checkpoint in found:
        folder = checkpoint.parent.parent
        saved = folder / "config.yaml"
        if (folder / "metrics.json").is_file() or not saved.is_file():
            continue
        if run_key(OmegaConf.load(saved)) == key:
            return checkpoint
    return None


def place_run(config: DictConfig, folder: Path | None = None) -> RunPlace:
    """The run's folder and the checkpoint it continues, from `config.resume` (None, `auto`
    or a last.ckpt), `folder` when the caller chose one, or what rank 0 chose."""
    shared = os.environ.get(RUN_FOLDER_ENV)
    if shared:
        resumed = os.environ.get(RESUME_ENV)
        return RunPlace(Path(shared), Path(resumed) if resumed else None)
    resume = config.get("resume")
    if resume == "auto":
        checkpoint = unfinished_run(config)
        if checkpoint is not None:
            return RunPlace(checkpoint.parent.parent, checkpoint)
    elif resume:
        checkpoint = Path(resume)
        if not checkpoint.is_file():
            raise ConfigError(f"resume: {checkpoint}: no such checkpoint (or use resume=auto)")
        return RunPlace(folder or checkpoint.parent.parent, checkpoint)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        return RunPlace(folder)
    return RunPlace(new_run_folder(config))


@contextlib.contextmanager
def shared_with_launched_ranks(place: RunPlace) -> Iterator[None]:
    """Within: the processes Lightning starts for the other ranks (they re-run this command)
    inherit the run folder and checkpoint rank 0 chose. Left as it was afterwards, so later
    runs in this process choose their own."""
    saved = {k: os.environ.get(k) for k in (RUN_FOLDER_ENV, RESUME_ENV)}
    os.environ[RUN_FOLDER_ENV] = str(place.folder)
    os.environ[RESUME_ENV] = str(place.checkpoint or "")
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def logged_rows(folder: Path, epochs_done: int) -> list[dict[str, Any]]:
    """The rows of the folder's metrics.csv from the epochs a checkpoint holds (the later ones
    are trained and logged again)."""
    path = folder / "metrics.csv"
    if not path.is_file():
        return []
    with path.open(newline="") as file:
        rows = list(csv.DictReader(file))
    return [r for r in rows if r.get("epoch", "").isdigit() and int(r["epoch"]) < epochs_done]


class ContinuedCSVLogger(CSVLogger):
    """Lightning's CSVLogger in the run folder that starts metrics.csv with the rows of the
    run it continues (Lightning's own deletes the file of the run before)."""

    def __init__(self, folder: Path, kept: list[dict[str, Any]]) -> None:
        super().__init__(str(folder), name="", version="")
        self._kept = kept

    @property
    def experiment(self) -> Any:
        writer = super().experiment
        if self._kept:
            writer.metrics, self._kept = self._kept, []
            writer.save()
        return writer
