"""Shared fixtures for the generator tests: the FKG, subjects and plans with chosen errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fusion.fkg.graph import FitnessKnowledgeGraph
from fusion.fkg.loader import load_fkg
from fusion.synth.motion import InjectedError, RepPlan
from fusion.synth.repetition import plan_repetition
from fusion.synth.subjects import Subject, sample_subjects


@pytest.fixture(scope="session")
def fkg() -> FitnessKnowledgeGraph:
    return load_fkg()


@pytest.fixture(scope="session")
def subject() -> Subject:
    return sample_subjects({"amateur": 1}, seed=3)[0]


@pytest.fixture()
def make_plan(fkg, subject):
    """Plan a repetition of `action_id`, then keep exactly the named errors at full magnitude."""

    def build(action_id: str, *error_names: str, seed: int = 0) -> tuple[RepPlan, RepPlan]:
        action = fkg.action(action_id)
        plan = plan_repetition(action, subject, np.random.default_rng(seed), {"default": 0.0})
        errors = []
        for name in error_names:
            error = action.error(name)
            start, end = plan.phase_window(error.phase)
            span = (start + 0.1 * (end - start), end - 0.05 * (end - start))
            errors.append(InjectedError(error, 1.0, span))
        return dataclasses.replace(plan, errors=tuple(errors)), plan

    return build
