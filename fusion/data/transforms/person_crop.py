"""`video.person_crop`: one square box per view around the lifter, fixed over the repetition.

At full-frame size the lifter is a small part of each view (FLEX's corner cameras film the
whole room), so a frame resized for a network keeps a few pixels per joint. The crop keeps the
lifter's pixels instead. The box comes from the 3D skeleton projected with the view's camera
where the sample has both (the generator writes K, R, t in every annotation), otherwise from
the static camera's foreground: a per-pixel median background over the repetition's frames,
thresholded, its largest connected part. Either box is squared, widened by a margin, clamped
inside the frame and held fixed for the whole repetition, so motion within it stays visible.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

from fusion.data.cameras import Calibration
from fusion.data.sample import DataError, Sample
from fusion.data.transforms.base import Transform, register, sample_error
from fusion.data.transforms.video import _frames, _positive_int, resize_frames

SOURCES = ("auto", "skeleton", "background")
Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels
MIN_INSIDE = 0.5  # of a projected skeleton box's area that must fall inside the frame
MIN_FOREGROUND = 0.002  # of the frame's area: less than this is "no person found"
CLOSING = 0.03  # of the frame's shorter side: gaps closed so that limbs join the body


def square_box(box: Box, height: int, width: int, margin: float) -> tuple[int, int, int]:
    """(top, left, side): the box squared on its longer side, widened by `margin` of that side
    on each side, no larger than the frame, shifted to lie inside it."""
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0) * (1.0 + 2.0 * margin)
    side = int(min(max(round(side), 1), height, width))
    left = int(np.clip(round((x0 + x1 - side) / 2), 0, width - side))
    top = int(np.clip(round((y0 + y1 - side) / 2), 0, height - side))
    return top, left, side


def skeleton_box(
    points: np.ndarray, camera: Calibration, height: int, width: int
) -> tuple[Box | None, str | None]:
    """The box around joints (N, 3) in metres seen by `camera` in (height, width) frames, or
    None and why (behind the camera, or mostly outside the frame)."""
    pixels, depth = camera.project(points.reshape(-1, 3))
    if (depth <= 0).any():
        return None, "the camera projects the person behind it"
    pixels = pixels * (width / camera.width, height / camera.height)
    x0, y0 = pixels.min(0)
    x1, y1 = pixels.max(0)
    inside_w = max(0.0, min(x1, width) - max(x0, 0.0))
    inside_h = max(0.0, min(y1, height) - max(y0, 0.0))
    area = max(x1 - x0, 1e-6) * max(y1 - y0, 1e-6)
    if inside_w * inside_h < MIN_INSIDE * area:
        return None, (
            f"the projected skeleton box ({x0:.0f}, {y0:.0f})-({x1:.0f}, {y1:.0f}) lies mostly "
            f"outside the {width}x{height} frame (is video.person_crop before pose.center?)"
        )
    return (float(x0), float(y0), float(x1), float(y1)), None


def foreground_box(frames: np.ndarray, threshold: float) -> Box | None:
    """The box of the largest moving-or-not-background part of (T, H, W, 3) frames of one
    static camera, or None when too little differs from the median background."""
    background = np.median(frames, axis=0)
    difference = np.abs(frames.astype(np.float32) - background).max(axis=-1)
    seen = (difference > threshold).any(axis=0)
    height, width = seen.shape
    reach = max(1, round(CLOSING * min(height, width)))
    seen = ndimage.binary_opening(seen, structure=np.ones((2, 2)))
    seen = ndimage.binary_closing(seen, structure=np.ones((reach, reach)))
    labels, count = ndimage.label(seen)
    if count == 0:
        return None
    areas = np.bincount(labels.ravel())[1:]
    largest = int(areas.argmax()) + 1
    if areas[largest - 1] < MIN_FOREGROUND * height * width:
        return None
    rows, cols = ndimage.find_objects(labels)[largest - 1]
    return float(cols.start), float(rows.start), float(cols.stop - 1), float(rows.stop - 1)


@register("video.person_crop")
@dataclass
class PersonCrop(Transform):
    """Crop every view to a square box around the lifter (fixed over the repetition) and resize
    it to `size` x `size`. `source`: skeleton (projected with the view's camera), background
    (static-camera foreground), or auto (skeleton where the sample has cameras and pose).
    Place it before pose transforms: it projects the skeleton in the dataset's own frame.
    A view where no person is found is dropped (masked) and named in the sample's notes."""

    size: int
    margin: float = 0.1
    source: str = "auto"
    threshold: float = 25.0  # background: grey levels of difference that count as foreground

    def __post_init__(self) -> None:
        self.size = _positive_int("size", self.size)
        self.margin = float(self.margin)
        self.threshold = float(self.threshold)
        if not 0.0 <= self.margin <= 1.0:
            raise ValueError(f"margin must be in [0, 1], got {self.margin}")
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {self.source!r}")
        if not 0.0 < self.threshold < 255.0:
            raise ValueError(f"threshold must be in (0, 255), got {self.threshold}")

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        if sample.video is None:
            return sample
        frames = _frames(sample)
        height, width = frames.shape[2:4]
        views = sample.provenance.views or tuple(range(1, frames.shape[1] + 1))
        kept, crops, notes = [], [], []
        for slot, view in enumerate(views):
            box, problem = self.box(sample, frames[:, slot], view)
            if box is None:
                notes.append(f"view {view}: {problem}; the view is masked")
                continue
            top, left, side = square_box(box, height, width, self.margin)
            crop = frames[:, slot, top : top + side, left : left + side]
            crops.append(resize_frames(crop, self.size, self.size))
            kept.append(view)
        provenance = replace(
            sample.provenance, views=tuple(kept), notes=(*sample.provenance.notes, *notes)
        )
        video = sample.video.with_values(np.stack(crops, axis=1)) if crops else None
        return sample.replace(video=video, provenance=provenance)

    def box(self, sample: Sample, frames: np.ndarray, view: int) -> tuple[Box | None, str | None]:
        """The lifter's box in one view's (T, H, W, 3) frames, or None and what went wrong."""
        camera = sample.cameras.get(view)
        use_skeleton = self.source == "skeleton" or (
            self.source == "auto" and camera is not None and sample.pose is not None
        )
        if not use_skeleton:
            box = foreground_box(frames, self.threshold)
            return box, None if box is not None else "no person found in the foreground"
        if camera is None or sample.pose is None:
            what = "no camera for this view" if camera is None else "no skeleton"
            raise sample_error(sample, "video", f"person_crop source=skeleton: {what} ({view})")
        box, problem = skeleton_box(sample.pose.values, camera, *frames.shape[1:3])
        if problem is not None and "behind" in problem:
            raise DataError(sample.key, problem, f"video view {view}")
        return box, problem
