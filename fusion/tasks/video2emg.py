"""The Video->EMG LightningModule: envelope and left/right share losses, metrics, optimiser.

It receives the whole run config (a `Video2EMGRunConfig` as a plain dict) and builds the model
from it, so `Video2EMGTask.load_from_checkpoint(path)` needs nothing else. Test batches are
also kept as per-clip predictions (`predictions`), which the benchmark writes and plots.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from fusion.metrics.emg import EnvelopeMetrics
from fusion.models.video2emg import Video2EMGModel
from fusion.tasks.start import EncoderStart

LOSSES = {"mse": F.mse_loss, "l1": F.l1_loss}
PARTS = ("val", "test")


def clip_predictions(batch: dict[str, Any], out: dict[str, torch.Tensor]) -> list[dict[str, Any]]:
    """One record per clip: key, action, subject, times, true and predicted envelope (real rows)
    and the left/right shares, as numpy arrays."""
    records = []
    for row, key in enumerate(batch["key"]):
        real = batch["envelope_mask"][row]
        record = {
            "key": key,
            "action": batch["action"][row],
            "subject": batch["subject"][row],
            "times": batch["envelope_times"][row][real].cpu().numpy(),
            "target": batch["envelope"][row][real].float().cpu().numpy(),
            "envelope": out["envelope"][row][real].float().cpu().numpy(),
            "contribution_target": batch["contribution"][row].float().cpu().numpy(),
        }
        if "contribution" in out:
            record["contribution"] = out["contribution"][row].float().cpu().numpy()
        records.append(record)
    return records


class Video2EMGTask(EncoderStart):
    """Regress the normalised 16-channel envelope (and the pairs' left shares) from the inputs."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        task, model = config["task"], config["model"]
        if task["loss"] not in LOSSES:
            raise ValueError(f"task.loss {task['loss']!r}: expected one of {', '.join(LOSSES)}")
        if model["kind"] != "learned":
            raise ValueError(f"model.kind {model['kind']!r} is not trained; expected learned")
        self.save_hyperparameters({"config": config})
        self.config = config
        self.model = Video2EMGModel(
            model["modalities"],
            model["encoders"],
            model["dim"],
            model["channels"],
            model["pairs"],
            model["decoder_layers"],
            model["harmonics"],
            model["actions"] if model["templates"] else None,
        )
        self.loss_fn = LOSSES[task["loss"]]
        self.metrics = torch.nn.ModuleDict(
            {p: EnvelopeMetrics(model["channels"], model["pairs"]) for p in PARTS}
        )
        self.predictions: list[dict[str, Any]] = []

    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        return self.model(batch)

    def on_fit_start(self) -> None:
        """Start each exercise curve at the training clips' mean envelope (what `action_mean`
        predicts), so training begins at that baseline and learns how clips differ from it."""
        datamodule = getattr(self.trainer, "datamodule", None)
        if not self.model.actions or self.global_step > 0 or datamodule is None:
            return
        dataset = datamodule.dataset("train", evaluation=True)
        clips = [item for item in (dataset[i] for i in range(len(dataset))) if item is not None]
        self.model.init_curves(clips)

    def _losses(self, batch: dict[str, Any], out: dict[str, torch.Tensor]) -> dict[str, Any]:
        mask = batch["envelope_mask"]
        losses = {"envelope": self.loss_fn(out["envelope"][mask], batch["envelope"][mask].float())}
        total = losses["envelope"]
        task = self.config["task"]
        weight = task["contribution_weight"]
        if "contribution" in out and weight > 0:
            losses["contribution"] = F.mse_loss(out["contribution"], batch["contribution"].float())
            total = total + weight * losses["contribution"]
        if "action_logits" in out and task["action_weight"] > 0:
            rows = self.model.action_rows(batch["action"], out["action_logits"].device)
            if (rows >= 0).any():
                losses["action"] = F.cross_entropy(out["action_logits"], rows, ignore_index=-100)
                total = total + task["action_weight"] * losses["action"]
        losses["loss"] = total
        return losses

    def _log(self, part: str, losses: dict[str, torch.Tensor], size: int) -> None:
        for name, value in losses.items():
            key = f"{part}/loss" if name == "loss" else f"{part}/loss_{name}"
            self.log(key, value, batch_size=size, prog_bar=name == "loss", on_epoch=True)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        out = self(batch)
        losses = self._losses(batch, out)
        self._log("train", losses, len(batch["key"]))
        return losses["loss"]

    def _evaluate(self, part: str, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        out = self(batch)
        self._log(part, self._losses(batch, out), len(batch["key"]))
        shares = (out["contribution"], batch["contribution"]) if "contribution" in out else None
        self.metrics[part].update(
            out["envelope"], batch["envelope"].float(), batch["envelope_mask"], shares
        )
        return out

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._evaluate("val", batch)

    def on_test_epoch_start(self) -> None:
        self.predictions = []

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        out = self._evaluate("test", batch)
        self.predictions.extend(clip_predictions(batch, out))

    def _log_metrics(self, part: str) -> None:
        values = self.metrics[part].compute()
        for name in ("mae", "rmse", "r", "clip_r", "contribution_mae"):
            self.log(f"{part}/{name}", values[name], sync_dist=True)
        self.metrics[part].reset()

    def on_validation_epoch_end(self) -> None:
        self._log_metrics("val")

    def on_test_epoch_end(self) -> None:
        self._log_metrics("test")
