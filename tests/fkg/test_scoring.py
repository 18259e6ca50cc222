"""Score formula, its differentiable expectation and the per-error breakdown."""

from __future__ import annotations

import itertools

import pytest
import torch

from fusion.fkg import load_fkg
from fusion.fkg.graph import Action, Deviation, ErrorType, Feedback, KeyStep
from fusion.fkg.scoring import breakdown, expected_score, score


def make_action(weights: list[float]) -> Action:
    """A hand-made action whose errors have the given weights (ET1..ETn)."""
    errors = tuple(
        ErrorType(
            id=f"A99-ET{i}",
            name=f"error_{i}",
            description="test error",
            action_id="A99",
            phase="eccentric",
            key_step="A99-AK1",
            severity="fine_control",
            weight=w,
            body_part="knees",
            modalities=("video", "pose"),
            deviation=Deviation(type="partial_range"),
            feedback=Feedback(id=f"A99-FB{i}", text=f"fix {i}"),
        )
        for i, w in enumerate(weights, 1)
    )
    return Action(
        id="A99",
        name="Test Squat",
        equipment="barbell",
        family="squat",
        phases=("preparation", "eccentric", "concentric"),
        key_steps=(KeyStep(id="A99-AK1", phase="eccentric", text="sit down"),),
        errors=errors,
        primary_muscles=("quadriceps",),
    )


ACTION = make_action([10.0, 8.0, 5.0, 2.0])  # ΣW_max = 25


def test_no_errors_scores_100() -> None:
    assert score(ACTION, []) == 100.0


def test_all_errors_score_0() -> None:
    assert score(ACTION, ACTION.error_ids) == pytest.approx(0.0)


def test_pair_exact_value() -> None:
    # (1 - (10 + 5) / 25) * 100 = 40
    assert score(ACTION, ["A99-ET1", "error_3"]) == pytest.approx(40.0)


def test_repeated_error_counts_once() -> None:
    assert score(ACTION, ["error_2", "A99-ET2", "error_2"]) == pytest.approx(68.0)


def test_unknown_error_names_the_action() -> None:
    with pytest.raises(ValueError, match=r"A99 \(Test Squat\) has no error 'wobble'"):
        score(ACTION, ["wobble"])


def test_real_back_squat_pair() -> None:
    squat = load_fkg().action("A01")
    lost = squat.error("knees_inward").weight + squat.error("knees_forward").weight
    expected = (1 - lost / squat.max_weight) * 100
    assert score(squat, ["knees_inward", "knees_forward"]) == pytest.approx(expected)


def test_expected_score_is_exact_expectation() -> None:
    probs = torch.tensor([[0.1, 0.5, 0.9, 0.3], [0.0, 1.0, 0.2, 0.7]], dtype=torch.float64)
    weights = torch.tensor([10.0, 8.0, 5.0, 2.0], dtype=torch.float64)
    expected = []
    for p in probs:
        total = 0.0
        for bits in itertools.product([0, 1], repeat=4):
            prob = torch.prod(torch.where(torch.tensor(bits) == 1, p, 1 - p)).item()
            observed = [f"A99-ET{i + 1}" for i, b in enumerate(bits) if b]
            total += prob * score(ACTION, observed)
        expected.append(total)
    got = expected_score(probs, weights)
    assert got.shape == (2,)
    assert got.tolist() == pytest.approx(expected, abs=1e-9)


def test_expected_score_matches_monte_carlo() -> None:
    gen = torch.Generator().manual_seed(0)
    probs = torch.rand(1, 4, generator=gen, dtype=torch.float64)
    samples = torch.rand(4000, 4, generator=gen, dtype=torch.float64) < probs
    scores = [
        score(ACTION, [f"A99-ET{i + 1}" for i in row.nonzero().flatten().tolist()])
        for row in samples
    ]
    mc = sum(scores) / len(scores)
    exact = expected_score(probs, torch.tensor([10.0, 8.0, 5.0, 2.0])).item()
    assert mc == pytest.approx(exact, abs=1.5)


def test_expected_score_has_gradients_and_ignores_padding() -> None:
    logits = torch.zeros(2, 6, requires_grad=True)
    weights = torch.tensor([[10.0, 8.0, 5.0, 2.0, 0.0, 0.0], [9.0, 9.0, 0.0, 0.0, 0.0, 0.0]])
    out = expected_score(torch.sigmoid(logits), weights)
    assert out.tolist() == pytest.approx([50.0, 50.0])
    out.sum().backward()
    assert logits.grad is not None
    assert torch.all(logits.grad[:, :2] < 0)
    assert torch.all(logits.grad[1, 2:] == 0) and torch.all(logits.grad[0, 4:] == 0)


def test_expected_score_all_zero_row_is_100_without_nan() -> None:
    probs = torch.full((1, 3), 0.5, requires_grad=True)
    out = expected_score(probs, torch.zeros(1, 3))
    out.sum().backward()
    assert out.item() == 100.0 and torch.isfinite(probs.grad).all()


def test_expected_score_with_weight_table_indicators() -> None:
    graph = load_fkg()
    table, ids = graph.weight_table()
    indicators = torch.zeros(table.shape)
    indicators[0, 0] = indicators[0, 2] = 1.0
    got = expected_score(indicators, torch.from_numpy(table))
    assert got[0].item() == pytest.approx(score(graph.action("A01"), [ids[0][0], ids[0][2]]))
    assert got[1:].tolist() == pytest.approx([100.0] * 19)


def test_expected_score_shape_errors() -> None:
    with pytest.raises(ValueError, match="error_probs"):
        expected_score(torch.zeros(4), torch.ones(4))
    with pytest.raises(ValueError, match="E=4"):
        expected_score(torch.zeros(2, 4), torch.ones(3))


def test_breakdown_points_sum_and_order() -> None:
    result = breakdown(ACTION, ["error_3", "A99-ET1", "error_4"])
    assert [item.error_id for item in result.items] == ["A99-ET1", "A99-ET3", "A99-ET4"]
    assert [item.points_lost for item in result.items] == pytest.approx([40.0, 20.0, 8.0])
    assert sum(item.points_lost for item in result.items) == pytest.approx(100 - result.score)
    assert result.max_weight == 25.0 and result.items[0].feedback == "fix 1"
    as_dict = result.to_dict()
    assert as_dict["score"] == pytest.approx(32.0)
    assert as_dict["items"][0]["name"] == "error_1"


def test_breakdown_real_actions_sum() -> None:
    graph = load_fkg()
    for action in graph.actions.values():
        result = breakdown(action, action.error_ids[::2])
        assert sum(i.points_lost for i in result.items) == pytest.approx(100 - result.score)
