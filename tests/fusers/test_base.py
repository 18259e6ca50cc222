"""ModalityDropout and the input checks shared by every fuser."""

from __future__ import annotations

import pytest
import torch

from fusion.encoders.base import Tokens
from fusion.fusers.base import ModalityDropout
from fusion.fusers.registry import FUSERS, build_fuser

MODALITIES = ("emg", "physio", "pose", "video")


def _presence_tokens(present: torch.Tensor) -> dict[str, Tokens]:
    """Tokens (B, 3, 2) per modality; sample b has modality i when present[b, i]."""
    b = present.shape[0]
    mask = torch.ones(b, 3, dtype=torch.bool)
    mask[:, 2] = False
    return {
        m: Tokens(torch.randn(b, 3, 2), mask & present[:, i, None], torch.rand(b, 3))
        for i, m in enumerate(MODALITIES)
    }


def _kept(tokens: dict[str, Tokens]) -> torch.Tensor:
    return torch.stack([t.mask.any(1) for t in tokens.values()], dim=1)


def test_dropout_never_removes_the_last_modality_and_only_removes_whole_rows():
    torch.manual_seed(0)
    present = torch.rand(4000, 4) < 0.6
    tokens = _presence_tokens(present)
    out = ModalityDropout(0.5).train()(tokens)
    kept = _kept(out)
    assert torch.equal(kept.any(1), present.any(1))
    assert not (kept & ~present).any()
    assert (kept != present).any()
    for m, t in tokens.items():
        unchanged = (out[m].mask == t.mask).all(1)
        assert torch.all(unchanged | ~out[m].mask.any(1)), m
        assert out[m].values is t.values and out[m].times is t.times


def test_dropout_rate_matches_p():
    torch.manual_seed(0)
    p, n = 0.3, 5000
    kept = _kept(ModalityDropout(p).train()(_presence_tokens(torch.ones(n, 4, dtype=torch.bool))))
    expected = p - p**4 / 4
    assert abs((~kept).float().mean().item() - expected) < 0.015
    alone = torch.zeros(n, 4, dtype=torch.bool)
    alone[:, 2] = True
    assert torch.equal(_kept(ModalityDropout(0.9).train()(_presence_tokens(alone))), alone)


def test_dropout_of_everything_keeps_one_present_modality_chosen_uniformly():
    torch.manual_seed(0)
    present = torch.ones(4000, 4, dtype=torch.bool)
    present[:, 0] = False
    kept = _kept(ModalityDropout(1.0).train()(_presence_tokens(present)))
    assert torch.equal(kept.sum(1), torch.ones(4000, dtype=torch.long))
    assert not kept[:, 0].any()
    share = kept[:, 1:].float().mean(0)
    torch.testing.assert_close(share, torch.full((3,), 1 / 3), atol=0.03, rtol=0.0)


def test_dropout_is_the_identity_in_eval_and_at_zero():
    tokens = _presence_tokens(torch.ones(50, 4, dtype=torch.bool))
    for dropout in (ModalityDropout(0.8).eval(), ModalityDropout(0.0).train()):
        out = dropout(tokens)
        assert all(out[m] is tokens[m] for m in tokens)


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_probability_outside_0_1_is_refused(p):
    with pytest.raises(ValueError, match="modality dropout"):
        ModalityDropout(p)


@pytest.mark.parametrize("name", sorted(FUSERS))
def test_bad_inputs_are_refused_with_the_modality_named(name, dims, make_tokens):
    fuser = build_fuser(name, dims, 16)
    tokens = make_tokens(("pose", "emg"), batch=2)
    with pytest.raises(ValueError, match="at least one"):
        fuser({})
    with pytest.raises(ValueError, match="unknown modality depth"):
        fuser({**tokens, "depth": tokens["pose"]})
    with pytest.raises(ValueError, match="emg tokens have width 8"):
        fuser({"emg": tokens["pose"]})
    short = make_tokens(("pose",), batch=3)["pose"]
    with pytest.raises(ValueError, match="batch size"):
        fuser({**tokens, "pose": short})
    pose = tokens["pose"]
    with pytest.raises(ValueError, match="pose token mask must be bool"):
        fuser({"pose": Tokens(pose.values, pose.mask.float(), pose.times)})


def test_empty_dims_and_bad_widths_are_refused():
    with pytest.raises(ValueError, match="at least one modality"):
        build_fuser("concat", {}, 16)
    with pytest.raises(ValueError, match="positive"):
        build_fuser("gated", {"pose": 0}, 16)
