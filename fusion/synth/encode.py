"""Write rendered frames the way the real datasets store them: FLEX JPEG folders and H.264 MP4s.

Both writers are byte-deterministic (same frames, same files), so a generated dataset can be
checksummed and regenerated; `read_mp4` is the matching reader for tests and loaders.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

JPEG_NAME = "img_{:05d}.JPG"  # FLEX's layout: 1-based, five digits, uppercase extension
MP4_CRF = 23


def _check_frames(frames: np.ndarray) -> np.ndarray:
    """Frames as a (T, H, W, 3) uint8 array, or a clear error."""
    arr = np.asarray(frames)
    if arr.ndim != 4 or arr.shape[-1] != 3 or arr.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 (T, H, W, 3), got {arr.dtype} {arr.shape}")
    return arr


def write_jpegs(frames: np.ndarray, folder: Path, quality: int = 90) -> None:
    """Save frames as folder/img_00001.JPG, img_00002.JPG, ... (no metadata, so bytes repeat)."""
    arr = _check_frames(frames)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(arr, start=1):
        Image.fromarray(frame).save(folder / JPEG_NAME.format(i), "JPEG", quality=quality)


def _rate(fps: float) -> Fraction:
    """The frame rate as an exact fraction (29.97 -> 30000/1001)."""
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    return Fraction(fps).limit_denominator(1001)


def write_mp4(frames: np.ndarray, path: Path, fps: float) -> None:
    """Encode frames as H.264 (libx264, yuv420p, CRF 23, one thread, bit-exact muxing)."""
    arr = _check_frames(frames)
    t, h, w, _ = arr.shape
    if t == 0:
        raise ValueError("cannot write an MP4 with no frames")
    if h % 2 or w % 2:
        raise ValueError(f"H.264 yuv420p needs even frame sizes, got {w}x{h}; pad or resize first")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = _rate(fps)
    with av.open(str(path), "w", format="mp4", container_options={"fflags": "+bitexact"}) as out:
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.time_base = 1 / rate
        stream.codec_context.thread_count = 1
        stream.codec_context.options = {"crf": str(MP4_CRF), "preset": "medium", "threads": "1"}
        for i, frame in enumerate(arr):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            vf.pts = i
            out.mux(stream.encode(vf))
        out.mux(stream.encode(None))


def read_mp4(path: Path) -> tuple[np.ndarray, float]:
    """Decode a video to (T, H, W, 3) uint8 RGB frames and its frame rate."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        shape = (0, stream.height, stream.width, 3)
    fps = float(rate) if rate else 0.0
    return (np.stack(frames) if frames else np.empty(shape, np.uint8)), fps
