"""build_encoder: every encoder by name from plain data, unknown names and options refused."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

from fusion.config import CONFIG_ROOT
from fusion.encoders.emg import EMGEncoder
from fusion.encoders.physio import PhysioEncoder
from fusion.encoders.pose import PoseEncoder
from fusion.encoders.pose_transformer import PoseTransformerEncoder
from fusion.encoders.registry import ENCODERS, build_encoder
from fusion.encoders.video import VideoEncoder


@pytest.mark.parametrize(
    "name, kwargs, cls, dim",
    [
        ("video", {"dim": 24, "temporal": "none"}, VideoEncoder, 24),
        ("pose", {"dim": 20, "streams": ["joint", "bone"], "layout": "ntu25"}, PoseEncoder, 20),
        ("emg", {"dim": 12, "features": "envelope"}, EMGEncoder, 12),
        ("physio", {"dim": 8, "layers": 1}, PhysioEncoder, 8),
        ("pose_transformer", {"dim": 16, "joints": 49}, PoseTransformerEncoder, 16),
    ],
)
def test_builds_each_encoder_by_name(name: str, kwargs: dict, cls: type, dim: int) -> None:
    encoder = build_encoder(name, **kwargs)
    assert type(encoder) is cls
    assert encoder.out_dim == dim


def test_yaml_options_build_a_working_encoder() -> None:
    spec = OmegaConf.create("{name: pose, dim: 16, streams: [joint, motion], temporal_stride: 3}")
    options = OmegaConf.to_container(spec)
    encoder = build_encoder(options.pop("name"), **options)
    tokens = encoder(
        torch.randn(2, 9, 21, 3), torch.ones(2, 9, dtype=torch.bool), torch.zeros(2, 9)
    )
    assert tokens.values.shape == (2, 3, 16)
    assert encoder.blocks[0].spatial.in_features == 6  # two streams of xyz


def test_the_default_model_config_builds() -> None:
    encoders = OmegaConf.load(CONFIG_ROOT / "model" / "default.yaml").encoders
    for modality, spec in OmegaConf.to_container(encoders).items():
        encoder = build_encoder(spec.pop("name"), **spec)
        assert encoder.out_dim == spec.get("dim", encoder.out_dim), modality


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(
        ValueError,
        match="unknown encoder 'audio'; known: emg, physio, pose, pose_transformer, video",
    ):
        build_encoder("audio")
    assert sorted(ENCODERS) == ["emg", "physio", "pose", "pose_transformer", "video"]


def test_unknown_option_lists_the_known_ones() -> None:
    expected = r"encoder 'physio': unknown option\(s\) width; known: channels, dim, layers"
    with pytest.raises(ValueError, match=expected):
        build_encoder("physio", width=3)


@pytest.mark.parametrize(
    "name, shape, mask_shape",
    [
        ("video", (2, 3, 2, 3, 32, 32), (2, 3)),
        ("pose", (2, 9, 21, 3), (2, 9)),
        ("emg", (2, 500, 16), (2, 500)),
        ("physio", (2, 9, 2), (2, 9)),
    ],
)
def test_runs_under_bf16_autocast(name: str, shape: tuple, mask_shape: tuple) -> None:
    encoder = build_encoder(name)
    mask = torch.ones(mask_shape, dtype=torch.bool)
    mask[1] = False
    times = torch.zeros(2, shape[2] if name == "video" else shape[1])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        tokens = encoder(torch.randn(shape), mask, times)
    assert tokens.values.dtype == torch.bfloat16
    assert torch.isfinite(tokens.values).all()
    assert tokens.mask.tolist()[1] == [False] * tokens.values.shape[1]
