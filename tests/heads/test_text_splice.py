"""The placeholder splice: modality rows in place, prompt and modality labels ignored."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from fusion.constants import IGNORE_INDEX
from fusion.heads.text.splice import build_projector, pad_spliced, splice

VIDEO, POSE = 90, 91


@pytest.fixture()
def embed():
    torch.manual_seed(0)
    return nn.Embedding(100, 8)


def test_placeholders_get_the_projected_tokens_and_only_the_answer_is_labelled(embed):
    video, pose = torch.randn(3, 8), torch.randn(2, 8)
    prompt, answer = [1, VIDEO, 2, 3, POSE, 4], [5, 6, 7]
    out = splice("s1", prompt, answer, {"video": VIDEO, "pose": POSE},
                 {"video": video, "pose": pose}, embed, max_length=64)  # fmt: skip
    assert out.embeds.shape == (6 - 2 + 3 + 2 + 3, 8)
    torch.testing.assert_close(out.embeds[1:4], video)
    torch.testing.assert_close(out.embeds[6:8], pose)
    with torch.no_grad():
        torch.testing.assert_close(out.embeds[0], embed.weight[1])
        torch.testing.assert_close(out.embeds[4:6], embed.weight[[2, 3]])
        torch.testing.assert_close(out.embeds[-3:], embed.weight[answer])
    assert out.labels.tolist() == [IGNORE_INDEX] * 9 + answer


def test_a_sample_that_does_not_fit_is_an_error_naming_it(embed):
    with pytest.raises(ValueError, match=r"s7: 14 positions .* exceed max_length 12"):
        splice("s7", [1, VIDEO, 2], list(range(8)), {"video": VIDEO},
               {"video": torch.randn(4, 8)}, embed, max_length=12)  # fmt: skip


def test_placeholders_must_match_the_modalities(embed):
    with pytest.raises(ValueError, match="do not match"):
        splice("s2", [1, 2], [3], {"video": VIDEO}, {"video": torch.randn(2, 8)}, embed, 64)
    with pytest.raises(ValueError, match="do not match"):
        splice("s3", [VIDEO, VIDEO], [3], {"video": VIDEO}, {"video": torch.randn(2, 8)}, embed, 64)


def test_padding_masks_and_ignores_the_tail(embed):
    a = splice("a", [1, VIDEO], [5], {"video": VIDEO}, {"video": torch.randn(2, 8)}, embed, 64)
    b = splice("b", [1], [5, 6], {}, {}, embed, 64)
    batch = pad_spliced([a, b])
    assert batch["inputs_embeds"].shape == (2, 4, 8)
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 1, 0]]
    assert batch["labels"][1].tolist() == [IGNORE_INDEX, 5, 6, IGNORE_INDEX]
    left = pad_spliced([a, b], left=True)
    assert left["attention_mask"].tolist() == [[1, 1, 1, 1], [0, 1, 1, 1]]
    assert left["labels"][1].tolist() == [IGNORE_INDEX, IGNORE_INDEX, 5, 6]
    assert torch.equal(left["inputs_embeds"][1, 1:], batch["inputs_embeds"][1, :3])
    assert not left["inputs_embeds"][1, 0].any()


@pytest.mark.parametrize(("name", "layers"), [("linear", 1), ("mlp2x_gelu", 3)])
def test_projectors_by_name(name, layers):
    projector = build_projector(name, 16, 8)
    assert projector(torch.randn(5, 16)).shape == (5, 8)
    assert len(list(projector.modules())) == (1 if layers == 1 else 4)
    with pytest.raises(ValueError, match="expected linear or mlp2x_gelu"):
        build_projector("mlp3x", 16, 8)
