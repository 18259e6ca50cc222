"""Video->EMG export: the envelope from TorchScript, ONNX Runtime and the safetensors rebuild
equals the eager model's, with a modality passed all-False equal to it left out."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch
from omegaconf import OmegaConf

from fusion.config import Video2EMGRunConfig, to_container
from fusion.export.run import export, load_exported
from fusion.export.signature import example_inputs
from fusion.tasks.video2emg import Video2EMGTask


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A pose + physio Video->EMG task saved as Lightning saves it, exported in every format."""
    config = OmegaConf.structured(Video2EMGRunConfig)
    config.model.modalities = ["physio", "pose"]
    config.model.encoders = {"pose": {"name": "pose", "dim": 16, "layers": 1},
                             "physio": {"name": "physio", "dim": 8, "layers": 1}}  # fmt: skip
    config.model.dim = 16
    config.model.actions = ["squat", "deadlift", "curl"]
    config = to_container(config)
    torch.manual_seed(0)
    task = Video2EMGTask(config)
    with torch.no_grad():
        task.model.curves.normal_()  # non-zero exercise curves, so their mixture is tested
    tmp = tmp_path_factory.mktemp("v2e")
    path = tmp / "best.ckpt"
    torch.save({"state_dict": task.state_dict(), "hyper_parameters": {"config": config}}, path)
    return export(path, ["torchscript", "onnx", "safetensors"], tmp / "out"), task.model.eval()


@pytest.mark.parametrize(("batch", "rows"), [(1, 25), (4, 33)])
def test_every_format_predicts_the_eager_envelope(exported, batch, rows):
    folder, model = exported
    wrapper = load_exported(folder)
    sizes = {"batch": batch, "pose_rows": rows, "physio_rows": rows // 3, "envelope_rows": rows}
    inputs = example_inputs(wrapper.inputs, seed=batch, sizes=sizes)
    names = [s.name for s in wrapper.inputs]
    inputs[names.index("physio_mask")][0] = False  # the first sample lacks physio
    keep = {n: t for n, t in zip(names, inputs, strict=True)}
    batch_dicts = [{k: v[i : i + 1] for k, v in keep.items()} for i in range(batch)]
    batch_dicts[0] = {k: v for k, v in batch_dicts[0].items() if not k.startswith("physio")}
    with torch.no_grad():
        reference = torch.cat([model(b)["envelope"] for b in batch_dicts])
        outputs = [s.name for s in wrapper.outputs]
        eager = wrapper(*inputs)[0]
        traced = torch.jit.load(str(folder / "model.pt"))(*inputs)[0]
    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    onnx = session.run(outputs, {n: t.numpy() for n, t in zip(names, inputs, strict=True)})[0]
    assert outputs == ["envelope", "contribution", "action_logits"]
    assert reference.shape == (batch, rows, 16) and reference.abs().max() > 0
    for got in (eager.numpy(), traced.numpy(), onnx):
        np.testing.assert_allclose(got, reference.numpy(), atol=1e-4)
