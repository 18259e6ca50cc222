"""Tests for the horizontal flip: video, pose, EMG and labels mirrored together."""

from __future__ import annotations

import numpy as np
import pytest

from fusion.constants import EMG_CHANNELS
from fusion.data.sample import Labels, Sample
from fusion.data.skeletons import FLEX21, NTU25
from fusion.data.transforms.flip import HorizontalFlip, flip_labels, hflip, mirror_name
from fusion.data.transforms.pose import ToLayout


def _assert_same(a: Sample, b: Sample) -> None:
    for modality in ("video", "pose", "emg", "physio"):
        sa, sb = a.modality(modality), b.modality(modality)
        np.testing.assert_array_equal(sa.values, sb.values, err_msg=modality)
        np.testing.assert_array_equal(sa.times, sb.times, err_msg=modality)
        assert sa.rate_hz == sb.rate_hz
    assert a.labels == b.labels
    assert (a.key, a.provenance, a.emg_channels, a.skeleton) == (
        b.key,
        b.provenance,
        b.emg_channels,
        b.skeleton,
    )


def test_flip_twice_is_identity(make_sample) -> None:
    sample = make_sample()
    _assert_same(hflip(hflip(sample)), sample)
    ntu = ToLayout(layout="ntu25")(sample, np.random.default_rng(0))
    _assert_same(hflip(hflip(ntu, lateral_axis=2), lateral_axis=2), ntu)


def test_error_sides_and_sided_names_swap(make_sample) -> None:
    labels = hflip(make_sample()).labels
    assert [(e.name, e.side) for e in labels.errors] == [
        ("knees_inward", "both"),
        ("right_elbow_flare", "right"),
        ("uneven_drive", "left"),
    ]
    assert labels.errors[1].span_s == (0.2, 0.5) and labels.errors[1].id == "A05-ET3"
    assert labels.labelled_errors == (
        "knees_inward",
        "right_elbow_flare",
        "uneven_drive",
        "knees_forward",
    )
    assert labels.score == 72.5 and labels.phases == make_sample().labels.phases
    assert mirror_name("left_knee_valgus_right") == "right_knee_valgus_left"
    assert mirror_name("leftover_reps") == "leftover_reps"  # only whole tokens
    assert flip_labels(Labels()) == Labels()


def test_emg_columns_swap_by_name(make_sample) -> None:
    sample = make_sample()
    out = hflip(sample).emg.values
    before = sample.emg.values
    for muscle in ("deltoid", "quadriceps", "erector_spinae"):
        left, right = EMG_CHANNELS.index(f"{muscle}_left"), EMG_CHANNELS.index(f"{muscle}_right")
        np.testing.assert_array_equal(out[:, left], before[:, right])
        np.testing.assert_array_equal(out[:, right], before[:, left])
    # Channel order need not be left-then-right: names decide.
    shuffled = (5, 12, 13, 4)
    names = tuple(EMG_CHANNELS[i] for i in shuffled)
    small = sample.replace(
        emg=sample.emg.with_values(before[:, list(shuffled)]), emg_channels=names
    )
    np.testing.assert_array_equal(hflip(small).emg.values, before[:, [13, 4, 5, 12]])


def test_emg_without_sides_is_refused(make_sample) -> None:
    sample = make_sample()
    unnamed = sample.replace(emg_channels=tuple(f"ch{i}" for i in range(16)))
    with pytest.raises(ValueError, match="name no left/right side"):
        hflip(unnamed)
    lonely = sample.replace(
        emg=sample.emg.with_values(sample.emg.values[:, :2]), emg_channels=EMG_CHANNELS[:2]
    )
    with pytest.raises(ValueError, match="deltoid_right"):
        hflip(lonely)


def test_pose_is_mirrored(make_sample) -> None:
    sample = make_sample()
    before, out = sample.pose.values, hflip(sample).pose.values
    sign = np.array([-1.0, 1.0, 1.0])
    l_hip, r_hip, head = FLEX21.index("l_hip"), FLEX21.index("r_hip"), FLEX21.index("head")
    np.testing.assert_array_equal(out[:, l_hip], before[:, r_hip] * sign)
    np.testing.assert_array_equal(out[:, r_hip], before[:, l_hip] * sign)
    np.testing.assert_array_equal(out[:, head], before[:, head] * sign)
    ntu = ToLayout(layout="ntu25")(sample, np.random.default_rng(0))
    flipped = hflip(ntu, lateral_axis=2).pose.values
    thumb, other = NTU25.index("left_thumb"), NTU25.index("right_thumb")
    np.testing.assert_array_equal(flipped[:, thumb], ntu.pose.values[:, other] * [1, 1, -1])


def test_video_is_mirrored_and_physio_kept(make_sample) -> None:
    sample = make_sample()
    out = hflip(sample)
    np.testing.assert_array_equal(out.video.values, sample.video.values[:, :, :, ::-1])
    assert out.video.values[0, 1, 3, 0].tolist() == sample.video.values[0, 1, 3, -1].tolist()
    np.testing.assert_array_equal(out.physio.values, sample.physio.values)


def test_flip_handles_missing_modalities(make_sample) -> None:
    sample = make_sample(modalities=("physio",))
    out = hflip(sample)
    assert out.video is None and out.pose is None and out.emg is None
    assert out.labels.errors[1].side == "right"


def test_horizontal_flip_probability(make_sample) -> None:
    sample = make_sample()
    assert HorizontalFlip(p=0.0)(sample, np.random.default_rng(0)) is sample
    _assert_same(HorizontalFlip(p=1.0)(sample, np.random.default_rng(0)), hflip(sample))
    flip = HorizontalFlip()
    rng = np.random.default_rng(3)
    flipped = [flip(sample, rng) is not sample for _ in range(400)]
    assert 0.42 < np.mean(flipped) < 0.58
    again = np.random.default_rng(3)
    assert flipped == [flip(sample, again) is not sample for _ in range(400)]
    with pytest.raises(ValueError, match="p must lie"):
        HorizontalFlip(p=1.5)
