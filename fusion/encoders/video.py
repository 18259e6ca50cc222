"""Multiview video (B, V, T, 3, H, W) -> per-frame timm features -> attention over the present
views -> temporal conv -> one token per frame."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import timm
import torch
import torch.nn.functional as F
from einops import einsum, rearrange
from timm.models import load_state_dict
from torch import nn

from fusion.encoders.base import Tokens
from fusion.encoders.pose import PoseEncoder
from fusion.encoders.temporal import TemporalConvBlock

TEMPORAL: tuple[str, ...] = ("conv", "none")
READOUTS: tuple[str, ...] = ("features", "pose")


def load_backbone_weights(backbone: nn.Module, path: str | Path) -> None:
    """Load a local state dict (torch or .safetensors) into a timm backbone built without head.

    Classifier weights in the file are dropped (the backbone has none); any other missing,
    unexpected or wrongly shaped key is a ValueError naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: backbone weights file not found")
    state = load_state_dict(str(path))
    head = backbone.pretrained_cfg.get("classifier")
    if head:
        state = {k: v for k, v in state.items() if not k.startswith(f"{head}.")}
    expected = backbone.state_dict()
    problems = {
        "missing": sorted(set(expected) - set(state)),
        "unexpected": sorted(set(state) - set(expected)),
        "wrong shape": sorted(
            k for k in set(state) & set(expected) if state[k].shape != expected[k].shape
        ),
    }
    found = [f"{len(keys)} {kind} (e.g. {keys[:3]})" for kind, keys in problems.items() if keys]
    if found:
        name = backbone.pretrained_cfg.get("architecture", type(backbone).__name__)
        raise ValueError(f"{path}: weights do not fit backbone {name}: {'; '.join(found)}")
    backbone.load_state_dict(state)


def body_scaled(joints: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, T, J, 3) root-relative joints divided by each sample's RMS joint distance from the
    root over its real frames (`mask` (B, T)): body size removed, as `pose.scale` does."""
    squared = joints.square().sum(-1).mean(-1)  # (B, T)
    real = mask.to(joints.dtype)
    size = ((squared * real).sum(1) / real.sum(1).clamp_min(1.0)).sqrt()
    return joints / size.clamp_min(1e-3)[:, None, None, None]


def drop_views(mask: torch.Tensor, p: float) -> torch.Tensor:
    """Drop each present view of a (B, V) mask with probability p, keeping one per sample."""
    keep = mask & (torch.rand(mask.shape, device=mask.device) >= p)
    lost = mask.any(1) & ~keep.any(1)
    pick = torch.rand(mask.shape, device=mask.device).masked_fill(~mask, -1.0).argmax(1)
    rescue = nn.functional.one_hot(pick, mask.shape[1]).bool() & lost[:, None]
    return keep | rescue


class VideoEncoder(nn.Module):
    """A timm backbone on every frame of every present view, pooled over views per frame.

    `input_size` resizes frames (antialiased) before the backbone: one cache of person crops
    serves a cheap model (64 px, `make train`) and a detailed one (the crops' own 96 px).

    With `joints`, a joint head reads each frame token as root-relative 3D joints (pose
    distillation trains it); with `readout: pose` as well, the tokens are those of a pose
    encoder (options `pose`) on the joints read out: pose from video (README).

    Absent views never reach the backbone (so BatchNorm statistics see real frames only) and get
    -inf attention scores, so the same weights serve 1..V views. Tokens: one per frame at
    `times` (B, T), real for a sample with any view.
    """

    def __init__(
        self,
        backbone: str = "mobilenetv3_small_050",
        pretrained_path: str | None = None,
        dim: int = 128,
        frozen: bool = False,
        view_dropout: float = 0.0,
        temporal: str = "conv",
        input_size: int | None = None,
        joints: int | None = None,
        readout: str = "features",
        pose: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if not timm.is_model(backbone):
            raise ValueError(f"video: unknown timm backbone {backbone!r}")
        if temporal not in TEMPORAL:
            raise ValueError(f"video: unknown temporal {temporal!r}; known: {', '.join(TEMPORAL)}")
        if not 0.0 <= view_dropout < 1.0:
            raise ValueError(f"video: view_dropout must be in [0, 1), got {view_dropout}")
        if readout not in READOUTS:
            raise ValueError(f"video: unknown readout {readout!r}; known: {', '.join(READOUTS)}")
        if readout == "pose" and not joints:
            raise ValueError("video: readout pose needs `joints` (the distilled joint head)")
        if pose is not None and readout != "pose":
            raise ValueError("video: `pose` options are for readout pose only")
        if input_size is not None and input_size < 8:
            raise ValueError(f"video: input_size must be at least 8 pixels, got {input_size}")
        self.input_size = input_size
        self.backbone = timm.create_model(backbone, pretrained=False, num_classes=0)
        if pretrained_path is not None:
            load_backbone_weights(self.backbone, pretrained_path)
        self.view_dropout = view_dropout
        self.width = dim
        width = getattr(self.backbone, "head_hidden_size", None) or self.backbone.num_features
        self.project = nn.Linear(width, dim)
        self.view_key = nn.Linear(dim, dim)
        self.view_query = nn.Parameter(torch.randn(dim) * dim**-0.5)
        self.temporal = TemporalConvBlock(dim) if temporal == "conv" else None
        self.joint_head = (
            nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, joints * 3)) if joints else None
        )
        self.pose = PoseEncoder(**(pose or {})) if readout == "pose" else None
        if self.pose is not None and len(self.pose.layout.joints) != joints:
            raise ValueError(
                f"video: readout pose reads {joints} joints, but its pose encoder's layout "
                f"{self.pose.layout.name} has {len(self.pose.layout.joints)}"
            )
        self.out_dim = dim if self.pose is None else self.pose.out_dim
        # Frozen is the pretrained part: the backbone, or with readout pose the whole lifter
        # (a pose_distill run's weights), so only the pose encoder on its joints learns.
        self.frozen = frozen
        self._frozen_parts = [self.backbone] if self.pose is None else self.lifter_parts()
        for part in self._frozen_parts if frozen else ():
            part.requires_grad_(False)
        self.train(self.training)

    def lifter_parts(self) -> list[nn.Module | nn.Parameter]:
        """Everything but the pose encoder: what pose distillation trains."""
        return [module for name, module in self.named_children() if name != "pose"] + [
            self.view_query
        ]

    @property
    def fresh(self) -> tuple[str, ...]:
        """State-dict prefixes that a pose_distill checkpoint lacks (loaded encoders keep their
        initial values there): the pose encoder of readout pose."""
        return ("pose.",) if self.pose is not None else ()

    def train(self, mode: bool = True) -> VideoEncoder:
        """Switch modes, keeping the frozen part in eval mode (its BatchNorm statistics)."""
        super().train(mode)
        if self.frozen:
            for part in self._frozen_parts:
                if isinstance(part, nn.Module):
                    part.eval()
        return self

    def read_joints(self, frames: torch.Tensor) -> torch.Tensor:
        """(..., dim) frame tokens -> (..., J, 3) root-relative joints in metres."""
        if self.joint_head is None:
            raise ValueError("video: this encoder has no joint head (build it with `joints`)")
        return rearrange(self.joint_head(frames), "... (j c) -> ... j c", c=3)

    def _frame_features(self, frames: torch.Tensor) -> torch.Tensor:
        """(P, T, 3, H, W) frames of the present views -> (P, T, dim)."""
        flat = rearrange(frames, "p t c h w -> (p t) c h w")
        if self.input_size is not None and flat.shape[-2:] != (self.input_size,) * 2:
            size = (self.input_size, self.input_size)
            flat = F.interpolate(flat, size=size, mode="bilinear", antialias=True)
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            feats = self.backbone(flat)
        return self.project(rearrange(feats, "(p t) f -> p t f", p=frames.shape[0]))

    def forward(self, x: torch.Tensor, mask: torch.Tensor, times: torch.Tensor) -> Tokens:
        if self.pose is None:
            return self.encode_views(x, mask, times)[0]
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            tokens = self.encode_views(x, mask, times)[0]
            joints = self.read_joints(tokens.values)
        return self.pose(body_scaled(joints, tokens.mask), tokens.mask, times)

    def encode_views(
        self, x: torch.Tensor, mask: torch.Tensor, times: torch.Tensor
    ) -> tuple[Tokens, torch.Tensor, torch.Tensor]:
        """The pooled tokens, each view's own frame features (B, V, T, dim) and the (B, V)
        views that went through the backbone (pose distillation supervises each view)."""
        if x.ndim != 6 or x.shape[3] != 3 or mask.shape != x.shape[:2]:
            raise ValueError(
                f"video: expected x (B, V, T, 3, H, W) and mask (B, V), got {tuple(x.shape)} "
                f"and {tuple(mask.shape)}"
            )
        b, v, t = x.shape[:3]
        present = mask.bool()
        dropping = self.training and self.view_dropout > 0
        views = drop_views(present, self.view_dropout) if dropping else present
        if torch.jit.is_tracing() or torch.compiler.is_exporting():
            # A traced or exported graph cannot branch on the mask: every view goes through the
            # backbone and absent ones are zeroed after. Export is of an eval-mode model, whose
            # BatchNorm reads running statistics, so the present views' features are the same.
            feats = self._frame_features(rearrange(x, "b v t c h w -> (b v) t c h w"))
            feats = rearrange(feats, "(b v) t d -> b v t d", b=b)
            per_view = torch.where(views[:, :, None, None], feats, 0.0)
        elif views.any():
            feats = self._frame_features(x[views])
            per_view = feats.new_zeros(b, v, t, self.width).index_put((views,), feats)
        else:
            per_view = x.new_zeros(b, v, t, self.width)
        # A sample without views attends over its zero features instead of producing NaN.
        attend = views | ~views.any(1, keepdim=True)
        scores = einsum(self.view_key(per_view), self.view_query, "b v t d, d -> b v t")
        scores = scores.masked_fill(~attend[:, :, None], float("-inf"))
        weights = (scores * self.width**-0.5).softmax(dim=1)
        pooled = einsum(weights, per_view, "b v t, b v t d -> b t d")
        token_mask = present.any(1, keepdim=True).expand(b, t)
        if self.temporal is not None:
            pooled = self.temporal(pooled, token_mask)
        return Tokens(pooled, token_mask, times), per_view, views
