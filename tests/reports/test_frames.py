"""Which views and frames a card shows."""

from __future__ import annotations

from fusion.reports.frames import frame_rows, shown_views


def test_two_views_prefer_the_run_s_test_views():
    every = (1, 2, 3, 4, 5)
    assert shown_views(every, None) == (1, 5)  # furthest apart in the camera order
    assert shown_views(every, [5]) == (5, 1)  # the cross-view test view, then another
    assert shown_views(every, [2, 3, 4]) == (2, 4)
    assert shown_views(every, [9]) == (1, 5)  # a test view the sample lacks is ignored
    assert shown_views((1,), None) == (1,)  # Fitness-AQA


def test_frames_are_spread_from_first_to_last():
    assert frame_rows(30) == [0, 4, 8, 12, 17, 21, 25, 29]
    assert frame_rows(3) == [0, 1, 2]
