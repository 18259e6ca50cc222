"""Repetition planning: load and fatigue slow the concentric phase (load-velocity profile)."""

from __future__ import annotations

import numpy as np
import pytest

from fusion.synth.repetition import concentric_velocity, plan_repetition, set_fatigue


def test_velocity_falls_with_load_and_with_fatigue():
    assert concentric_velocity(0.7, 0.0) == pytest.approx(1.0)
    assert concentric_velocity(0.8, 0.0) == pytest.approx(0.8)
    assert concentric_velocity(0.7, 1.0) == pytest.approx(0.7)
    assert concentric_velocity(0.8, 0.5) < concentric_velocity(0.8, 0) < concentric_velocity(0.6, 0)


def test_fatigue_builds_along_the_set_and_less_for_fit_subjects(subject):
    levels = [set_fatigue(subject, i) for i in range(10)]
    assert levels[0] == 0.0 and np.all(np.diff(levels) > 0)
    fitter = type(subject)(**{**subject.__dict__, "fitness": subject.fitness + 0.3})
    assert set_fatigue(fitter, 9) < set_fatigue(subject, 9)


def test_heavier_and_later_repetitions_have_longer_concentric_phases(fkg, subject):
    action = fkg.action("A01")
    plans = {
        rep: [
            plan_repetition(action, subject, np.random.default_rng(s), {"default": 0.0}, rep)
            for s in range(200)
        ]  # fmt: skip
        for rep in (0, 9)
    }

    def concentric(plan):
        start, end = plan.phase_window("concentric")
        return end - start

    fresh = np.array([concentric(p) for p in plans[0]])
    tired = np.array([concentric(p) for p in plans[9]])
    assert tired.mean() > 1.1 * fresh.mean()
    intensity = np.array([p.intensity for p in plans[0]])
    assert plans[9][0].fatigue == pytest.approx(set_fatigue(subject, 9))
    # Within fresh repetitions the load explains most of the concentric time.
    assert np.corrcoef(intensity, fresh)[0, 1] > 0.7
