"""Train/val/test split protocols over a dataset index: random, cross-subject, cross-view, dataset.

A `Split` holds the sorted keys of each part together with every key's action and subject, so it
describes itself and a run can store it as JSON and later reload exactly what it trained on.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter

import numpy as np

from fusion.data.config import SplitConfig
from fusion.data.sample import SampleInfo

PROTOCOLS: tuple[str, ...] = ("random", "cross-subject", "cross-view", "dataset")
PARTS: tuple[str, ...] = ("train", "val", "test")
_SHOWN = 5  # keys quoted in an error message

Parts = tuple[list[str], list[str], list[str]]


@dataclass(frozen=True)
class Split:
    """Keys of each part (sorted), the views each side sees (None = all) and each key's origin.

    `actions` and `subjects` map every key of the split to its action and subject.
    """

    protocol: str
    train: tuple[str, ...]
    val: tuple[str, ...]
    test: tuple[str, ...]
    actions: dict[str, str | None]
    subjects: dict[str, str | None]
    train_views: tuple[int, ...] | None = None
    test_views: tuple[int, ...] | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        seen: dict[str, str] = {}
        for part in PARTS:
            for key in self.part(part):
                if key in seen:
                    raise ValueError(f"key {key!r} is in both {seen[key]} and {part}")
                seen[key] = part
        for name, mapping in (("actions", self.actions), ("subjects", self.subjects)):
            if set(mapping) != set(seen):
                raise ValueError(f"{name} must map exactly the split's keys")
        if self.train_views and self.test_views:
            shared = sorted(set(self.train_views) & set(self.test_views))
            if shared:
                raise ValueError(f"views {shared} are in both train_views and test_views")

    def part(self, name: str) -> tuple[str, ...]:
        """The keys of one part: train, val or test."""
        if name not in PARTS:
            raise ValueError(f"unknown part {name!r}; known: {', '.join(PARTS)}")
        return getattr(self, name)

    def describe(self) -> dict:
        """Counts per part, samples per action per part and subjects per part (JSON-ready)."""
        return {
            "protocol": self.protocol,
            "seed": self.seed,
            "counts": {p: len(self.part(p)) for p in PARTS},
            "actions": {
                p: dict(sorted(Counter(_label(self.actions[k]) for k in self.part(p)).items()))
                for p in PARTS
            },
            "subjects": {
                p: sorted({s for k in self.part(p) if (s := self.subjects[k]) is not None})
                for p in PARTS
            },
            "train_views": _list_or_none(self.train_views),
            "test_views": _list_or_none(self.test_views),
        }

    def to_json(self) -> str:
        """The whole split as JSON text; `Split.from_json` gives back an equal split."""
        data = {
            "protocol": self.protocol,
            "seed": self.seed,
            **{p: list(self.part(p)) for p in PARTS},
            "train_views": _list_or_none(self.train_views),
            "test_views": _list_or_none(self.test_views),
            "samples": {
                k: {"action": self.actions[k], "subject": self.subjects[k]}
                for k in sorted(self.actions)
            },
        }
        return json.dumps(data, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Split:
        """Rebuild a split written by `to_json`; a missing field is a ValueError naming it."""
        data = json.loads(text)
        fields = ("protocol", "seed", *PARTS, "train_views", "test_views", "samples")
        missing = [f for f in fields if f not in data]
        if missing:
            raise ValueError(f"split JSON lacks {', '.join(missing)}")
        samples = data["samples"]
        return cls(
            protocol=data["protocol"],
            seed=data["seed"],
            **{p: tuple(data[p]) for p in PARTS},
            actions={k: v["action"] for k, v in samples.items()},
            subjects={k: v["subject"] for k, v in samples.items()},
            train_views=_tuple_or_none(data["train_views"]),
            test_views=_tuple_or_none(data["test_views"]),
        )


def make_split(infos: Sequence[SampleInfo], config: SplitConfig) -> Split:
    """Split the indexed samples by `config.protocol`; the same infos and seed give the same split.

    The listing order of `infos` does not matter: every choice is made on keys in sorted order.
    """
    _check_config(config)
    infos = _unique_sorted(infos)
    rng = np.random.default_rng(config.seed)
    protocol = config.protocol
    if protocol in ("random", "cross-view"):
        groups = _keys_by(infos, attrgetter("action"))
        train, val, test = _stratified(groups, config.test_fraction, config.val_fraction, rng)
    elif protocol == "cross-subject":
        train, val, test = _cross_subject(infos, config, rng)
    else:
        train, val, test = _official(infos, config, rng)
    train_views, test_views = _views(infos, config) if protocol == "cross-view" else (None, None)
    return Split(
        protocol=protocol,
        seed=config.seed,
        train=tuple(sorted(train)),
        val=tuple(sorted(val)),
        test=tuple(sorted(test)),
        actions={i.key: i.action for i in infos},
        subjects={i.key: i.subject for i in infos},
        train_views=train_views,
        test_views=test_views,
    )


def _check_config(config: SplitConfig) -> None:
    """Reject an unknown protocol, fractions outside [0, 1) and options the protocol ignores."""
    if config.protocol not in PROTOCOLS:
        raise ValueError(
            f"unknown split protocol {config.protocol!r}; known: {', '.join(PROTOCOLS)}"
        )
    for name in ("test_fraction", "val_fraction"):
        value = getattr(config, name)
        if not 0.0 <= value < 1.0:
            raise ValueError(f"split {name} must be in [0, 1), got {value}")
    if config.test_fraction + config.val_fraction >= 1.0:
        raise ValueError(
            f"split test_fraction + val_fraction must be below 1, got "
            f"{config.test_fraction} + {config.val_fraction}"
        )
    if config.test_subjects is not None and config.protocol != "cross-subject":
        raise ValueError(f"test_subjects applies to cross-subject, not {config.protocol}")
    views_given = config.train_views is not None or config.test_views is not None
    if views_given and config.protocol != "cross-view":
        raise ValueError(f"train_views/test_views apply to cross-view, not {config.protocol}")


def _unique_sorted(infos: Sequence[SampleInfo]) -> list[SampleInfo]:
    """The infos sorted by key; an empty index or a key listed twice is a ValueError."""
    if not infos:
        raise ValueError("cannot split an empty dataset index")
    counts = Counter(i.key for i in infos)
    repeated = sorted(k for k, n in counts.items() if n > 1)
    if repeated:
        raise ValueError(f"keys listed more than once: {_few(repeated)}")
    return sorted(infos, key=lambda i: i.key)


def _stratified(
    groups: dict[str, list[str]],
    test_fraction: float,
    val_fraction: float,
    rng: np.random.Generator,
) -> Parts:
    """Per group, a seeded test_fraction (at least 1 when it has 2 samples) and val_fraction.

    Every group keeps at least one training sample.
    """
    train: list[str] = []
    val: list[str] = []
    test: list[str] = []
    for keys in groups.values():
        n = len(keys)
        n_test = round(test_fraction * n)
        if test_fraction > 0 and n >= 2:
            n_test = max(n_test, 1)
        n_test = min(n_test, n - 1)
        n_val = max(0, min(round(val_fraction * n), n - 1 - n_test))
        shuffled = [keys[j] for j in rng.permutation(n)]
        test += shuffled[:n_test]
        val += shuffled[n_test : n_test + n_val]
        train += shuffled[n_test + n_val :]
    return train, val, test


def _val_from_train(
    infos: list[SampleInfo], train: list[str], config: SplitConfig, rng: np.random.Generator
) -> tuple[list[str], list[str]]:
    """Carve a seeded val_fraction out of the training keys, stratified by action."""
    keep = set(train)
    groups = _keys_by([i for i in infos if i.key in keep], attrgetter("action"))
    new_train, val, _ = _stratified(groups, 0.0, config.val_fraction, rng)
    return new_train, val


def _cross_subject(infos: list[SampleInfo], config: SplitConfig, rng: np.random.Generator) -> Parts:
    """Whole subjects in test (given or drawn per skill), then val subjects or val samples."""
    anonymous = [i.key for i in infos if i.subject is None]
    if anonymous:
        raise ValueError(
            f"cross-subject needs subjects: {len(anonymous)} samples have none "
            f"(e.g. {_few(anonymous)})"
        )
    skill_of = _subject_skills(infos)
    subjects = sorted(skill_of)
    if config.test_subjects is not None:
        test_subjects = _given_subjects(list(config.test_subjects), subjects)
    else:
        if len(subjects) < 2:
            raise ValueError(f"cross-subject needs at least 2 subjects, found {subjects}")
        n_test = min(max(1, round(config.test_fraction * len(subjects))), len(subjects) - 1)
        test_subjects = _pick_subjects(subjects, n_test, skill_of, rng)
    remaining = [s for s in subjects if s not in test_subjects]
    n_val = round(config.val_fraction * len(subjects))
    val_subjects = (
        _pick_subjects(remaining, n_val, skill_of, rng)
        if n_val >= 1 and len(remaining) - n_val >= 1
        else set()
    )
    train_subjects = set(remaining) - val_subjects
    by_subject = _keys_by(infos, attrgetter("subject"))
    train = [k for s in sorted(train_subjects) for k in by_subject[s]]
    val = [k for s in sorted(val_subjects) for k in by_subject[s]]
    test = [k for s in sorted(test_subjects) for k in by_subject[s]]
    if not val_subjects:
        train, val = _val_from_train(infos, train, config, rng)
    assert not test_subjects & (train_subjects | val_subjects), "a test subject is also trained on"
    return train, val, test


def _subject_skills(infos: list[SampleInfo]) -> dict[str, str | None]:
    """Each subject's skill level; all None when any subject's skill is unknown."""
    skills: dict[str, set[str | None]] = defaultdict(set)
    for info in infos:
        skills[info.subject].add(info.skill)
    mixed = {s: sorted(map(str, v)) for s, v in skills.items() if len(v) > 1}
    if mixed:
        subject, levels = next(iter(sorted(mixed.items())))
        raise ValueError(f"subject {subject} is listed with several skill levels: {levels}")
    skill_of = {s: next(iter(v)) for s, v in skills.items()}
    if any(v is None for v in skill_of.values()):
        return dict.fromkeys(skill_of)
    return skill_of


def _given_subjects(given: list[str], subjects: list[str]) -> set[str]:
    """The configured test subjects, checked against the subjects in the index."""
    unknown = sorted(set(given) - set(subjects))
    if unknown:
        raise ValueError(f"unknown test subjects {unknown}; known subjects: {subjects}")
    if not given:
        raise ValueError("test_subjects is empty; leave it unset to draw test subjects")
    if set(given) == set(subjects):
        raise ValueError(f"test_subjects {sorted(given)} leave no subject for training")
    return set(given)


def _pick_subjects(
    candidates: list[str], n: int, skill_of: dict[str, str | None], rng: np.random.Generator
) -> set[str]:
    """A seeded choice of n subjects spread over skill levels in proportion to their size.

    Each level keeps at least one subject out of the choice whenever n allows it.
    """
    groups: dict[str, list[str]] = defaultdict(list)
    for subject in candidates:
        groups[_label(skill_of[subject])].append(subject)
    levels = sorted(groups)
    sizes = [len(groups[level]) for level in levels]
    taken = [0] * len(levels)
    for _ in range(n):
        room = [g for g, size in enumerate(sizes) if taken[g] < size - 1]
        room = room or [g for g, size in enumerate(sizes) if taken[g] < size]
        best = max(room, key=lambda g: n * sizes[g] / len(candidates) - taken[g])
        taken[best] += 1
    chosen: set[str] = set()
    for level, count in zip(levels, taken, strict=True):
        members = groups[level]
        chosen.update(members[j] for j in rng.permutation(len(members))[:count])
    return chosen


def _official(infos: list[SampleInfo], config: SplitConfig, rng: np.random.Generator) -> Parts:
    """The dataset's own split files; val drawn from train when the dataset has none (FLEX)."""
    unassigned = [i.key for i in infos if i.official_split is None]
    if unassigned:
        raise ValueError(
            f"the dataset protocol needs the dataset's split files: {len(unassigned)} samples "
            f"are in none (e.g. {_few(unassigned)})"
        )
    strange = [i for i in infos if i.official_split not in PARTS]
    if strange:
        raise ValueError(
            f"sample {strange[0].key} has official split {strange[0].official_split!r}; "
            f"expected one of {', '.join(PARTS)}"
        )
    parts = _keys_by(infos, attrgetter("official_split"))
    train, val, test = (parts.get(p, []) for p in PARTS)
    if not val:
        train, val = _val_from_train(infos, train, config, rng)
    return train, val, test


def _views(infos: list[SampleInfo], config: SplitConfig) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Train and test view sets: from config, else all views but the last for train."""
    known = sorted({v for i in infos for v in i.views})
    train, test = config.train_views, config.test_views
    if train is None and test is None:
        if len(known) < 2:
            raise ValueError(f"cross-view needs at least 2 views, the index has {known}")
        train, test = known[:-1], known[-1:]
    elif train is None:
        train = [v for v in known if v not in test]
    elif test is None:
        test = [v for v in known if v not in train]
    train_views, test_views = tuple(sorted(train)), tuple(sorted(test))
    shared = sorted(set(train_views) & set(test_views))
    if shared:
        raise ValueError(f"views {shared} are in both train_views and test_views")
    unknown = sorted(set(train_views + test_views) - set(known))
    if unknown:
        raise ValueError(f"views {unknown} are not in the index; known views: {known}")
    if not train_views or not test_views:
        raise ValueError(f"cross-view needs views on both sides, got {train_views} / {test_views}")
    return train_views, test_views


def _keys_by(
    infos: Iterable[SampleInfo], group: Callable[[SampleInfo], str | None]
) -> dict[str, list[str]]:
    """Keys grouped by a label, groups in sorted label order, keys in input order."""
    groups: dict[str, list[str]] = defaultdict(list)
    for info in infos:
        groups[_label(group(info))].append(info.key)
    return dict(sorted(groups.items()))


def _label(value: str | None) -> str:
    """A group name that sorts and serialises: None becomes 'unknown'."""
    return "unknown" if value is None else value


def _few(keys: Sequence[str]) -> str:
    """The first few keys, for an error message."""
    more = f", … ({len(keys) - _SHOWN} more)" if len(keys) > _SHOWN else ""
    return ", ".join(keys[:_SHOWN]) + more


def _list_or_none(views: tuple[int, ...] | None) -> list[int] | None:
    return None if views is None else list(views)


def _tuple_or_none(views: list[int] | None) -> tuple[int, ...] | None:
    return None if views is None else tuple(views)
