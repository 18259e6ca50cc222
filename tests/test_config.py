"""Config composition: groups, overrides, and the errors a user sees."""

from __future__ import annotations

import pytest

from fusion.config import ConfigError, compose
from fusion.fusers.registry import build_fuser


def test_default_run_composes_every_group():
    config = compose()
    assert config.data.reader.root == "data/synth-small"
    assert config.model.fuser.name == "transformer"
    assert set(config.model.encoders) == {"video", "pose", "emg", "physio"}
    assert config.trainer.accelerator == "cpu" and config.task.lr == 0.001


def test_group_choice_and_dotted_overrides():
    config = compose(None, ["data=flex", "trainer.max_epochs=3", "model.fuser.name=concat"])
    assert config.data.reader.format == "flex" and config.data.cache.image_size == 112
    assert config.trainer.max_epochs == 3 and config.model.fuser.name == "concat"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["trainer.max_epoch=3"], "max_epoch"),
        (["trainer.max_epochs=many"], "max_epochs"),
        (["data=nope"], "no config named 'nope'"),
        (["trainer"], "expected key=value"),
    ],
)
def test_bad_overrides_name_the_key(overrides, message):
    with pytest.raises(ConfigError, match=message):
        compose(None, overrides)


def test_a_missing_config_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        compose(tmp_path / "none.yaml")


def test_a_new_fuser_name_drops_the_old_fusers_options():
    config = compose(None, ["model.fuser.name=concat", "model.fuser.dropout=0.0"])
    assert dict(config.model.fuser) == {"name": "concat", "dropout": 0.0}
    build_fuser(**{"dims": {"pose": 8}, "dim": 8, **config.model.fuser})
    encoder = compose(None, ["model.encoders.emg.name=emg"]).model.encoders.emg
    assert dict(encoder) == {"name": "emg"}
    kept = compose(None, ["model.fuser.layers=3"]).model.fuser
    assert kept.name == "transformer" and kept.layers == 3 and kept.heads == 4


@pytest.mark.parametrize("modality", ["video", "pose", "emg"])
def test_single_modality_models_extend_the_default(modality):
    default, single = compose().model, compose(None, [f"model={modality}_only"]).model
    assert list(single.modalities) == [modality]
    assert single.encoders == default.encoders and single.fuser == default.fuser


def test_extends_merges_the_parent_and_refuses_cycles(tmp_path):
    parent, child = tmp_path / "parent.yaml", tmp_path / "child.yaml"
    parent.write_text("dim: 32\nmodalities: [pose, emg]\n")
    child.write_text(f"extends: {parent}\nmodalities: [pose]\n")
    model = compose(None, [f"model={child}"]).model
    assert model.dim == 32 and list(model.modalities) == ["pose"]
    parent.write_text(f"extends: {child}\n")
    with pytest.raises(ConfigError, match="extends itself"):
        compose(None, [f"model={child}"])
    child.write_text("extends: [default]\n")
    with pytest.raises(ConfigError, match="extends: expected the name of a model config"):
        compose(None, [f"model={child}"])


def test_the_task_kind_chooses_the_run_schema():
    default = compose(None, [])
    assert default.name == "aqa" and default.task.kind == "aqa" and "lm" not in default.model
    text = compose(None, ["task=text", "model.lm.hidden=64", "model.lora.r=4"])
    assert text.name == "text" and text.task.kind == "text" and text.task.prompt == "errors"
    assert text.model.lm.hidden == 64 and text.model.lora.r == 4
    assert text.model.modalities == default.model.modalities  # same model group file
    with pytest.raises(ConfigError, match="task.prompt"):
        compose(None, ["task.prompt=temporal"])  # an AQA run has no prompt
    with pytest.raises(ConfigError, match="task.kind: unknown 'chat'; known: aqa, text"):
        compose(None, ["task.kind=chat"])
