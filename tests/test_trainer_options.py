"""The trainer presets under configs/trainer/, and the options fusion adds to Lightning's."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch

from fusion.config import compose
from fusion.train import build_run, train


def test_every_trainer_preset_composes():
    for preset, (accelerator, strategy) in {
        "cpu": ("cpu", "auto"),
        "cpu-ddp": ("cpu", "ddp"),
        "gpu": ("gpu", "auto"),
        "ddp": ("gpu", "ddp"),
        "fsdp": ("gpu", "fsdp"),
    }.items():
        trainer = compose(None, [f"trainer={preset}"]).trainer
        assert (trainer.accelerator, trainer.strategy) == (accelerator, strategy), preset
        assert trainer.max_epochs == 12
    assert compose(None, ["trainer=ddp"]).trainer.precision == "bf16-mixed"


@pytest.mark.slow
def test_a_compiled_model_predicts_as_the_eager_one(tmp_path, flex_root, fast_dev):
    outputs = []
    for compiled in ("false", "true"):
        extra = ["model.modalities=[pose,emg]", f"trainer.compile={compiled}"]
        config = compose(None, [*fast_dev(flex_root, tmp_path)[:-1], *extra])
        pl.seed_everything(0)
        datamodule, task = build_run(config)
        datamodule.setup()
        batch = datamodule.prepare_batch(next(iter(datamodule.val_dataloader())), training=False)
        with torch.no_grad():
            outputs.append(task.eval().model(batch))
    for name in ("score", "fkg_score", "error_logits"):
        assert torch.allclose(outputs[0][name], outputs[1][name], atol=1e-4), name


def test_accumulation_steps_the_optimiser_every_n_batches_under_bf16_autocast(
    tmp_path, flex_root, short_run
):
    steps = {}
    for every in (1, 2):
        extra = [
            "model.modalities=[pose,emg]",
            "data.loader.batch_size=2",
            "trainer.limit_train_batches=4",
            "trainer.limit_val_batches=1",
            "trainer.precision=bf16-mixed",
            f"trainer.accumulate_grad_batches={every}",
        ]
        config = compose(None, [*short_run(flex_root, tmp_path / str(every)), *extra])
        folder, metrics = train(config)
        assert torch.isfinite(torch.tensor(metrics["test/loss"]))
        last = torch.load(folder / "checkpoints" / "last.ckpt", weights_only=True)
        assert last["hyper_parameters"]["config"]["trainer"]["precision"] == "bf16-mixed"
        steps[every] = last["global_step"]
    assert steps == {1: 4, 2: 2}
