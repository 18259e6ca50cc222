"""Output folders the commands write: one writer at a time, stale temporaries swept, and
folders no command may replace refused.

Every command that writes a folder `OUT` builds it as `.OUT.tmp-PID` beside it and renames it
into place; `writer_lock` holds `.OUT.lock` meanwhile, so a second writer waits briefly and
then fails with one line instead of silently replacing the first one's output.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

LOCK_WAIT_S = 2.0  # how long a second writer waits for the first before giving up


class OutputError(ValueError):
    """An output path that cannot be written as asked; the message is one line."""


def lock_path(out: Path) -> Path:
    """The lock file of output `out`: a hidden sibling `.NAME.lock`."""
    return out.parent / f".{out.name}.lock"


@contextmanager
def writer_lock(out: Path, command: str, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """Hold `out`'s lock while the body writes it; OutputError when another process holds it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path(out)), timeout=wait_s)
    try:
        lock.acquire()
    except Timeout:
        raise OutputError(
            f"{out}: another `fusion {command}` is writing it (lock {lock_path(out)}); "
            "expected one writer at a time, wait for it to finish"
        ) from None
    try:
        yield
    finally:
        lock.release()


def temporary(out: Path, kind: str = "tmp") -> Path:
    """This process's hidden sibling of `out`: `.NAME.tmp-PID` (or `.old-PID`)."""
    return out.parent / f".{out.name}.{kind}-{os.getpid()}"


def _alive(pid: int) -> bool:
    """Whether a process with this id is running (one we may not signal counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale(out: Path) -> list[Path]:
    """Remove `.NAME.tmp-PID` / `.NAME.old-PID` siblings of `out` whose process is gone, so
    an interrupted run's leftovers do not pile up; returns what was removed."""
    if not out.parent.is_dir():
        return []
    pattern = re.compile(rf"\.{re.escape(out.name)}\.(tmp|old)-(\d+)")
    removed = []
    for path in sorted(out.parent.iterdir()):
        match = pattern.fullmatch(path.name)
        if match is None or _alive(int(match.group(2))):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def say_swept(removed: list[Path], command: str) -> None:
    """One line on stderr naming the stale temporaries a run removed (nothing when none)."""
    if removed:
        names = ", ".join(p.name for p in removed)
        print(
            f"fusion {command}: removed {len(removed)} stale temporary folder(s) of an "
            f"interrupted run: {names}",
            file=sys.stderr,
        )


def check_output_folder(out: Path) -> None:
    """Refuse output folders a command must not replace: the current folder or one above it,
    a symbolic link, a file, or an existing folder this user may not write."""
    resolved = out.resolve()
    cwd = Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents or not out.name or out.name == "..":
        raise OutputError(
            f"{out}: is the current folder or one above it; expected a new folder to write into"
        )
    if out.is_symlink():
        raise OutputError(f"{out}: is a symbolic link; expected a folder (name its target)")
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: is a file; expected a folder to write into")
    if out.is_dir() and not os.access(out, os.W_OK | os.X_OK):
        raise OutputError(f"{out}: is a folder you may not write; expected a writable folder")
