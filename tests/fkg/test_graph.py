"""The packaged FKG loads with the required content, and broken graphs are rejected."""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from fusion.constants import MODALITIES, MUSCLES, PHASES
from fusion.fkg import FitnessKnowledgeGraph, FKGError, load_fkg
from fusion.fkg.graph import DEVIATION_FAMILIES, deviation_category
from fusion.fkg.loader import DEFAULT_FKG_PATH

RAW: dict[str, Any] = yaml.load(
    DEFAULT_FKG_PATH.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader
)
SEVERITY_TABLE = {
    "joint_safety": (9, 10),
    "core_stability": (7, 9),
    "foundational_posture": (6, 7),
    "fine_control": (5, 5),
    "breathing": (2, 2),
}


@pytest.fixture(scope="module")
def fkg() -> FitnessKnowledgeGraph:
    """The packaged graph, loaded once."""
    return load_fkg()


def write(tmp_path: Path, data: Any, name: str = "broken.yaml") -> Path:
    """Dump a (mutated) graph dict to a YAML file."""
    path = tmp_path / name
    path.write_text(yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False), encoding="utf-8")
    return path


def problems_of(path: Path) -> str:
    """Load a file that must fail and return the error message."""
    with pytest.raises(FKGError) as info:
        load_fkg(path)
    return str(info.value)


# -- the packaged file --------------------------------------------------------------------------


def test_packaged_file_has_twenty_actions(fkg: FitnessKnowledgeGraph) -> None:
    assert fkg.action_ids == tuple(f"A{i:02d}" for i in range(1, 21))
    assert all(fkg.action(f"A{i:02d}").equipment == "barbell" for i in range(1, 11))
    assert all(fkg.action(f"A{i:02d}").equipment == "dumbbell" for i in range(11, 21))
    assert fkg.name == "flex" and fkg.version == "1.0"
    assert fkg.muscles == MUSCLES


def test_packaged_file_error_counts(fkg: FitnessKnowledgeGraph) -> None:
    assert fkg.n_errors >= 90
    for action in fkg.actions.values():
        assert 4 <= len(action.errors) <= 6, action.id
        severities = Counter(e.severity for e in action.errors)
        assert severities["joint_safety"] + severities["core_stability"] >= 1, action.id
        assert severities["breathing"] <= 1, action.id
        assert any(e.phase != "preparation" for e in action.errors), action.id
    assert {e.severity for e in fkg.iter_errors()} == set(SEVERITY_TABLE)


def test_severity_table_and_weights(fkg: FitnessKnowledgeGraph) -> None:
    assert fkg.severity_classes == {k: (float(a), float(b)) for k, (a, b) in SEVERITY_TABLE.items()}
    for err in fkg.iter_errors():
        lo, hi = SEVERITY_TABLE[err.severity]
        assert lo <= err.weight <= hi, err.id


def test_phases_steps_and_ids(fkg: FitnessKnowledgeGraph) -> None:
    for action in fkg.actions.values():
        assert sorted(action.phases) == sorted(PHASES)
        for phase in action.phases:
            assert 2 <= len(action.steps_in(phase)) <= 3, (action.id, phase)
        assert [s.id for s in action.key_steps] == [
            f"{action.id}-AK{i}" for i in range(1, len(action.key_steps) + 1)
        ]
        for i, err in enumerate(action.errors, 1):
            assert err.id == f"{action.id}-ET{i}"
            assert err.feedback.id == f"{action.id}-FB{i}"
            assert action.key_step(err.key_step).phase == err.phase


def test_phase_orders(fkg: FitnessKnowledgeGraph) -> None:
    pec = ("preparation", "eccentric", "concentric")
    pce = ("preparation", "concentric", "eccentric")
    pce_ids = {"A03", "A05", "A06", "A07", "A10", "A13", "A14", "A15", "A16", "A17", "A18"}
    for action_id in fkg.action_ids:
        expected = pce if action_id in pce_ids else pec
        assert fkg.action(action_id).phases == expected, action_id


def test_muscles_modalities_and_deviations_known(fkg: FitnessKnowledgeGraph) -> None:
    for action in fkg.actions.values():
        assert action.primary_muscles and set(action.primary_muscles) <= set(MUSCLES)
        for err in action.errors:
            assert set(err.modalities) <= set(MODALITIES)
            allowed = DEVIATION_FAMILIES[err.deviation.type]
            assert allowed is None or action.family in allowed, err.id
            if err.deviation.type == "muscle_substitution":
                params = err.deviation.params
                assert {params["primary"], params["compensator"]} <= set(MUSCLES)
            if deviation_category(err.deviation.type) == "physiological":
                assert err.severity == "breathing" and err.modalities == ("physio",)


def test_fitness_aqa_errors_present(fkg: FitnessKnowledgeGraph) -> None:
    squat, press = fkg.action("A01"), fkg.action("A06")
    expected = [
        (squat, "knees_inward", "knee_valgus", "eccentric"),
        (squat, "knees_forward", "knee_forward", "eccentric"),
        (press, "elbows", "elbow_flare", "concentric"),
        (press, "knees", "knee_drive", "concentric"),
    ]
    for action, name, deviation, phase in expected:
        err = action.error(name)
        assert (err.deviation.type, err.phase) == (deviation, phase)


def test_lookups(fkg: FitnessKnowledgeGraph) -> None:
    err = fkg.error("A01-ET1")
    assert err.name == "knees_inward" and err.action_id == "A01"
    assert fkg.action("A01").error("knees_inward") is fkg.action("A01").error("A01-ET1")
    with pytest.raises(KeyError, match="A99"):
        fkg.action("A99")
    with pytest.raises(KeyError, match="A01"):
        fkg.action("A01").error("no_such_error")


def test_edges(fkg: FitnessKnowledgeGraph) -> None:
    edges = fkg.edges()
    relations = Counter(rel for _, rel, _ in edges)
    n_steps = sum(len(a.key_steps) for a in fkg.actions.values())
    assert relations["contain"] == 3 * 20 + n_steps
    assert relations["may_occur"] == relations["feedback"] == fkg.n_errors
    assert ("A01", "contain", "A01/eccentric") in edges
    assert ("A01/eccentric", "contain", "A01-AK4") in edges
    assert ("A01-AK4", "may_occur", "A01-ET1") in edges
    assert ("A01-ET1", "feedback", "A01-FB1") in edges


def test_weight_table(fkg: FitnessKnowledgeGraph) -> None:
    table, ids = fkg.weight_table()
    assert table.dtype == np.float32 and table.shape == (20, 6)
    assert ids[0] == list(fkg.action("A01").error_ids)
    assert table[0, : len(ids[0])].sum() == pytest.approx(fkg.action("A01").max_weight)
    for row, row_ids in enumerate(ids):
        assert np.all(table[row, len(row_ids) :] == 0)


def test_sha256_stable_and_content_sensitive(tmp_path: Path, fkg: FitnessKnowledgeGraph) -> None:
    copy_path = tmp_path / "copy.yaml"
    copy_path.write_text(DEFAULT_FKG_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_fkg(copy_path).sha256 == fkg.sha256 == load_fkg().sha256
    data = copy.deepcopy(RAW)
    data["actions"]["A01"]["errors"][0]["weight"] = 9.0
    assert load_fkg(write(tmp_path, data)).sha256 != fkg.sha256


def test_to_dict_round_trips(tmp_path: Path, fkg: FitnessKnowledgeGraph) -> None:
    again = load_fkg(write(tmp_path, fkg.to_dict(), "round_trip.yaml"))
    assert again == fkg and again.sha256 == fkg.sha256


# -- broken graphs ------------------------------------------------------------------------------


def mutate_error(field: str, value: Any, action: str = "A03", index: int = 2) -> dict[str, Any]:
    """A copy of the packaged graph with one error field replaced."""
    data = copy.deepcopy(RAW)
    data["actions"][action]["errors"][index][field] = value
    return data


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (mutate_error("key_step", "A03-AK99"), "key_step 'A03-AK99' is not a key step"),
        (mutate_error("phase", "lockout"), "phase 'lockout' is not a phase"),
        (mutate_error("id", "A03-ET1"), "duplicate id A03-ET1"),
        (mutate_error("weight", 4.0), "weight 4 outside core_stability range [7, 9]"),
        (mutate_error("weight", "heavy"), "weight must be a number"),
        (mutate_error("severity", "cosmetic"), "unknown severity class 'cosmetic'"),
        (mutate_error("modalities", ["video", "smell"]), "unknown modality 'smell'"),
        (mutate_error("deviation", {"type": "wobble"}), "unknown deviation type 'wobble'"),
        (mutate_error("deviation", {"type": "elbow_drift"}), "does not apply to family 'hinge'"),
        (mutate_error("key_step", "A03-AK1"), "belongs to preparation, not concentric"),
    ],
    ids=[
        "dangling-key-step",
        "dangling-phase",
        "duplicate-id",
        "weight-out-of-range",
        "weight-not-numeric",
        "unknown-severity",
        "unknown-modality",
        "unknown-deviation",
        "deviation-wrong-family",
        "key-step-wrong-phase",
    ],
)
def test_broken_error_entry_rejected(tmp_path: Path, data: dict, expected: str) -> None:
    message = problems_of(write(tmp_path, data))
    assert "broken.yaml: actions.A03.errors[2] (A03-ET" in message
    assert expected in message


def test_action_without_errors_rejected(tmp_path: Path) -> None:
    data = copy.deepcopy(RAW)
    data["actions"]["A05"]["errors"] = []
    message = problems_of(write(tmp_path, data))
    assert "broken.yaml: actions.A05.errors: an action needs at least one error" in message


def test_unknown_muscle_rejected(tmp_path: Path) -> None:
    data = copy.deepcopy(RAW)
    data["actions"]["A07"]["primary_muscles"] = ["biceps", "forearm"]
    data["actions"]["A07"]["errors"][4]["deviation"]["compensator"] = "pectoralis"
    message = problems_of(write(tmp_path, data))
    assert "broken.yaml: actions.A07.primary_muscles: unknown muscle 'forearm'" in message
    assert "actions.A07.errors[4] (A07-ET5).deviation: unknown compensator muscle" in message
    assert message.splitlines()[0].endswith("2 problems in the fitness knowledge graph")


def test_duplicate_key_step_id_across_actions_rejected(tmp_path: Path) -> None:
    data = copy.deepcopy(RAW)
    data["actions"]["A02"]["phases"][0]["key_steps"][0]["id"] = "A01-AK1"
    message = problems_of(write(tmp_path, data))
    assert "actions.A02.phases[0].key_steps[0] (A01-AK1)" in message
    assert "duplicate id A01-AK1" in message or "does not match" in message


def test_duplicate_yaml_key_rejected(tmp_path: Path) -> None:
    text = DEFAULT_FKG_PATH.read_text(encoding="utf-8")
    a02 = text[text.index("  A02:\n") : text.index("  A03:\n")]
    path = tmp_path / "dup.yaml"
    path.write_text(text + a02, encoding="utf-8")
    message = problems_of(path)
    assert "dup.yaml: line" in message and "duplicate key 'A02'" in message


def test_yaml_syntax_error_rejected(tmp_path: Path) -> None:
    path = tmp_path / "syntax.yaml"
    path.write_text("name: flex\nactions: [A01, {\n", encoding="utf-8")
    message = problems_of(path)
    assert "syntax.yaml: line" in message and "YAML syntax error" in message


def test_missing_and_unknown_fields_rejected(tmp_path: Path) -> None:
    data = copy.deepcopy(RAW)
    del data["actions"]["A04"]["errors"][0]["feedback"]
    data["actions"]["A04"]["colour"] = "red"
    message = problems_of(write(tmp_path, data))
    assert "actions.A04.errors[0]: missing field(s) feedback" in message
    assert "actions.A04: unknown field(s) colour" in message


def test_wrong_phases_and_muscles_rejected(tmp_path: Path) -> None:
    data = copy.deepcopy(RAW)
    data["actions"]["A08"]["phases"] = data["actions"]["A08"]["phases"][:2]
    data["muscles"] = list(MUSCLES[:-1])
    message = problems_of(write(tmp_path, data))
    assert "actions.A08.phases: phases" in message and "must be exactly" in message
    assert "broken.yaml: muscles: must be exactly" in message


def test_side_and_substitution_rules(tmp_path: Path) -> None:
    data = copy.deepcopy(RAW)
    data["actions"]["A06"]["errors"][4]["deviation"] = {"type": "asymmetric_lockout"}
    data["actions"]["A01"]["errors"][5]["deviation"]["compensator"] = "gluteus_maximus"
    message = problems_of(write(tmp_path, data))
    assert "(A06-ET5).deviation: asymmetric_lockout needs side left or right" in message
    assert "(A01-ET6).deviation: primary and compensator must be different" in message


def test_missing_file_rejected(tmp_path: Path) -> None:
    with pytest.raises(FKGError, match="nope.yaml: cannot read"):
        load_fkg(tmp_path / "nope.yaml")
