"""Muscle activation follows the movement and the muscular errors of the FKG."""

from __future__ import annotations

import numpy as np
import pytest

from fusion.synth.emg import rms_envelope, synthesize_emg
from fusion.synth.muscles import channel, muscle_activation


@pytest.fixture(scope="module")
def imbalance(fkg):
    """The first action whose FKG has a left/right muscle imbalance error, and that error."""
    for action in fkg.actions.values():
        for error in action.errors:
            if error.deviation.type == "muscle_imbalance":
                return action, error
    pytest.fail("the FKG has no muscle_imbalance error")


def test_prime_movers_work_harder_in_concentric_than_in_preparation(make_plan, subject):
    plan, _ = make_plan("A01")
    t = np.linspace(0, plan.duration, 300)
    act = muscle_activation(plan, t, subject, intensity=0.7)
    quad = act[:, channel("quadriceps", "r")]
    prep = t < plan.phase_bounds[1]
    concentric = (t > plan.phase_bounds[2]) & (t < plan.phase_bounds[3])
    assert quad[concentric].mean() > 2 * quad[prep].mean()
    assert act.min() >= 0 and act.max() <= 1


def test_left_right_imbalance_shows_inside_its_span(imbalance, make_plan, subject):
    action, error = imbalance
    faulty, clean = make_plan(action.id, error.name)
    t = np.linspace(0, faulty.duration, 300)
    on, off = faulty.errors[0].span
    inside = (t > on + 0.3) & (t < off - 0.3)
    strong = error.deviation.side[0]
    weak = "l" if strong == "r" else "r"
    muscle = action.primary_muscles[0]
    a = muscle_activation(faulty, t, subject, 0.7)
    b = muscle_activation(clean, t, subject, 0.7)
    ratio_faulty = a[inside, channel(muscle, strong)] / a[inside, channel(muscle, weak)]
    ratio_clean = b[inside, channel(muscle, strong)] / b[inside, channel(muscle, weak)]
    assert np.all(ratio_faulty > 1.5 * ratio_clean)
    outside = (t < on) | (t > off)
    np.testing.assert_allclose(a[outside], b[outside])


def test_imbalance_shows_in_the_synthesized_emg_envelopes(imbalance, make_plan, subject):
    action, error = imbalance
    faulty, _ = make_plan(action.id, error.name)
    t = np.arange(int(faulty.duration * 50) + 1) / 50
    act = muscle_activation(faulty, t, subject, 0.7)
    emg = synthesize_emg(
        act, t, faulty.duration, np.random.default_rng(0), channel_gain=np.ones(16)
    )
    envelope = rms_envelope(emg, 2000)
    times = np.arange(len(emg)) / 2000
    on, off = faulty.errors[0].span
    inside = (times > on + 0.3) & (times < off - 0.3)
    strong = error.deviation.side[0]
    weak = "l" if strong == "r" else "r"
    muscle = action.primary_muscles[0]
    ratio = (
        envelope[inside, channel(muscle, strong)].mean()
        / envelope[inside, channel(muscle, weak)].mean()
    )
    assert ratio > 1.8
