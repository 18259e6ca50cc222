"""Forward kinematics and IK of the simulator keep bones rigid and reach their targets."""

from __future__ import annotations

import numpy as np
import pytest

from fusion.data.skeletons import FLEX21
from fusion.synth.kinematics import (
    SEGMENTS,
    TREE_TO_FLEX21,
    BodyDims,
    J,
    direction,
    pose_joints,
    rest_joints,
    rotation_between,
    two_bone_ik,
)
from fusion.synth.motion import body_joints


def test_rest_directions_reproduce_the_rest_pose():
    dims = BodyDims.from_height(1.8)
    rest = rest_joints(dims)
    n = 4
    dirs = {
        seg: np.broadcast_to(rest[J[child]] - rest[J[joint]], (n, 3)).copy()
        for seg, (joint, child) in SEGMENTS.items()
    }
    posed = pose_joints(dims, dirs, {}, np.broadcast_to(rest[0], (n, 3)))
    np.testing.assert_allclose(posed, np.broadcast_to(rest, posed.shape), atol=1e-5)


def test_segments_point_where_asked():
    dims = BodyDims.from_height(1.7)
    rest = rest_joints(dims)
    n = 5
    forward = np.linspace(0, np.pi, n)
    dirs = {
        seg: direction(np.zeros(n), np.zeros(n), 1.0, up=seg in ("trunk", "head"))
        for seg in SEGMENTS
    }
    dirs["r_uarm"] = direction(forward, np.zeros(n), -1.0, up=False)
    posed = pose_joints(dims, dirs, {}, np.broadcast_to(rest[0], (n, 3)))
    arm = posed[:, J["r_elbow"]] - posed[:, J["r_shoulder"]]
    np.testing.assert_allclose(arm / dims.upper_arm, dirs["r_uarm"], atol=1e-5)
    assert arm[-1, 1] > 0.99 * dims.upper_arm  # forward = pi points the arm straight up


def test_rotation_between_maps_vectors():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(50, 3))
    b = rng.normal(size=(50, 3))
    r = rotation_between(a, b)
    mapped = np.einsum("nij,nj->ni", r, a / np.linalg.norm(a, axis=1, keepdims=True))
    np.testing.assert_allclose(mapped, b / np.linalg.norm(b, axis=1, keepdims=True), atol=1e-9)
    np.testing.assert_allclose(np.linalg.det(r), 1.0, atol=1e-9)


def test_two_bone_ik_reaches_target_with_fixed_lengths():
    rng = np.random.default_rng(1)
    root = rng.normal(size=(20, 3))
    target = root + rng.normal(size=(20, 3)) * 0.3
    mid = two_bone_ik(root, target, 0.45, 0.42, np.tile([0.0, 0.0, 1.0], (20, 1)))
    np.testing.assert_allclose(np.linalg.norm(mid - root, axis=1), 0.45, atol=1e-6)
    reachable = np.linalg.norm(target - root, axis=1) < 0.86
    np.testing.assert_allclose(np.linalg.norm(target - mid, axis=1)[reachable], 0.42, atol=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_every_action_keeps_bones_rigid_and_feet_on_the_floor(fkg, make_plan, seed):
    for action_id in fkg.action_ids:
        plan, _ = make_plan(action_id, seed=seed)
        t = np.linspace(0, plan.duration, 40)
        joints, _ = body_joints(plan, t)
        assert joints.shape == (40, 21, 3)
        for parent, child in FLEX21.bones:
            if FLEX21.joints[child] in ("r_hip", "l_hip"):
                continue  # spine_shoulder-hip is a drawing bone across the bending trunk
            length = np.linalg.norm(joints[:, child] - joints[:, parent], axis=1)
            assert np.ptp(length) < 1e-4, (action_id, FLEX21.joints[child])
        ankles = joints[:, [FLEX21.index("r_ankle"), FLEX21.index("l_ankle")], 1]
        assert np.ptp(ankles) < 2e-3, action_id  # no heel lift injected: feet stay planted
        assert joints[:, :, 1].min() > -0.01, action_id  # nothing goes through the floor
        assert len(TREE_TO_FLEX21) == 21
