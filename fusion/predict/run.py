"""`predict(artifact, samples, out)`: an exported model run on sample files, its readout written.

An AQA export gives per sample the score, each error's probability and span, the FKG
breakdown (points lost per error) and its feedback: `predictions.csv` (the columns of a run's
predictions.csv) and `predictions.json`. A Video->EMG export gives each sample's predicted
envelope, one CSV per sample under `envelopes/`, listed in `predictions.json`. The folder is
written under a temporary name and renamed into place, so it is complete or absent.
"""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fusion.data.config import data_config
from fusion.data.envelope import EnvelopeClock
from fusion.data.sample import DataError, Sample
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
from fusion.predict.artifact import Artifact, ArtifactError
from fusion.predict.samples import (
    SamplePath,
    Targets,
    model_inputs,
    no_targets,
    sample_batch,
    sample_path,
)
from fusion.readout import merge_clips, read_out

CSV_COLUMNS = (
    "key", "path", "action_pred", "score_pred", "fkg_score", "errors_pred", "spans_pred",
    "points_lost", "feedback",
)  # fmt: skip


def artifact_fkg(artifact: Artifact) -> FitnessKnowledgeGraph:
    """The FKG exported beside an AQA model, checked against the hash model.json records."""
    name = artifact.meta["files"].get("fkg")
    if not name:
        raise ArtifactError(f"{artifact.folder}: model.json names no fkg file; re-export it")
    fkg = load_fkg(artifact.folder / name)
    recorded = (artifact.meta.get("fkg") or {}).get("sha256")
    if recorded != fkg.sha256:
        raise ArtifactError(
            f"{artifact.folder / name}: FKG hash {fkg.sha256[:12]} differs from model.json's "
            f"{str(recorded)[:12]}; the file was changed after export"
        )
    return fkg


def envelope_request(config: dict[str, Any], channels: int) -> Targets:
    """Targets that only ask for the envelope's times (the model predicts its values)."""
    envelope = config["task"]["envelope"]
    clock = EnvelopeClock(
        rate_hz=envelope.get("rate_hz"),
        window_s=envelope.get("window_s"),
        kind=envelope.get("kind", "signal"),
        fallback_rate_hz=config["data"]["reader"]["video_fps"],
    )

    def targets(sample: Sample) -> dict[str, Any]:
        times = clock.times(sample)
        return {
            "envelope": torch.zeros(len(times), channels),
            "envelope_times": torch.from_numpy(times.astype(np.float32)),
        }

    return targets


def unique_name(folder: Path, part: str, stem: str, suffix: str) -> Path:
    """`part/stem.suffix` under `folder`, or `part/stem-2.suffix`... when taken (two samples of
    the same key from different datasets)."""
    name, count = Path(part) / f"{stem}{suffix}", 1
    while (folder / name).exists():
        count += 1
        name = Path(part) / f"{stem}-{count}{suffix}"
    return name


def clip_rows(outputs: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """One row per clip of the artifact's AQA outputs, named as the AQA task's test rows."""
    rename = {"score": "pred_score"}
    count = len(outputs["score"])
    return [
        {rename.get(name, name): torch.from_numpy(np.asarray(v[i])) for name, v in outputs.items()}
        for i in range(count)
    ]


def predict(
    artifact: Artifact,
    paths: Sequence[str | Path],
    out: str | Path,
    views: list[int] | None = None,
) -> tuple[Path, list[dict[str, Any]]]:
    """Run `artifact` on every sample path; write the readout into `out`. Returns the folder
    and one record per sample (what predictions.json holds)."""
    out = Path(out)
    samples = [sample_path(p) for p in paths]
    seen = [s.path.absolute() for s in samples]
    twice = next((s.path for s, r in zip(samples, seen, strict=True) if seen.count(r) > 1), None)
    if twice is not None:
        raise DataError(twice, "given twice; expected each sample once")
    try:
        check_output_folder(out)
        with writer_lock(out, "predict"):
            say_swept(sweep_stale(out), "predict")
            records = _predict_locked(artifact, samples, out, views)
    except OutputError as error:
        raise ArtifactError(str(error)) from None
    return out, records


def _predict_locked(
    artifact: Artifact, samples: list[SamplePath], out: Path, views: list[int] | None
) -> list[dict[str, Any]]:
    """Write the readout into `.NAME.tmp-PID` and rename it over `out` (lock held)."""
    if out.exists() and not (out / "predictions.json").is_file():
        raise ArtifactError(
            f"{out}: exists and is not an earlier fusion predict output (no predictions.json); "
            "expected a new or a predict folder"
        )
    data = data_config(artifact.meta["config"]["data"])
    modalities = tuple(artifact.meta["config"]["model"]["modalities"])
    tmp = temporary(out)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        if artifact.task == "aqa":
            records = _aqa(artifact, samples, data, modalities, views, tmp)
        else:
            records = _video2emg(artifact, samples, data, modalities, views, tmp)
        (tmp / "predictions.json").write_text(json.dumps(records, indent=1) + "\n")
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return records


def _user_path(path: str, scratch: Path, sample: SamplePath) -> str:
    """A path in the scratch copy of a sample, as the user knows it: the file its link points
    to (the scratch dataset's own folders: the sample itself)."""
    if not Path(path).is_relative_to(scratch):
        return path
    real = Path(path).resolve()
    return str(sample.path if real.is_relative_to(scratch.resolve()) else real)


def _outputs(artifact, data, sample: SamplePath, targets, modalities, views) -> tuple[dict, dict]:
    """The sample's batch of test clips and the artifact's outputs on it."""
    with tempfile.TemporaryDirectory(prefix="fusion-predict-") as folder:
        scratch = Path(folder)
        try:
            batch = sample_batch(data, sample, scratch, targets, modalities, views)
        except DataError as error:
            where = _user_path(error.path, scratch, sample)
            raise DataError(where, error.problem, error.where) from None
    return batch, artifact(model_inputs(artifact.meta["inputs"], batch))


def _aqa(artifact, samples, data, modalities, views, folder: Path) -> list[dict[str, Any]]:
    fkg = artifact_fkg(artifact)
    cuts = artifact.meta.get("thresholds") or {}
    error_cut, span_cut = cuts.get("error_threshold", 0.5), cuts.get("span_threshold", 0.5)
    records, rows = [], []
    for sample in samples:
        _, outputs = _outputs(artifact, data, sample, no_targets, modalities, views)
        readout = read_out(fkg, merge_clips(clip_rows(outputs)), error_cut, span_cut)
        rows.append({"key": sample.key, "path": str(sample.path), **readout.columns()})
        records.append({"key": sample.key, "path": str(sample.path), **readout.to_dict()})
    with (folder / "predictions.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return records


def _video2emg(artifact, samples, data, modalities, views, folder: Path) -> list[dict[str, Any]]:
    channels = artifact.meta["labels"]["channels"]
    actions = artifact.meta["labels"].get("actions") or []
    targets = envelope_request(artifact.meta["config"], len(channels))
    (folder / "envelopes").mkdir()
    records = []
    for sample in samples:
        batch, outputs = _outputs(artifact, data, sample, targets, modalities, views)
        envelope = outputs["envelope"].mean(0)  # the clips of a sample share its envelope times
        times = batch["envelope_times"][0].numpy()
        name = unique_name(folder, "envelopes", sample.key.replace("/", "_"), ".csv")
        with (folder / name).open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["time_s", *channels])
            writer.writerows(
                [f"{t:.4f}", *(f"{v:.6f}" for v in row)]
                for t, row in zip(times, envelope, strict=True)
            )
        record = {
            "key": sample.key,
            "path": str(sample.path),
            "envelope": str(name),
            "rows": len(times),
        }
        if "contribution" in outputs:
            record["contribution"] = outputs["contribution"].mean(0).tolist()
        if "action_logits" in outputs and actions:
            record["action_pred"] = actions[int(outputs["action_logits"].mean(0).argmax())]
        records.append(record)
    return records
