"""Plain `nn.Module`s around the trained models: positional tensors in, a tuple of tensors out.

A batch dict cannot cross TorchScript or ONNX, so each wrapper takes every modality's
(values, mask, times) in its `inputs` order, rebuilds the dict the model reads and returns the
model's outputs in its `outputs` order. A modality a sample lacks is passed with an all-False
mask (any values): the model treats it exactly as one left out of the batch.
"""

from __future__ import annotations

import torch
from torch import nn

from fusion.export.signature import TensorSpec, model_inputs
from fusion.models.aqa import AQAModel
from fusion.models.video2emg import Video2EMGModel

AQA_OUTPUTS: tuple[TensorSpec, ...] = (
    TensorSpec("action_logits", "float32", ("batch", "actions"), "exercise logits (FKG order)"),
    TensorSpec("action_used", "int64", ("batch",), "the action whose FKG rows were read"),
    TensorSpec("error_logits", "float32", ("batch", "slots"), "per error slot of action_used"),
    TensorSpec("error_probs", "float32", ("batch", "slots"), "sigmoid(error_logits)"),
    TensorSpec("error_valid", "bool", ("batch", "slots"), "the slot holds an error of the action"),
    TensorSpec("frame_logits", "float32", ("batch", "time_bins", "slots"), "per time bin"),
    TensorSpec("frame_probs", "float32", ("batch", "time_bins", "slots"), "sigmoid(frame_logits)"),
    TensorSpec("bin_times", "float32", ("batch", "time_bins"), "centre of each time bin (s)"),
    TensorSpec("bin_width", "float32", ("batch",), "width of the time bins (s)"),
    TensorSpec("score", "float32", ("batch",), "direct score, clamped to 0-100"),
    TensorSpec("score_unclamped", "float32", ("batch",), "direct score before clamping"),
    TensorSpec("fkg_score", "float32", ("batch",), "100 (1 - sum p w / sum w) of action_used"),
    TensorSpec(
        "fkg_points_lost",
        "float32",
        ("batch", "slots"),
        "100 p w / sum w per slot: fkg_score = 100 - their sum",
    ),  # fmt: skip
)


class AQAExport(nn.Module):
    """(values, mask, times per modality..., action) -> the AQA head's outputs as a tuple.

    `action` (B,) int64 picks the FKG rows as in training; -1 uses the predicted action, which
    is what `AQATask.forward` does at inference.
    """

    def __init__(self, model: AQAModel, image_size: int | None) -> None:
        super().__init__()
        self.model = model.eval()
        self.modalities = model.modalities
        action = TensorSpec("action", "int64", ("batch",), "action row to score as; -1: predicted")
        self.inputs = (*model_inputs(model.modalities, model.encoders, image_size), action)
        self.outputs = AQA_OUTPUTS

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        batch = _batch(self.modalities, inputs)
        action = inputs[-1]
        encoded = self.model.encode(batch)
        fused = self.model.fuser(encoded)
        head = self.model.head
        predicted = head.action(fused.pooled).argmax(-1)
        chosen = torch.where(action >= 0, action, predicted)
        out = head(fused.pooled, fused.tokens, chosen, encoded, fused.present)
        out["error_probs"] = torch.sigmoid(out["error_logits"])
        out["frame_probs"] = torch.sigmoid(out["frame_logits"])
        weights = head.weights[out["action_used"]]
        total = weights.sum(-1, keepdim=True)
        out["fkg_points_lost"] = 100.0 * out["error_probs"] * weights / total.clamp_min(1e-12)
        return tuple(out[spec.name] for spec in self.outputs)


class Video2EMGExport(nn.Module):
    """(values, mask, times per modality..., envelope_times, envelope_mask) -> envelope, ...."""

    def __init__(self, model: Video2EMGModel, image_size: int | None) -> None:
        super().__init__()
        self.model = model.eval()
        self.modalities = model.modalities
        self.inputs = (
            *model_inputs(model.modalities, model.encoders, image_size),
            TensorSpec(
                "envelope_times",
                "float32",
                ("batch", "envelope_rows"),
                "times (s) the envelope is predicted at",
            ),  # fmt: skip
            TensorSpec("envelope_mask", "bool", ("batch", "envelope_rows"), "True: a real row"),
        )
        channels = model.head.envelope.out_features
        outputs = [
            TensorSpec(
                "envelope",
                "float32",
                ("batch", "envelope_rows", channels),
                "normalised envelope per channel (EMG_CHANNELS order)",
            ),  # fmt: skip
        ]
        if model.head.contribution is not None:
            pairs = model.head.contribution.out_features
            outputs.append(
                TensorSpec("contribution", "float32", ("batch", pairs), "left share per muscle")
            )
        if model.actions:
            outputs.append(
                TensorSpec(
                    "action_logits",
                    "float32",
                    ("batch", len(model.actions)),
                    "recognised exercise (model.json video2emg.actions order)",
                )  # fmt: skip
            )
        self.outputs = tuple(outputs)

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        batch = _batch(self.modalities, inputs)
        batch["envelope_times"], batch["envelope_mask"] = inputs[-2], inputs[-1]
        out = self.model(batch)
        return tuple(out[spec.name] for spec in self.outputs)


def _batch(modalities: tuple[str, ...], inputs: tuple[torch.Tensor, ...]) -> dict:
    """The batch dict of the positional (values, mask, times) triples, in modality order."""
    batch = {}
    for i, modality in enumerate(modalities):
        values, mask, times = inputs[3 * i : 3 * i + 3]
        batch[modality], batch[f"{modality}_mask"], batch[f"{modality}_times"] = values, mask, times
    return batch
