"""VideoEncoder: view pooling over 1..5 views, view dropout, frozen and pretrained backbones."""

from __future__ import annotations

from pathlib import Path

import pytest
import timm
import torch
from safetensors.torch import save_file

from fusion.encoders.video import VideoEncoder, body_scaled, drop_views

BACKBONE = "mobilenetv3_small_050"


def _batch(views: list[list[bool]], frames: int = 3, size: int = 32) -> tuple[torch.Tensor, ...]:
    """(B, V, frames, 3, size, size) clips with the given (B, V) view mask, 10 fps times."""
    torch.manual_seed(4)
    mask = torch.tensor(views)
    x = torch.randn(*mask.shape, frames, 3, size, size)
    times = torch.arange(frames).float().expand(mask.shape[0], frames) / 10
    return x, mask, times


@pytest.fixture(scope="module")
def encoder() -> VideoEncoder:
    """A small trainable encoder shared by the tests that do not change its weights."""
    torch.manual_seed(0)
    return VideoEncoder(dim=16)


def test_one_token_per_frame(encoder: VideoEncoder) -> None:
    x, mask, times = _batch([[True, False, True], [False, False, False]])
    tokens = encoder.eval()(x, mask, times)
    assert tokens.values.shape == (2, 3, 16)
    assert tokens.mask.tolist() == [[True] * 3, [False] * 3]
    assert torch.equal(tokens.times, times)
    assert torch.isfinite(tokens.values).all()


def test_absent_views_change_no_real_token(encoder: VideoEncoder, assert_mask_invariant) -> None:
    x, mask, times = _batch([[True, False, True], [False, True, False], [False, False, False]])
    assert_mask_invariant(encoder.train(), x, mask, times)
    assert_mask_invariant(encoder.eval(), x, mask, times)


def test_same_weights_serve_one_to_five_views(encoder: VideoEncoder) -> None:
    x, _, times = _batch([[True] * 5] * 2)
    encoder.eval()
    with torch.no_grad():
        for v in range(1, 6):
            tokens = encoder(x[:, :v], torch.ones(2, v, dtype=torch.bool), times)
            assert tokens.values.shape == (2, 3, 16)
            assert torch.isfinite(tokens.values).all()
        # One present view among five pools to that view alone, as if it were the only one.
        alone = torch.tensor([[False, False, True, False, False]] * 2)
        assert torch.allclose(
            encoder(x, alone, times).values,
            encoder(x[:, 2:3], torch.ones(2, 1, dtype=torch.bool), times).values,
            atol=1e-5,
        )


def test_view_dropout_keeps_a_view_per_sample() -> None:
    torch.manual_seed(5)
    mask = torch.rand(2000, 5) < 0.6
    kept = drop_views(mask, 0.5)
    assert not (kept & ~mask).any()
    assert torch.equal(kept.any(1), mask.any(1))
    assert 0.45 < kept.sum() / mask.sum() < 0.65  # 0.5 plus the rescued last views
    # Nearly everything dropped: samples end with exactly the one rescued view.
    assert (drop_views(mask, 0.99).sum(1) == mask.any(1)).float().mean() > 0.98
    assert torch.equal(drop_views(mask, 0.0), mask)


def test_view_dropout_only_while_training(encoder: VideoEncoder) -> None:
    x, mask, times = _batch([[True] * 5] * 2)
    dropping = VideoEncoder(dim=16, view_dropout=0.6)
    dropping.load_state_dict(encoder.state_dict())
    with torch.no_grad():
        assert torch.equal(
            dropping.eval()(x, mask, times).values, encoder.eval()(x, mask, times).values
        )
        dropping.train()
        runs = [dropping(x, mask, times).values for _ in range(3)]
    assert not all(torch.allclose(runs[0], r) for r in runs[1:])


@pytest.mark.parametrize("temporal", ["conv", "none"])
def test_gradients_reach_every_parameter(temporal: str, assert_grads_everywhere) -> None:
    x, mask, times = _batch([[True, False, True], [False, False, False]])
    encoder = VideoEncoder(dim=16, temporal=temporal)
    assert_grads_everywhere(encoder, encoder(x, mask, times))


def test_frozen_backbone_gets_no_gradient_and_stays_in_eval(assert_grads_everywhere) -> None:
    x, mask, times = _batch([[True, True], [True, False]])
    encoder = VideoEncoder(dim=16, frozen=True).train()
    assert not encoder.backbone.training
    before = {k: v.clone() for k, v in encoder.backbone.state_dict().items()}
    assert_grads_everywhere(encoder, encoder(x, mask, times))
    assert all(p.grad is None for p in encoder.backbone.parameters())
    after = encoder.backbone.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # BN statistics too


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_pretrained_weights_round_trip(tmp_path: Path, suffix: str) -> None:
    torch.manual_seed(6)
    source = timm.create_model(BACKBONE, pretrained=False, num_classes=7)  # with a classifier
    path = tmp_path / f"backbone{suffix}"
    state = {k: v.contiguous() for k, v in source.state_dict().items()}
    save_file(state, path) if suffix == ".safetensors" else torch.save(state, path)
    loaded = VideoEncoder(pretrained_path=str(path), dim=16).backbone.state_dict()
    assert loaded
    assert all(torch.equal(v, state[k]) for k, v in loaded.items())


def test_pretrained_weights_errors(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pt"
    with pytest.raises(FileNotFoundError, match="nope.pt: backbone weights file not found"):
        VideoEncoder(pretrained_path=str(missing))
    other = tmp_path / "resnet.pt"
    torch.save(timm.create_model("resnet10t", num_classes=0).state_dict(), other)
    with pytest.raises(ValueError, match=r"resnet.pt: weights do not fit backbone .*missing"):
        VideoEncoder(pretrained_path=str(other))


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown timm backbone 'resnet0'"):
        VideoEncoder(backbone="resnet0")
    with pytest.raises(ValueError, match="unknown temporal 'lstm'"):
        VideoEncoder(temporal="lstm")
    with pytest.raises(ValueError, match=r"view_dropout must be in \[0, 1\)"):
        VideoEncoder(view_dropout=1.0)
    with pytest.raises(ValueError, match="unknown readout 'text'"):
        VideoEncoder(readout="text")
    with pytest.raises(ValueError, match="readout pose needs `joints`"):
        VideoEncoder(readout="pose")
    with pytest.raises(ValueError, match="for readout pose only"):
        VideoEncoder(joints=21, pose={"dim": 8})
    with pytest.raises(ValueError, match="reads 17 joints, but .* flex21 has 21"):
        VideoEncoder(joints=17, readout="pose")


def test_joint_head_reads_joints_per_frame() -> None:
    encoder = VideoEncoder(dim=16, joints=21)
    assert encoder.read_joints(torch.randn(2, 5, 16)).shape == (2, 5, 21, 3)
    with pytest.raises(ValueError, match="no joint head"):
        VideoEncoder(dim=16).read_joints(torch.randn(2, 5, 16))


def test_body_scaled_removes_size_and_ignores_padded_frames() -> None:
    torch.manual_seed(3)
    joints = torch.randn(2, 4, 21, 3)
    mask = torch.tensor([[True] * 4, [True, True, False, False]])
    scaled = body_scaled(joints, mask)
    assert torch.allclose(body_scaled(2.5 * joints, mask), scaled, atol=1e-6)
    rms = scaled[0].square().sum(-1).mean().sqrt()
    assert rms == pytest.approx(1.0, abs=1e-5)
    padded = joints.clone()
    padded[1, 2:] = 100.0
    assert torch.allclose(body_scaled(padded, mask)[1, :2], scaled[1, :2])


def test_pose_readout_encodes_read_joints_and_freezes_the_lifter(assert_grads_everywhere) -> None:
    x, mask, times = _batch([[True, True], [True, False]], frames=4)
    encoder = VideoEncoder(dim=16, joints=21, readout="pose", frozen=True, pose={"dim": 8})
    encoder.train()
    assert encoder.out_dim == 8 and encoder.fresh == ("pose.",)
    assert encoder.pose.training and not encoder.backbone.training
    assert not encoder.joint_head.training
    tokens = encoder(x, mask, times)
    assert tokens.values.shape == (2, 2, 8)  # the pose encoder's temporal stride 2
    assert_grads_everywhere(encoder, tokens)
    lifter = [n for n, p in encoder.named_parameters() if not n.startswith("pose.")]
    assert lifter and all(p.grad is None for n, p in encoder.named_parameters() if n in lifter)
    encoder.eval()
    frames = mask.any(1, keepdim=True).expand(2, 4)
    joints = encoder.read_joints(encoder.encode_views(x, mask, times)[0].values)
    expected = encoder.pose(body_scaled(joints, frames), frames, times)
    assert torch.allclose(encoder(x, mask, times).values, expected.values, atol=1e-5)
