"""`video.person_crop`: boxes from the projected skeleton and from the static background."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fusion.data.align import to_frame_grid
from fusion.data.config import ReaderConfig
from fusion.data.flex import FlexReader
from fusion.data.sample import DataError
from fusion.data.transforms import build_transform, hflip
from fusion.data.transforms.person_crop import (
    PersonCrop,
    foreground_box,
    skeleton_box,
    square_box,
)

RNG = np.random.default_rng(0)


@pytest.fixture(scope="module")
def samples(flex_root):
    reader = FlexReader(ReaderConfig(root=str(flex_root)))
    return [to_frame_grid(reader.read(info, frames=16), 16) for info in reader.index()]


def iou(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """Intersection over union of two (top, left, side) squares."""
    (t1, l1, s1), (t2, l2, s2) = a, b
    w = max(0, min(l1 + s1, l2 + s2) - max(l1, l2))
    h = max(0, min(t1 + s1, t2 + s2) - max(t1, t2))
    return w * h / (s1 * s1 + s2 * s2 - w * h)


@pytest.mark.parametrize("seed", range(20))
def test_square_boxes_hold_the_box_and_stay_inside_the_frame(seed):
    rng = np.random.default_rng(seed)
    height, width = int(rng.integers(40, 200)), int(rng.integers(40, 200))
    x0, x1 = sorted(rng.uniform(-20, width + 20, 2))
    y0, y1 = sorted(rng.uniform(-20, height + 20, 2))
    top, left, side = square_box((x0, y0, x1, y1), height, width, 0.1)
    assert 0 <= top <= height - side and 0 <= left <= width - side
    wanted = round(max(x1 - x0, y1 - y0) * 1.2)
    assert side == min(max(wanted, 1), height, width)
    if side == wanted and x0 >= 0 and x1 < width and y0 >= 0 and y1 < height:
        assert left <= x0 + 1 and x1 <= left + side + 1 and top <= y0 + 1 and y1 <= top + side + 1


def test_skeleton_crops_hold_every_joint_of_the_repetition(samples):
    for sample in samples[:4]:
        height, width = sample.video.values.shape[2:4]
        out = PersonCrop(size=48)(sample, RNG)
        assert out.video.values.shape == (16, 5, 48, 48, 3)
        assert out.provenance.views == sample.provenance.views
        for view in sample.provenance.views:
            box, problem = skeleton_box(sample.pose.values, sample.cameras[view], height, width)
            assert problem is None
            top, left, side = square_box(box, height, width, 0.1)
            pixels, _ = sample.cameras[view].project(sample.pose.values)
            assert (pixels[..., 0] >= left - 1).all() and (pixels[..., 0] <= left + side).all()
            assert (pixels[..., 1] >= top - 1).all() and (pixels[..., 1] <= top + side).all()
            assert side >= 90  # the generator renders the lifter at least ~96 px tall


def test_background_boxes_overlap_the_skeleton_boxes_with_the_cameras_hidden(samples):
    ious = []
    for sample in samples:
        height, width = sample.video.values.shape[2:4]
        hidden = sample.replace(cameras={})
        crop = PersonCrop(size=32, source="auto")
        for slot, view in enumerate(sample.provenance.views):
            found, problem = crop.box(hidden, sample.video.values[:, slot], view)
            assert problem is None
            truth, _ = skeleton_box(sample.pose.values, sample.cameras[view], height, width)
            ious.append(
                iou(square_box(found, height, width, 0.1), square_box(truth, height, width, 0.1))
            )
    # Squats (the fixture's action) move most of the body; BENCHMARKS.md has every action.
    assert np.median(ious) >= 0.45 and min(ious) > 0.1


def test_the_foreground_box_is_the_moving_block_on_a_static_background():
    background = np.random.default_rng(1).integers(0, 256, (1, 60, 80, 3), dtype=np.uint8)
    frames = np.repeat(background, 9, axis=0)
    for t in range(9):  # each pixel is covered in at most 3 of 9 frames: the median is the room
        frames[t, 10 + 3 * t : 18 + 3 * t, 20:35] = (250, 10, 10)
    assert foreground_box(frames, threshold=25) == (20, 10, 34, 41)


def test_a_view_without_a_person_is_masked_and_noted(samples):
    sample = samples[0]
    still = np.repeat(sample.video.values[:1], 16, axis=0)
    blank = sample.replace(video=sample.video.with_values(still), cameras={})
    out = PersonCrop(size=32, source="background")(blank, RNG)
    assert out.video is None and out.provenance.views == ()
    assert (
        out.provenance.notes[0] == "view 1: no person found in the foreground; the view is masked"
    )


def test_a_skeleton_outside_the_frame_masks_the_view_and_says_why(samples):
    sample = samples[0]
    moved = sample.pose.with_values(sample.pose.values - np.array([0.0, 3.0, 0.0]))
    out = PersonCrop(size=32)(sample.replace(pose=moved), RNG)
    assert len(out.provenance.views) < 5
    assert any("before pose.center" in note for note in out.provenance.notes)


def test_a_camera_behind_the_person_is_an_error_naming_sample_and_view(samples):
    sample = samples[0]
    turn = np.diag([-1.0, 1.0, -1.0])  # the camera turned round its vertical axis
    camera = sample.cameras[2]
    flipped = dataclasses.replace(camera, R=turn @ camera.R, t=turn @ camera.t)
    broken = sample.replace(cameras={**sample.cameras, 2: flipped})
    with pytest.raises(DataError) as caught:
        PersonCrop(size=32)(broken, RNG)
    assert caught.value.path == sample.key and caught.value.where == "video view 2"
    assert "behind" in str(caught.value)


def test_source_skeleton_without_cameras_is_an_error(samples):
    with pytest.raises(DataError, match="no camera for this view"):
        PersonCrop(size=32, source="skeleton")(samples[0].replace(cameras={}), RNG)


def test_flipping_a_crop_twice_gives_the_crop_back(samples):
    crop = PersonCrop(size=40)(samples[1], RNG)
    twice = hflip(hflip(crop))
    np.testing.assert_array_equal(twice.video.values, crop.video.values)
    np.testing.assert_allclose(twice.pose.values, crop.pose.values)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"size": 0}, "size must be a positive integer"),
        ({"size": 32, "margin": 2}, "margin must be in"),
        ({"size": 32, "source": "magic"}, "source must be one of"),
        ({"size": 32, "threshold": 0}, "threshold must be in"),
    ],
)
def test_bad_settings_are_refused(spec, message):
    with pytest.raises(ValueError, match=message):
        build_transform({"name": "video.person_crop", **spec})
