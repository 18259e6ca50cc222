"""JPEG folders in FLEX's naming and deterministic H.264 MP4s that read back faithfully."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fusion.synth.encode import read_mp4, write_jpegs, write_mp4


def moving_square(frames: int = 12, height: int = 48, width: int = 64) -> np.ndarray:
    """A smooth gradient with a square sliding across it, (T, H, W, 3) uint8."""
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([xx * 255 / width, yy * 255 / height, np.full_like(xx, 120.0)], -1)
    out = np.repeat(base[None], frames, axis=0)
    for t in range(frames):
        out[t, 10:26, 4 + 3 * t : 20 + 3 * t] = (230, 40, 40)
    return out.astype(np.uint8)


def test_jpeg_names_count_and_content(tmp_path: Path) -> None:
    frames = moving_square(5)
    write_jpegs(frames, tmp_path / "View-1")
    names = sorted(p.name for p in (tmp_path / "View-1").iterdir())
    assert names == [f"img_{i:05d}.JPG" for i in range(1, 6)]
    first = np.asarray(Image.open(tmp_path / "View-1" / "img_00001.JPG"))
    assert first.shape == (48, 64, 3)
    assert np.abs(first.astype(int) - frames[0]).mean() < 6


def test_jpegs_are_deterministic(tmp_path: Path) -> None:
    frames = moving_square(3)
    write_jpegs(frames, tmp_path / "a")
    write_jpegs(frames, tmp_path / "b", quality=90)
    for name in ("img_00001.JPG", "img_00003.JPG"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


@pytest.mark.parametrize("fps", [25.0, 29.97])
def test_mp4_round_trip(tmp_path: Path, fps: float) -> None:
    frames = moving_square(12)
    write_mp4(frames, tmp_path / "clip.mp4", fps)
    back, got_fps = read_mp4(tmp_path / "clip.mp4")
    assert back.shape == frames.shape and back.dtype == np.uint8
    assert got_fps == pytest.approx(fps, rel=1e-3)
    assert np.abs(back.astype(int) - frames).mean() < 10


def test_mp4_is_deterministic(tmp_path: Path) -> None:
    frames = moving_square(8)
    write_mp4(frames, tmp_path / "a.mp4", 30.0)
    write_mp4(frames, tmp_path / "b.mp4", 30.0)
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()


def test_mp4_rejects_odd_sizes_and_bad_frames(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="even"):
        write_mp4(moving_square(2, 47, 64), tmp_path / "odd.mp4", 30.0)
    with pytest.raises(ValueError):
        write_mp4(moving_square(2).astype(np.float32), tmp_path / "float.mp4", 30.0)
    with pytest.raises(ValueError):
        write_mp4(moving_square(2)[:0], tmp_path / "empty.mp4", 30.0)
