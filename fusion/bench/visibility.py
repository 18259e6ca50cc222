"""`fusion bench visibility`: can video see the FKG errors? Physics before architecture.

For a generator preset it measures, without rendering: how tall the lifter is in every view
(pixels) and so how many centimetres one pixel spans on the lifter, and for every kinematic
FKG error how far it moves the joints at its peak, in centimetres and in each view's pixels
(the same repetition simulated with and without the error). Given a FLEX-layout dataset it
also measures how well `video.person_crop`'s background boxes agree with the projected
skeleton's (IoU per action), as they would on video without cameras.
"""

from __future__ import annotations

import dataclasses
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from fusion.data.align import to_frame_grid
from fusion.data.config import ReaderConfig
from fusion.data.flex import FlexReader
from fusion.data.transforms.person_crop import foreground_box, skeleton_box, square_box
from fusion.fkg.loader import load_fkg
from fusion.synth.cameras import camera_rig
from fusion.synth.motion import body_joints
from fusion.synth.presets import PRESETS
from fusion.synth.repetition import plan_repetition
from fusion.synth.subjects import sample_subjects

SIM_RATE_HZ = 30.0  # joints are simulated this often to find each error's peak


def error_visibility(preset_name: str, seed: int = 0, subjects: int = 6) -> dict[str, Any]:
    """Lifter height (px) and cm per pixel per view, and each error's peak joint movement
    (cm, and px per view), medians over the first `subjects` subjects of the preset."""
    fkg, preset = load_fkg(None), PRESETS[preset_name]
    render = preset.render
    cameras = camera_rig(render.width, render.height)
    heights: dict[str, list[float]] = {c.name: [] for c in cameras}
    statures: list[float] = []
    errors = []
    for action_id in preset.actions or fkg.action_ids:
        action = fkg.action(action_id)
        for error in action.errors:
            moved_cm, moved_px = [], {c.name: [] for c in cameras}
            for subject in sample_subjects(preset.skills, seed)[:subjects]:
                draw = zlib.crc32(f"{action_id}/{error.id}".encode())
                rng = np.random.default_rng([seed, subject.index, draw])
                rates = {"default": 0.0, error.name: 1.0}
                plan = plan_repetition(action, subject, rng, rates)
                if not plan.errors:
                    continue
                times = np.arange(int(plan.duration * SIM_RATE_HZ)) / SIM_RATE_HZ
                with_error, _ = body_joints(plan, times)
                without, _ = body_joints(dataclasses.replace(plan, errors=()), times)
                moved_cm.append(100 * np.linalg.norm(with_error - without, axis=-1).max())
                statures.append(subject.height)
                for camera in cameras:
                    seen, _ = camera.project(with_error)
                    clean, _ = camera.project(without)
                    moved_px[camera.name].append(np.linalg.norm(seen - clean, axis=-1).max())
                    heights[camera.name].append(float(np.ptp(clean[..., 1], axis=1).max()))
            if moved_cm:
                errors.append(
                    {
                        "action": action_id,
                        "error": error.name,
                        "deviation": error.deviation.type,
                        "moved_cm": round(float(np.median(moved_cm)), 1),
                        "moved_px": {v: round(float(np.median(p)), 1) for v, p in moved_px.items()},
                    }
                )
    lifter_px = {v: round(float(np.median(h)), 1) for v, h in heights.items()}
    stature_cm = 100 * float(np.median(statures))
    return {
        "preset": preset_name,
        "frame": [render.width, render.height],
        "lifter_px": lifter_px,
        "lifter_px_min": round(float(min(min(h) for h in heights.values())), 1),
        "cm_per_px": {v: round(stature_cm / px, 2) for v, px in lifter_px.items()},
        "errors": errors,
    }


def _iou(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """Intersection over union of two (top, left, side) squares."""
    (t1, l1, s1), (t2, l2, s2) = a, b
    w = max(0, min(l1 + s1, l2 + s2) - max(l1, l2))
    h = max(0, min(t1 + s1, t2 + s2) - max(t1, t2))
    return w * h / (s1 * s1 + s2 * s2 - w * h)


def crop_agreement(
    root: Path, samples: int = 60, frames: int = 14, margin: float = 0.1
) -> dict[str, Any]:
    """IoU of the background box against the projected-skeleton box, per view of `samples`
    samples spread over a FLEX-layout dataset with cameras: median per action and overall."""
    reader = FlexReader(ReaderConfig(root=str(root)))
    infos = reader.index()
    by_action: dict[str, list[float]] = {}
    for info in infos[:: max(1, len(infos) // samples)]:
        sample = to_frame_grid(reader.read(info, frames=frames), frames)
        height, width = sample.video.values.shape[2:4]
        for slot, view in enumerate(sample.provenance.views):
            truth, _ = skeleton_box(sample.pose.values, sample.cameras[view], height, width)
            found = foreground_box(sample.video.values[:, slot], 25.0)
            score = 0.0
            if truth is not None and found is not None:
                score = _iou(
                    square_box(found, height, width, margin),
                    square_box(truth, height, width, margin),
                )
            by_action.setdefault(info.action, []).append(score)
    every = [v for values in by_action.values() for v in values]
    return {
        "root": str(root),
        "views": len(every),
        "median_iou": round(float(np.median(every)), 2),
        "share_at_least_0.5": round(float(np.mean(np.array(every) >= 0.5)), 2),
        "per_action": {a: round(float(np.median(v)), 2) for a, v in sorted(by_action.items())},
    }


def format_visibility(result: dict[str, Any]) -> str:
    """The measurements as a text table."""
    views = list(result["lifter_px"])
    lines = [
        f"preset {result['preset']}, frames {result['frame'][0]}x{result['frame'][1]}",
        "lifter px per view: " + ", ".join(f"{v} {result['lifter_px'][v]}" for v in views),
        f"  (smallest lifter seen: {result['lifter_px_min']} px)",
        "cm per px on the lifter: " + ", ".join(f"{v} {result['cm_per_px'][v]}" for v in views),
        f"{'action':6} {'error':24} {'moved cm':>8}  px per view ({', '.join(views)})",
    ]
    for row in result["errors"]:
        px = " ".join(f"{row['moved_px'][v]:5.1f}" for v in views)
        lines.append(f"{row['action']:6} {row['error']:24} {row['moved_cm']:8.1f}  {px}")
    crops = result.get("crops")
    if crops:
        lines.append(
            f"background vs skeleton crop boxes ({crops['views']} views of {crops['root']}): "
            f"median IoU {crops['median_iou']}, share >= 0.5: {crops['share_at_least_0.5']}"
        )
        lines.append(
            "  per action: " + ", ".join(f"{a} {v}" for a, v in crops["per_action"].items())
        )
    return "\n".join(lines)
