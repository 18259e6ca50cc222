"""Tests for the pose transforms and the skeleton layouts / conversions they use."""

from __future__ import annotations

import numpy as np
import pytest
import smplx.joint_names

from fusion.data.skeletons import (
    FLEX21,
    LAYOUTS,
    NTU25,
    SMPLX_BODY22,
    conversion,
    mirror_permutation,
)
from fusion.data.transforms.pose import Center, Scale, Streams, ToLayout

F = {name: i for i, name in enumerate(FLEX21.joints)}
# NTU index <- FLEX index, as in the FLEX reference loader (utils/misc.py remap21_to_25).
REFERENCE_COPIES = {
    2: 1, 3: 0, 4: 7, 5: 8, 6: 9, 7: 10, 8: 3, 9: 4, 10: 5, 11: 6, 12: 16, 13: 17, 14: 18,
    16: 11, 17: 12, 18: 13, 20: 2, 21: 10, 22: 10, 23: 6, 24: 6,
}  # fmt: skip


def _reference_ntu(flex: np.ndarray) -> np.ndarray:
    """remap21_to_25 written out by hand."""
    out = np.full((len(flex), 25, 3), np.nan)
    for ntu, src in REFERENCE_COPIES.items():
        out[:, ntu] = flex[:, src]
    out[:, 0] = 0.5 * (flex[:, 11] + flex[:, 16])
    out[:, 1] = 0.5 * (out[:, 0] + flex[:, 2])
    out[:, 19] = 0.5 * (flex[:, 14] + flex[:, 15])
    out[:, 15] = 0.5 * (flex[:, 19] + flex[:, 20])
    return out


def test_centre_puts_hip_midpoint_at_origin(make_sample) -> None:
    sample = make_sample()
    out = Center()(sample, np.random.default_rng(0)).pose.values
    hips = 0.5 * (out[:, F["l_hip"]] + out[:, F["r_hip"]])
    np.testing.assert_allclose(hips, 0.0, atol=1e-12)
    before = sample.pose.values
    np.testing.assert_allclose(out[:, 3] - out[:, 7], before[:, 3] - before[:, 7])  # rigid shift


def test_scale_makes_mean_spine_length_one(make_sample) -> None:
    sample = make_sample()
    out = Scale()(Center()(sample, np.random.default_rng(0)), np.random.default_rng(0))
    spine = np.linalg.norm(out.pose.values[:, F["spine_shoulder"]], axis=-1)  # hips at origin
    assert spine.mean() == pytest.approx(1.0)
    ratio = out.pose.values / (
        sample.pose.values - sample.pose.values[:, [11, 16]].mean(1)[:, None]
    )
    np.testing.assert_allclose(ratio, ratio.flat[0])  # one factor for every coordinate


def test_streams_joint_bone_motion(make_sample) -> None:
    sample = make_sample()
    x = sample.pose.values
    out = Streams()(sample, np.random.default_rng(0)).pose.values
    assert out.shape == (6, 21, 9)
    np.testing.assert_array_equal(out[..., :3], x)
    bone = out[..., 3:6]
    np.testing.assert_array_equal(bone[:, F["spine_shoulder"]], 0.0)  # the root
    np.testing.assert_allclose(bone[:, F["l_elbow"]], x[:, F["l_elbow"]] - x[:, F["l_shoulder"]])
    np.testing.assert_allclose(bone[:, F["r_toe"]], x[:, F["r_toe"]] - x[:, F["r_ankle"]])
    motion = out[..., 6:]
    np.testing.assert_allclose(motion[:-1], x[1:] - x[:-1])
    np.testing.assert_array_equal(motion[-1], 0.0)
    only_bone = Streams(streams=["bone"])(sample, np.random.default_rng(0)).pose.values
    np.testing.assert_array_equal(only_bone, bone)
    with pytest.raises(ValueError, match="streams"):
        Streams(streams=["joint", "velocity"])


def test_flex_to_ntu_matches_reference_remap_at_every_index(make_sample) -> None:
    sample = make_sample()
    out = ToLayout(layout="ntu25")(sample, np.random.default_rng(0))
    assert out.skeleton == "ntu25" and out.pose.values.shape == (6, 25, 3)
    reference = _reference_ntu(sample.pose.values)
    assert not np.isnan(reference).any()
    for index in range(25):
        np.testing.assert_allclose(out.pose.values[:, index], reference[:, index], err_msg=index)
    # Pose transforms find joints by name in the new layout: NTU's hip centre is spine_base.
    centred = Center()(out, np.random.default_rng(0)).pose.values
    np.testing.assert_allclose(centred[:, NTU25.index("spine_base")], 0.0, atol=1e-12)


def test_smplx_layout_follows_smplx() -> None:
    assert SMPLX_BODY22.joints == tuple(smplx.joint_names.JOINT_NAMES[:22])
    for layout in LAYOUTS.values():
        assert layout.parents.count(-1) == 1
        for joint in range(len(layout.joints)):  # every joint reaches the root without a cycle
            seen, j = set(), joint
            while j >= 0:
                assert j not in seen
                seen.add(j)
                j = layout.parents[j]


def test_flex_to_smplx_values_and_round_trip(make_sample) -> None:
    sample = make_sample()
    flex = sample.pose.values
    out = ToLayout(layout="smplx_body22")(sample, np.random.default_rng(0))
    smpl = out.pose.values
    S = {name: i for i, name in enumerate(SMPLX_BODY22.joints)}
    pelvis = 0.5 * (flex[:, F["l_hip"]] + flex[:, F["r_hip"]])
    np.testing.assert_allclose(smpl[:, S["pelvis"]], pelvis)
    np.testing.assert_allclose(smpl[:, S["left_knee"]], flex[:, F["l_knee"]])
    np.testing.assert_allclose(smpl[:, S["right_foot"]], flex[:, F["r_toe"]])
    spine_span = flex[:, F["spine_shoulder"]] - pelvis
    np.testing.assert_allclose(smpl[:, S["spine2"]], pelvis + 0.5 * spine_span)
    collar = 0.5 * (flex[:, F["spine_shoulder"]] + flex[:, F["r_shoulder"]])
    np.testing.assert_allclose(smpl[:, S["right_collar"]], collar)

    back = conversion("smplx_body22", "flex21")
    assert set(back.missing) == {"r_hand", "l_hand", "r_heel", "l_heel"}
    recovered = back(smpl)
    for k, joint in enumerate(back.joints):
        np.testing.assert_allclose(recovered[:, k], flex[:, F[joint]], atol=1e-9, err_msg=joint)
    with pytest.raises(ValueError, match="r_hand"):
        ToLayout(layout="flex21")(out, np.random.default_rng(0))


def test_ntu_back_to_flex_recovers_all_but_the_feet(make_sample) -> None:
    flex = make_sample().pose.values
    back = conversion("ntu25", "flex21")
    assert set(back.missing) == {"r_heel", "r_toe", "l_heel", "l_toe"}
    recovered = back(conversion("flex21", "ntu25")(flex))
    np.testing.assert_allclose(recovered, flex[:, [F[j] for j in back.joints]], atol=1e-9)


def test_unknown_layouts_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown skeleton layout 'coco17'.*ntu25"):
        ToLayout(layout="coco17")
    with pytest.raises(ValueError, match="no conversion"):
        conversion("ntu25", "smplx_body22")


def test_mirror_permutations_pair_sides_by_name() -> None:
    flex = mirror_permutation(FLEX21)
    assert FLEX21.joints[flex[F["l_hip"]]] == "r_hip"
    assert FLEX21.joints[flex[F["head"]]] == "head"
    ntu = mirror_permutation(NTU25)
    assert NTU25.joints[ntu[NTU25.index("left_thumb")]] == "right_thumb"
    smpl = mirror_permutation(SMPLX_BODY22)
    assert SMPLX_BODY22.joints[smpl[SMPLX_BODY22.index("left_collar")]] == "right_collar"
    for perm in (flex, ntu, smpl):
        np.testing.assert_array_equal(perm[perm], np.arange(len(perm)))  # an involution
