"""Temporal AP of error spans at a tIoU threshold, as in ActivityNet / THUMOS detection.

torchmetrics has no temporal detection metric, so the matching and the all-point interpolated
AP are written here after ActivityNet's `compute_average_precision_detection` and
`interpolated_prec_rec`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.distributed as dist
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

PredSegment = tuple[int, float, float, float]  # (class, start_s, end_s, confidence)
GtSegment = tuple[int, float, float]  # (class, start_s, end_s)


def spans_from_frame_probs(
    probs: torch.Tensor,
    times: torch.Tensor,
    threshold: float = 0.5,
    frame_period: float | None = None,
) -> list[PredSegment]:
    """Per-frame probabilities (T, C) -> one segment per run of frames with prob > threshold.

    A run starts at its first frame's time, ends one frame period after its last frame's time
    (the period defaults to the median step of `times`) and has the run's mean prob as its
    confidence. Segments come sorted by class, then start.
    """
    if probs.ndim != 2 or times.shape != probs.shape[:1]:
        raise ValueError(
            f"probs must be (T, C) and times (T,), got {tuple(probs.shape)} and "
            f"{tuple(times.shape)}"
        )
    if frame_period is None:
        if len(times) < 2:
            raise ValueError("frame_period is needed when there are fewer than two frames")
        frame_period = float(times.diff().median())
    probs = probs.double()
    above = (probs > threshold).to(torch.int8).T
    pad = torch.zeros(above.shape[0], 1, dtype=above.dtype, device=above.device)
    edges = torch.cat([pad, above, pad], dim=1).diff(dim=1)
    # rows are (class, frame) in class-then-frame order, so the k-th start pairs with the k-th end
    starts = (edges == 1).nonzero()
    ends = (edges == -1).nonzero()[:, 1]
    sums = torch.cat([torch.zeros_like(probs[:1]), probs.cumsum(dim=0)])
    classes, first = starts[:, 0], starts[:, 1]
    conf = (sums[ends, classes] - sums[first, classes]) / (ends - first)
    start_s = times[first].double()
    end_s = times[ends - 1].double() + frame_period
    return [
        (int(c), float(s), float(e), float(p))
        for c, s, e, p in zip(classes, start_s, end_s, conf, strict=True)
    ]


def _rank_and_world(group: object | None) -> tuple[int, int]:
    """This process's rank and the world size (0, 1 outside torch.distributed)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(group), dist.get_world_size(group)
    return 0, 1


def segment_tiou(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """tIoU (P, G) between (P, 2) and (G, 2) [start, end] segments; 0 where both are empty."""
    inter = (
        torch.minimum(pred[:, None, 1], gt[None, :, 1])
        - torch.maximum(pred[:, None, 0], gt[None, :, 0])
    ).clamp_min(0)
    union = (pred[:, None, 1] - pred[:, None, 0]) + (gt[None, :, 1] - gt[None, :, 0]) - inter
    return torch.where(union > 0, inter / union.clamp_min(torch.finfo(union.dtype).tiny), 0.0)


def interpolated_ap(precision: torch.Tensor, recall: torch.Tensor) -> torch.Tensor:
    """Area under the all-point interpolated precision/recall curve (ActivityNet's)."""
    zero, one = precision.new_zeros(1), precision.new_ones(1)
    mprec = torch.cat([zero, precision, zero])
    mrec = torch.cat([zero, recall, one])
    mprec = mprec.flip(0).cummax(0).values.flip(0)
    # steps where recall does not change add zero area, so no need to select the changes
    return ((mrec[1:] - mrec[:-1]) * mprec[1:]).sum()


def detection_ap(preds: torch.Tensor, gts: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """AP of one class: preds (P, 5) [uid, class, start, end, conf], gts (G >= 1, 4) [uid, ...].

    Predictions are taken by confidence (stable for ties); each is a true positive when the
    unmatched ground truth of its sample with the highest tIoU reaches the threshold.
    """
    preds = preds[preds[:, 4].argsort(descending=True, stable=True)]
    tiou = segment_tiou(preds[:, 2:4], gts[:, 2:4])
    tiou = torch.where(preds[:, None, 0] == gts[None, :, 0], tiou, -1.0)
    matched = torch.zeros(len(gts), dtype=torch.bool, device=gts.device)
    hits = torch.zeros(len(preds), dtype=torch.bool, device=gts.device)
    for i, row in enumerate(tiou):
        free = row.masked_fill(matched, -1.0)
        best = free.argmax()
        if free[best] >= iou_threshold:
            hits[i] = True
            matched[best] = True
    true_pos = hits.double().cumsum(0)
    false_pos = (~hits).double().cumsum(0)
    recall = true_pos / len(gts)
    precision = true_pos / (true_pos + false_pos)
    return interpolated_ap(precision, recall)


class TemporalAP(Metric):
    """Detection AP of temporal segments per class at a tIoU threshold, and their mean (mAP).

    Matching needs every prediction and ground truth of a class at once, so segments are kept
    in "cat" list states as float64 rows: predictions (N, 5) [sample_uid, class, start, end,
    conf], ground truths (M, 4) [sample_uid, class, start, end]. A sample's uid is
    `rank + world_size * running count`, so uids stay unique after a DDP gather.
    As with every torchmetrics result, a one-element `per_class` (num_classes=1) comes back 0-dim.
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, num_classes: int, iou_threshold: float = 0.5, **kwargs) -> None:
        if num_classes < 1 or not 0.0 < iou_threshold <= 1.0:
            raise ValueError(
                f"need num_classes >= 1 and 0 < iou_threshold <= 1, got {num_classes}, "
                f"{iou_threshold}"
            )
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.iou_threshold = float(iou_threshold)
        self.samples_seen = 0
        self.add_state("preds", default=[], dist_reduce_fx="cat")
        self.add_state("gts", default=[], dist_reduce_fx="cat")

    def update(
        self,
        pred_segments: Sequence[Sequence[PredSegment]],
        gt_segments: Sequence[Sequence[GtSegment]],
    ) -> None:
        """Add each sample's predicted (class, start, end, conf) and true (class, start, end)."""
        if len(pred_segments) != len(gt_segments):
            raise ValueError(
                f"pred_segments has {len(pred_segments)} samples but gt_segments has "
                f"{len(gt_segments)}"
            )
        rank, world = _rank_and_world(self.process_group)
        uids = [rank + world * (self.samples_seen + i) for i in range(len(gt_segments))]
        self.samples_seen += len(gt_segments)
        self.preds.append(self._rows(pred_segments, uids, 4, "pred_segments"))
        self.gts.append(self._rows(gt_segments, uids, 3, "gt_segments"))

    def _rows(
        self, segments: Sequence[Sequence[tuple]], uids: list[int], width: int, name: str
    ) -> torch.Tensor:
        """Float64 rows [uid, *segment], checking each segment's length, class and span."""
        rows = []
        for uid, sample_segments in zip(uids, segments, strict=True):
            for j, segment in enumerate(sample_segments):
                where = f"{name} sample uid {uid} segment {j}"
                if len(segment) != width:
                    raise ValueError(f"{where}: expected {width} values, got {segment!r}")
                values = [float(v) for v in segment]
                if not all(map(math.isfinite, values)):
                    raise ValueError(f"{where}: values must be finite, got {segment!r}")
                cls, start, end = values[:3]
                if cls != int(cls) or not 0 <= cls < self.num_classes:
                    raise ValueError(
                        f"{where}: class must be in [0, {self.num_classes}), got {cls}"
                    )
                if start > end:
                    raise ValueError(f"{where}: needs start <= end, got {start}, {end}")
                rows.append([uid, *values])
        return torch.tensor(rows, dtype=torch.float64, device=self.device).reshape(-1, width + 1)

    def compute(self) -> dict[str, torch.Tensor]:
        """{"mAP": mean over classes with a ground truth, "per_class": (C,), NaN without gt}."""
        per_class = torch.full((self.num_classes,), float("nan"), device=self.device)
        if len(self.gts):
            preds, gts = dim_zero_cat(self.preds), dim_zero_cat(self.gts)
            for cls in gts[:, 1].unique().long().tolist():
                per_class[cls] = detection_ap(
                    preds[preds[:, 1] == cls], gts[gts[:, 1] == cls], self.iou_threshold
                )
        return {"mAP": per_class.nanmean(), "per_class": per_class}
