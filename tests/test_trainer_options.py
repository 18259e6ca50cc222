"""The trainer presets under configs/trainer/, and the options fusion adds to Lightning's."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch

from fusion.config import compose
from fusion.train import build_run


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
