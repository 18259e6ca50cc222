"""Action accuracy and per-error F1 / AP against reference implementations on random data."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fusion.constants import IGNORE_INDEX
from fusion.metrics.errors import ActionAccuracy, ErrorAP, ErrorF1, best_threshold

E, G = 4, 3


def f1_reference(scores: np.ndarray, target: np.ndarray, threshold: float) -> float:
    """sklearn's binary f1_score of `scores > threshold` (0 when there is nothing to score)."""
    pred = scores > threshold
    tp, fp, fn = (
        (pred & (target == 1)).sum(),
        (pred & (target == 0)).sum(),
        (~pred & (target == 1)).sum(),
    )
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0


def ap_reference(scores: np.ndarray, target: np.ndarray) -> float:
    """sklearn's average_precision_score: sum over thresholds of (R_n - R_n-1) * P_n."""
    thresholds = np.unique(scores)[::-1]
    tp = np.array([(target[scores >= t] == 1).sum() for t in thresholds])
    fp = np.array([(target[scores >= t] == 0).sum() for t in thresholds])
    recall = tp / target.sum()
    return float(np.sum(np.diff(recall, prepend=0.0) * tp / (tp + fp)))


@pytest.fixture()
def slots() -> dict[str, torch.Tensor]:
    """50 samples x 4 slots: tied probs, random mask, slot 3 never positive, 3 action groups."""
    gen = torch.Generator().manual_seed(1)
    probs = (torch.rand(50, E, generator=gen) * 10).round() / 10  # ties and exact 0.5s
    target = (torch.rand(50, E, generator=gen) < 0.35).float()
    target[:, 3] = 0
    mask = torch.rand(50, E, generator=gen) > 0.25
    group = torch.randint(0, G, (50,), generator=gen)
    group[:3] = IGNORE_INDEX  # unknown action: no error slot is labelled
    mask[:3] = False
    return {"probs": probs, "target": target, "mask": mask, "group": group}


def references(slots, score, grouped: bool) -> np.ndarray:
    """Per-(group, slot) reference values on the masked-in entries, NaN without positives."""
    probs, target, mask = (slots[k].numpy() for k in ("probs", "target", "mask"))
    groups = slots["group"].numpy() if grouped else np.zeros(len(probs), int)
    out = np.full((G if grouped else 1, E), np.nan)
    for g in range(out.shape[0]):
        for e in range(E):
            kept = mask[:, e] & (groups == g)
            if target[kept, e].sum() > 0:
                out[g, e] = score(probs[kept, e], target[kept, e])
    return out


CASES = [
    (ErrorF1, lambda s, t: f1_reference(s, t, 0.5)),
    (ErrorAP, ap_reference),
]


@pytest.mark.parametrize(("make", "score"), CASES)
def test_per_slot_and_macro_match_reference(make, score, slots) -> None:
    metric = make(E)
    metric.update(slots["probs"], slots["target"], slots["mask"])
    result = metric.compute()
    expected = references(slots, score, grouped=False)[0]
    assert result["per_error"].shape == (E,)
    assert torch.isnan(result["per_error"][3])
    np.testing.assert_allclose(result["per_error"].numpy(), expected, atol=1e-6)
    assert result["macro"].item() == pytest.approx(np.nanmean(expected), abs=1e-6)


@pytest.mark.parametrize(("make", "score"), CASES)
def test_grouped_scores_each_action_slot_pair(make, score, slots) -> None:
    metric = make(E, num_groups=G)
    metric.update(slots["probs"], slots["target"], slots["mask"], slots["group"])
    result = metric.compute()
    expected = references(slots, score, grouped=True)
    assert result["per_error"].shape == (G, E)
    np.testing.assert_allclose(result["per_error"].numpy(), expected, atol=1e-6)
    assert result["macro"].item() == pytest.approx(np.nanmean(expected), abs=1e-6)


def test_f1_threshold_is_strict_and_configurable() -> None:
    target = torch.tensor([[1.0], [1.0], [0.0]])
    probs = torch.tensor([[0.5], [0.9], [0.2]])
    at_half, at_tenth = ErrorF1(1), ErrorF1(1, threshold=0.1)
    at_half.update(probs, target)
    at_tenth.update(probs, target)
    assert at_half.compute()["macro"].item() == pytest.approx(2 / 3)  # 0.5 is not > 0.5
    assert at_tenth.compute()["macro"].item() == pytest.approx(0.8)  # 2 tp, 1 fp


def test_best_threshold_maximises_the_reference_macro_f1(slots) -> None:
    probs = slots["probs"] * 0.4  # calibrated-looking rare errors: 0.5 would find none
    kept = slots["group"].clamp_min(0)
    chosen = best_threshold(probs, slots["target"], slots["mask"], kept, G)
    grid = np.round(np.linspace(0.05, 0.95, 19), 6)
    macro = {
        t: np.nanmean(
            references({**slots, "probs": probs}, lambda s, y, t=t: f1_reference(s, y, t), True)
        )
        for t in grid
    }
    assert macro[min(grid, key=lambda t: abs(t - chosen))] == pytest.approx(max(macro.values()))
    assert chosen < 0.4


def test_best_threshold_without_positives_keeps_one_half() -> None:
    probs, target = torch.rand(6, 2), torch.zeros(6, 2)
    assert (
        best_threshold(probs, target, torch.ones(6, 2, dtype=torch.bool), torch.zeros(6), 1) == 0.5
    )


@pytest.mark.parametrize("make", [ErrorF1, ErrorAP])
def test_two_halves_equal_one_update_and_reset_clears(make, slots) -> None:
    keys = ("probs", "target", "mask", "group")
    whole, halves = make(E, num_groups=G), make(E, num_groups=G)
    whole.update(*(slots[k] for k in keys))
    halves.update(*(slots[k][:20] for k in keys))
    halves.update(*(slots[k][20:] for k in keys))
    torch.testing.assert_close(halves.compute(), whole.compute(), equal_nan=True)
    halves.reset()
    with pytest.warns(UserWarning, match="before the ``update``"):
        empty = halves.compute()
    assert torch.isnan(empty["macro"]) and torch.isnan(empty["per_error"]).all()


def test_bad_inputs_are_rejected(slots) -> None:
    probs, target, mask, group = (slots[k] for k in ("probs", "target", "mask", "group"))
    with pytest.raises(ValueError, match=r"must be \(B, 5\)"):
        ErrorAP(5).update(probs, target)
    with pytest.raises(ValueError, match="probabilities"):
        ErrorF1(E).update(probs * 3 - 1, target, mask)
    with pytest.raises(ValueError, match="0 or 1"):
        ErrorAP(E).update(probs, target * 2, mask)
    with pytest.raises(ValueError, match="needs group"):
        ErrorAP(E, num_groups=G).update(probs, target, mask)
    with pytest.raises(ValueError, match=r"group must lie in \[0, 3\)"):
        ErrorAP(E, num_groups=G).update(probs, target, torch.ones_like(mask), group)


def test_action_accuracy_matches_numpy_on_logits_and_indices() -> None:
    gen = torch.Generator().manual_seed(2)
    logits = torch.randn(40, 6, generator=gen)
    target = torch.randint(0, 6, (40,), generator=gen)
    target[::7] = IGNORE_INDEX
    kept = target.numpy() != IGNORE_INDEX
    expected = np.mean(logits.numpy().argmax(1)[kept] == target.numpy()[kept])
    from_logits, from_indices = ActionAccuracy(), ActionAccuracy()
    from_logits.update(logits[:15], target[:15])
    from_logits.update(logits[15:], target[15:])
    from_indices.update(logits.argmax(1), target)
    assert from_logits.compute().item() == pytest.approx(expected)
    assert from_indices.compute().item() == pytest.approx(expected)
    from_logits.reset()
    from_logits.update(logits[:2], torch.full((2,), IGNORE_INDEX))
    assert torch.isnan(from_logits.compute())


def test_metrics_agree_with_sklearn_when_installed(slots) -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    probs, target, mask = (slots[k].numpy() for k in ("probs", "target", "mask"))
    f1, ap = ErrorF1(E), ErrorAP(E)
    f1.update(slots["probs"], slots["target"], slots["mask"])
    ap.update(slots["probs"], slots["target"], slots["mask"])
    for e in range(3):
        y, p = target[mask[:, e], e], probs[mask[:, e], e]
        assert f1.compute()["per_error"][e].item() == pytest.approx(metrics.f1_score(y, p > 0.5))
        assert ap.compute()["per_error"][e].item() == pytest.approx(
            metrics.average_precision_score(y, p)
        )
