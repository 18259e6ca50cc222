"""Training throughput of a run config (`fusion bench train`): samples/s, step times, memory,
FLOPs per sample and, on a known GPU, the share of its dense bf16 peak.

The run's DataModule and task are built as `fusion train` builds them, then a Lightning
Trainer with the run's accelerator, devices, strategy, precision and gradient clipping makes
`warmup + steps` optimiser steps with no validation, checkpoint or logger. A callback times
every step (synchronising the GPU at both ends) and counts the FLOPs of the first warm-up step
with `torch.utils.flop_counter.FlopCounterMode`: forward and backward of one real batch, as the
Trainer runs it (the optimiser's element-wise update is not counted). The achieved TFLOP/s
are set against the device's dense bf16 peak whatever `trainer.precision` is; with several
devices, samples/s assume every rank trains a batch per step, as DDP does.
"""

from __future__ import annotations

import inspect
import resource
import sys
import time
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf
from torch.utils.flop_counter import FlopCounterMode

from fusion.config import ConfigError, TrainerConfig, to_container
from fusion.train import build_run

# Dense bf16 peak TFLOP/s per device, by a part of its CUDA name (first match wins, case
# ignored). H100 NVL and other names not listed report the peak as unknown.
PEAK_BF16_TFLOPS: tuple[tuple[str, float], ...] = (
    ("H100 PCIe", 756.0),
    ("H200", 989.4),
    ("H100 SXM", 989.4),
    ("H100 80GB HBM3", 989.4),  # how the SXM part names itself
    ("A100", 312.0),
)

# Trainer options the benchmark owns; the rest of the run's `trainer` group is kept.
BENCH_TRAINER = {
    "max_epochs": -1,
    "fast_dev_run": False,
    "limit_val_batches": 0,
    "num_sanity_val_steps": 0,
    "enable_checkpointing": False,
    "enable_model_summary": False,
    "logger": False,
}


def peak_tflops(device_name: str) -> float | None:
    """The device's dense bf16 peak from `PEAK_BF16_TFLOPS`; None when it is not listed."""
    for part, peak in PEAK_BF16_TFLOPS:
        if part.lower() in device_name.lower():
            return peak
    return None


class StepTimer(pl.Callback):
    """Wall time of every optimiser step (all its accumulated batches), split into the wait for
    the batches (loading, transfer, device-side preparation, the loop's bookkeeping) and the
    work on them (forward, backward, optimiser); FLOPs of the first step by FlopCounterMode."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.computes: list[float] = []
        self.samples: list[int] = []
        self.flops = 0
        self._wait = self._compute = 0.0
        self._seen = self._global_step = 0
        self._last = self._start = 0.0
        self._counter: FlopCounterMode | None = None

    def _now(self, trainer: pl.Trainer) -> float:
        if trainer.strategy.root_device.type == "cuda":
            torch.cuda.synchronize(trainer.strategy.root_device)
        return time.perf_counter()

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.strategy.root_device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(trainer.strategy.root_device)
        self._global_step = trainer.global_step
        self._last = self._now(trainer)

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if not self.waits and not self._seen:  # the first batch of the first step
            self._counter = FlopCounterMode(display=False)
            self._counter.__enter__()
        self._start = self._now(trainer)
        self._wait += self._start - self._last

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        self._last = self._now(trainer)
        self._compute += self._last - self._start
        self._seen += len(batch["key"])
        if trainer.global_step == self._global_step:
            return  # gradients accumulate; the optimiser has not stepped yet
        self._global_step = trainer.global_step
        if self._counter is not None:
            self._close_counter()
        self.waits.append(self._wait)
        self.computes.append(self._compute)
        self.samples.append(self._seen)
        self._wait = self._compute = 0.0
        self._seen = 0

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        if self._counter is not None:
            self._close_counter()

    def _close_counter(self) -> None:
        self._counter.__exit__(None, None, None)
        self.flops = self._counter.get_total_flops()
        self._counter = None


def bench_trainer(config: DictConfig, total_steps: int, timer: StepTimer) -> pl.Trainer:
    """A Trainer of the run's `trainer` options that stops after `total_steps` optimiser steps
    and validates, checkpoints and logs nothing. A `trainer` key that is no Trainer argument
    is refused unless it has its default (its effect would not be measured)."""
    accepted = inspect.signature(pl.Trainer.__init__).parameters
    defaults = to_container(OmegaConf.structured(TrainerConfig))
    options = {}
    for key, value in to_container(config.trainer).items():
        if key in accepted:
            if value is not None:
                options[key] = value
        elif value != defaults.get(key):
            raise ConfigError(f"trainer.{key}={value}: fusion bench train does not apply it")
    reload = 1 if config.data.balance == "two-step" else 0
    return pl.Trainer(
        **{**options, **BENCH_TRAINER},
        max_steps=total_steps,
        callbacks=[timer],
        reload_dataloaders_every_n_epochs=reload,
    )


def measure(
    config: DictConfig,
    datamodule: pl.LightningDataModule,
    task: pl.LightningModule,
    steps: int,
    warmup: int,
) -> dict[str, Any]:
    """Train `task` for `warmup` then `steps` optimiser steps and report the timed ones."""
    if steps < 1 or warmup < 1:
        raise ValueError(
            f"need steps >= 1 and warmup >= 1 (the first warm-up step counts FLOPs), "
            f"got steps={steps}, warmup={warmup}"
        )
    timer = StepTimer()
    trainer = bench_trainer(config, warmup + steps, timer)
    trainer.fit(task, datamodule=datamodule)
    if len(timer.waits) < warmup + steps:
        raise ValueError(
            f"the run stopped after {len(timer.waits)} of {warmup + steps} steps "
            "(trainer.limit_train_batches=0 or an empty training set?)"
        )
    device = trainer.strategy.root_device
    wait_s, compute_s = np.array(timer.waits[warmup:]), np.array(timer.computes[warmup:])
    step_s = wait_s + compute_s
    world = trainer.world_size
    samples = sum(timer.samples[warmup:]) * world  # every rank a batch per step
    timed_s = float(step_s.sum())
    samples_per_s = samples / timed_s
    flops_per_sample = timer.flops / timer.samples[0]
    achieved = flops_per_sample * samples_per_s / 1e12
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        memory = torch.cuda.max_memory_allocated(device) / 2**20
        memory_kind = "torch.cuda.max_memory_allocated"
        peak = peak_tflops(name)
    else:
        name = device.type
        # ru_maxrss is in KiB on Linux and in bytes on macOS.
        scale = 2**20 if sys.platform == "darwin" else 2**10
        memory = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale
        memory_kind = "peak RSS of the process (ru_maxrss)"
        peak = None
    parameters = list(task.parameters())
    return {
        "name": config.name,
        "task": config.task.kind,
        "modalities": list(config.model.modalities),
        "accelerator": device.type,
        "device": name,
        "world_size": world,
        "precision": str(trainer.precision),
        "batch_size": int(config.data.loader.batch_size),
        "parameters": sum(p.numel() for p in parameters),
        "trainable_parameters": sum(p.numel() for p in parameters if p.requires_grad),
        "warmup_steps": warmup,
        "steps_timed": len(step_s),
        "optimizer_steps": trainer.global_step,
        "samples_timed": samples,
        "timed_s": round(timed_s, 4),
        "samples_per_s": round(samples_per_s, 2),
        "step_ms_mean": round(float(step_s.mean()) * 1e3, 2),
        "step_ms_median": round(float(np.median(step_s)) * 1e3, 2),
        "step_ms_p90": round(float(np.percentile(step_s, 90)) * 1e3, 2),
        "data_wait_ms_mean": round(float(wait_s.mean()) * 1e3, 2),
        "compute_ms_mean": round(float(compute_s.mean()) * 1e3, 2),
        "data_wait_fraction": round(float(wait_s.sum()) / timed_s, 3),
        "peak_memory_mib": round(memory, 1),
        "peak_memory_kind": memory_kind,
        "flops_per_sample": int(flops_per_sample),
        "flops_samples": timer.samples[0],
        "achieved_tflops": float(f"{achieved:.4g}"),
        "peak_bf16_tflops": "unknown" if peak is None else peak,
        "peak_fraction": None if peak is None else round(achieved / (peak * world), 4),
    }


def bench_train(config: DictConfig, steps: int, warmup: int = 3) -> dict[str, Any]:
    """Build the run of `config` and measure `steps` training steps after `warmup`."""
    pl.seed_everything(config.seed, workers=True)
    return measure(config, *build_run(config), steps, warmup)
