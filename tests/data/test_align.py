"""Clip sampling and the shared clip timeline."""

from __future__ import annotations

import numpy as np
import pytest

from fusion.data.align import clip_indices, crop_to, to_frame_grid
from fusion.data.sample import Labels, Provenance, Sample, TimeSeries


def test_uniform_indices_take_segment_centres():
    assert clip_indices(16, 4).tolist() == [2, 6, 10, 14]
    assert clip_indices(10, 10).tolist() == list(range(10))


def test_test_clips_interleave_and_cover_every_frame():
    clips = [clip_indices(16, 8, clip=k, clips=2) for k in range(2)]
    assert clips[0].tolist() == [0, 2, 4, 6, 8, 10, 12, 14]
    assert clips[1].tolist() == [1, 3, 5, 7, 9, 11, 13, 15]


def test_jitter_stays_inside_each_segment_and_is_seeded():
    rng = np.random.default_rng(0)
    for _ in range(50):
        idx = clip_indices(40, 8, rng)
        assert np.all(idx // 5 == np.arange(8))
    again = [clip_indices(40, 8, np.random.default_rng(1)) for _ in range(2)]
    assert np.array_equal(*again)


def test_fewer_frames_than_requested_repeat():
    assert clip_indices(3, 6).tolist() == [0, 0, 1, 1, 2, 2]


@pytest.mark.parametrize("args", [(0, 4), (4, 0)])
def test_empty_requests_are_refused(args):
    with pytest.raises(ValueError, match="at least one"):
        clip_indices(*args)


def test_crop_keeps_rows_inside_the_window():
    series = TimeSeries.uniform(np.arange(10.0), rate_hz=10.0)
    cropped = crop_to(series, 0.2, 0.5)
    assert cropped.values.tolist() == [2.0, 3.0, 4.0]
    assert np.allclose(cropped.times, [0.2, 0.3, 0.4])


def test_frame_grid_cuts_signals_to_the_video_and_keeps_time_stamps():
    video = TimeSeries.uniform(np.zeros((30, 2, 4, 4, 3), np.uint8), rate_hz=10.0)  # 3.0 s
    emg = TimeSeries.uniform(np.ones((7000, 16), np.float32), rate_hz=2000.0)  # 3.5 s
    physio = TimeSeries.uniform(np.ones((32, 2), np.float32), rate_hz=10.0)
    sample = Sample(
        key="A01/001",
        labels=Labels(),
        provenance=Provenance("flex", "/x", "A01/001"),
        video=video,
        emg=emg,
        physio=physio,
    )
    grid = to_frame_grid(sample, 6)
    assert grid.video.values.shape == (6, 2, 4, 4, 3)
    assert np.allclose(grid.video.times, [0.2, 0.7, 1.2, 1.7, 2.2, 2.7])
    assert len(grid.emg.values) == 6000 and grid.emg.times[-1] < 3.0
    assert len(grid.physio.values) == 30
    assert grid.pose is None
