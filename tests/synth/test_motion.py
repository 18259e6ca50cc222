"""Injected FKG errors move what they claim, inside their span only; phases drive the range."""

from __future__ import annotations

import numpy as np
import pytest

from fusion.data.skeletons import FLEX21
from fusion.synth.motion import body_joints, span_envelope

IDX = {name: i for i, name in enumerate(FLEX21.joints)}


def _times(plan, n=120):
    return np.linspace(0.0, plan.duration, n)


def _inside(plan, t, margin=0.0):
    on, off = plan.errors[0].span
    return (t > on + margin) & (t < off - margin), (t < on) | (t > off)


def test_span_envelope_is_zero_outside_and_one_inside():
    t = np.linspace(0, 4, 401)
    env = span_envelope(t, 1.0, 3.0)
    assert np.all(env[(t < 1.0) | (t > 3.0)] == 0.0)
    assert np.all(env[(t > 1.3) & (t < 2.7)] == 1.0)


def test_knees_inward_narrows_knees_relative_to_ankles_inside_its_span_only(make_plan):
    faulty, clean = make_plan("A01", "knees_inward")
    t = _times(faulty)
    ratio = []
    for plan in (faulty, clean):
        j, _ = body_joints(plan, t)
        knees = np.linalg.norm(j[:, IDX["r_knee"]] - j[:, IDX["l_knee"]], axis=1)
        ankles = np.linalg.norm(j[:, IDX["r_ankle"]] - j[:, IDX["l_ankle"]], axis=1)
        ratio.append(knees / ankles)
    inside, outside = _inside(faulty, t, margin=0.3)
    assert np.all(ratio[0][inside] < ratio[1][inside] - 0.1)
    np.testing.assert_allclose(ratio[0][outside], ratio[1][outside], atol=1e-9)


def test_knees_forward_moves_knees_past_the_toes(make_plan):
    faulty, clean = make_plan("A01", "knees_forward")
    t = _times(faulty)
    inside, outside = _inside(faulty, t, margin=0.3)
    over = []
    for plan in (faulty, clean):
        j, _ = body_joints(plan, t)
        over.append(j[:, IDX["r_knee"], 2] - j[:, IDX["r_toe"], 2])
    assert np.all(over[0][inside] > over[1][inside] + 0.02)
    np.testing.assert_allclose(over[0][outside], over[1][outside], atol=1e-9)


def test_shallow_depth_keeps_the_hips_higher(fkg, make_plan):
    name = next(e.name for e in fkg.action("A01").errors if e.deviation.type == "partial_range")
    faulty, clean = make_plan("A01", name)
    t = _times(faulty)
    lowest = [body_joints(p, t)[0][:, IDX["r_hip"], 1].min() for p in (faulty, clean)]
    assert lowest[0] > lowest[1] + 0.1


@pytest.mark.parametrize(
    ("action_id", "deviation", "measure"),
    [
        ("A03", "lumbar_flexion", lambda j: j[:, IDX["spine_shoulder"], 2] - j[:, IDX["r_hip"], 2]),
        (
            "A06",
            "elbow_flare",
            lambda j: np.abs(j[:, IDX["r_elbow"], 0] - j[:, IDX["spine_shoulder"], 0]),
        ),
    ],
)
def test_trunk_and_arm_errors_change_their_body_part(fkg, make_plan, action_id, deviation, measure):
    name = next(e.name for e in fkg.action(action_id).errors if e.deviation.type == deviation)
    faulty, clean = make_plan(action_id, name)
    t = _times(faulty)
    inside, outside = _inside(faulty, t, margin=0.3)
    a, b = (measure(body_joints(p, t)[0]) for p in (faulty, clean))
    assert np.all(a[inside] > b[inside] + 0.02)
    np.testing.assert_allclose(a[outside], b[outside], atol=1e-9)


def test_squat_descends_in_eccentric_and_rises_in_concentric(make_plan):
    plan, _ = make_plan("A01")
    t = _times(plan, 200)
    hips = body_joints(plan, t)[0][:, IDX["r_hip"], 1]
    _, t1, t2, t3 = plan.phase_bounds
    bottom = t[np.argmin(hips)]
    assert t1 < bottom < t3 and abs(bottom - t2) < 0.1
    assert hips[0] - hips.min() > 0.25  # a real squat: the hips drop by a quarter metre or more
