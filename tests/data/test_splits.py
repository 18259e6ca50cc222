"""Split protocols on hand-built indexes: part sizes, disjointness, strata, seeds, errors, JSON."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace

import pytest

from fusion.data.config import SplitConfig
from fusion.data.sample import SampleInfo
from fusion.data.splits import PROTOCOLS, Split, make_split

SKILLS = ("expert", "expert", "amateur", "amateur", "novice", "novice")


def index(
    actions: tuple[str, ...] = ("A01", "A02"),
    skills: tuple[str | None, ...] = SKILLS,
    reps: int = 2,
    views: tuple[int, ...] = (1, 2, 3, 4, 5),
) -> list[SampleInfo]:
    """One sample per action, subject and repetition; subject S01.. has skills[i]."""
    return [
        SampleInfo(
            key=f"{action}_S{s + 1:02d}_{r + 1}",
            dataset="flex",
            action=action,
            subject=f"S{s + 1:02d}",
            views=views,
            skill=skill,
        )
        for action in actions
        for s, skill in enumerate(skills)
        for r in range(reps)
    ]


def by_key(infos: list[SampleInfo]) -> dict[str, SampleInfo]:
    return {i.key: i for i in infos}


def assert_partition(split: Split, infos: list[SampleInfo]) -> None:
    """Every key in exactly one part, each part sorted."""
    parts = [split.train, split.val, split.test]
    assert sorted(k for p in parts for k in p) == sorted(i.key for i in infos)
    assert all(list(p) == sorted(p) for p in parts)


def subjects_of(keys: tuple[str, ...], infos: list[SampleInfo]) -> set[str]:
    lookup = by_key(infos)
    return {lookup[k].subject for k in keys}


def test_random_sizes_per_action_and_strata() -> None:
    infos = index()  # 12 samples per action
    split = make_split(infos, SplitConfig(protocol="random", test_fraction=0.25, val_fraction=0.1))
    assert_partition(split, infos)
    lookup = by_key(infos)
    for part, expected in (("train", 8), ("val", 1), ("test", 3)):
        per_action = Counter(lookup[k].action for k in split.part(part))
        assert per_action == {"A01": expected, "A02": expected}
    assert (split.train_views, split.test_views) == (None, None)


def test_random_small_actions_keep_one_test_and_one_train() -> None:
    infos = index(actions=("A01",), skills=("expert",), reps=2) + index(
        actions=("A02",), skills=("expert",), reps=1
    )
    split = make_split(infos, SplitConfig(protocol="random", test_fraction=0.1, val_fraction=0.0))
    assert split.test == ("A01_S01_1",) or split.test == ("A01_S01_2",)
    assert "A02_S01_1" in split.train and len(split.train) == 2 and split.val == ()


def test_random_is_seeded_and_ignores_listing_order() -> None:
    infos = index()
    config = SplitConfig(protocol="random", seed=3)
    first = make_split(infos, config)
    shuffled = list(infos)
    random.Random(1).shuffle(shuffled)
    assert make_split(shuffled, config) == first
    assert make_split(infos, SplitConfig(protocol="random", seed=4)).test != first.test


def test_cross_subject_sizes_skills_and_disjoint_subjects() -> None:
    infos = index()  # 6 subjects, 2 per skill, 4 samples each
    for seed in range(8):
        config = SplitConfig(protocol="cross-subject", seed=seed, test_fraction=0.25)
        split = make_split(infos, config)
        assert_partition(split, infos)
        train, val, test = (subjects_of(split.part(p), infos) for p in ("train", "val", "test"))
        assert (len(train), len(val), len(test)) == (3, 1, 2)  # round(1.5) = 2, round(0.6) = 1
        assert not (train & test or val & test or train & val)
        assert len(split.test) == 8
        assert {SKILLS[int(s[1:]) - 1] for s in train} == {"expert", "amateur", "novice"}


def test_cross_subject_flex_mix_is_stratified_by_skill() -> None:
    skills = ("expert",) * 10 + ("amateur",) * 8 + ("novice",) * 20
    infos = index(actions=("A01",), skills=skills, reps=1)
    split = make_split(infos, SplitConfig(protocol="cross-subject", test_fraction=0.25))
    test_skills = Counter(by_key(infos)[k].skill for k in split.test)
    # round(0.25 * 38) = 10 subjects by largest remainder of 10 * (10, 8, 20) / 38
    assert test_skills == {"expert": 3, "amateur": 2, "novice": 5}


def test_cross_subject_keeps_a_lone_skill_level_in_train() -> None:
    infos = index(actions=("A01",), skills=("expert",) + ("amateur",) * 2 + ("novice",) * 5, reps=1)
    for seed in range(4):
        config = SplitConfig(seed=seed, test_fraction=0.5, val_fraction=0.0)
        split = make_split(infos, config)
        assert Counter(by_key(infos)[k].skill for k in split.test) == {"amateur": 1, "novice": 3}
        assert "A01_S01_1" in split.train  # the only expert


def test_cross_subject_seed_changes_subjects() -> None:
    infos = index()
    picks = {
        frozenset(subjects_of(make_split(infos, SplitConfig(seed=s)).test, infos)) for s in range(6)
    }
    assert len(picks) > 1


def test_cross_subject_explicit_test_subjects() -> None:
    infos = index()
    split = make_split(infos, SplitConfig(test_subjects=["S02", "S05"], val_fraction=0.0))
    assert subjects_of(split.test, infos) == {"S02", "S05"}
    assert subjects_of(split.train, infos) == {"S01", "S03", "S04", "S06"}
    assert split.val == ()


def test_cross_subject_unknown_subject_names_it_and_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"S99.*S01"):
        make_split(index(), SplitConfig(test_subjects=["S01", "S99"]))


def test_cross_subject_all_subjects_in_test_is_refused() -> None:
    with pytest.raises(ValueError, match="no subject for training"):
        make_split(index(skills=("expert", "novice")), SplitConfig(test_subjects=["S01", "S02"]))


def test_cross_subject_val_falls_back_to_train_samples() -> None:
    infos = index(skills=("expert", "amateur", "novice"), reps=4)  # 3 subjects, 12 per action
    config = SplitConfig(protocol="cross-subject", test_fraction=0.25, val_fraction=0.15)
    split = make_split(infos, config)  # round(0.45) = 0 val subjects
    test_subjects = subjects_of(split.test, infos)
    assert len(test_subjects) == 1 and len(split.test) == 8
    assert len(split.val) == 2  # round(0.15 * 8) per action
    assert subjects_of(split.val, infos) <= subjects_of(split.train, infos)
    assert not subjects_of(split.val, infos) & test_subjects


def test_cross_subject_needs_subjects() -> None:
    infos = index()
    infos[3] = SampleInfo(key="A01_anon", dataset="flex", action="A01", subject=None, views=(1,))
    with pytest.raises(ValueError, match="cross-subject needs subjects: 1 samples.*A01_anon"):
        make_split(infos, SplitConfig(protocol="cross-subject"))


def test_cross_view_defaults_and_same_samples_as_random() -> None:
    infos = index()
    split = make_split(infos, SplitConfig(protocol="cross-view", seed=2))
    assert (split.train_views, split.test_views) == ((1, 2, 3, 4), (5,))
    plain = make_split(infos, SplitConfig(protocol="random", seed=2))
    assert (split.train, split.val, split.test) == (plain.train, plain.val, plain.test)


def test_cross_view_from_config() -> None:
    split = make_split(index(), SplitConfig(protocol="cross-view", test_views=[3]))
    assert (split.train_views, split.test_views) == ((1, 2, 4, 5), (3,))
    split = make_split(index(), SplitConfig(protocol="cross-view", train_views=[2, 1]))
    assert (split.train_views, split.test_views) == ((1, 2), (3, 4, 5))


@pytest.mark.parametrize(
    ("train_views", "test_views", "message"),
    [([1, 2], [2, 3], r"views \[2\] are in both"), ([1], [7], r"views \[7\] are not in the index")],
)
def test_cross_view_bad_views(train_views: list[int], test_views: list[int], message: str) -> None:
    config = SplitConfig(protocol="cross-view", train_views=train_views, test_views=test_views)
    with pytest.raises(ValueError, match=message):
        make_split(index(), config)


def with_official(infos: list[SampleInfo], parts: list[str | None]) -> list[SampleInfo]:
    return [replace(i, official_split=parts[n % len(parts)]) for n, i in enumerate(infos)]


def test_dataset_protocol_uses_official_parts() -> None:
    infos = with_official(index(), ["train", "train", "val", "test"])
    split = make_split(infos, SplitConfig(protocol="dataset"))
    for part in ("train", "val", "test"):
        assert split.part(part) == tuple(sorted(i.key for i in infos if i.official_split == part))


def test_dataset_protocol_draws_val_from_train_when_missing() -> None:
    infos = with_official(index(), ["train", "train", "train", "test"])  # 9 train per action
    split = make_split(infos, SplitConfig(protocol="dataset", val_fraction=0.25))
    assert split.test == tuple(sorted(i.key for i in infos if i.official_split == "test"))
    assert Counter(by_key(infos)[k].action for k in split.val) == {"A01": 2, "A02": 2}
    assert len(split.train) == 14 and not set(split.val) & set(split.test)


def test_dataset_protocol_needs_official_split() -> None:
    infos = with_official(index(), ["train", None, None])
    with pytest.raises(ValueError, match=r"16 samples are in none \(e.g. A01_S01_2"):
        make_split(infos, SplitConfig(protocol="dataset"))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (SplitConfig(protocol="leave-one-out"), "unknown split protocol.*cross-subject"),
        (SplitConfig(test_fraction=1.0), r"test_fraction must be in \[0, 1\)"),
        (SplitConfig(val_fraction=-0.1), r"val_fraction must be in \[0, 1\)"),
        (SplitConfig(test_fraction=0.6, val_fraction=0.5), "below 1"),
        (SplitConfig(protocol="random", test_subjects=["S01"]), "test_subjects applies"),
        (SplitConfig(protocol="random", test_views=[5]), "apply to cross-view"),
    ],
)
def test_bad_config(config: SplitConfig, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_split(index(), config)


def test_duplicate_keys_and_empty_index_are_refused() -> None:
    infos = index()
    with pytest.raises(ValueError, match="more than once: A01_S01_1"):
        make_split([*infos, infos[0]], SplitConfig())
    with pytest.raises(ValueError, match="empty"):
        make_split([], SplitConfig())


@pytest.mark.parametrize("protocol", [p for p in PROTOCOLS if p != "dataset"])
def test_json_round_trip(protocol: str) -> None:
    split = make_split(index(), SplitConfig(protocol=protocol, seed=5))
    again = Split.from_json(split.to_json())
    assert again == split
    assert again.describe() == split.describe()


def test_describe_counts_actions_and_subjects() -> None:
    infos = index()
    split = make_split(infos, SplitConfig(test_subjects=["S01", "S03"], val_fraction=0.0))
    summary = split.describe()
    assert summary["counts"] == {"train": 16, "val": 0, "test": 8}
    assert summary["actions"]["test"] == {"A01": 4, "A02": 4}
    assert summary["subjects"]["test"] == ["S01", "S03"]
    assert summary["subjects"]["train"] == ["S02", "S04", "S05", "S06"]


def test_split_refuses_a_key_in_two_parts() -> None:
    with pytest.raises(ValueError, match="'a' is in both train and test"):
        Split("random", ("a",), (), ("a",), actions={"a": "A01"}, subjects={"a": None})
