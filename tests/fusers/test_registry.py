"""Building fusers by name."""

from __future__ import annotations

import pytest

from fusion.fusers.attention import AttentionFuser
from fusion.fusers.concat import ConcatFuser
from fusion.fusers.gated import GatedFuser
from fusion.fusers.late import LateFuser
from fusion.fusers.registry import FUSERS, build_fuser
from fusion.fusers.transformer import TransformerFuser


def test_every_name_builds_its_class_with_its_options(dims):
    expected = {
        "attention": AttentionFuser,
        "concat": ConcatFuser,
        "gated": GatedFuser,
        "late": LateFuser,
        "transformer": TransformerFuser,
    }
    assert expected == FUSERS
    fuser = build_fuser("transformer", dims=dims, dim=32, layers=1, heads=2, modality_dropout=0.2)
    assert isinstance(fuser, TransformerFuser)
    assert len(fuser.encoder.layers) == 1 and fuser.encoder.layers[0].self_attn.num_heads == 2
    assert fuser.modality_dropout.p == 0.2 and fuser.dim == 32
    assert build_fuser("concat", dims, 16, slot=8).mlp[0].in_features == 8 * len(dims)


def test_unknown_name_lists_the_known_ones(dims):
    with pytest.raises(ValueError, match="attention, concat, gated, late, transformer"):
        build_fuser("mystery", dims, 16)


def test_unknown_option_names_the_fuser(dims):
    with pytest.raises(ValueError, match="fuser 'gated'.*layers"):
        build_fuser("gated", dims, 16, layers=3)


def test_transformer_width_must_split_into_heads(dims):
    with pytest.raises(ValueError, match="divisible by heads"):
        build_fuser("transformer", dims, 18, heads=4)
