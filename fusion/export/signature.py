"""What an exported model takes and returns: named tensors with dtypes and symbolic shapes.

Every modality of the model contributes three inputs in the model's (sorted) modality order:
its values, its mask and its times, exactly as `FusionDataModule.prepare_batch` hands them to
the encoders. A symbolic dimension is a name (`batch`, `pose_rows`, ...); the batch dimension
is shared by every input, a time axis by a modality's values, mask and times.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

Dim = int | str
DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "bool": torch.bool,
    "int64": torch.int64,
}
# Sizes of the example inputs a graph is traced with; distinct, so no two symbolic dims are
# mistaken for one another, and above 1, so none is specialised to a constant.
EXAMPLE_SIZES: dict[str, int] = {
    "batch": 2,
    "views": 3,
    "video_frames": 4,
    "height": 64,
    "width": 64,
    "pose_rows": 24,
    "emg_rows": 400,
    "physio_rows": 12,
    "envelope_rows": 20,
}


@dataclass(frozen=True)
class TensorSpec:
    """One named input or output: dtype, shape (ints and symbolic names), what it holds."""

    name: str
    dtype: str
    shape: tuple[Dim, ...]
    doc: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the shape as a list)."""
        data = asdict(self)
        data["shape"] = list(self.shape)
        return data


def modality_inputs(modality: str, encoder: nn.Module, image_size: int | None) -> list[TensorSpec]:
    """The (values, mask, times) specs of one modality, from its encoder's expected layout."""
    if modality == "video":
        side: tuple[Dim, Dim] = (image_size, image_size) if image_size else ("height", "width")
        return [
            TensorSpec(
                "video",
                "float32",
                ("batch", "views", "video_frames", 3, *side),
                "RGB frames in [0, 1], then (x - video_mean) / video_std per channel",
            ),
            TensorSpec("video_mask", "bool", ("batch", "views"), "True where the view exists"),
            TensorSpec("video_times", "float32", ("batch", "video_frames"), "frame times (s)"),
        ]
    rows = f"{modality}_rows"
    return [
        TensorSpec(
            modality,
            "float32",
            ("batch", rows, *_feature_shape(modality, encoder)),
            f"{modality} rows after the preprocess and transform steps of model.json",
        ),  # fmt: skip
        TensorSpec(f"{modality}_mask", "bool", ("batch", rows), "True where the row is real"),
        TensorSpec(f"{modality}_times", "float32", ("batch", rows), "row times (s)"),
    ]


def _feature_shape(modality: str, encoder: nn.Module) -> tuple[int, ...]:
    """Trailing shape of one row of a signal modality, as its encoder checks it."""
    if modality == "pose":
        if getattr(encoder, "body_model", None) is not None:
            raise ValueError(
                "pose: an SMPL-X pose encoder (smplx_model) is not exportable; "
                "export a model trained on joint positions"
            )
        layout = getattr(encoder, "layout", None)
        joints = len(layout.joints) if layout is not None else int(encoder.joints)
        return (joints, 3)
    return (int(encoder.channels),)


def model_inputs(
    modalities: Sequence[str], encoders: Mapping[str, nn.Module], image_size: int | None
) -> list[TensorSpec]:
    """Every modality's three inputs, in the model's modality order."""
    return [spec for m in modalities for spec in modality_inputs(m, encoders[m], image_size)]


def example_inputs(
    specs: Sequence[TensorSpec], seed: int = 0, sizes: Mapping[str, int] | None = None
) -> tuple[torch.Tensor, ...]:
    """Random tensors of the specs' shapes (masks all True, times increasing, action -1) to
    trace with; `sizes` overrides some of the symbolic dims' EXAMPLE_SIZES."""
    generator = torch.Generator().manual_seed(seed)
    sizes = {**EXAMPLE_SIZES, **(sizes or {})}
    out = []
    for spec in specs:
        shape = [d if isinstance(d, int) else sizes[d] for d in spec.shape]
        if spec.dtype == "bool":
            out.append(torch.ones(shape, dtype=torch.bool))
        elif spec.dtype == "int64":
            out.append(torch.full(shape, -1, dtype=torch.int64))
        elif spec.name.endswith("_times"):
            out.append(torch.linspace(0.0, 3.0, shape[-1]).expand(shape).contiguous())
        else:
            out.append(torch.randn(shape, generator=generator))
    return tuple(out)


def symbolic_axes(specs: Sequence[TensorSpec]) -> dict[str, dict[int, str]]:
    """{input name: {axis: symbolic name}} of every non-constant dimension."""
    return {
        spec.name: {i: d for i, d in enumerate(spec.shape) if isinstance(d, str)} for spec in specs
    }
