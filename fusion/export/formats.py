"""Writing a wrapper as TorchScript, ONNX or safetensors, and rebuilding it from safetensors.

TorchScript is a `torch.jit.trace` of the wrapper (every branch in the model is on shapes or
settings, none on data once `VideoEncoder` runs its traced path). ONNX comes from
`torch.onnx.export`'s torch.export path (the TorchScript-based one cannot export the EMG
spectrogram's complex STFT), with every symbolic dimension of the input specs dynamic.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from fusion.export.signature import TensorSpec, example_inputs

FORMATS: dict[str, str] = {
    "torchscript": "model.pt",
    "onnx": "model.onnx",
    "safetensors": "model.safetensors",
}
OPSET = 18


def write_torchscript(wrapper: nn.Module, path: Path) -> None:
    """`torch.jit.trace` of the wrapper on example inputs, saved to `path`."""
    with torch.no_grad(), warnings.catch_warnings():
        # The model's shape checks are Python ifs: the tracer warns that it records them as
        # constants, which is what they are for a given set of input ranks and widths.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", FutureWarning)  # trace is deprecated, not yet removed
        traced = torch.jit.trace(wrapper, example_inputs(wrapper.inputs), check_trace=False)
    traced.save(str(path))


def dynamic_shapes(specs: Sequence[TensorSpec]) -> tuple[dict[int, torch.export.Dim] | None, ...]:
    """torch.export dims of the specs' symbolic axes; one Dim per name, shared across inputs."""
    dims: dict[str, torch.export.Dim] = {}
    return tuple(
        {
            i: dims.setdefault(d, torch.export.Dim(d))
            for i, d in enumerate(spec.shape)
            if isinstance(d, str)
        }
        or None
        for spec in specs
    )


def write_onnx(wrapper: nn.Module, path: Path) -> None:
    """`torch.onnx.export` of the wrapper with dynamic batch and time axes, one file.

    The graph is left unoptimised here: ONNX Runtime optimises it when a session opens, and
    the exporter's own pass costs as much time again as the export.
    """
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper,
            example_inputs(wrapper.inputs),
            str(path),
            input_names=[s.name for s in wrapper.inputs],
            output_names=[s.name for s in wrapper.outputs],
            dynamic_shapes=(dynamic_shapes(wrapper.inputs),),
            opset_version=OPSET,
            dynamo=True,
            external_data=False,
            optimize=False,
            verbose=False,
        )


def write_safetensors(wrapper: nn.Module, path: Path) -> None:
    """A module's state dict (persistent weights and buffers), each tensor a copy of its own
    (some buffers, e.g. the spectrogram window, are views that safetensors refuses)."""
    state = {k: v.detach().clone().contiguous() for k, v in wrapper.state_dict().items()}
    save_file(state, str(path))


def read_safetensors(wrapper: nn.Module, path: Path) -> nn.Module:
    """`wrapper` (freshly built by fusion's classes) with the weights of `path`, eval mode;
    a missing or unexpected weight is a RuntimeError naming them."""
    wrapper.load_state_dict(load_file(str(path)), strict=True)
    return wrapper.eval()
