"""Checks every encoder must pass: masked inputs cannot move real tokens, gradients reach all."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

from fusion.encoders.base import Tokens


def _fill_masked(x: torch.Tensor, mask: torch.Tensor, value: float | None) -> torch.Tensor:
    """x with the masked positions (mask broadcast over x's trailing axes) replaced."""
    keep = mask.reshape(mask.shape + (1,) * (x.ndim - mask.ndim))
    other = torch.randn_like(x) * 1e3 if value is None else torch.full_like(x, value)
    return torch.where(keep, x, other)


@pytest.fixture()
def assert_mask_invariant() -> Callable[..., None]:
    """`check(encoder, x, mask, times)`: random or NaN values at masked positions change no real
    token; samples whose mask is all False give finite values and an all-False token mask."""

    def check(encoder: nn.Module, x: torch.Tensor, mask: torch.Tensor, times: torch.Tensor) -> None:
        torch.manual_seed(0)
        reference = encoder(x, mask, times)
        assert reference.mask.any(), "the check needs some real tokens"
        for value in (None, float("nan")):
            torch.manual_seed(0)
            perturbed = encoder(_fill_masked(x, mask, value), mask, times)
            assert torch.equal(perturbed.mask, reference.mask)
            real = reference.mask
            assert torch.allclose(perturbed.values[real], reference.values[real], atol=1e-5)
        empty = ~mask.reshape(mask.shape[0], -1).any(1)
        assert not reference.mask[empty].any()
        assert torch.isfinite(reference.values).all()

    return check


@pytest.fixture()
def assert_grads_everywhere() -> Callable[[nn.Module, Tokens], None]:
    """`check(encoder, tokens)`: a random projection of the real tokens gives every trainable
    parameter a finite, nonzero gradient."""

    def check(encoder: nn.Module, tokens: Tokens) -> None:
        encoder.zero_grad(set_to_none=True)
        real = tokens.values[tokens.mask]
        weights = torch.randn(real.shape, generator=torch.Generator().manual_seed(0))
        (real * weights).sum().backward()
        for name, param in encoder.named_parameters():
            if param.requires_grad:
                assert param.grad is not None, f"{name} got no gradient"
                assert torch.isfinite(param.grad).all(), f"{name} has a non-finite gradient"
                assert param.grad.abs().sum() > 0, f"{name} has an all-zero gradient"

    return check
