"""Pinhole projection and the five-view rig: geometry conventions and framing of the subject."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fusion.data.skeletons import FLEX21
from fusion.synth.cameras import Camera, camera_rig
from fusion.synth.kinematics import standing_pose


def forward(cam: Camera) -> np.ndarray:
    """Unit viewing direction of a camera."""
    d = np.subtract(cam.look_at, cam.position)
    return d / np.linalg.norm(d)


@pytest.fixture(scope="module")
def rig() -> list[Camera]:
    return camera_rig(64, 48)


def test_point_on_optical_axis_lands_at_image_centre(rig: list[Camera]) -> None:
    for cam in rig:
        uv, depth = cam.project(np.asarray(cam.position) + 2.7 * forward(cam))
        np.testing.assert_allclose(uv, [(cam.width - 1) / 2, (cam.height - 1) / 2], atol=1e-9)
        assert depth == pytest.approx(2.7)


def test_depth_is_distance_along_the_axis(rig: list[Camera]) -> None:
    pts = np.random.default_rng(0).uniform(-1, 2, (4, 7, 3))
    for cam in rig:
        uv, depth = cam.project(pts)
        assert uv.shape == (4, 7, 2) and depth.shape == (4, 7)
        np.testing.assert_allclose(depth, (pts - np.asarray(cam.position)) @ forward(cam))


def test_krt_round_trip(rig: list[Camera]) -> None:
    pts = np.random.default_rng(1).uniform(-1, 2, (50, 3))
    for cam in rig:
        k, r, t = cam.intrinsics(), cam.rotation(), cam.translation()
        np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(r) == pytest.approx(1.0)
        hom = (k @ np.hstack([r, t[:, None]]) @ np.hstack([pts, np.ones((50, 1))]).T).T
        uv, depth = cam.project(pts)
        np.testing.assert_allclose(uv, hom[:, :2] / hom[:, 2:], atol=1e-9)
        np.testing.assert_allclose(depth, hom[:, 2])


def test_image_axes_follow_opencv() -> None:
    cam = Camera("front", (0.0, 1.0, 4.0), (0.0, 1.0, 0.0), 60.0, 100, 100)
    (u_left, _), _ = cam.project(np.array([0.5, 1.0, 0.0]))  # subject's left hand (+x)
    (_, v_up), _ = cam.project(np.array([0.0, 1.5, 0.0]))
    assert u_left > 49.5  # facing the subject, its left is on the image's right
    assert v_up < 49.5  # y down in the image


def test_rig_layout(rig: list[Camera]) -> None:
    assert [c.name for c in rig] == ["view1", "view2", "view3", "view4", "view5"]
    for cam, azimuth in zip(rig[:4], (45, 135, 225, 315), strict=True):
        x, y, z = cam.position
        assert np.degrees(np.arctan2(x, z)) % 360 == pytest.approx(azimuth)
        assert np.hypot(x, z) == pytest.approx(3.5) and y == pytest.approx(2.2)
        assert forward(cam)[1] < 0  # looking down
    phone = rig[4]
    assert phone.position[0] == pytest.approx(-2.5) and phone.position[1] == pytest.approx(1.1)
    assert abs(forward(phone)[0]) > 0.95  # looks along x, at the subject's right side
    assert all(phone.fov_deg > c.fov_deg for c in rig[:4])


def subject_points(height: float, pose: str) -> np.ndarray:
    """Joints (plus an overhead barbell, or arms out in a T) thickened by 0.1 m each way."""
    joints = standing_pose(height, arms_up=pose == "overhead_barbell")
    pts = [joints]
    if pose == "t_pose":
        s = height / 1.75
        for side, sign in (("r", -1), ("l", 1)):
            for joint, reach in (("elbow", 0.3), ("wrist", 0.55), ("hand", 0.63)):
                joints[FLEX21.index(f"{side}_{joint}")] = (
                    np.array([sign * (0.19 + reach), 1.42, 0]) * s
                )
    else:
        rh, lh = joints[FLEX21.index("r_hand")], joints[FLEX21.index("l_hand")]
        ends = np.array([rh - [0.5, 0, 0], lh + [0.5, 0, 0]])
        rim = [ends + d for d in ([0, 0.23, 0], [0, -0.23, 0], [0, 0, 0.23], [0, 0, -0.23])]
        pts.extend(rim)
    offsets = np.concatenate([np.eye(3), -np.eye(3)]) * 0.1
    return (np.concatenate(pts)[:, None] + offsets).reshape(-1, 3)


@pytest.mark.parametrize("pose", ["overhead_barbell", "t_pose"])
@pytest.mark.parametrize("height", [1.6, 2.0])
def test_subject_bounding_box_fits_every_view(height: float, pose: str) -> None:
    pts = subject_points(height, pose)
    for cam in camera_rig(64, 64):
        uv, depth = cam.project(pts)
        assert (depth > 0.5).all()
        lo, hi = uv.min(axis=0), uv.max(axis=0)  # the subject's box in the image
        assert (lo >= 1).all() and (hi <= 62).all(), (cam.name, lo, hi)
        assert (hi - lo).max() > 20  # and the subject is not tiny


def test_rig_jitter_is_deterministic_and_small() -> None:
    a = camera_rig(64, 64, jitter=0.05, rng=np.random.default_rng(3))
    b = camera_rig(64, 64, jitter=0.05, rng=np.random.default_rng(3))
    c = camera_rig(64, 64, jitter=0.05, rng=np.random.default_rng(4))
    nominal = camera_rig(64, 64)
    assert a == b and a != c
    assert camera_rig(64, 64, jitter=0.0, rng=np.random.default_rng(3)) == nominal
    for cam, ref in zip(a, nominal, strict=True):
        shift = np.linalg.norm(np.subtract(cam.position, ref.position))
        assert 0 < shift < 0.3


def test_to_dict_is_json_and_consistent(rig: list[Camera]) -> None:
    for cam in rig:
        d = json.loads(json.dumps(cam.to_dict()))
        assert d["name"] == cam.name and d["width"] == 64 and d["height"] == 48
        np.testing.assert_allclose(d["K"], cam.intrinsics())
        np.testing.assert_allclose(d["R"], cam.rotation())
        np.testing.assert_allclose(d["t"], cam.translation())


def test_camera_is_hashable_from_lists() -> None:
    a = Camera("v", [0, 1, 3], [0, 1, 0], 50.0, 32, 32)  # type: ignore[arg-type]
    b = Camera("v", (0.0, 1.0, 3.0), (0.0, 1.0, 0.0), 50.0, 32, 32)
    assert a == b and hash(a) == hash(b)
