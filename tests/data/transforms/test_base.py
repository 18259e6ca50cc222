"""Tests for the transform registry, Compose, build_transforms and spec()."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest
from omegaconf import OmegaConf

from fusion.data.sample import Sample
from fusion.data.transforms import TRANSFORMS, Compose, Transform, build_transforms, register

# One spec per registered transform (required fields filled in).
ALL_SPECS: dict[str, dict] = {
    "video.resize": {"size": 8},
    "video.center_crop": {"size": 8},
    "video.person_crop": {"size": 8},
    "video.random_crop": {"size": 8},
    "video.color_jitter": {},
    "video.normalize": {},
    "pose.center": {},
    "pose.scale": {},
    "pose.streams": {},
    "pose.to_layout": {"layout": "ntu25"},
    "emg.bandpass": {},
    "emg.resample": {"rate_hz": 1000},
    "emg.rectify": {},
    "emg.envelope": {},
    "emg.logmel": {},
    "emg.normalize": {},
    "emg.subject_normalize": {"stats": {"S01": {"mean": [0.0] * 16, "std": [2.0] * 16}}},
    "physio.normalize": {},
    "flip.horizontal": {"p": 1.0},
}
RANDOM_PIPELINE = [
    {"name": "flip.horizontal", "p": 0.5},
    {"name": "video.random_crop", "size": 8, "scale": [0.3, 1.0]},
    {"name": "video.color_jitter", "brightness": 0.4},
    {"name": "video.normalize"},
]


def _arrays(sample: Sample) -> dict[str, np.ndarray]:
    return {
        f"{m}.{part}": getattr(sample.modality(m), part).copy()
        for m in sample.present
        for part in ("values", "times")
    }


def test_every_registered_transform_is_covered() -> None:
    assert set(ALL_SPECS) == set(TRANSFORMS)


@pytest.mark.parametrize("name", sorted(ALL_SPECS))
def test_transform_leaves_input_alone_and_skips_missing_modality(make_sample, name) -> None:
    transform = build_transforms([{"name": name, **ALL_SPECS[name]}])
    sample = make_sample()
    before = _arrays(sample)
    out = transform(sample, np.random.default_rng(0))
    assert isinstance(out, Sample)
    for key, array in _arrays(sample).items():
        np.testing.assert_array_equal(array, before[key], err_msg=key)
    modality = name.split(".")[0]
    if modality in ("video", "pose", "emg", "physio"):
        bare = make_sample(modalities=tuple(m for m in sample.present if m != modality))
        assert transform(bare, np.random.default_rng(0)) is bare


def test_build_from_dicts_and_from_omegaconf_agree(make_sample) -> None:
    from_dicts = build_transforms(RANDOM_PIPELINE)
    from_yaml = build_transforms(OmegaConf.create({"augment": RANDOM_PIPELINE}).augment)
    assert from_dicts.spec() == from_yaml.spec()
    assert [type(t).__name__ for t in from_dicts.transforms] == [
        "HorizontalFlip",
        "RandomResizedCrop",
        "ColorJitter",
        "Normalize",
    ]
    assert from_dicts.transforms[1].scale == (0.3, 1.0)
    a = from_dicts(make_sample(), np.random.default_rng(3))
    b = from_yaml(make_sample(), np.random.default_rng(3))
    np.testing.assert_array_equal(a.video.values, b.video.values)


def test_empty_specs_give_identity(make_sample) -> None:
    sample = make_sample()
    assert build_transforms(None)(sample, np.random.default_rng(0)) is sample
    assert build_transforms([]).spec() == {"name": "compose", "transforms": []}


def test_unknown_name_lists_known_names() -> None:
    with pytest.raises(ValueError, match=r"unknown transform 'video\.blur'.*video\.resize"):
        build_transforms([{"name": "video.blur"}])


def test_unknown_field_names_field_and_known_fields() -> None:
    with pytest.raises(ValueError, match=r"video\.resize: unknown fields \['sise'\].*'size'"):
        build_transforms([{"name": "video.resize", "sise": 64}])


def test_missing_name_and_bad_values_are_refused() -> None:
    with pytest.raises(ValueError, match="'name' key"):
        build_transforms([{"size": 64}])
    with pytest.raises(ValueError, match=r"video\.resize: size must be a positive integer"):
        build_transforms([{"name": "video.resize", "size": -3}])
    with pytest.raises(ValueError, match=r"video\.resize: .*size"):
        build_transforms([{"name": "video.resize"}])
    with pytest.raises(ValueError, match="list of specs"):
        build_transforms({"name": "video.resize", "size": 8})


def test_spec_is_stable_json_and_round_trips() -> None:
    specs = [{"name": name, **fields} for name, fields in ALL_SPECS.items()]
    compose = build_transforms(specs)
    spec = compose.spec()
    assert json.loads(json.dumps(spec)) == spec
    assert build_transforms(specs).spec() == spec
    assert build_transforms(spec["transforms"]).spec() == spec
    assert build_transforms([spec]).spec() == {"name": "compose", "transforms": [spec]}
    resize = spec["transforms"][0]
    assert resize == {"name": "video.resize", "size": 8, "square": False}
    # Equivalent configs (ints vs floats, lists vs tuples) give the same spec.
    a = build_transforms([{"name": "physio.normalize", "mean": [70, 15], "std": (15, 5)}])
    assert a.spec() == build_transforms([{"name": "physio.normalize"}]).spec()


def test_same_seed_same_result_and_seeds_differ(make_sample) -> None:
    pipeline = build_transforms(RANDOM_PIPELINE)
    runs = [pipeline(make_sample(), np.random.default_rng(seed)) for seed in (7, 7, 8)]
    np.testing.assert_array_equal(runs[0].video.values, runs[1].video.values)
    np.testing.assert_array_equal(runs[0].pose.values, runs[1].pose.values)
    assert not np.array_equal(runs[0].video.values, runs[2].video.values)


def test_compose_applies_in_order_with_one_rng(make_sample) -> None:
    @dataclass
    class Tag(Transform):
        tag: str

        def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
            draw = int(rng.integers(100))
            return sample.replace(key=f"{sample.key}|{self.tag}{draw}")

    rng = np.random.default_rng(1)
    expected = [int(v) for v in np.random.default_rng(1).integers(100, size=2)]
    out = Compose((Tag("a"), Tag("b")))(make_sample(), rng)
    assert out.key == f"A01/000|a{expected[0]}|b{expected[1]}"


def test_register_refuses_a_taken_name() -> None:
    with pytest.raises(ValueError, match="already taken"):
        register("video.resize")(type("Other", (Transform,), {}))
