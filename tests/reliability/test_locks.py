"""One writer per output folder: a second writer waits briefly, then fails with one line."""

from __future__ import annotations

import json

from fusion.cli import main

SYNTH = ("synth", "--limit", "2", "--workers", "1", "--quiet")


def test_two_synth_processes_to_one_folder_leave_one_dataset_and_one_refusal(tmp_path, run_fusion):
    first = run_fusion(*SYNTH, "--seed", "0", "--out", "d", cwd=tmp_path)
    second = run_fusion(*SYNTH, "--seed", "1", "--out", "d", cwd=tmp_path)
    results = [(p.wait(timeout=240), *p.communicate()) for p in (first, second)]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 2], results
    winner = next(i for i, (code, _, _) in enumerate(results) if code == 0)
    loser_err = next(err for code, _, err in results if code == 2).strip()
    assert len(loser_err.splitlines()) == 1
    assert "another `fusion synth` is writing it" in loser_err or "--force" in loser_err
    assert json.loads((tmp_path / "d" / "dataset.json").read_text())["seed"] == winner
    assert sorted(p.name for p in tmp_path.iterdir()) == [".d.lock", "d"]  # no temporaries


def test_synth_into_a_locked_folder_fails_with_one_line_and_writes_nothing(
    tmp_path, hold_lock, capsys
):
    out = tmp_path / "d"
    hold_lock(out)
    assert main([*SYNTH, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "another `fusion synth` is writing it" in err
    assert not out.exists()
