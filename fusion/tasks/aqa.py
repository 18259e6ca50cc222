"""The AQA LightningModule: losses, metrics and optimiser around `AQAModel`; no architecture.

It receives the whole run config as a plain dict and builds everything from it, so
`AQATask.load_from_checkpoint(path)` needs no other argument.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import torch
import torch.nn.functional as F

from fusion.constants import IGNORE_INDEX
from fusion.fkg.graph import FitnessKnowledgeGraph
from fusion.fkg.loader import FKGError, load_fkg
from fusion.heads.aqa import SCORE_SPREAD
from fusion.metrics.errors import (
    ActionAccuracy,
    ErrorAP,
    ErrorF1,
    best_on_grid,
    best_threshold,
    named_per_error,
)
from fusion.metrics.gather import gather_rows
from fusion.metrics.regression import RelativeL2, ScoreMAE, SpearmanRho
from fusion.metrics.temporal import TemporalAP, spans_from_frame_probs
from fusion.models.aqa import AQAModel
from fusion.readout import merge_clips
from fusion.tasks.parts import PartsTask
from fusion.tasks.start import EncoderStart

PARTS = ("val", "test")
SCORE_LOSSES = ("mse", "huber")


def error_name_table(fkg: FitnessKnowledgeGraph, max_errors: int) -> tuple[list[str], torch.Tensor]:
    """Sorted error names of the FKG and, per (action, slot), the index of its name (0 pads)."""
    names = sorted({e.name for e in fkg.iter_errors()})
    table = torch.zeros(len(fkg.action_ids), max_errors, dtype=torch.long)
    for row, action_id in enumerate(fkg.action_ids):
        for slot, error in enumerate(fkg.action(action_id).errors):
            table[row, slot] = names.index(error.name)
    return names, table


def frame_targets(
    spans: torch.Tensor, errors: torch.Tensor, labelled: torch.Tensor, centres: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-bin 0/1 targets (B, K, E) from spans, and where they are known.

    A labelled negative is 0 in every bin; a positive with a span is 1 inside it; a positive
    without a span says nothing per bin.
    """
    c = centres.unsqueeze(-1)
    start, end = spans[..., 0].unsqueeze(1), spans[..., 1].unsqueeze(1)
    inside = (c >= start) & (c < end)
    has_span = torch.isfinite(spans).all(-1)
    known = labelled & ((errors < 0.5) | has_span)
    return inside.float(), known.unsqueeze(1).expand_as(inside)


class AQATask(EncoderStart, PartsTask):
    """Multi-task AQA: action, errors, error spans, direct and FKG scores."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.fkg: FitnessKnowledgeGraph = load_fkg(config["task"].get("fkg"))
        trained_with = config.setdefault("fkg_sha256", self.fkg.sha256)
        if trained_with != self.fkg.sha256:
            raise FKGError(
                self.fkg.source,
                [
                    f"{self.fkg.source}: the checkpoint was trained with FKG "
                    f"{trained_with[:12]}, but this file is {self.fkg.sha256[:12]}; "
                    "pass the FKG it was trained with (task.fkg)"
                ],
            )
        score_loss = config["task"].get("score_loss", "mse")
        if score_loss not in SCORE_LOSSES:
            raise ValueError(
                f"task.score_loss: unknown {score_loss!r}; known: {', '.join(SCORE_LOSSES)}"
            )
        delta = float(config["task"].get("huber_delta", 1.0))
        if not delta > 0:
            raise ValueError(f"task.huber_delta: must be > 0, got {delta}")
        # None: the MSE; otherwise the Huber loss's delta, in score spreads.
        self.huber_delta = delta if score_loss == "huber" else None
        self.save_hyperparameters({"config": config})
        self.config = config
        table, self.error_ids = self.fkg.weight_table()
        names, slot_names = error_name_table(self.fkg, table.shape[1])
        model = config["model"]
        self.model = AQAModel(
            modalities=model["modalities"],
            encoders=model["encoders"],
            fuser=model["fuser"],
            head=model["head"],
            dim=model["dim"],
            weight_table=torch.from_numpy(table),
            slot_names=slot_names,
            num_names=len(names),
        )
        self.num_actions, self.max_errors = table.shape
        self.metrics = torch.nn.ModuleDict({part: self._metrics() for part in PARTS})
        # A configured threshold is used as is; None tunes it on each validation epoch. It is
        # a buffer so the best checkpoint keeps the threshold tuned with its weights.
        fixed = config["task"]["error_threshold"]
        self.register_buffer("threshold", torch.tensor(0.5 if fixed is None else float(fixed)))
        # Spans come from the per-bin probabilities, which sit lower than the whole-clip ones:
        # their threshold is tuned on validation temporal mAP, on its own.
        fixed = config["task"].get("span_threshold")
        self.register_buffer("span_cut", torch.tensor(0.5 if fixed is None else float(fixed)))
        self._outputs: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def _metrics(self) -> torch.nn.ModuleDict:
        # Updated at epoch end from every rank's rows (`predictions`): no sync of their own.
        local = {"sync_on_compute": False}
        return torch.nn.ModuleDict(
            {
                "rho": SpearmanRho(**local),
                "rho_fkg": SpearmanRho(**local),
                "rl2": RelativeL2(**local),
                "rl2_fkg": RelativeL2(**local),
                "mae": ScoreMAE(**local),
                "action_acc": ActionAccuracy(ignore_index=IGNORE_INDEX, **local),
                "error_f1": ErrorF1(self.max_errors, num_groups=self.num_actions, **local),
                "error_ap": ErrorAP(self.max_errors, num_groups=self.num_actions, **local),
                "temporal_ap": TemporalAP(self.num_actions * self.max_errors, **local),
            }
        )

    @property
    def error_threshold(self) -> float:
        """Probability above which an error counts as present in a repetition."""
        return float(self.threshold)

    @property
    def span_threshold(self) -> float:
        """Per-bin probability above which a time bin belongs to an error's predicted span."""
        return float(self.span_cut)

    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Predictions with the predicted action choosing the FKG rows (inference)."""
        return self.model(batch)

    def _teacher_action(self, batch: dict[str, Any]) -> torch.Tensor | None:
        action = batch.get("action")
        if action is None or (action == IGNORE_INDEX).any():
            return None
        return action

    def losses(
        self, out: dict[str, torch.Tensor], batch: dict[str, Any]
    ) -> dict[str, torch.Tensor]:
        """Each loss term (masked to what is labelled) and their weighted sum."""
        weights = self.config["task"]["loss"]
        zero = out["score"].sum() * 0.0
        terms: dict[str, torch.Tensor] = {}
        action = batch["action"]
        terms["action"] = (
            F.cross_entropy(out["action_logits"], action, ignore_index=IGNORE_INDEX)
            if (action != IGNORE_INDEX).any()
            else zero
        )
        labelled = batch["errors_mask"] & out["error_valid"]
        terms["errors"] = _masked_bce(
            out["error_logits"],
            batch["errors"],
            labelled,
            zero,
            pos_weight=self.config["task"].get("error_pos_weight", 1.0),
        )
        targets, known = frame_targets(
            batch["error_spans"], batch["errors"], labelled, out["bin_times"]
        )
        terms["frames"] = _masked_bce(out["frame_logits"], targets, known, zero)
        scored = batch["score_mask"]
        target = torch.nan_to_num(batch["score"]) / SCORE_SPREAD
        # In units of the score spread: an MSE on score / 100 is ~100x smaller than the
        # cross-entropies and barely trains.
        direct = out["score_unclamped"] / SCORE_SPREAD
        terms["score"] = _masked_regression(direct, target, scored, zero, self.huber_delta)
        fkg = out["fkg_score"] / SCORE_SPREAD
        terms["fkg_score"] = _masked_regression(fkg, target, scored, zero, self.huber_delta)
        terms["total"] = sum(weights[name] * terms[name] for name in weights)
        return terms

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        out = self.model(batch, self._teacher_action(batch))
        terms = self.losses(out, batch)
        size = len(batch["score"])
        for name, value in terms.items():
            self.log(f"train/{name}", value, batch_size=size, prog_bar=name == "total")
        return terms["total"]

    def _eval_step(self, part: str, batch: dict[str, Any]) -> None:
        out = self.model(batch)
        terms = self.losses(out, batch)
        self.log(f"{part}/loss", terms["total"], batch_size=len(batch["score"]), sync_dist=True)
        for i, key in enumerate(batch["key"]):
            self._outputs[part].append(
                {
                    "key": key,
                    "action": batch["action"][i],
                    "score": batch["score"][i],
                    "score_mask": batch["score_mask"][i],
                    "errors": batch["errors"][i],
                    "errors_mask": batch["errors_mask"][i] & out["error_valid"][i],
                    "error_spans": batch["error_spans"][i],
                    "action_logits": out["action_logits"][i],
                    "action_used": out["action_used"][i],
                    "pred_score": out["score"][i],
                    "fkg_score": out["fkg_score"][i],
                    "error_probs": torch.sigmoid(out["error_logits"][i]),
                    "frame_probs": torch.sigmoid(out["frame_logits"][i]),
                    "bin_times": out["bin_times"][i],
                    "bin_width": out["bin_width"][i],
                }
            )

    def predictions(self, part: str) -> list[dict[str, Any]]:
        """Per-sample predictions of the last epoch of `part` on every rank, clips averaged
        per key (under DDP the padded repeats of a distributed sampler count again)."""
        grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in gather_rows(self._outputs[part], self.device):
            grouped[row["key"]].append(row)
        return [merge_clips(rows) for rows in grouped.values()]

    def _epoch_end(self, part: str) -> None:
        rows = self.predictions(part)
        self._outputs[part] = []
        if not rows:
            return
        self.last_predictions = rows
        metrics = self.metrics[part]
        stack = {
            name: torch.stack([r[name] for r in rows])
            for name, value in rows[0].items()
            if isinstance(value, torch.Tensor)
        }
        mask = stack["score_mask"]
        for name, preds in (("rho", "pred_score"), ("rho_fkg", "fkg_score")):
            metrics[name].update(stack[preds], stack["score"], mask)
        metrics["rl2"].update(stack["pred_score"], stack["score"], mask)
        metrics["rl2_fkg"].update(stack["fkg_score"], stack["score"], mask)
        metrics["mae"].update(stack["pred_score"], stack["score"], mask)
        metrics["action_acc"].update(stack["action_logits"], stack["action"])
        group = stack["action_used"]
        if part == "val" and self.config["task"]["error_threshold"] is None:
            self.threshold.fill_(
                best_threshold(
                    stack["error_probs"],
                    stack["errors"],
                    stack["errors_mask"],
                    group,
                    self.num_actions,
                )
            )
        metrics["error_f1"].threshold = self.error_threshold
        for name in ("error_f1", "error_ap"):
            metrics[name].update(stack["error_probs"], stack["errors"], stack["errors_mask"], group)
        if part == "val" and self.config["task"].get("span_threshold") is None:
            self.span_cut.fill_(self._best_span_threshold(rows))
        preds, truth = self._segments(rows, self.span_threshold)
        metrics["temporal_ap"].update(preds, truth)
        self.log(f"{part}/threshold", self.threshold, sync_dist=True)
        self.log(f"{part}/span_threshold", self.span_cut, sync_dist=True)
        for name, metric in metrics.items():
            value = metric.compute()
            if name == "error_f1":
                per_error = named_per_error(self.fkg, "f1", value["per_error"])
            elif name == "temporal_ap":
                table = value["per_class"].view(self.num_actions, self.max_errors)
                per_error = named_per_error(self.fkg, "ap", table)
            else:
                per_error = {}
            for key, cell in per_error.items():
                self.log(f"{part}/{key}", cell, sync_dist=True)
            if isinstance(value, dict):
                value = value["macro"] if "macro" in value else value["mAP"]
            self.log(f"{part}/{name}", value, prog_bar=name in {"rho", "error_f1"}, sync_dist=True)
            metric.reset()

    def _best_span_threshold(self, rows: list[dict[str, Any]]) -> float:
        """The span threshold with the best temporal mAP on these rows."""

        def temporal_map(threshold: float) -> float:
            metric = TemporalAP(self.num_actions * self.max_errors)
            metric.update(*self._segments(rows, threshold))
            return float(metric.compute()["mAP"])

        return best_on_grid(temporal_map)

    def _segments(self, rows: list[dict[str, Any]], threshold: float) -> tuple[list, list]:
        """Predicted and true error segments per sample; class = action * E + slot."""
        preds, truth = [], []
        for row in rows:
            base = int(row["action_used"]) * self.max_errors
            spans = spans_from_frame_probs(
                row["frame_probs"], row["bin_times"] - row["bin_width"] / 2, threshold
            )
            preds.append([(base + c, s, e, conf) for c, s, e, conf in spans])
            gt = []
            if int(row["action"]) >= 0:
                true_base = int(row["action"]) * self.max_errors
                for slot in range(self.max_errors):
                    span = row["error_spans"][slot]
                    if row["errors"][slot] > 0.5 and torch.isfinite(span).all():
                        gt.append((true_base + slot, float(span[0]), float(span[1])))
            truth.append(gt)
        return preds, truth


def _masked_bce(
    logits: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    zero: torch.Tensor,
    pos_weight: float = 1.0,
) -> torch.Tensor:
    if not mask.any():
        return zero
    weight = torch.tensor(pos_weight, dtype=logits.dtype, device=logits.device)
    return F.binary_cross_entropy_with_logits(logits[mask], target[mask], pos_weight=weight)


def _masked_regression(
    pred: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    zero: torch.Tensor,
    huber_delta: float | None = None,
) -> torch.Tensor:
    """MSE over the labelled entries, or the Huber loss (quadratic within `huber_delta`)."""
    if not mask.any():
        return zero
    if huber_delta is None:
        return F.mse_loss(pred[mask], target[mask])
    return F.huber_loss(pred[mask], target[mask], delta=huber_delta)
