"""AQA export: eager, TorchScript, ONNX Runtime and the safetensors rebuild agree, missing
modalities behave as left out, and model.json says what the artifact needs."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest
import torch

from fusion.export.checkpoint import build_task, read_checkpoint
from fusion.export.run import export, load_exported
from fusion.export.signature import example_inputs

# (batch size, rows, modalities passed with all-False masks)
CASES = [
    (1, {"pose_rows": 31, "emg_rows": 700, "physio_rows": 9}, ("emg",)),
    (3, {"pose_rows": 40, "emg_rows": 512, "physio_rows": 14}, ("video", "physio")),
]


@pytest.fixture(scope="module")
def exported(aqa_checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "aqa"
    return export(aqa_checkpoint, ["torchscript", "onnx", "safetensors"], out)


@pytest.fixture(scope="module")
def eager(aqa_checkpoint):
    return build_task(read_checkpoint(aqa_checkpoint)).model


def _inputs(wrapper, batch: int, sizes: dict, masked: tuple[str, ...], seed: int):
    """Random inputs with `masked` modalities all-False, and the last sample's signal rows
    partly padding; also the batch dict the eager model reads, without the masked ones."""
    tensors = list(example_inputs(wrapper.inputs, seed=seed, sizes={"batch": batch, **sizes}))
    names = [spec.name for spec in wrapper.inputs]
    for modality in wrapper.modalities:
        mask = tensors[names.index(f"{modality}_mask")]
        if modality in masked:
            mask.zero_()
        elif modality != "video":
            mask[-1, mask.shape[1] // 2 :] = False
    batch_dict = {
        name: t
        for name, t in zip(names, tensors, strict=True)
        if name != "action" and name.split("_")[0] not in masked
    }
    return tuple(tensors), batch_dict


@pytest.mark.parametrize(("batch", "sizes", "masked"), CASES)
def test_torchscript_onnx_and_safetensors_match_the_eager_model(
    exported, eager, batch, sizes, masked
):
    rebuilt = load_exported(exported)
    scripted = torch.jit.load(str(exported / "model.pt"))
    session = ort.InferenceSession(str(exported / "model.onnx"), providers=["CPUExecutionProvider"])
    inputs, batch_dict = _inputs(rebuilt, batch, sizes, masked, seed=batch)
    names = [spec.name for spec in rebuilt.outputs]
    with torch.no_grad():
        reference = eager(batch_dict)  # the masked modalities left out of the batch dict
        ours = dict(zip(names, rebuilt(*inputs), strict=True))
        traced = dict(zip(names, scripted(*inputs), strict=True))
    feed = {spec.name: t.numpy() for spec, t in zip(rebuilt.inputs, inputs, strict=True)}
    onnx = dict(zip(names, session.run(names, feed), strict=True))
    assert reference["score"].shape == (batch,)
    for name, value in reference.items():
        expected = value.float().numpy()
        for got in (ours[name], traced[name], torch.from_numpy(onnx[name])):
            np.testing.assert_allclose(got.float().numpy(), expected, atol=1e-4, err_msg=name)
    points = ours["fkg_points_lost"].sum(-1)
    torch.testing.assert_close(points, 100.0 - ours["fkg_score"], atol=1e-3, rtol=0)


def test_a_given_action_picks_its_rows_and_minus_one_the_predicted(exported, eager):
    wrapper = load_exported(exported)
    inputs, batch_dict = _inputs(wrapper, 2, {}, (), seed=5)
    action = torch.tensor([3, -1])
    with torch.no_grad():
        out = dict(
            zip([s.name for s in wrapper.outputs], wrapper(*inputs[:-1], action), strict=True)
        )
        teacher = eager(batch_dict, torch.tensor([3, 3]))
        predicted = eager(batch_dict)
    assert out["action_used"].tolist() == [3, int(predicted["action_used"][1])]
    torch.testing.assert_close(out["error_logits"][0], teacher["error_logits"][0])
    torch.testing.assert_close(out["error_logits"][1], predicted["error_logits"][1])


def test_model_json_describes_inputs_outputs_preprocessing_and_provenance(exported, aqa_checkpoint):
    meta = json.loads((exported / "model.json").read_text())
    run_metrics = json.loads((aqa_checkpoint.parent.parent / "metrics.json").read_text())
    assert meta["task"] == "aqa" and meta["formats"] == ["torchscript", "onnx", "safetensors"]
    assert meta["checkpoint"]["sha256"] == read_checkpoint(aqa_checkpoint).sha256
    assert meta["fkg"]["sha256"] == meta["config"]["fkg_sha256"] and meta["fkg"]["version"]
    assert meta["metrics"]["test/rho"] == run_metrics["test/rho"]
    names = [spec["name"] for spec in meta["inputs"]]
    assert names[:3] == ["emg", "emg_mask", "emg_times"] and names[-1] == "action"
    assert names[9:12] == ["video", "video_mask", "video_times"]
    video = meta["inputs"][9]
    assert video["shape"] == ["batch", "views", "video_frames", 3, 96, 96]  # the cached crops
    assert meta["inputs"][6]["shape"] == ["batch", "pose_rows", 21, 3]
    session = ort.InferenceSession(str(exported / "model.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == names
    assert [o.name for o in session.get_outputs()] == [o["name"] for o in meta["outputs"]]
    prep = meta["preprocessing"]
    assert prep["video"]["mean"] == [0.485, 0.456, 0.406]
    physio = next(t for t in prep["transform"] if t["name"] == "physio.normalize")
    assert physio["mean"] == [70.0, 15.0] and physio["std"] == [15.0, 5.0]
    assert {"name": "emg.resample", "rate_hz": 1000.0} in prep["preprocess"]
    assert 0.0 < meta["thresholds"]["error_threshold"] < 1.0
    slots = meta["labels"]["error_slots"]["A01"]
    assert [s["weight"] for s in slots] == pytest.approx([e["weight"] for e in slots]) and len(
        meta["labels"]["actions"]
    ) == 20
