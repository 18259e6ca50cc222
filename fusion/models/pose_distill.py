"""Pose-distilled video pretraining: the video encoder learns bodies from the mocap skeleton.

No pretrained weights can be downloaded here, and a backbone trained from scratch on AQA
labels alone learns little about bodies. FLEX ships a synchronized 3D skeleton for every
repetition, so the video encoder is first trained to predict it: per frame, the root-relative
3D joints, from the views pooled together and from each view alone (so that one camera is
enough). The encoder then starts the AQA, text and Video->EMG models (`model.encoders_from`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from einops import rearrange
from torch import nn

from fusion.encoders.registry import build_encoders


def frame_targets(
    pose: torch.Tensor, pose_times: torch.Tensor, pose_mask: torch.Tensor, times: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The skeleton row nearest each video frame time: (B, T, J, 3), and a (B, T) mask of the
    frames whose nearest real row is less than one skeleton period away (else no target)."""
    distance = (times[:, :, None] - pose_times[:, None, :]).abs()
    distance = distance.masked_fill(~pose_mask[:, None, :], float("inf"))
    nearest, rows = distance.min(dim=2)
    period = (pose_times[:, 1:2] - pose_times[:, :1]).abs() if pose_times.shape[1] > 1 else None
    found = nearest <= (period if period is not None else 1e-3) + 1e-4
    index = rows[..., None, None].expand(-1, -1, *pose.shape[2:])
    return torch.gather(pose, 1, index), found


class PoseDistillModel(nn.Module):
    """The video encoder (under `encoders.video`, as in every other model, so its weights load
    by name) built with its joint head on the pooled tokens (`joints`: what `readout: pose`
    reads later), and a second joint head on each view's own features."""

    def __init__(self, encoders: Mapping[str, Mapping[str, Any]], joints: int = 21) -> None:
        super().__init__()
        video = dict(encoders["video"])
        if video.get("readout", "features") != "features":
            raise ValueError("pose_distill: model.encoders.video is what it trains; no readout")
        self.encoders = build_encoders(["video"], {"video": {**video, "joints": joints}})
        self.joints = joints
        width = self.encoders["video"].width
        self.view_head = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, joints * 3))

    def forward(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """`pooled` (B, T, J, 3) from all views, `views` (B, V, T, J, 3) from each view alone,
        `view_mask` (B, V) of the views that were seen, in the skeleton's units."""
        encoder = self.encoders["video"]
        tokens, per_view, seen = encoder.encode_views(
            batch["video"], batch["video_mask"], batch["video_times"]
        )
        pooled = encoder.read_joints(tokens.values)
        views = rearrange(self.view_head(per_view), "b v t (j c) -> b v t j c", c=3)
        return {"pooled": pooled, "views": views, "view_mask": seen}
