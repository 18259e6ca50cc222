"""Write simulated repetitions in the FLEX and Fitness-AQA folder layouts (docs/data-layouts.md)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import scipy.io

from fusion.synth.encode import write_jpegs, write_mp4
from fusion.synth.repetition import Repetition

MAT_HEADER_TEXT = b"MATLAB 5.0 MAT-file, written by fusion synth"


def write_csv(path: Path, rows: np.ndarray, fmt: str, header: str | None = None) -> None:
    """Write a 2-D array as CSV in one formatting pass (np.savetxt goes row by row, ~5x slower)."""
    n_rows, n_cols = rows.shape
    line = ",".join([fmt] * n_cols) + "\n"
    body = (line * n_rows) % tuple(rows.ravel().tolist())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text((header + "\n" if header else "") + body)


def write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")


def flex_sample_paths(root: Path, action: int, sample_id: int) -> dict[str, Path]:
    """Where one FLEX sample's files live (the reference loader's layout)."""
    a, s = f"A{action:02d}", f"{sample_id:03d}"
    return {
        "video": root / a / s,
        "skeleton": root / "Skeleton" / a / s / "skeleton_points.csv",
        "emg": root / "EMG" / a / s / "EMG.csv",
        "physio": root / "Physio" / a / s / "physio.csv",
        "annotation": root / "annotations" / a / f"{s}.json",
    }


def write_flex_sample(root: Path, action: int, sample_id: int, rep: Repetition) -> None:
    """Frames per view, skeleton CSV (header + T x 63, mm), EMG CSV (no header), physio, labels."""
    paths = flex_sample_paths(root, action, sample_id)
    for view, frames in enumerate(rep.frames, start=1):
        write_jpegs(frames, paths["video"] / f"View-{view}")
    joints = rep.annotation["skeleton_joints"]
    header = ",".join(f"{j}_{axis}" for j in joints for axis in "xyz")
    write_csv(paths["skeleton"], rep.skeleton_mm.reshape(len(rep.skeleton_mm), -1), "%.1f", header)
    write_csv(paths["emg"], rep.emg, "%.4f")
    time_s, hr, rr = rep.physio
    write_csv(paths["physio"], np.stack([time_s, hr, rr], axis=1), "%.2f", "time_s,hr_bpm,rr_bpm")
    write_json(paths["annotation"], rep.annotation)


def write_split_mat(path: Path, key: str, rows: np.ndarray) -> None:
    """A FLEX split file: `key` -> rows [action 1..20, sample id, score], readable by loadmat.

    scipy stamps the creation time into the 116-byte text header; it is replaced by a fixed
    text so that the same seed gives the same bytes.
    """
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, {key: rows.astype(np.float64)})
    data = bytearray(buffer.getvalue())
    data[:116] = MAT_HEADER_TEXT.ljust(116, b" ")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(data))


def write_fitness_aqa_clip(root: Path, key: str, rep: Repetition, view: int = 0) -> None:
    """One Fitness-AQA clip: a single view as videos/<key>.mp4."""
    write_mp4(
        rep.frames[view],
        root / "videos" / f"{key}.mp4",
        fps=rep.annotation["sample_rates"]["video"],
    )
