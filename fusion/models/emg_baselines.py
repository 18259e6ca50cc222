"""Non-learned Video->EMG baselines: the action's mean envelope, and the nearest training clip.

Both work on time-normalised curves: a clip's rows are resampled at `grid` points of its own
span, so repetitions of different tempo line up phase by phase (what averaging or comparing
them needs), and a prediction is resampled back to the query clip's own rows. Clips are the
dataset's items (`ClipDataset`), each with `action`, `envelope`, `contribution` and inputs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

Clip = Mapping[str, Any]
FEATURES: tuple[str, ...] = ("pose", "video")


def to_grid(values: np.ndarray, grid: int) -> np.ndarray:
    """(T, ...) rows -> (grid, ...) at evenly spaced fractions 0..1 of the clip (linear)."""
    values = np.asarray(values, np.float64)
    if len(values) == 0 or grid < 1:
        raise ValueError(f"to_grid needs rows and grid >= 1, got {values.shape} and {grid}")
    if len(values) == 1:
        return np.repeat(values, grid, axis=0)
    flat = values.reshape(len(values), -1)
    source = np.linspace(0.0, 1.0, len(values))
    target = np.linspace(0.0, 1.0, grid)
    out = np.stack([np.interp(target, source, column) for column in flat.T], axis=1)
    return out.reshape(grid, *values.shape[1:])


def _numpy(value: Any) -> np.ndarray:
    return value.float().numpy() if hasattr(value, "numpy") else np.asarray(value, np.float32)


def clip_features(clip: Clip, features: str, grid: int) -> np.ndarray:
    """A clip's input as one vector: time-normalised joints, or small grey frames of its views.

    Frames are averaged over the views the clip has and pooled to 8 x 8, so retrieval compares
    where the body is in the picture over the repetition, not pixel noise.
    """
    if features == "pose":
        if "pose" not in clip:
            raise ValueError(f"{clip['key']}: nearest-neighbour on pose, but the clip has none")
        return to_grid(_numpy(clip["pose"]), grid).ravel()
    if features == "video":
        if "video" not in clip:
            raise ValueError(f"{clip['key']}: nearest-neighbour on video, but the clip has none")
        frames = _numpy(clip["video"])  # (V, T, H, W, 3)
        views = np.asarray(clip["video_mask"], bool)
        grey = frames[views].mean(axis=(0, -1))  # (T, H, W)
        t, h, w = grey.shape
        pooled = grey[:, : h - h % 8, : w - w % 8].reshape(t, 8, h // 8, 8, w // 8).mean((2, 4))
        return to_grid(pooled, min(grid, t)).ravel()
    raise ValueError(f"nearest features {features!r}: expected one of {', '.join(FEATURES)}")


class ActionMeanEnvelope:
    """Predicts the mean time-normalised envelope (and mean shares) of the clip's action."""

    def __init__(self, grid: int = 32) -> None:
        self.grid = grid
        self.curves: dict[str, np.ndarray] = {}
        self.shares: dict[str, np.ndarray] = {}

    def fit(self, clips: Iterable[Clip]) -> ActionMeanEnvelope:
        curves, shares = defaultdict(list), defaultdict(list)
        for clip in clips:
            curves[clip["action"]].append(to_grid(_numpy(clip["envelope"]), self.grid))
            shares[clip["action"]].append(_numpy(clip["contribution"]))
        if not curves:
            raise ValueError("action_mean: no training clips to average")
        self.curves = {a: np.mean(c, axis=0) for a, c in curves.items()}
        self.shares = {a: np.mean(s, axis=0) for a, s in shares.items()}
        return self

    def predict(self, clip: Clip) -> tuple[np.ndarray, np.ndarray]:
        """(T, C) envelope on the clip's own rows and (P,) left shares."""
        action = clip["action"]
        if action not in self.curves:
            raise ValueError(f"{clip['key']}: action {action!r} has no training clip")
        rows = len(clip["envelope_times"])
        return to_grid(self.curves[action], rows), self.shares[action]


class NearestClip:
    """Predicts the envelope and shares of the training clip closest in standardised features."""

    def __init__(self, features: str = "pose", grid: int = 32) -> None:
        if features not in FEATURES:
            raise ValueError(f"nearest features {features!r}: expected one of {FEATURES}")
        self.features, self.grid = features, grid
        self.bank = np.zeros((0, 0))
        self.curves: list[np.ndarray] = []
        self.shares: list[np.ndarray] = []

    def fit(self, clips: Iterable[Clip]) -> NearestClip:
        vectors = []
        for clip in clips:
            vectors.append(clip_features(clip, self.features, self.grid))
            self.curves.append(to_grid(_numpy(clip["envelope"]), self.grid))
            self.shares.append(_numpy(clip["contribution"]))
        if not vectors:
            raise ValueError("nearest: no training clips to retrieve from")
        bank = np.stack(vectors)
        self.mean, self.std = bank.mean(0), bank.std(0) + 1e-6
        self.bank = (bank - self.mean) / self.std
        return self

    def neighbour(self, clip: Clip) -> int:
        """Index of the closest training clip (Euclidean, standardised features)."""
        query = (clip_features(clip, self.features, self.grid) - self.mean) / self.std
        return int(np.argmin(((self.bank - query) ** 2).sum(1)))

    def predict(self, clip: Clip) -> tuple[np.ndarray, np.ndarray]:
        """(T, C) envelope on the clip's own rows and (P,) left shares."""
        best = self.neighbour(clip)
        return to_grid(self.curves[best], len(clip["envelope_times"])), self.shares[best]


def build_baseline(kind: str, features: str, grid: int) -> ActionMeanEnvelope | NearestClip:
    """The baseline a `model.kind` names."""
    if kind == "action_mean":
        return ActionMeanEnvelope(grid)
    if kind == "nearest":
        return NearestClip(features, grid)
    raise ValueError(f"model.kind {kind!r}: expected learned, action_mean or nearest")


def baseline_predictions(
    model: ActionMeanEnvelope | NearestClip, clips: Sequence[Clip]
) -> list[dict[str, Any]]:
    """Per-clip records of a fitted baseline, as `fusion.tasks.video2emg.clip_predictions`."""
    records = []
    for clip in clips:
        envelope, shares = model.predict(clip)
        predicted = {"envelope": envelope.astype(np.float32), "contribution": np.asarray(shares)}
        records.append(target_record(clip) | predicted)
    return records


def target_record(clip: Clip) -> dict[str, Any]:
    """A clip's identity and true envelope and shares, the part of a record no model changes."""
    return {
        "key": clip["key"],
        "action": clip["action"],
        "subject": clip["subject"],
        "times": _numpy(clip["envelope_times"]),
        "target": _numpy(clip["envelope"]),
        "contribution_target": _numpy(clip["contribution"]),
    }
