"""The simulator's Fitness-AQA error rates cover exactly the layout's error files."""

from __future__ import annotations

from fusion.data.layouts import FITNESS_AQA_ERRORS
from fusion.synth.presets import FITNESS_AQA_RATES


def test_every_fitness_aqa_error_file_has_a_rate_and_no_other_does():
    assert set(FITNESS_AQA_RATES) == set(FITNESS_AQA_ERRORS)
    assert all(0.0 < rate < 1.0 for rate in FITNESS_AQA_RATES.values())
