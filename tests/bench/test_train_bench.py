"""`fusion bench train`: FLOPs per sample against an analytic count, the optimiser steps it
makes and times, the JSON it writes, and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from fusion.bench.train import measure, peak_tflops
from fusion.cli import main
from fusion.config import compose
from fusion.train import build_run

STEPS, WARMUP, BATCH = 3, 1, 2


def overrides(root: Path, tmp_path: Path, *extra: str) -> list[str]:
    """Physio only, no conv blocks, mean-pooled concat fusion, no deviation path: the only
    ops FlopCounterMode counts are the linear layers' matrix products. All 12 samples train,
    so every batch holds BATCH of them."""
    return [
        f"data.reader.root={root}",
        "data.reader.modalities=[physio]",
        f"data.cache.dir={tmp_path / 'cache'}",
        "data.cache.workers=1",
        "data.loader.num_workers=0",
        f"data.loader.batch_size={BATCH}",
        "data.split.protocol=random",
        "data.split.test_fraction=0",
        "data.split.val_fraction=0",
        "model.modalities=[physio]",
        "model.encoders.physio.layers=0",
        "model.fuser.name=concat",
        "model.fuser.bins=0",
        "model.head.deviation=false",
        "model.dim=16",
        "trainer.enable_progress_bar=false",
        *extra,
    ]


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """One cache folder for every run of the module (built by the first)."""
    return tmp_path_factory.mktemp("bench-train")


@pytest.fixture(scope="module")
def bench(flex_root, cache):
    """A measured run, with every linear layer's calls of the first (FLOP-counted) step."""
    config = compose(None, overrides(flex_root, cache))
    datamodule, task = build_run(config)
    calls: list[tuple[torch.Size, int, bool, bool]] = []

    def record(module: nn.Linear, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        if task.trainer.global_step == 0:
            x, weight = inputs[0], module.weight
            calls.append((x.shape, module.out_features, x.requires_grad, weight.requires_grad))

    for module in task.modules():
        if isinstance(module, nn.Linear):
            module.register_forward_hook(record)
    result = measure(config, datamodule, task, STEPS, WARMUP)
    return result, task, calls


def test_flops_per_sample_equal_the_linear_layers_matrix_products(bench):
    result, task, calls = bench
    assert not any(isinstance(m, nn.modules.conv._ConvNd) for m in task.modules())
    total = 0
    for shape, out_features, input_grad, weight_grad in calls:
        forward = 2 * shape[:-1].numel() * shape[-1] * out_features
        # Backward: one product for the weight's gradient, one for the input's when it has one
        # (the first layer's input is data, so it has none).
        total += forward * (1 + int(weight_grad) + int(input_grad))
    assert any(not input_grad for _, _, input_grad, _ in calls)
    assert result["flops_samples"] == BATCH
    assert result["flops_per_sample"] == total // BATCH


def test_it_makes_warmup_plus_steps_optimiser_steps_and_times_the_last(bench):
    result, task, _ = bench
    optimizer = task.trainer.optimizers[0]
    made = {int(state["step"]) for state in optimizer.state.values()}
    assert made == {WARMUP + STEPS}
    assert result["optimizer_steps"] == WARMUP + STEPS
    assert result["steps_timed"] == STEPS
    assert result["samples_timed"] == STEPS * BATCH
    assert result["timed_s"] > 0 and result["samples_per_s"] > 0
    rate = STEPS * BATCH / result["timed_s"]
    assert result["samples_per_s"] == pytest.approx(rate, rel=0.01)
    assert result["step_ms_mean"] * STEPS == pytest.approx(result["timed_s"] * 1e3, rel=0.01)
    parts = result["data_wait_ms_mean"] + result["compute_ms_mean"]
    assert parts == pytest.approx(result["step_ms_mean"], abs=0.02)
    assert result["step_ms_median"] <= result["step_ms_p90"]
    assert result["peak_memory_mib"] > 0
    assert result["accelerator"] == "cpu" and result["peak_bf16_tflops"] == "unknown"
    assert result["peak_fraction"] is None


def test_the_cli_groups_accumulated_batches_into_a_step_and_writes_json(
    flex_root, cache, tmp_path, capsys
):
    out = tmp_path / "bench" / "train.json"
    extra = ("trainer.accumulate_grad_batches=2",)
    args = ["bench", "train", *overrides(flex_root, cache, *extra), "--steps", "2"]
    assert main([*args, "--warmup", "1", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["optimizer_steps"] == 3 and result["steps_timed"] == 2
    assert result["samples_timed"] == 2 * 2 * BATCH
    assert result["overrides"][-1] == extra[0]
    assert not list(out.parent.glob(".*.tmp"))
    assert "samples_per_s" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "flags", "message"),
    [
        (("model.nope=1",), (), "model.nope"),
        (("trainer.compile=true",), (), "trainer.compile"),
        ((), ("--warmup", "0"), "warmup >= 1"),
    ],
)
def test_the_cli_refuses_a_bad_config_with_exit_2(
    flex_root, cache, tmp_path, capsys, extra, flags, message
):
    out = tmp_path / "train.json"
    args = ["bench", "train", *overrides(flex_root, cache, *extra), "--steps", "1", *flags]
    assert main([*args, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_peak_tflops_by_device_name():
    assert peak_tflops("NVIDIA H100 80GB HBM3") == 989.4
    assert peak_tflops("NVIDIA H200") == 989.4
    assert peak_tflops("NVIDIA H100 PCIe") == 756.0
    assert peak_tflops("NVIDIA A100-SXM4-80GB") == 312.0
    assert peak_tflops("NVIDIA H100 NVL") is None
    assert peak_tflops("NVIDIA GeForce RTX 4090") is None
