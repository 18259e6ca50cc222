"""Study files: grid expansion, exclusions, seeds, and clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from fusion.ablate.spec import load_spec
from fusion.config import ConfigError

STUDY = """
ablation: demo
base: [trainer.max_epochs=2]
axes:
  modalities:
    pose: ["model.modalities=[pose]"]
    all: []
  model.fuser.name: [concat, transformer, gated]
exclude: [{modalities: pose, model.fuser.name: gated}]
seeds: [3, 4]
metrics: [test/rho]
checks: [{metric: test/rho, better: {modalities: all}, worse: {modalities: pose}}]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "study.yaml"
    path.write_text(text)
    return path


def test_grid_is_the_product_of_the_axes_less_exclusions_times_seeds(tmp_path):
    spec = load_spec(write(tmp_path, STUDY))
    runs = spec.runs()
    assert len(runs) == (2 * 3 - 1) * 2
    labels = [r.label for r in runs]
    assert len(set(labels)) == len(labels)
    assert labels[0] == "modalities=pose,model.fuser.name=concat,seed=3"
    assert labels[1] == "modalities=pose,model.fuser.name=concat,seed=4"
    assert not any("pose" in lab and "gated" in lab for lab in labels)
    first = runs[0]
    assert first.overrides == [
        "trainer.max_epochs=2",
        "model.modalities=[pose]",
        "model.fuser.name=concat",
        "seed=3",
    ]
    all_gated = [r for r in runs if r.axes == {"modalities": "all", "model.fuser.name": "gated"}]
    assert [r.seed for r in all_gated] == [3, 4]
    assert all_gated[0].overrides == ["trainer.max_epochs=2", "model.fuser.name=gated", "seed=3"]
    assert spec.checks[0].better == {"modalities": "all"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ablation: x\naxes: {}\n", "axes: expected a mapping"),
        ("ablation: x\naxes: {a: [1]}\nseeds: [0.5]\n", "seeds: expected a non-empty list"),
        ("ablation: x\naxes: {seed: [1, 2]}\n", "seeds are their own key"),
        ("ablation: x\naxes: {a: {v: [novalue]}}\n", "axes.a.v: expected a list of key=value"),
        ("ablation: x\naxes: {a: [1]}\nexclude: [{b: 1}]\n", "exclude[0]: unknown axis 'b'"),
        ("ablation: x\naxes: {a: [1]}\nexclude: [{a: 2}]\n", "axis a has no value '2'"),
        ("ablation: x\naxes: {a: [1]}\nexclude: [{a: 1}]\n", "exclude leaves no run"),
        ("ablation: x\naxes: {a: [1]}\nfoo: 1\n", "unknown key(s) ['foo']"),
        ("benchmark: lmm\naxes: {a: [1]}\n", "expected a mapping with `ablation: <name>`"),
        ("ablation: x\naxes: {a: [[1]]}\n", "axes.a: expected a list of values"),
        ("ablation: x\naxes: {a: [model.modalities=[pose]]}\n", "not valid YAML"),
        ("ablation: x\naxes: {a: [1]}\nchecks: [{metric: m}]\n", "checks[0]: expected keys"),
        ("ablation: x\nbase: [features.encoders_from=@src]\naxes: {a: [1]}\n", "names no pretrain"),
        (
            "ablation: x\npretrain: {b: [model.encoders_from=@a], a: []}\naxes: {a: [1]}\n",
            "pretrain.b: model.encoders_from=@a names no earlier pretrain run; before it: []",
        ),
    ],
)
def test_a_bad_study_file_names_the_file_and_the_problem(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_spec(path)
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="no such ablation file"):
        load_spec(tmp_path / "nope.yaml")
