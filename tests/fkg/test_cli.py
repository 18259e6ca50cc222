"""`fusion fkg show|validate|score|list` output and exit codes, through a local harness."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import yaml

from fusion.fkg import load_fkg
from fusion.fkg.cli import register
from fusion.fkg.loader import DEFAULT_FKG_PATH


def run(argv: list[str]) -> int:
    """Parse like `fusion` would and run the selected handler."""
    parser = argparse.ArgumentParser(prog="fusion")
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


def test_show_tree(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["fkg", "show", "A01"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("A01 Barbell Back Squat (barbell, squat)")
    for text in ("eccentric", "A01-AK4", "A01-ET1 knees_inward [joint_safety 9.5]", "A01-FB1"):
        assert text in out
    assert out.index("preparation") < out.index("eccentric") < out.index("concentric")


def test_show_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["fkg", "show", "A06", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["id"] == "A06" and data["family"] == "press"
    assert {e["name"] for e in data["errors"]} >= {"elbows", "knees"}


def test_show_unknown_action(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["fkg", "show", "A42"]) == 2
    assert "A42" in capsys.readouterr().err


def test_validate_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["fkg", "validate"]) == 0
    out = capsys.readouterr().out
    graph = load_fkg()
    assert out.startswith("ok: ") and "flex.yaml — 20 actions" in out
    assert f"{graph.n_errors} errors, sha256 {graph.sha256}" in out


def test_validate_broken_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = yaml.load(DEFAULT_FKG_PATH.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    data["actions"]["A03"]["errors"][2]["weight"] = 4.0
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False), encoding="utf-8")
    assert run(["fkg", "validate", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "bad.yaml: actions.A03.errors[2] (A03-ET3): weight 4 outside" in captured.err


def test_score_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["fkg", "score", "A01", "knees_inward", "A01-ET2"]) == 0
    out = capsys.readouterr().out
    squat = load_fkg().action("A01")
    lost = squat.error("A01-ET1").weight + squat.error("A01-ET2").weight
    assert f"score: {(1 - lost / squat.max_weight) * 100:.2f} / 100" in out
    assert out.index("A01-ET1") < out.index("A01-ET2")


def test_score_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["fkg", "score", "A06", "elbows", "knees", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["action_id"] == "A06" and len(data["items"]) == 2
    assert sum(i["points_lost"] for i in data["items"]) == pytest.approx(100 - data["score"])


def test_score_unknown_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["fkg", "score", "A01", "wobbly_knees"]) == 2
    assert "A01 (Barbell Back Squat) has no error 'wobbly_knees'" in capsys.readouterr().err


def test_score_with_fkg_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "copy.yaml"
    path.write_text(DEFAULT_FKG_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    assert run(["fkg", "score", "A17", "A17-ET1", "--fkg", str(path)]) == 0
    assert "score:" in capsys.readouterr().out


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["fkg", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 20 and lines[0].startswith("A01  Barbell Back Squat")


@pytest.mark.parametrize("command", [[], ["show"], ["validate"], ["score"], ["list"]])
def test_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        run(["fkg", *command, "--help"])
    assert info.value.code == 0
    assert "usage: fusion fkg" in capsys.readouterr().out
