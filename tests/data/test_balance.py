"""Balancing plans on a hand-built Fitness-AQA-like index: counts, flips, sizes, seeds, errors."""

from __future__ import annotations

from collections import Counter

import pytest

from fusion.data.balance import (
    balance_plan,
    combination_counts,
    combination_of,
    describe_plan,
)
from fusion.data.sample import SampleInfo

KFE, KIE = "knees_forward", "knees_inward"
# (action, error names as listed, how many samples)
GROUPS: list[tuple[str, tuple[str, ...], int]] = [
    ("A01", (), 6),
    ("A01", (KFE,), 4),
    ("A01", (KIE, KFE), 1),  # listed unsorted on purpose
    ("A01", (KIE,), 2),
    ("A06", (), 3),
    ("A06", ("elbows",), 2),
]
LARGEST, RAREST = 6, 1


def index() -> list[SampleInfo]:
    """Samples of GROUPS interleaved, so a combination's samples are not contiguous."""
    rows = [(action, names, n) for action, names, size in GROUPS for n in range(size)]
    rows.sort(key=lambda row: (row[2], row[0], row[1]))
    return [
        SampleInfo(
            key=f"{action}_{'-'.join(names) or 'ok'}_{n}",
            dataset="fitness-aqa",
            action=action,
            subject=None,
            views=(1,),
            error_names=names,
        )
        for action, names, n in rows
    ]


def per_combination(plan: list[tuple[int, bool]], infos: list[SampleInfo]) -> Counter:
    return Counter(combination_of(infos[i]) for i, _ in plan)


def test_combination_counts_sorts_names_and_groups_per_action() -> None:
    assert combination_counts(index()) == {
        ("A01", ()): 6,
        ("A01", (KFE,)): 4,
        ("A01", (KFE, KIE)): 1,
        ("A01", (KIE,)): 2,
        ("A06", ()): 3,
        ("A06", ("elbows",)): 2,
    }


def test_none_visits_every_sample_once_unflipped() -> None:
    infos = [*index(), SampleInfo("x", "flex", "A01", "S01", (1,), error_names=None)]
    assert balance_plan(infos, "none", seed=0) == [(i, False) for i in range(len(infos))]


def test_dynamic_step_fills_every_combination_to_the_largest() -> None:
    infos = index()
    plan = balance_plan(infos, "dynamic-step", seed=0)
    assert len(plan) == LARGEST * len(GROUPS)
    assert set(per_combination(plan, infos).values()) == {LARGEST}
    assert plan[: len(infos)] == [(i, False) for i in range(len(infos))]
    largest = [i for i, info in enumerate(infos) if combination_of(info) == ("A01", ())]
    assert all(Counter(i for i, _ in plan)[i] == 1 for i in largest)


def test_dynamic_step_extra_copies_alternate_flips() -> None:
    infos = index()
    extras = balance_plan(infos, "dynamic-step", seed=0)[len(infos) :]
    flips: dict[int, list[bool]] = {}
    for i, flip in extras:
        flips.setdefault(i, []).append(flip)
    by_combo: dict[tuple, list[list[bool]]] = {}
    for i, seq in flips.items():
        by_combo.setdefault(combination_of(infos[i])[1], []).append(seq)
    # the single KFE+KIE sample is repeated 5 times: flipped, plain, flipped, plain, flipped
    assert by_combo[(KFE, KIE)] == [[True, False, True, False, True]]
    # 2 KIE samples need 4 extras: each gets one flipped and one plain copy
    assert sorted(by_combo[(KIE,)]) == [[True, False], [True, False]]
    # 4 KFE samples need 2 extras: two different samples, each flipped once
    assert by_combo[(KFE,)] == [[True], [True]]
    assert not any(combination_of(infos[i]) == ("A01", ()) for i in flips)


def test_dynamic_step_is_seeded() -> None:
    infos = index()
    first = balance_plan(infos, "dynamic-step", seed=1)
    assert balance_plan(infos, "dynamic-step", seed=1) == first
    assert any(balance_plan(infos, "dynamic-step", seed=s) != first for s in range(2, 6))


def test_two_step_takes_the_rarest_size_plain_and_flipped() -> None:
    infos = index()
    plan = balance_plan(infos, "two-step", seed=0)
    assert len(plan) == 2 * RAREST * len(GROUPS)
    assert sum(flip for _, flip in plan) == len(plan) // 2
    assert set(per_combination(plan, infos).values()) == {2 * RAREST}
    assert Counter(i for i, _ in plan) == dict.fromkeys({i for i, _ in plan}, 2)
    assert {(i, True) for i, _ in plan} | {(i, False) for i, _ in plan} == set(plan)


def test_two_step_with_larger_rarest_class_is_seeded() -> None:
    infos = [i for i in index() if combination_of(i)[1] != (KFE, KIE)]  # rarest is now 2
    plans = [balance_plan(infos, "two-step", seed=s) for s in range(6)]
    assert all(len(p) == 2 * 2 * (len(GROUPS) - 1) for p in plans)
    assert balance_plan(infos, "two-step", seed=0) == plans[0]
    assert len({tuple(p) for p in plans}) > 1


def test_unannotated_samples_cannot_be_balanced() -> None:
    infos = [*index(), SampleInfo("x", "flex", "A01", "S01", (1,), error_names=None)]
    for strategy in ("dynamic-step", "two-step"):
        with pytest.raises(ValueError, match=r"1 of 19 samples have no error annotation.*x"):
            balance_plan(infos, strategy, seed=0)
    with pytest.raises(ValueError, match="1 of 19 samples have no error annotation"):
        combination_counts(infos)


def test_unknown_strategy() -> None:
    with pytest.raises(ValueError, match="unknown balance strategy 'oversample'.*two-step"):
        balance_plan(index(), "oversample", seed=0)


def test_describe_plan() -> None:
    infos = index()
    summary = describe_plan(balance_plan(infos, "dynamic-step", seed=0), infos)
    assert summary["entries"] == 36 and summary["distinct_samples"] == 18
    assert summary["flipped"] == 0 + 2 + 3 + 2 + 3 + 2  # per combination: ceil(extras / size)
    assert summary["combinations"]["A01: knees_forward+knees_inward"] == {
        "samples": 1,
        "entries": 6,
        "flipped": 3,
    }
    assert summary["combinations"]["A01: correct"] == {"samples": 6, "entries": 6, "flipped": 0}
