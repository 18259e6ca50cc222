"""Bad input that used to give a traceback, a flood or a misleading message: one line naming
the file and what was expected, and nothing left behind."""

from __future__ import annotations

import pytest

from fusion.cli import main
from fusion.config import ConfigError, compose
from fusion.fkg.loader import DEFAULT_FKG_PATH

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(8)
)  # 9 * 8**8 (about 150 million) strings once expanded, in under 500 bytes


def _one_line(capsys, limit: int = 400) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and len(err) <= limit, err[:1000]
    return err


def test_a_non_utf8_fkg_is_one_line_in_validate_and_synth(tmp_path, capsys):
    fkg = tmp_path / "fkg.yaml"
    fkg.write_bytes(DEFAULT_FKG_PATH.read_bytes().replace(b"name:", b"n\xe4me:", 1))
    assert main(["fkg", "validate", str(fkg)]) == 2
    err = _one_line(capsys)
    assert "fkg.yaml: expected UTF-8 YAML text, got an undecodable byte at offset" in err
    out = tmp_path / "d"
    assert main(["synth", "--fkg", str(fkg), "--limit", "1", "--quiet", "--out", str(out)]) == 2
    assert "expected UTF-8 YAML text" in _one_line(capsys)
    assert not out.exists()


def test_a_yaml_alias_bomb_is_refused_in_a_few_hundred_bytes(tmp_path, capsys):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BOMB)
    assert len(BOMB) < 500
    assert main(["fkg", "validate", str(bomb)]) == 2
    err = _one_line(capsys)
    assert "bomb.yaml: line 2, column" in err and "YAML alias *a refused" in err
    with pytest.raises(ConfigError, match=r"bomb.yaml: line 2, column \d+: YAML alias \*a"):
        compose(bomb)
    study = tmp_path / "study.yaml"
    study.write_text("ablation: s\naxes: {model.fuser.name: [concat]}\n" + BOMB)
    assert main(["ablate", str(study), "--out", str(tmp_path / "out")]) == 2
    assert "study.yaml: line 4, column" in _one_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bomb.yaml", "study.yaml"]


def test_an_override_without_a_value_is_named_as_such(tmp_path, capsys):
    assert main(["train", "trainer.max_epochs", f"out={tmp_path / 'runs'}"]) == 2
    err = _one_line(capsys)
    assert "trainer.max_epochs: neither a config file nor an override" in err
    assert "key=value" in err and "no such config file" not in err
    assert not (tmp_path / "runs").exists()


def test_flex_format_on_a_fitness_aqa_folder_says_so(faqa_root, capsys):
    assert main(["data", "check", str(faqa_root), "--format", "flex", "--quiet"]) == 2
    err = _one_line(capsys)
    assert f"{faqa_root}: not a FLEX layout" in err and "looks like Fitness-AQA" in err
    assert "has no video" not in err


def test_a_failed_train_leaves_no_run_folder(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    runs = tmp_path / "runs"
    args = ["train", f"data.reader.root={empty}", f"out={runs}", "data.loader.num_workers=0"]
    assert main(args) == 2
    assert "not a dataset" in capsys.readouterr().err
    assert list(runs.rglob("config.yaml")) == []
    assert not runs.exists() or list(runs.iterdir()) == []
