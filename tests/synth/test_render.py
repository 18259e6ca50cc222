"""The software renderer: shapes, determinism, occlusion, view dependence and equipment."""

from __future__ import annotations

import numpy as np
import pytest

from fusion.data.skeletons import FLEX21
from fusion.synth.cameras import camera_rig
from fusion.synth.kinematics import standing_pose
from fusion.synth.render import PROPS, Appearance, Equipment, part_colors, render_views

J = {name: i for i, name in enumerate(FLEX21.joints)}
APPEARANCE = Appearance(
    skin=(235, 190, 150), shirt=(40, 80, 200), shorts=(30, 30, 36), shoes=(240, 240, 240)
)
NONE = Equipment("none")


def clip(frames: int = 3) -> np.ndarray:
    """A short clip: the standing pose sinking a little, (T, 21, 3)."""
    joints = np.repeat(standing_pose()[None], frames, axis=0)
    joints[:, :, 1] -= np.linspace(0, 0.1, frames)[:, None] * (joints[:, :, 1] > 0.5)
    return joints


def pixel_at(frames: np.ndarray, view: int, point: np.ndarray, cams: list) -> np.ndarray:
    """The colour of frame 0 of a view at a world point's projection."""
    uv, _ = cams[view].project(point)
    u, v = np.round(uv).astype(int)
    return frames[view, 0, v, u].astype(float)


def nearest(pixel: np.ndarray, candidates: dict[str, tuple[int, int, int]]) -> str:
    """Name of the candidate colour closest to pixel."""
    return min(candidates, key=lambda k: np.linalg.norm(pixel - np.array(candidates[k])))


def test_shape_dtype_and_determinism() -> None:
    cams = camera_rig(48, 40)
    a = render_views(clip(4), cams, APPEARANCE, Equipment("barbell"), scene_seed=5)
    b = render_views(clip(4), cams, APPEARANCE, Equipment("barbell"), scene_seed=5)
    assert a.shape == (5, 4, 40, 48, 3) and a.dtype == np.uint8
    assert a.tobytes() == b.tobytes()
    c = render_views(clip(4), cams, APPEARANCE, Equipment("barbell"), scene_seed=6)
    assert 0 < np.abs(a.astype(int) - c).mean() < 10  # only white balance and noise change


def test_empty_clip_and_bad_input() -> None:
    cams = camera_rig(32, 32)
    assert render_views(np.zeros((0, 21, 3)), cams, APPEARANCE, NONE).shape == (5, 0, 32, 32, 3)
    with pytest.raises(ValueError):
        render_views(np.zeros((2, 20, 3)), cams, APPEARANCE, NONE)
    with pytest.raises(ValueError):
        Equipment("kettlebell")


def test_views_differ() -> None:
    frames = render_views(clip(1), camera_rig(64, 64), APPEARANCE, NONE).astype(int)
    for i in range(5):
        for j in range(i + 1, 5):
            assert np.abs(frames[i] - frames[j]).mean() > 10, (i, j)


def test_nearer_parts_hide_farther_ones() -> None:
    """A right hand just behind the back: hidden by the shirt from view1, seen from view3."""
    cams = camera_rig(128, 128)
    joints = standing_pose()
    torso = joints[[J["r_shoulder"], J["l_shoulder"], J["r_hip"], J["l_hip"]]].mean(axis=0)
    ray = torso - np.asarray(cams[0].position)
    hand = torso + 0.2 * ray / np.linalg.norm(ray)
    joints[J["r_hand"]] = hand
    joints[J["r_wrist"]] = hand + [-0.07, 0.0, 0.0]
    joints[J["r_elbow"]] = joints[J["r_shoulder"]] + [-0.12, -0.22, -0.15]
    frames = render_views(joints[None], cams, APPEARANCE, NONE)
    colors = part_colors(APPEARANCE)
    candidates = {"shirt": colors["shirt"], "hand": colors["r_skin"]}
    assert nearest(pixel_at(frames, 0, hand, cams), candidates) == "shirt"
    assert nearest(pixel_at(frames, 2, hand, cams), candidates) == "hand"


def test_left_and_right_sides_have_different_shades() -> None:
    colors = part_colors(APPEARANCE)
    for part in ("skin", "shirt", "shorts", "shoes"):
        assert np.abs(np.subtract(colors[f"l_{part}"], colors[f"r_{part}"])).sum() > 60


def test_knee_valgus_is_seen_from_the_front_not_from_the_side() -> None:
    """Moving both knees medially (along x) changes front views far more than the side phone."""
    cams = camera_rig(128, 128)
    straight = standing_pose()
    valgus = straight.copy()
    valgus[J["r_knee"], 0] += 0.08
    valgus[J["l_knee"], 0] -= 0.08
    a = render_views(straight[None], cams, APPEARANCE, NONE).astype(int)
    b = render_views(valgus[None], cams, APPEARANCE, NONE).astype(int)
    change = np.abs(a - b).mean(axis=(1, 2, 3, 4))
    assert change[3] > 3 * change[4]  # view4 sees the front; view5 looks along x
    assert change[:4].max() > 3 * change[4]


def test_plyo_box_hides_the_shins_from_view1_only() -> None:
    cams = camera_rig(128, 128)
    joints = standing_pose()
    frames = render_views(joints[None], cams, APPEARANCE, NONE)
    colors = part_colors(APPEARANCE)
    box = tuple(int(0.8 * c) for c in PROPS[-1][2])
    candidates = {"box": box, "shin": colors["l_skin"]}
    shin = 0.7 * joints[J["l_ankle"]] + 0.3 * joints[J["l_knee"]]
    assert nearest(pixel_at(frames, 0, shin, cams), candidates) == "box"
    assert nearest(pixel_at(frames, 3, shin, cams), candidates) == "shin"


@pytest.mark.parametrize("kind", ["barbell", "dumbbells", "dumbbell_single"])
def test_equipment_is_drawn(kind: str) -> None:
    cams = camera_rig(96, 96)
    joints = standing_pose()[None]
    if kind == "dumbbell_single":  # goblet hold: both hands in front of the chest
        for side, sign in (("r", -1), ("l", 1)):
            joints[0, J[f"{side}_elbow"]] = (sign * 0.16, 1.08, 0.12)
            joints[0, J[f"{side}_wrist"]] = (sign * 0.07, 1.22, 0.22)
            joints[0, J[f"{side}_hand"]] = (sign * 0.04, 1.26, 0.24)
    with_it = render_views(joints, cams, APPEARANCE, Equipment(kind)).astype(int)
    without = render_views(joints, cams, APPEARANCE, NONE).astype(int)
    changed = (np.abs(with_it - without).sum(-1) > 60).sum(axis=(1, 2, 3))
    if kind == "dumbbell_single":  # held at the chest: the back views lose it behind the body
        assert changed[[0, 3, 4]].min() >= 8 and changed[[0, 3]].min() > 2 * changed[[1, 2]].max()
    else:
        assert (changed >= 8).all(), changed
    if kind == "barbell":  # the bar runs 0.5 m past each hand: its end shows bar grey
        end = joints[0, J["l_hand"]] + [0.45, 0.0, 0.0]
        bar = {"bar": part_colors(APPEARANCE)["bar"], "plate": (22, 22, 26)}
        seen = [nearest(pixel_at(with_it, v, end, cams), bar) for v in range(5)]
        assert seen.count("bar") + seen.count("plate") == 5


def test_appearance_sampling() -> None:
    a = Appearance.sample(np.random.default_rng(1))
    assert a == Appearance.sample(np.random.default_rng(1))
    looks = {Appearance.sample(np.random.default_rng(s)) for s in range(20)}
    assert len(looks) == 20
    for look in looks:
        assert np.linalg.norm(np.subtract(look.shirt, look.skin)) > 60
        assert 0.04 < look.limb_radius < 0.07
