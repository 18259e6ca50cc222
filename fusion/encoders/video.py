"""Multiview video (B, V, T, 3, H, W) -> per-frame timm features -> attention over the present
views -> temporal conv -> one token per frame."""

from __future__ import annotations

from pathlib import Path

import timm
import torch
import torch.nn.functional as F
from einops import einsum, rearrange
from timm.models import load_state_dict
from torch import nn

from fusion.encoders.base import Tokens
from fusion.encoders.temporal import TemporalConvBlock

TEMPORAL: tuple[str, ...] = ("conv", "none")


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
    ) -> None:
        super().__init__()
        if not timm.is_model(backbone):
            raise ValueError(f"video: unknown timm backbone {backbone!r}")
        if temporal not in TEMPORAL:
            raise ValueError(f"video: unknown temporal {temporal!r}; known: {', '.join(TEMPORAL)}")
        if not 0.0 <= view_dropout < 1.0:
            raise ValueError(f"video: view_dropout must be in [0, 1), got {view_dropout}")
        if input_size is not None and input_size < 8:
            raise ValueError(f"video: input_size must be at least 8 pixels, got {input_size}")
        self.input_size = input_size
        self.backbone = timm.create_model(backbone, pretrained=False, num_classes=0)
        if pretrained_path is not None:
            load_backbone_weights(self.backbone, pretrained_path)
        self.frozen = frozen
        if frozen:
            self.backbone.requires_grad_(False)
            self.backbone.eval()
        self.view_dropout = view_dropout
        self.out_dim = dim
        width = getattr(self.backbone, "head_hidden_size", None) or self.backbone.num_features
        self.project = nn.Linear(width, dim)
        self.view_key = nn.Linear(dim, dim)
        self.view_query = nn.Parameter(torch.randn(dim) * dim**-0.5)
        self.temporal = TemporalConvBlock(dim) if temporal == "conv" else None

    def train(self, mode: bool = True) -> VideoEncoder:
        """Switch modes, keeping a frozen backbone in eval mode."""
        super().train(mode)
        if self.frozen:
            self.backbone.eval()
        return self

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
        return self.encode_views(x, mask, times)[0]

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
            per_view = feats.new_zeros(b, v, t, self.out_dim).index_put((views,), feats)
        else:
            per_view = x.new_zeros(b, v, t, self.out_dim)
        # A sample without views attends over its zero features instead of producing NaN.
        attend = views | ~views.any(1, keepdim=True)
        scores = einsum(self.view_key(per_view), self.view_query, "b v t d, d -> b v t")
        scores = scores.masked_fill(~attend[:, :, None], float("-inf"))
        weights = (scores * self.out_dim**-0.5).softmax(dim=1)
        pooled = einsum(weights, per_view, "b v t, b v t d -> b t d")
        token_mask = present.any(1, keepdim=True).expand(b, t)
        if self.temporal is not None:
            pooled = self.temporal(pooled, token_mask)
        return Tokens(pooled, token_mask, times), per_view, views
