"""Exporting a text (LMM) model: the LM and tokenizer through `save_pretrained`, the projector
and the encoders + fuser through safetensors.

Answers come from `generate`, a loop over the LM with a growing cache, so there is no single
graph to trace: TorchScript and ONNX are refused. `from_pretrained` reloads the LM folder (its
LoRA adapters, with peft, when the run trained adapters).
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from fusion.export.formats import write_safetensors
from fusion.models.text import TextModel

TEXT_FORMATS: tuple[str, ...] = ("safetensors",)
TEXT_FILES: dict[str, str] = {
    "lm": "lm",
    "projector": "projector.safetensors",
    "backbone": "backbone.safetensors",
}


def write_text_model(model: TextModel, folder: Path) -> dict[str, str]:
    """Write the three parts into `folder`; returns {part: file name}."""
    model.save_language_model(folder / TEXT_FILES["lm"])
    write_safetensors(model.projector, folder / TEXT_FILES["projector"])
    backbone = nn.ModuleDict({"encoders": model.encoders, "fuser": model.fuser})
    write_safetensors(backbone, folder / TEXT_FILES["backbone"])
    return dict(TEXT_FILES)
