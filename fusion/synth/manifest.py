"""A generated dataset's manifest: every file's size and a digest of the small ones, so a rerun
claims "up to date" only when the files on disk are the ones it wrote."""

from __future__ import annotations

import hashlib
from pathlib import Path

META = "dataset.json"  # written after the manifest is taken, so it is not in it
DIGEST_MAX_BYTES = 64 * 1024  # files up to this size also get a sha256 (labels, splits, CSVs)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def take_manifest(root: Path) -> dict[str, dict[str, object]]:
    """{"sizes": {relative path: bytes}, "sha256": {relative path: hex}} of every file."""
    sizes: dict[str, object] = {}
    digests: dict[str, object] = {}
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if not path.is_file() or name == META:
            continue
        size = path.stat().st_size
        sizes[name] = size
        if size <= DIGEST_MAX_BYTES:
            digests[name] = _sha256(path)
    return {"sizes": sizes, "sha256": digests}


def manifest_problems(root: Path, manifest: dict) -> list[str]:
    """What differs from the manifest: "NAME missing", "NAME changed" (size or digest)."""
    problems = []
    digests = manifest.get("sha256", {})
    for name, size in manifest.get("sizes", {}).items():
        path = root / name
        if not path.is_file():
            problems.append(f"{name} missing")
        elif path.stat().st_size != size or (name in digests and _sha256(path) != digests[name]):
            problems.append(f"{name} changed")
    return problems
