"""Camera calibrations read from a dataset (K, R, t per view) and the projection they define.

A calibration maps world points (metres, the skeleton's frame) to pixels of its view:
x_cam = R @ x_world + t, then pixel = K @ x_cam / z (OpenCV convention: x right, y down,
z forward). The generator writes one per view in every annotation; real datasets may not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fusion.data.sample import DataError

MIN_DEPTH_M = 0.05  # a joint nearer than this to the camera plane is treated as behind it


@dataclass(frozen=True)
class Calibration:
    """One view's pinhole camera: intrinsics K (3, 3), rotation R (3, 3), translation t (3,),
    and the frame size it was calibrated for."""

    K: np.ndarray
    R: np.ndarray
    t: np.ndarray
    width: int
    height: int

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World points (..., 3) in metres -> pixels (..., 2) and depth along the axis (...)."""
        cam = np.asarray(points, np.float64) @ self.R.T + self.t
        depth = cam[..., 2]
        uvw = cam @ self.K.T
        return uvw[..., :2] / np.maximum(depth, MIN_DEPTH_M)[..., None], depth


def _matrix(value: object, shape: tuple[int, ...], path: Path, where: str) -> np.ndarray:
    """A finite float array of `shape`, or a DataError naming the field."""
    try:
        array = np.asarray(value, np.float64)
    except (TypeError, ValueError):
        array = None
    if array is None or array.shape != shape or not np.isfinite(array).all():
        raise DataError(path, f"expected a finite {'x'.join(map(str, shape))} matrix", where)
    return array


def parse_calibrations(items: object, path: Path) -> dict[int, Calibration]:
    """An annotation's `cameras` list -> view id (1-based, list order) -> Calibration."""
    if not isinstance(items, list):
        raise DataError(path, "expected a list of cameras with K, R, t, width, height", "cameras")
    calibrations = {}
    for view, item in enumerate(items, start=1):
        where = f"cameras[{view - 1}]"
        if not isinstance(item, Mapping):
            raise DataError(path, "expected an object with K, R, t, width, height", where)
        size = [item.get(key) for key in ("width", "height")]
        if not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size):
            raise DataError(path, "expected positive integer width and height", where)
        rotation = _matrix(item.get("R"), (3, 3), path, f"{where}.R")
        if not np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-4):
            raise DataError(path, "expected a rotation matrix (R @ R.T = I)", f"{where}.R")
        calibrations[view] = Calibration(
            K=_matrix(item.get("K"), (3, 3), path, f"{where}.K"),
            R=rotation,
            t=_matrix(item.get("t"), (3,), path, f"{where}.t"),
            width=size[0],
            height=size[1],
        )
    return calibrations
