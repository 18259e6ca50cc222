"""The Fitness-AQA names of fusion.data.layouts place every exercise and error in the FKG."""

from __future__ import annotations

from fusion.data.layouts import FITNESS_AQA_ERRORS, FITNESS_AQA_EXERCISES
from fusion.fkg.loader import load_fkg


def test_every_fitness_aqa_error_file_is_an_fkg_error_of_one_of_its_exercises():
    fkg = load_fkg()
    for name, (action_id, error_name) in FITNESS_AQA_ERRORS.items():
        assert action_id in FITNESS_AQA_EXERCISES, name
        assert fkg.action(action_id).error(error_name).name == error_name


def test_every_fitness_aqa_exercise_is_an_fkg_action_with_error_files():
    fkg = load_fkg()
    actions_with_files = {action_id for action_id, _ in FITNESS_AQA_ERRORS.values()}
    assert set(FITNESS_AQA_EXERCISES) == actions_with_files
    assert set(FITNESS_AQA_EXERCISES) <= set(fkg.action_ids)
    assert len(set(FITNESS_AQA_EXERCISES.values())) == len(FITNESS_AQA_EXERCISES)
