"""Error-class balancing plans: which samples an epoch visits, and which copies are flipped.

Following the LLaVA-Video work on Fitness-AQA, a sample's class is its *combination*: its
action and the sorted names of the errors it shows (no names = correct execution).
`dynamic-step` oversamples every combination up to the largest one, flipping the duplicates
horizontally; `two-step` is the balanced subset of the second training step (the rarest
combination's size from each, plus a flipped copy of each). A flipped copy mirrors the body, so
whoever applies the flip must also swap left/right joints, EMG channels and error sides.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np

from fusion.data.sample import SampleInfo

STRATEGIES: tuple[str, ...] = ("none", "dynamic-step", "two-step")

Combination = tuple[str | None, tuple[str, ...]]
PlanEntry = tuple[int, bool]  # (index into infos, flip horizontally)


def combination_of(info: SampleInfo) -> Combination:
    """(action, sorted error names) of one sample; () names a correct execution."""
    if info.error_names is None:
        raise ValueError(f"sample {info.key} has no error annotation, so it has no combination")
    return info.action, tuple(sorted(set(info.error_names)))


def combination_counts(infos: Sequence[SampleInfo]) -> dict[Combination, int]:
    """Samples per combination, in sorted combination order."""
    _require_errors(infos)
    counts = Counter(combination_of(i) for i in infos)
    return dict(sorted(counts.items(), key=lambda item: _sort_key(item[0])))


def balance_plan(infos: Sequence[SampleInfo], strategy: str, seed: int) -> list[PlanEntry]:
    """The (index, flip) entries one epoch visits under `strategy`; deterministic for a seed."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown balance strategy {strategy!r}; known: {', '.join(STRATEGIES)}")
    if strategy == "none" or not infos:
        return [(i, False) for i in range(len(infos))]
    _require_errors(infos)
    groups = _indices_by_combination(infos)
    rng = np.random.default_rng(seed)
    if strategy == "dynamic-step":
        return _dynamic_step(len(infos), groups, rng)
    return _two_step(groups, rng)


def describe_plan(plan: Sequence[PlanEntry], infos: Sequence[SampleInfo]) -> dict:
    """Entries, distinct samples and flips in all and per combination (JSON-ready)."""
    per_combination: dict[str, dict[str, int]] = {}
    originals = Counter(_combination_name(info) for info in infos)
    for name in sorted(originals):
        per_combination[name] = {"samples": originals[name], "entries": 0, "flipped": 0}
    for index, flip in plan:
        row = per_combination[_combination_name(infos[index])]
        row["entries"] += 1
        row["flipped"] += int(flip)
    return {
        "entries": len(plan),
        "distinct_samples": len({index for index, _ in plan}),
        "flipped": sum(int(flip) for _, flip in plan),
        "combinations": per_combination,
    }


def _dynamic_step(
    n: int, groups: dict[Combination, list[int]], rng: np.random.Generator
) -> list[PlanEntry]:
    """Every sample once, then each combination topped up to the largest by seeded cycling.

    The r-th extra copy of a sample (r = 0, 1, …) is flipped when r is even, so duplicates
    alternate flipped / plain, starting flipped.
    """
    target = max(len(members) for members in groups.values())
    plan: list[PlanEntry] = [(i, False) for i in range(n)]
    for members in groups.values():
        order = [members[j] for j in rng.permutation(len(members))]
        for extra in range(target - len(members)):
            repeat = extra // len(members)
            plan.append((order[extra % len(members)], repeat % 2 == 0))
    return plan


def _two_step(groups: dict[Combination, list[int]], rng: np.random.Generator) -> list[PlanEntry]:
    """The rarest combination's size drawn from every combination, each plain and flipped."""
    size = min(len(members) for members in groups.values())
    plan: list[PlanEntry] = []
    for members in groups.values():
        chosen = sorted(members[j] for j in rng.choice(len(members), size, replace=False))
        plan += [(index, flip) for index in chosen for flip in (False, True)]
    return plan


def _indices_by_combination(infos: Sequence[SampleInfo]) -> dict[Combination, list[int]]:
    """Indices of infos per combination, combinations in sorted order."""
    groups: dict[Combination, list[int]] = defaultdict(list)
    for index, info in enumerate(infos):
        groups[combination_of(info)].append(index)
    return dict(sorted(groups.items(), key=lambda item: _sort_key(item[0])))


def _require_errors(infos: Sequence[SampleInfo]) -> None:
    """Balancing needs every sample's errors annotated."""
    unlabelled = [i.key for i in infos if i.error_names is None]
    if unlabelled:
        raise ValueError(
            f"cannot balance error classes: {len(unlabelled)} of {len(infos)} samples have no "
            f"error annotation (e.g. {', '.join(unlabelled[:5])})"
        )


def _sort_key(combination: Combination) -> tuple[str, tuple[str, ...]]:
    action, names = combination
    return ("" if action is None else action, names)


def _combination_name(info: SampleInfo) -> str:
    """A readable combination label such as 'A01: knees_forward+knees_inward'."""
    action = info.action or "unknown"
    if info.error_names is None:
        return f"{action}: unlabelled"
    names = sorted(set(info.error_names))
    return f"{action}: {'+'.join(names) if names else 'correct'}"
