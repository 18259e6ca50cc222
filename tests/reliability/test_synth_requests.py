"""`fusion synth`: bad numbers, odd outputs and folders it must not replace are one line, and
a damaged dataset is never "up to date"."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from fusion.cli import main

QUIET = ("synth", "--workers", "1", "--quiet")


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


@pytest.fixture()
def small(flex_root, tmp_path) -> Path:
    """A writable copy of the session's FLEX fixture, generated with --limit 12 --seed 0."""
    return Path(shutil.copytree(flex_root, tmp_path / "d"))


REQUEST = ("--limit", "12", "--seed", "0")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--limit", "-5"], "--limit -5: expected a whole number >= 1"),
        (["--limit", "0"], "--limit 0: expected a whole number >= 1"),
        (["--workers", "-3"], "--workers -3: expected a whole number >= 1"),
        (["--workers", "0"], "--workers 0: expected a whole number >= 1"),
    ],
)
def test_numbers_out_of_range_are_refused_before_any_work(tmp_path, capsys, args, message):
    out = tmp_path / "d"
    assert main([*QUIET, "--out", str(out), *args]) == 2
    assert message in _one_line(capsys)
    assert list(tmp_path.iterdir()) == []


def test_the_current_folder_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.txt").write_text("keep")
    for out in (".", "..", str(tmp_path)):
        assert main([*QUIET, "--limit", "1", "--out", out]) == 2
        assert "current folder or one above it" in _one_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]


def test_force_never_deletes_a_folder_that_is_not_a_dataset(tmp_path, capsys):
    out = tmp_path / "notes"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    assert main([*QUIET, "--limit", "1", "--force", "--out", str(out)]) == 2
    assert "not a fusion dataset" in _one_line(capsys)
    assert (out / "thesis.tex").read_text() == "years of work"
    (out / "dataset.json").write_text('{"mine": 1}')  # a dataset.json that is not ours
    assert main([*QUIET, "--limit", "1", "--force", "--out", str(out)]) == 2
    assert "not a fusion dataset" in _one_line(capsys)
    assert sorted(p.name for p in out.iterdir()) == ["dataset.json", "thesis.tex"]


def test_a_symlink_and_a_read_only_folder_are_refused(tmp_path, capsys):
    target = tmp_path / "target"
    target.mkdir()
    link = tmp_path / "link"
    link.symlink_to(target)
    assert main([*QUIET, "--limit", "1", "--force", "--out", str(link)]) == 2
    assert "symbolic link" in _one_line(capsys)
    assert link.is_symlink() and list(target.iterdir()) == []
    locked = tmp_path / "ro"
    locked.mkdir(mode=0o555)
    if os.access(locked, os.W_OK):
        pytest.skip("running as a user who may write anywhere (root)")
    assert main([*QUIET, "--limit", "1", "--out", str(locked)]) == 2
    assert "may not write" in _one_line(capsys)
    assert not os.access(locked, os.W_OK)


def test_an_intact_dataset_is_up_to_date(small, capsys):
    before = _files(small)
    assert main([*QUIET, *REQUEST, "--out", str(small)]) == 0
    assert capsys.readouterr().out.startswith(f"{small} is up to date")
    assert _files(small) == before


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (lambda d: shutil.rmtree(d / "A01" / "002"), "A01/002/View-1/img_00001.JPG missing"),
        (lambda d: shutil.rmtree(d / "EMG"), "EMG/A01/001/EMG.csv missing"),
        (
            lambda d: (d / "annotations/A01/003.json").write_text("{}"),
            "annotations/A01/003.json changed",
        ),
    ],
)
def test_a_damaged_dataset_is_named_not_up_to_date(small, capsys, damage, named):
    damage(small)
    damaged = _files(small)
    assert main([*QUIET, *REQUEST, "--out", str(small)]) == 2
    err = _one_line(capsys)
    assert named in err and "missing or changed" in err and "--force" in err
    assert _files(small) == damaged  # nothing repaired or deleted without --force


def test_force_regenerates_a_damaged_dataset(small, flex_root, capsys):
    (small / "EMG/A01/001/EMG.csv").unlink()
    assert main([*QUIET, *REQUEST, "--force", "--out", str(small)]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {small}")
    assert _files(small) == _files(flex_root)
    meta = json.loads((small / "dataset.json").read_text())
    assert meta["manifest"]["sizes"]["EMG/A01/001/EMG.csv"] > 0
