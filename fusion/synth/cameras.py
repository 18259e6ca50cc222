"""Pinhole cameras and the FLEX-like five-view rig that films the simulated subject.

World convention: metres, y up, floor at y = 0, subject near the origin facing +z, its left on +x.
Cameras follow OpenCV: camera x right, y down, z forward; pixel (i, j) has its centre at (i, j).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

WORLD_UP = np.array([0.0, 1.0, 0.0])
MIN_DEPTH = 1e-3  # metres; points closer than this (or behind) are clamped so division stays finite

# The cameras frame the lifting platform, not the room: from the floor to a 2 m lifter's
# overhead barbell and no more, so in the small preset's 160x208 (portrait) frames the lifter
# is ~100 px tall (BENCHMARKS.md, "Video that sees the lift").
CORNER_DISTANCE = 3.5
CORNER_HEIGHT = 2.2
CORNER_LOOK_HEIGHT = 1.4
CORNER_FOV = 48.0
PHONE_DISTANCE = 2.5
PHONE_HEIGHT = 1.1
PHONE_LOOK_HEIGHT = 1.45
PHONE_FOV = 74.0
# (name, azimuth from +z toward +x in degrees, horizontal distance, height, look-at height, v-FOV)
RIG: tuple[tuple[str, float, float, float, float, float], ...] = (
    ("view1", 45.0, CORNER_DISTANCE, CORNER_HEIGHT, CORNER_LOOK_HEIGHT, CORNER_FOV),
    ("view2", 135.0, CORNER_DISTANCE, CORNER_HEIGHT, CORNER_LOOK_HEIGHT, CORNER_FOV),
    ("view3", 225.0, CORNER_DISTANCE, CORNER_HEIGHT, CORNER_LOOK_HEIGHT, CORNER_FOV),
    ("view4", 315.0, CORNER_DISTANCE, CORNER_HEIGHT, CORNER_LOOK_HEIGHT, CORNER_FOV),
    ("view5", -90.0, PHONE_DISTANCE, PHONE_HEIGHT, PHONE_LOOK_HEIGHT, PHONE_FOV),
)


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product of two 3-vectors (np.cross is slow for single vectors)."""
    return np.array(
        [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
    )


@lru_cache(maxsize=1024)
def _look_rotation(position: tuple[float, ...], look_at: tuple[float, ...]) -> np.ndarray:
    """Cached world-to-camera rotation for a camera at position looking at look_at."""
    forward = np.asarray(look_at, float) - np.asarray(position, float)
    forward /= np.linalg.norm(forward)
    right = _cross(forward, WORLD_UP)
    norm = np.linalg.norm(right)
    # Looking straight up or down: any horizontal right axis will do.
    right = right / norm if norm > 1e-8 else np.array([1.0, 0.0, 0.0])
    rot = np.stack([right, _cross(forward, right), forward])
    rot.flags.writeable = False
    return rot


@lru_cache(maxsize=1024)
def _look_translation(position: tuple[float, ...], look_at: tuple[float, ...]) -> np.ndarray:
    """Cached world-to-camera translation."""
    t = -_look_rotation(position, look_at) @ np.asarray(position, float)
    t.flags.writeable = False
    return t


@dataclass(frozen=True)
class Camera:
    """A pinhole camera placed by position and look-at point, with a vertical field of view."""

    name: str
    position: tuple[float, float, float]
    look_at: tuple[float, float, float]
    fov_deg: float
    width: int
    height: int

    def __post_init__(self) -> None:
        """Store position and look-at as float tuples, so cameras hash and compare by value."""
        object.__setattr__(self, "position", tuple(float(x) for x in self.position))
        object.__setattr__(self, "look_at", tuple(float(x) for x in self.look_at))
        if len(self.position) != 3 or len(self.look_at) != 3:
            raise ValueError("position and look_at must be 3-vectors")

    def rotation(self) -> np.ndarray:
        """World-to-camera rotation (rows: camera right, down, forward in world coordinates)."""
        return _look_rotation(self.position, self.look_at).copy()

    def translation(self) -> np.ndarray:
        """World-to-camera translation t, so that x_cam = R @ x_world + t."""
        return _look_translation(self.position, self.look_at).copy()

    def focal(self) -> float:
        """Focal length in pixels from the vertical field of view."""
        return 0.5 * self.height / math.tan(math.radians(self.fov_deg) / 2.0)

    def intrinsics(self) -> np.ndarray:
        """The 3x3 intrinsic matrix K (square pixels, principal point at the image centre)."""
        f = self.focal()
        return np.array(
            [[f, 0.0, (self.width - 1) / 2.0], [0.0, f, (self.height - 1) / 2.0], [0.0, 0.0, 1.0]]
        )

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World points (..., 3) to pixels (..., 2) and depth along the optical axis (...)."""
        pts = np.asarray(points, dtype=np.float64)
        rot = _look_rotation(self.position, self.look_at)
        cam = pts @ rot.T + _look_translation(self.position, self.look_at)
        depth = cam[..., 2]
        z = np.maximum(depth, MIN_DEPTH)
        f = self.focal()
        u = f * cam[..., 0] / z + (self.width - 1) / 2.0
        v = f * cam[..., 1] / z + (self.height - 1) / 2.0
        return np.stack([u, v], axis=-1), depth

    def to_dict(self) -> dict:
        """JSON-ready description with the derived K, R and t, for calibration files."""
        return {
            "name": self.name,
            "position": [float(x) for x in self.position],
            "look_at": [float(x) for x in self.look_at],
            "fov_deg": float(self.fov_deg),
            "width": int(self.width),
            "height": int(self.height),
            "K": self.intrinsics().tolist(),
            "R": self.rotation().tolist(),
            "t": self.translation().tolist(),
        }


def _ring_position(azimuth_deg: float, distance: float, height: float) -> np.ndarray:
    """A point at the given azimuth (from +z toward +x), horizontal distance and height."""
    a = math.radians(azimuth_deg)
    return np.array([distance * math.sin(a), height, distance * math.cos(a)])


def camera_rig(
    width: int, height: int, *, jitter: float = 0.0, rng: np.random.Generator | None = None
) -> list[Camera]:
    """FLEX's five views: four corner cameras and a side phone; jitter (metres) moves them a bit."""
    if jitter > 0.0 and rng is None:
        rng = np.random.default_rng(0)
    cams = []
    for name, azimuth, distance, cam_h, look_h, fov in RIG:
        pos = _ring_position(azimuth, distance, cam_h)
        look = np.array([0.0, look_h, 0.0])
        if jitter > 0.0:
            pos = pos + rng.normal(0.0, jitter, 3)
            look = look + rng.normal(0.0, jitter / 2.0, 3)
        cams.append(
            Camera(
                name=name,
                position=tuple(float(x) for x in pos),
                look_at=tuple(float(x) for x in look),
                fov_deg=fov,
                width=width,
                height=height,
            )
        )
    return cams
