"""The contract every fuser keeps: shapes, any modality subset, key order, masks, gradients."""

from __future__ import annotations

from itertools import combinations

import pytest
import torch

from fusion.encoders.base import Tokens
from fusion.fusers.base import Fused
from fusion.fusers.registry import FUSERS, build_fuser

DIM = 16
NAMES = sorted(FUSERS)
ALL = ("emg", "physio", "pose", "video")


def _fuser(name, dims, **kwargs):
    torch.manual_seed(0)
    return build_fuser(name, dims, DIM, **kwargs).eval()


def _outputs(fused: Fused) -> list[torch.Tensor]:
    extra = list((fused.per_modality or {}).values())
    return [fused.pooled, fused.tokens.values, fused.tokens.mask, fused.tokens.times, *extra]


def _assert_same(a: Fused, b: Fused, atol: float = 0.0) -> None:
    for x, y in zip(_outputs(a), _outputs(b), strict=True):
        assert x.shape == y.shape
        if atol:
            torch.testing.assert_close(x, y, atol=atol, rtol=0.0)
        else:
            assert torch.equal(x, y)


@pytest.mark.parametrize("name", NAMES)
def test_shapes_and_token_layout(name, dims, make_tokens):
    tokens = make_tokens(("video", "emg", "pose", "physio"), batch=3)
    fused = _fuser(name, dims)(tokens)
    order = sorted(tokens)
    n = sum(tokens[m].values.shape[1] for m in order)
    assert fused.pooled.shape == (3, DIM)
    assert fused.tokens.values.shape == (3, n, DIM)
    assert torch.equal(fused.tokens.mask, torch.cat([tokens[m].mask for m in order], dim=1))
    real = fused.tokens.mask
    expected_times = torch.cat([tokens[m].times for m in order], dim=1)
    assert torch.equal(fused.tokens.times[real], expected_times[real])
    assert torch.all(fused.tokens.values[~real] == 0)
    assert list(fused.present) == order
    assert all(p.all() for p in fused.present.values())
    if name == "late":
        assert list(fused.per_modality) == order
        assert all(v.shape == (3, DIM) for v in fused.per_modality.values())
    else:
        assert fused.per_modality is None


@pytest.mark.parametrize("name", NAMES)
def test_every_subset_of_modalities_works(name, dims, make_tokens):
    fuser = _fuser(name, dims)
    for size in range(1, 5):
        for subset in combinations(ALL, size):
            tokens = make_tokens(subset, batch=2)
            fused = fuser(tokens)
            n = sum(t.values.shape[1] for t in tokens.values())
            assert fused.pooled.shape == (2, DIM), subset
            assert fused.tokens.values.shape == (2, n, DIM), subset
            assert torch.isfinite(fused.pooled).all(), subset
            assert set(fused.present) == set(subset)


@pytest.mark.parametrize("name", NAMES)
def test_a_modality_absent_for_the_whole_batch_equals_leaving_it_out(name, dims, make_tokens):
    fuser = _fuser(name, dims)
    tokens = make_tokens(ALL, batch=3)
    without = {m: t for m, t in tokens.items() if m != "pose"}
    pose = tokens["pose"]
    all_masked = {**without, "pose": Tokens(pose.values, torch.zeros_like(pose.mask), pose.times)}
    no_tokens = {**without, "pose": Tokens(pose.values[:, :0], pose.mask[:, :0], pose.times[:, :0])}
    reference = fuser(without)
    for variant in (all_masked, no_tokens):
        fused = fuser(variant)
        torch.testing.assert_close(fused.pooled, reference.pooled, atol=1e-5, rtol=0.0)
        assert not fused.present["pose"].any()
    assert fuser(no_tokens).tokens.values.shape == reference.tokens.values.shape


@pytest.mark.parametrize("name", NAMES)
def test_key_order_does_not_matter(name, dims, make_tokens):
    fuser = _fuser(name, dims)
    tokens = make_tokens(ALL)
    backwards = dict(reversed(list(tokens.items())))
    _assert_same(fuser(tokens), fuser(backwards))


@pytest.mark.parametrize("name", NAMES)
def test_masked_values_and_times_do_not_matter(name, dims, make_tokens):
    fuser = _fuser(name, dims)
    tokens = make_tokens(ALL)
    noise = torch.Generator().manual_seed(1)
    perturbed = {}
    for m, t in tokens.items():
        junk = torch.randn(t.values.shape, generator=noise) * 100.0
        junk[..., 0] = float("inf")
        values = torch.where(t.mask.unsqueeze(-1), t.values, junk)
        times = torch.where(t.mask, t.times, torch.randn(t.times.shape, generator=noise))
        perturbed[m] = Tokens(values, t.mask, times)
    _assert_same(fuser(tokens), fuser(perturbed))


@pytest.mark.parametrize("name", NAMES)
def test_extra_padding_changes_nothing_but_the_token_count(name, dims, make_tokens):
    fuser = _fuser(name, dims)
    tokens = make_tokens(ALL)
    padded = {}
    for m, t in tokens.items():
        b, _, d = t.values.shape
        values = torch.cat([t.values, torch.randn(b, 5, d)], dim=1)
        mask = torch.cat([t.mask, torch.zeros(b, 5, dtype=torch.bool)], dim=1)
        times = torch.cat([t.times, torch.rand(b, 5)], dim=1)
        padded[m] = Tokens(values, mask, times)
    plain, more = fuser(tokens), fuser(padded)
    torch.testing.assert_close(more.pooled, plain.pooled, atol=1e-5, rtol=0.0)
    torch.testing.assert_close(
        more.tokens.values[more.tokens.mask],
        plain.tokens.values[plain.tokens.mask],
        atol=1e-5,
        rtol=0.0,
    )


@pytest.mark.parametrize("name", NAMES)
def test_samples_do_not_influence_each_other(name, dims, make_tokens):
    fuser = _fuser(name, dims)
    tokens = make_tokens(ALL, batch=4)
    first_two = {m: Tokens(t.values[:2], t.mask[:2], t.times[:2]) for m, t in tokens.items()}
    full, part = fuser(tokens), fuser(first_two)
    torch.testing.assert_close(full.pooled[:2], part.pooled, atol=1e-5, rtol=0.0)
    torch.testing.assert_close(full.tokens.values[:2], part.tokens.values, atol=1e-5, rtol=0.0)


@pytest.mark.parametrize("name", NAMES)
def test_a_sample_with_no_modality_is_finite_and_fully_masked(name, dims, make_tokens):
    fuser = _fuser(name, dims)
    tokens = make_tokens(ALL, batch=3)
    emptied = {}
    for m, t in tokens.items():
        mask = t.mask.clone()
        mask[1] = False
        emptied[m] = Tokens(t.values, mask, t.times)
    full, fused = fuser(tokens), fuser(emptied)
    assert torch.isfinite(fused.pooled).all()
    assert torch.isfinite(fused.tokens.values).all()
    assert not fused.tokens.mask[1].any()
    assert not any(p[1] for p in fused.present.values())
    keep = torch.tensor([0, 2])
    torch.testing.assert_close(fused.pooled[keep], full.pooled[keep], atol=1e-5, rtol=0.0)
    if name in ("attention", "gated", "late"):
        assert torch.all(fused.pooled[1] == 0)


@pytest.mark.parametrize("name", NAMES)
def test_gradients_reach_every_parameter_and_no_masked_input(name, dims, make_tokens):
    torch.manual_seed(0)
    fuser = build_fuser(name, dims, DIM).train()
    tokens = make_tokens(ALL)
    for t in tokens.values():
        t.values.requires_grad_(True)
    fused = fuser(tokens)
    weights = torch.Generator().manual_seed(2)
    loss = sum((x * torch.randn(x.shape, generator=weights)).sum() for x in _outputs(fused)[:2])
    loss.backward()
    for pname, param in fuser.named_parameters():
        assert param.grad is not None, pname
        assert param.grad.abs().sum() > 0, pname
    for m, t in tokens.items():
        assert torch.all(t.values.grad[~t.mask] == 0), m
        assert t.values.grad[t.mask].abs().sum() > 0, m


@pytest.mark.parametrize("name", NAMES)
def test_modality_dropout_runs_first_in_training_and_is_off_in_eval(name, dims, make_tokens):
    torch.manual_seed(0)
    fuser = build_fuser(name, dims, DIM, modality_dropout=1.0)
    plain = build_fuser(name, dims, DIM)
    plain.load_state_dict(fuser.state_dict())
    tokens = make_tokens(ALL, batch=6)
    fuser.train()
    kept = torch.stack(list(fuser(tokens).present.values()), dim=1)
    assert torch.equal(kept.sum(1), torch.ones(6, dtype=torch.long))
    fuser.eval()
    plain.eval()
    _assert_same(fuser(tokens), plain(tokens))
