"""Helpers for the reliability tests: `fusion` run as a real process, a dead process id."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def fusion_process(*args: str, cwd: Path, group: bool = False) -> subprocess.Popen:
    """`python -m fusion.cli ARGS` in `cwd`, importing this checkout, stdout/stderr piped;
    `group`: in a process group of its own, so a signal can reach it and its workers as
    Ctrl-C in a terminal does."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "fusion.cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=group,
    )


@pytest.fixture()
def run_fusion() -> Callable[..., subprocess.Popen]:
    """Starts `fusion ARGS` as its own process (cwd keyword: where)."""
    return fusion_process


@pytest.fixture()
def dead_pid() -> int:
    """The id of a process that has exited (what an interrupted run leaves in its names)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout)


@pytest.fixture()
def hold_lock() -> Iterator[Callable[[Path], subprocess.Popen]]:
    """Makes another process hold an output's `.NAME.lock` until the test ends."""
    held: list[subprocess.Popen] = []

    def hold(out: Path) -> subprocess.Popen:
        code = (
            "import sys, time; from filelock import FileLock; lock = FileLock(sys.argv[1]); "
            "lock.acquire(); print('held', flush=True); time.sleep(120)"
        )
        lock = out.parent / f".{out.name}.lock"
        proc = subprocess.Popen([sys.executable, "-c", code, str(lock)],
                                stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert proc.stdout.readline().strip() == "held"
        held.append(proc)
        return proc

    yield hold
    for proc in held:
        proc.kill()
        proc.wait()
