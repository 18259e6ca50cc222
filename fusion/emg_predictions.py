"""Video->EMG prediction files: the format any model's results are scored from, and the scoring.

A predictions file is an `.npz` with
- `keys` (N,) str: the test clips' keys (each once, any order);
- `envelope` (N, T, C) float: the predicted normalised envelope, row t of clip n at the
  target's t-th time stamp; rows past a clip's length are NaN (T is the longest clip);
- `contribution` (N, P) float, optional: each muscle pair's predicted left share L / (L + R).
The benchmark writes `targets-<protocol>.npz` in the same layout (plus `times`), which tells
an outside model which clips, how many rows and which time stamps to predict.

The benchmark (`fusion bench video2emg`) writes and scores these files and `fusion report`
reads them back, so the format sits below both runners (docs/architecture.md).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fusion.data.sample import DataError
from fusion.metrics.emg import EnvelopeMetrics

Record = dict[str, Any]


def _padded(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """(N, T_max, ...) with NaN past each array's rows."""
    longest = max(len(a) for a in arrays)
    out = np.full((len(arrays), longest, *arrays[0].shape[1:]), np.nan, np.float32)
    for n, a in enumerate(arrays):
        out[n, : len(a)] = a
    return out


def write_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> Path:
    """Write arrays to `path` through a temporary file, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, **arrays)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_predictions(records: Sequence[Record], path: Path) -> Path:
    """Records (`clip_predictions`) -> a predictions file."""
    arrays = {
        "keys": np.array([r["key"] for r in records]),
        "envelope": _padded([r["envelope"] for r in records]),
    }
    if records and "contribution" in records[0]:
        arrays["contribution"] = np.stack([r["contribution"] for r in records]).astype(np.float32)
    return write_npz(path, arrays)


def write_targets(records: Sequence[Record], path: Path) -> Path:
    """The true envelopes, times and shares of the test clips, in the predictions layout."""
    arrays = {
        "keys": np.array([r["key"] for r in records]),
        "times": _padded([r["times"][:, None] for r in records])[..., 0],
        "envelope": _padded([r["target"] for r in records]),
        "contribution": np.stack([r["contribution_target"] for r in records]).astype(np.float32),
    }
    return write_npz(path, arrays)


def _load_npz(path: Path, kind: str) -> dict[str, np.ndarray]:
    """Every array of an `.npz` file; a missing or unreadable file is a DataError."""
    if not path.is_file():
        raise DataError(path, f"{kind} file not found")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except (OSError, ValueError) as error:
        raise DataError(path, f"not a readable .npz file ({error})") from None


def read_targets(path: Path) -> list[Record]:
    """A targets file (`write_targets`) -> one record per clip (key, times, target,
    contribution_target) holding its real rows only, as `read_predictions` expects them."""
    path = Path(path)
    arrays = _load_npz(path, "targets")
    for name in ("keys", "times", "envelope", "contribution"):
        if name not in arrays:
            raise DataError(path, f"missing array {name!r} (has {sorted(arrays)})", name)
    keys, times, envelope = arrays["keys"], arrays["times"], arrays["envelope"]
    if not (keys.ndim == 1 and times.ndim == 2 and envelope.ndim == 3) or not (
        len(keys) == len(times) == len(envelope) == len(arrays["contribution"])
    ):
        raise DataError(
            path,
            f"expected keys (N,), times (N, T), envelope (N, T, C) and contribution (N, P), "
            f"got {keys.shape}, {times.shape}, {envelope.shape} and "
            f"{arrays['contribution'].shape}",
        )
    records = []
    for n, key in enumerate(keys):
        rows = int(np.isfinite(times[n]).sum())
        records.append(
            {
                "key": str(key),
                "times": times[n, :rows],
                "target": envelope[n, :rows],
                "contribution_target": arrays["contribution"][n],
            }
        )
    return records


def read_predictions(path: Path, targets: Sequence[Record]) -> list[Record]:
    """A predictions file checked against the test clips' targets -> records to score.

    Every test key must be there once, with exactly as many real rows as its target and the
    target's channel and pair counts; anything else is a DataError naming the field.
    """
    path = Path(path)
    arrays = _load_npz(path, "predictions")
    for name in ("keys", "envelope"):
        if name not in arrays:
            raise DataError(path, f"missing array {name!r} (has {sorted(arrays)})", name)
    keys, envelope = arrays["keys"], arrays["envelope"]
    channels = targets[0]["target"].shape[1]
    if keys.ndim != 1 or envelope.ndim != 3 or envelope.shape[0] != len(keys):
        raise DataError(
            path,
            f"expected keys (N,) and envelope (N, T, {channels}), got {keys.shape} and "
            f"{envelope.shape}",
            "envelope",
        )
    if envelope.shape[2] != channels:
        raise DataError(
            path, f"expected {channels} channels, got envelope {envelope.shape}", "envelope"
        )
    by_key = {str(k): n for n, k in enumerate(keys)}
    if len(by_key) != len(keys):
        raise DataError(path, "a key appears more than once", "keys")
    wanted = {r["key"] for r in targets}
    missing, extra = sorted(wanted - set(by_key)), sorted(set(by_key) - wanted)
    if missing or extra:
        raise DataError(
            path,
            f"keys must be the {len(wanted)} test clips: {len(missing)} missing "
            f"(e.g. {missing[:3]}), {len(extra)} not in the test set (e.g. {extra[:3]})",
            "keys",
        )
    shares = arrays.get("contribution")
    pairs = len(targets[0]["contribution_target"])
    if shares is not None and shares.shape != (len(keys), pairs):
        raise DataError(
            path, f"expected ({len(keys)}, {pairs}), got {shares.shape}", "contribution"
        )
    records = []
    for target in targets:
        n = by_key[target["key"]]
        rows = len(target["target"])
        predicted = envelope[n]
        real = np.isfinite(predicted).all(axis=1)
        if real.sum() != rows or not real[:rows].all():
            raise DataError(
                path,
                f"clip {target['key']}: expected {rows} finite rows then NaN, got "
                f"{int(real.sum())} finite rows",
                "envelope",
            )
        record = {**target, "envelope": predicted[:rows].astype(np.float32)}
        record.pop("contribution", None)
        if shares is not None:
            record["contribution"] = shares[n].astype(np.float32)
        records.append(record)
    return records


def score(records: Sequence[Record]) -> dict[str, Any]:
    """EnvelopeMetrics over the records: averaged figures (floats) and per-channel lists."""
    first = records[0]
    channels, pairs = first["target"].shape[1], len(first["contribution_target"])
    metric = EnvelopeMetrics(channels, pairs)
    for record in records:
        target = torch.from_numpy(np.asarray(record["target"], np.float32))[None]
        preds = torch.from_numpy(np.asarray(record["envelope"], np.float32))[None]
        mask = torch.ones(target.shape[:2], dtype=torch.bool)
        shares = None
        if "contribution" in record:
            shares = (
                torch.from_numpy(np.asarray(record["contribution"], np.float32))[None],
                torch.from_numpy(np.asarray(record["contribution_target"], np.float32))[None],
            )
        metric.update(preds, target, mask, shares)
    values = metric.compute()
    return {k: (v.tolist() if v.ndim else float(v)) for k, v in values.items()}
