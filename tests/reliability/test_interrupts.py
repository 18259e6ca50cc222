"""Interrupted runs: SIGINT/SIGTERM clean up and exit 130/143 with one line; the leftovers of a
killed run are removed by the next run of the same command."""

from __future__ import annotations

import os
import signal
import time

import pytest

from fusion.cli import main


def _wait_for_temporary(folder, name: str, proc, timeout_s: float = 200) -> None:
    """Until the running synth has created its `.NAME.tmp-PID` folder and a sample in it."""
    deadline = time.monotonic() + timeout_s
    tmp = folder / f".{name}.tmp-{proc.pid}"
    while not (tmp / "A01").is_dir():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "synth never started writing"
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("sig", "code", "name", "workers"),
    [(signal.SIGINT, 130, "SIGINT", "2"), (signal.SIGTERM, 143, "SIGTERM", "1")],
)
def test_a_signal_removes_the_temporary_folder_and_says_so_in_one_line(
    tmp_path, run_fusion, sig, code, name, workers
):
    """SIGINT goes to the whole process group, pool workers included, as Ctrl-C does."""
    args = ("synth", "--limit", "200", "--workers", workers, "--quiet", "--out", "d")
    proc = run_fusion(*args, cwd=tmp_path, group=True)
    _wait_for_temporary(tmp_path, "d", proc)
    time.sleep(1)  # the pool is at work
    if sig == signal.SIGINT:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == code
    assert err.strip() == f"fusion synth: stopped by {name}"
    assert [p.name for p in tmp_path.iterdir()] == [".d.lock"]  # no d, no .d.tmp-PID


def test_the_next_run_removes_a_dead_runs_temporary_folders(tmp_path, dead_pid, capsys):
    stale = tmp_path / f".d.tmp-{dead_pid}"
    (stale / "A01").mkdir(parents=True)
    old = tmp_path / f".d.old-{dead_pid}"
    old.mkdir()
    live = tmp_path / ".d.tmp-1"  # pid 1 is running: never touched
    live.mkdir()
    other = tmp_path / f".e.tmp-{dead_pid}"  # another output's: not this run's to remove
    other.mkdir()
    out = tmp_path / "d"
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    assert main(["synth", "--limit", "1", "--workers", "1", "--quiet", "--out", str(out)]) == 0
    # the command leaves this process's Ctrl-C and SIGTERM handling as it found it
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"fusion synth: removed 2 stale temporary folder(s) of an interrupted run: "
        f"{old.name}, {stale.name}"
    ]
    assert not stale.exists() and not old.exists() and live.is_dir() and other.is_dir()
    assert (out / "dataset.json").is_file()
