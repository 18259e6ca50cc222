"""Temporal AP on hand-made cases with known answers and against a port of ActivityNet's code."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fusion.metrics.temporal import TemporalAP, spans_from_frame_probs


def activitynet_ap(preds: list[tuple], gts: list[tuple], threshold: float) -> float:
    """ActivityNet's compute_average_precision_detection for one class, rows led by a video id.

    preds are (video, start, end, score), gts (video, start, end); a plain numpy port.
    """
    order = np.argsort([-p[3] for p in preds], kind="stable")
    lock = {i: False for i in range(len(gts))}
    tp, fp = np.zeros(len(preds)), np.zeros(len(preds))
    for rank, idx in enumerate(order):
        video, start, end, _ = preds[idx]
        candidates = [i for i, g in enumerate(gts) if g[0] == video]
        if not candidates:
            fp[rank] = 1
            continue
        seg = np.array([[gts[i][1], gts[i][2]] for i in candidates])
        inter = (np.minimum(end, seg[:, 1]) - np.maximum(start, seg[:, 0])).clip(0)
        tiou = inter / ((seg[:, 1] - seg[:, 0]) + (end - start) - inter)
        for j in tiou.argsort()[::-1]:
            if tiou[j] < threshold:
                fp[rank] = 1
                break
            if lock[candidates[j]]:
                continue
            tp[rank] = 1
            lock[candidates[j]] = True
            break
        else:
            fp[rank] = 1
    tp_cum, fp_cum = np.cumsum(tp), np.cumsum(fp)
    rec, prec = tp_cum / len(gts), tp_cum / (tp_cum + fp_cum)
    mprec = np.hstack([[0], prec, [0]])
    mrec = np.hstack([[0], rec, [1]])
    for i in range(len(mprec) - 1)[::-1]:
        mprec[i] = max(mprec[i], mprec[i + 1])
    idx = np.where(mrec[1::] != mrec[0:-1])[0] + 1
    return float(np.sum((mrec[idx] - mrec[idx - 1]) * mprec[idx]))


def one_sample_ap(preds: list[tuple], gts: list[tuple], threshold: float = 0.5) -> float:
    """TemporalAP of class 0 (the only one with ground truth) for a single sample."""
    metric = TemporalAP(num_classes=2, iou_threshold=threshold)
    metric.update([preds], [gts])
    return metric.compute()["mAP"].item()


def test_perfect_predictions_score_one_and_classes_without_gt_are_nan() -> None:
    gts = [[(0, 0.5, 1.5), (2, 2.0, 3.0)], [(0, 0.0, 1.0)]]
    preds = [[(c, s, e, 0.9) for c, s, e in sample] for sample in gts]
    metric = TemporalAP(num_classes=3)
    metric.update(preds, gts)
    result = metric.compute()
    assert result["mAP"].item() == pytest.approx(1.0)
    assert result["per_class"][[0, 2]].tolist() == [1.0, 1.0]
    assert torch.isnan(result["per_class"][1])


def test_false_positive_ranked_first_gives_two_thirds() -> None:
    gts = [(0, 0.0, 1.0), (0, 2.0, 3.0)]
    preds = [(0, 5.0, 6.0, 0.9), (0, 0.0, 1.0, 0.8), (0, 2.0, 3.0, 0.7)]
    # precision 0, 1/2, 2/3 at recall 0, 1/2, 1 -> interpolated precision 2/3 everywhere
    assert one_sample_ap(preds, gts) == pytest.approx(2 / 3)


@pytest.mark.parametrize(("end", "expected"), [(0.99, 0.0), (1.0, 1.0), (1.01, 1.0)])
def test_tiou_just_below_at_and_above_threshold(end: float, expected: float) -> None:
    assert one_sample_ap([(0, 0.0, end, 0.9)], [(0, 0.0, 2.0)]) == expected


def test_ground_truth_is_matched_once_and_only_within_its_sample() -> None:
    metric = TemporalAP(num_classes=1)
    # a duplicate detection is a false positive; sample 1's prediction cannot take sample 0's gt
    metric.update(
        [[(0, 0.0, 1.0, 0.9), (0, 0.0, 1.0, 0.8)], [(0, 2.0, 3.0, 0.95)]],
        [[(0, 0.0, 1.0), (0, 2.0, 3.0)], []],
    )
    # hits F, T, F: precision 0, 1/2, 1/3 at recall 0, 1/2, 1/2
    assert metric.compute()["mAP"].item() == pytest.approx(0.25)


def random_segments(gen: np.random.Generator, samples: int, classes: int):
    """Random predictions and ground truths with overlaps near the threshold."""
    preds, gts = [], []
    for _ in range(samples):
        truth = [
            (int(gen.integers(classes)), s, s + gen.uniform(0.5, 2)) for s in gen.uniform(0, 8, 3)
        ]
        guess = [
            (c, s + gen.normal(0, 0.4), e + gen.normal(0, 0.4), float(gen.uniform()))
            for c, s, e in truth
            if gen.uniform() < 0.8
        ]
        guess += [
            (int(gen.integers(classes)), s, s + 1.0, float(gen.uniform()))
            for s in gen.uniform(0, 8, 2)
        ]
        preds.append([(c, min(s, e), max(s, e), p) for c, s, e, p in guess])
        gts.append(truth)
    return preds, gts


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
def test_random_segments_match_activitynet(threshold: float) -> None:
    classes = 3
    preds, gts = random_segments(np.random.default_rng(3), samples=25, classes=classes)
    metric = TemporalAP(num_classes=classes, iou_threshold=threshold)
    metric.update(preds, gts)
    result = metric.compute()
    for c in range(classes):
        flat_preds = [
            (v, s, e, p) for v, sample in enumerate(preds) for k, s, e, p in sample if k == c
        ]
        flat_gts = [(v, s, e) for v, sample in enumerate(gts) for k, s, e in sample if k == c]
        expected = activitynet_ap(flat_preds, flat_gts, threshold)
        assert result["per_class"][c].item() == pytest.approx(expected, abs=1e-6)
    assert 0.0 < result["mAP"].item() < 1.0


def test_two_halves_equal_one_update_and_reset_clears() -> None:
    preds, gts = random_segments(np.random.default_rng(4), samples=20, classes=2)
    whole, halves = TemporalAP(num_classes=2), TemporalAP(num_classes=2)
    whole.update(preds, gts)
    halves.update(preds[:8], gts[:8])
    halves.update(preds[8:], gts[8:])
    torch.testing.assert_close(halves.compute(), whole.compute())
    halves.reset()
    halves.update([[(0, 0.0, 1.0, 0.5)]], [[(1, 0.0, 1.0)]])
    assert halves.compute()["per_class"][1].item() == 0.0
    assert torch.isnan(halves.compute()["per_class"][0])


def test_bad_segments_are_rejected() -> None:
    metric = TemporalAP(num_classes=2)
    with pytest.raises(ValueError, match="2 samples but gt_segments has 1"):
        metric.update([[], []], [[]])
    with pytest.raises(ValueError, match=r"class must be in \[0, 2\)"):
        metric.update([[]], [[(2, 0.0, 1.0)]])
    with pytest.raises(ValueError, match="start <= end"):
        metric.update([[(0, 2.0, 1.0, 0.5)]], [[]])
    with pytest.raises(ValueError, match="expected 4 values"):
        metric.update([[(0, 0.0, 1.0)]], [[]])


def test_spans_from_frame_probs_on_a_hand_made_sequence() -> None:
    times = torch.arange(8) * 0.5
    probs = torch.tensor(
        [
            [0.9, 0.1],
            [0.7, 0.1],
            [0.2, 0.6],
            [0.5, 0.8],
            [0.6, 0.1],
            [0.1, 0.1],
            [0.1, 0.7],
            [0.8, 0.9],
        ]
    )
    spans = spans_from_frame_probs(probs, times)
    expected = [
        (0, 0.0, 1.0, 0.8),
        (0, 2.0, 2.5, 0.6),
        (0, 3.5, 4.0, 0.8),
        (1, 1.0, 2.0, 0.7),
        (1, 3.0, 4.0, 0.8),
    ]
    assert [s[0] for s in spans] == [e[0] for e in expected]
    np.testing.assert_allclose([s[1:] for s in spans], [e[1:] for e in expected], atol=1e-6)
    assert spans_from_frame_probs(probs, times, threshold=0.95) == []
    assert spans_from_frame_probs(probs[:1], times[:1], frame_period=0.1) == [
        (0, 0.0, 0.1, pytest.approx(0.9))
    ]
    with pytest.raises(ValueError, match="frame_period is needed"):
        spans_from_frame_probs(probs[:1], times[:1])
