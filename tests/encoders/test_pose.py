"""PoseEncoder: adjacency per layout, the three input streams, strided tokens and masks."""

from __future__ import annotations

import pytest
import torch

from fusion.data.skeletons import FLEX21, LAYOUTS
from fusion.encoders.pose import PoseEncoder, normalized_adjacency, pose_streams


def _batch(lengths: list[int], frames: int = 9, joints: int = 21) -> tuple[torch.Tensor, ...]:
    """(B, frames, joints, 3) poses with the first lengths[b] frames real, 30 fps times."""
    torch.manual_seed(3)
    x = torch.randn(len(lengths), frames, joints, 3)
    mask = torch.arange(frames) < torch.tensor(lengths)[:, None]
    times = torch.arange(frames).float().expand(len(lengths), frames) / 30
    return x, mask, times


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_adjacency_is_symmetric_normalised_with_self_loops(name: str) -> None:
    layout = LAYOUTS[name]
    j = len(layout.joints)
    linked = torch.eye(j, dtype=torch.bool)
    for parent, child in layout.bones:
        linked[parent, child] = linked[child, parent] = True
    degree = linked.sum(1).double()
    a = normalized_adjacency(layout).double()
    assert torch.allclose(a, a.T)
    assert torch.equal(a != 0, linked)
    assert torch.allclose(a.diagonal(), 1 / degree)
    assert torch.allclose(a @ degree.sqrt(), degree.sqrt())  # D^-1/2 (A+I) D^-1/2 fixes sqrt(d)
    assert torch.linalg.eigvalsh(a).abs().max() == pytest.approx(1.0)


def test_streams_are_joint_bone_and_motion() -> None:
    x, mask, _ = _batch([5, 3], frames=6)
    streams = pose_streams(x, mask, FLEX21.parents, ("joint", "bone", "motion"))
    assert streams.shape == (2, 6, 21, 9)
    joint, bone, motion = streams.split(3, dim=-1)
    assert torch.equal(joint[0, :5], x[0, :5])
    elbow, shoulder = FLEX21.index("l_elbow"), FLEX21.index("l_shoulder")
    assert torch.allclose(bone[0, 2, elbow], x[0, 2, elbow] - x[0, 2, shoulder])
    assert torch.all(bone[:, :, FLEX21.parents.index(-1)] == 0)
    assert torch.allclose(motion[1, :2], x[1, 1:3] - x[1, :2])
    assert torch.all(motion[1, 2:] == 0)  # last real frame and the padding
    assert torch.all(streams[1, 3:] == 0)
    only_motion = pose_streams(x, mask, FLEX21.parents, ("motion",))
    assert torch.equal(only_motion, motion)


@pytest.mark.parametrize("frames, stride, tokens", [(9, 2, 5), (8, 2, 4), (9, 3, 3), (7, 1, 7)])
def test_tokens_every_stride_frames(frames: int, stride: int, tokens: int) -> None:
    x, mask, times = _batch([frames, 4, 0], frames=frames)
    out = PoseEncoder(dim=16, layers=2, temporal_stride=stride)(x, mask, times)
    assert out.values.shape == (3, tokens, 16)
    assert torch.equal(out.times, times[:, ::stride])
    # A token is real when any of its frames is: 4 real frames -> ceil(4 / stride) tokens.
    assert out.mask.sum(1).tolist() == [tokens, -(-4 // stride), 0]
    assert torch.all(out.values[~out.mask] == 0)


@pytest.mark.parametrize("layout, joints", [("ntu25", 25), ("smplx22", 22), ("smplx_body22", 22)])
def test_other_layouts(layout: str, joints: int) -> None:
    x, mask, times = _batch([9, 5], joints=joints)
    out = PoseEncoder(layout=layout, dim=16, layers=2)(x, mask, times)
    assert out.values.shape == (2, 5, 16)
    assert torch.isfinite(out.values).all()


def test_masked_frames_change_no_real_token(assert_mask_invariant) -> None:
    x, mask, times = _batch([9, 6, 0])
    encoder = PoseEncoder()
    assert_mask_invariant(encoder.train(), x, mask, times)
    assert_mask_invariant(encoder.eval(), x, mask, times)


def test_gradients_reach_every_parameter(assert_grads_everywhere) -> None:
    x, mask, times = _batch([9, 6, 0])
    encoder = PoseEncoder()
    assert_grads_everywhere(encoder, encoder(x, mask, times))


def test_bad_options_and_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="must be distinct names"):
        PoseEncoder(streams=("joint", "velocity"))
    with pytest.raises(ValueError, match="unknown skeleton layout 'coco17'"):
        PoseEncoder(layout="coco17")
    x, mask, times = _batch([9], joints=25)
    with pytest.raises(ValueError, match=r"expected \(B, L, 21, 3\) joints of layout flex21"):
        PoseEncoder()(x, mask, times)
