"""The pose-distillation LightningModule: L1 on root-relative joints, MPJPE against a baseline.

Targets are the batch's skeleton (pelvis-centred by `pose.center`, in metres: leave
`pose.scale` out of the data transforms) at each video frame. The loss is the L1 distance of
the pooled prediction plus `task.view_weight` times that of each view's own. Validation and
test report MPJPE in millimetres for the pooled and the single-view predictions, next to the
baseline that predicts each action's mean training pose for every frame.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torchmetrics import MeanMetric

from fusion.models.pose_distill import PoseDistillModel, frame_targets
from fusion.tasks.parts import PartsTask
from fusion.tasks.start import EncoderStart

PARTS = ("val", "test")
MM = 1000.0
ACTIONS = 64  # room for every FKG action id in the mean-pose baseline's buffers


def joint_errors(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Euclidean distance per joint (..., J) of (..., J, 3) joints."""
    return torch.linalg.vector_norm(predicted - target, dim=-1)


class PoseDistillTask(EncoderStart, PartsTask):
    """Train the video encoder to see the skeleton; its checkpoint starts other models."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.save_hyperparameters({"config": config})
        self.config = config
        data = config["data"]
        if any(step.get("name") == "pose.scale" for step in data["preprocess"] + data["transform"]):
            raise ValueError(
                "pose_distill: the data config scales the pose (pose.scale), so its targets and "
                "MPJPE would not be in metres; use data=small_distill or drop pose.scale"
            )
        model = config["model"]
        self.model = PoseDistillModel(model["encoders"], model["joints"])
        self.metrics = torch.nn.ModuleDict(
            {
                f"{part}_{name}": MeanMetric()
                for part in PARTS
                for name in ("mpjpe_mm", "view_mpjpe_mm", "baseline_mpjpe_mm")
            }
        )
        joints = model["joints"]
        self.register_buffer("pose_sum", torch.zeros(ACTIONS, joints, 3, dtype=torch.float64))
        self.register_buffer("pose_count", torch.zeros(ACTIONS, dtype=torch.float64))

    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        return self.model(batch)

    def _targets(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        if "pose" not in batch or "video" not in batch:
            raise ValueError("pose_distill needs video and pose in every batch (data modalities)")
        return frame_targets(
            batch["pose"].float(), batch["pose_times"], batch["pose_mask"], batch["video_times"]
        )

    def _losses(
        self, out: dict[str, torch.Tensor], target: torch.Tensor, found: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        pooled = F.l1_loss(out["pooled"][found], target[found])
        seen = out["view_mask"][:, :, None] & found[:, None, :]
        expanded = target[:, None].expand_as(out["views"])
        views = F.l1_loss(out["views"][seen], expanded[seen]) if seen.any() else pooled * 0
        total = pooled + self.config["task"]["view_weight"] * views
        return {"loss": total, "loss_pooled": pooled, "loss_views": views}

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        target, found = self._targets(batch)
        if self.current_epoch == 0:
            self._accumulate_mean_pose(batch["action"], target, found)
        losses = self._losses(self(batch), target, found)
        for name, value in losses.items():
            size = len(batch["key"])
            self.log(
                f"train/{name}", value, batch_size=size, prog_bar=name == "loss", on_epoch=True
            )
        return losses["loss"]

    @torch.no_grad()
    def _accumulate_mean_pose(
        self, actions: torch.Tensor, target: torch.Tensor, found: torch.Tensor
    ) -> None:
        """Sum the first epoch's training poses per action: the mean-pose baseline."""
        known = (actions >= 0) & (actions < ACTIONS)
        frames = found[known].double()  # (K, T): the frames with a target
        sums = (target[known].double() * frames[..., None, None]).sum(1)
        self.pose_sum.index_add_(0, actions[known], sums)
        self.pose_count.index_add_(0, actions[known], frames.sum(1))

    def _eval_step(self, part: str, batch: dict[str, Any]) -> None:
        target, found = self._targets(batch)
        out = self(batch)
        losses = self._losses(out, target, found)
        self.log(f"{part}/loss", losses["loss"], batch_size=len(batch["key"]), prog_bar=True)
        if not found.any():
            return
        self.metrics[f"{part}_mpjpe_mm"].update(MM * joint_errors(out["pooled"], target)[found])
        seen = out["view_mask"][:, :, None] & found[:, None, :]
        views = joint_errors(out["views"], target[:, None].expand_as(out["views"]))
        self.metrics[f"{part}_view_mpjpe_mm"].update(MM * views[seen])
        actions = batch["action"].clamp(0, ACTIONS - 1)
        counts = self.pose_count[actions].clamp_min(1.0)[:, None, None]
        mean = (self.pose_sum[actions] / counts).to(target.dtype)
        baseline = joint_errors(mean[:, None].expand_as(target), target)
        self.metrics[f"{part}_baseline_mpjpe_mm"].update(MM * baseline[found])

    def _epoch_end(self, part: str) -> None:
        for name in ("mpjpe_mm", "view_mpjpe_mm", "baseline_mpjpe_mm"):
            metric = self.metrics[f"{part}_{name}"]
            if metric.update_count:
                self.log(f"{part}/{name}", metric.compute())
            metric.reset()
