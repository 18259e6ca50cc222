"""Text export: the LM and tokenizer reload with from_pretrained; projector and backbone
weights are the checkpoint's; other formats are refused."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

from fusion.cli import main
from fusion.export.run import export
from fusion.tasks.text import TextTask


@pytest.fixture(scope="module")
def text_checkpoint(flex_root, text_config, tmp_path_factory):
    """A text task's checkpoint as Lightning writes it: its weights and its run config."""
    tmp = tmp_path_factory.mktemp("text-export")
    config = text_config(flex_root, tmp / "cache", "model.tunable_parts=[projector,lm]")
    torch.manual_seed(0)
    task = TextTask(config)
    path = tmp / "text.ckpt"
    torch.save({"state_dict": task.state_dict(), "hyper_parameters": {"config": config}}, path)
    return path, task


def test_the_lm_reloads_and_the_projector_weights_are_equal(text_checkpoint, tmp_path):
    path, task = text_checkpoint
    out = export(path, [], tmp_path / "text")
    meta = json.loads((out / "model.json").read_text())
    assert meta["task"] == "text" and meta["formats"] == ["safetensors"]
    lm = AutoModelForCausalLM.from_pretrained(out / "lm")
    tokenizer = AutoTokenizer.from_pretrained(out / "lm")
    ids = torch.tensor([tokenizer("squat knees inward")["input_ids"]])
    with torch.no_grad():
        torch.testing.assert_close(lm(ids).logits, task.model.lm(ids).logits)
    projector = load_file(out / "projector.safetensors")
    expected = task.model.projector.state_dict()
    assert projector.keys() == expected.keys()
    for name, value in expected.items():
        assert torch.equal(projector[name], value), name
    backbone = load_file(out / "backbone.safetensors")
    assert torch.equal(backbone["fuser.mlp.0.weight"], task.model.fuser.mlp[0].weight)


def test_torchscript_and_onnx_are_refused_for_a_text_model(text_checkpoint, tmp_path, capsys):
    path, _ = text_checkpoint
    args = ["export", str(path), "--format", "onnx", "--out", str(tmp_path / "t")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "exports as safetensors only" in err
    assert not (tmp_path / "t").exists()
