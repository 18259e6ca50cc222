"""The AQA head: shapes, action rows, time bins, and the FKG score it reports."""

from __future__ import annotations

import pytest
import torch

from fusion.encoders.base import Tokens
from fusion.fkg.loader import load_fkg
from fusion.fkg.scoring import score
from fusion.heads.aqa import AQAHead
from fusion.tasks.aqa import error_name_table


@pytest.fixture(scope="module")
def fkg():
    return load_fkg()


@pytest.fixture()
def head(fkg) -> AQAHead:
    table, _ = fkg.weight_table()
    names, slots = error_name_table(fkg, table.shape[1])
    torch.manual_seed(0)
    return AQAHead(16, torch.from_numpy(table), slots, len(names), hidden=32, time_bins=4).eval()


def tokens(b: int = 3, n: int = 10, dim: int = 16) -> Tokens:
    times = torch.linspace(0, 3.6, n).expand(b, n).clone()
    mask = torch.ones(b, n, dtype=torch.bool)
    mask[min(1, b - 1), 6:] = False
    return Tokens(torch.randn(b, n, dim), mask, times)


def test_shapes_and_rows_of_the_given_action(head, fkg):
    out = head(torch.randn(3, 16), tokens(), torch.tensor([0, 5, 19]))
    e = head.max_errors
    assert out["action_logits"].shape == (3, 20)
    assert out["error_logits"].shape == (3, e) and out["frame_logits"].shape == (3, 4, e)
    valid = out["error_valid"]
    for i, a in enumerate([0, 5, 19]):
        assert valid[i].sum() == len(fkg.action(fkg.action_ids[a]).errors)
    assert ((out["score"] >= 0) & (out["score"] <= 100)).all()


def test_bins_cover_each_sample_up_to_its_last_real_token(head):
    t = tokens()
    out = head(torch.randn(3, 16), t, torch.zeros(3, dtype=torch.long))
    last = t.times[1, 5]
    assert torch.allclose(out["bin_width"][1], last / 4, rtol=1e-3)
    assert torch.allclose(out["bin_times"][0], torch.tensor([0.45, 1.35, 2.25, 3.15]), rtol=1e-3)


def test_actions_sharing_an_error_name_share_its_output_unit(head, fkg):
    """The same name reads the same logit unit; only the action embedding tells them apart."""
    features = torch.randn(1, 16).expand(2, 16)
    conditioned = head(features, tokens(2), torch.tensor([0, 1]))
    with torch.no_grad():
        head.action_embedding.weight.zero_()
    out = head(features, tokens(2), torch.tensor([0, 1]))
    a, b = (fkg.action(fkg.action_ids[i]) for i in (0, 1))
    shared = sorted({e.name for e in a.errors} & {e.name for e in b.errors})
    assert shared
    name = shared[0]
    ia = [e.name for e in a.errors].index(name)
    ib = [e.name for e in b.errors].index(name)
    assert out["error_logits"][0, ia] == out["error_logits"][1, ib]
    assert conditioned["error_logits"][0, ia] != conditioned["error_logits"][1, ib]


def test_fkg_score_is_the_hard_score_for_certain_errors(head, fkg, monkeypatch):
    """With 0/1 probabilities the reported FKG score equals the FKG's own score."""
    action = fkg.action("A03")
    chosen = [0, 2]
    names, _ = error_name_table(fkg, head.max_errors)
    logits = torch.full((1, len(names)), -1e4)
    row = fkg.action_ids.index("A03")
    for j in chosen:
        logits[0, names.index(action.errors[j].name)] = 1e4
    monkeypatch.setattr(head.errors, "forward", lambda x: logits)
    out = head(torch.randn(1, 16), tokens(1), torch.tensor([row]))
    expected = score(action, [action.errors[j].id for j in chosen])
    assert out["fkg_score"].item() == pytest.approx(expected, abs=1e-4)


def test_predicted_action_is_used_without_teacher(head):
    out = head(torch.randn(2, 16), tokens(2))
    assert torch.equal(out["action_used"], out["action_logits"].argmax(-1))


def test_direct_score_is_clamped_for_reports_but_keeps_its_gradient(head):
    with torch.no_grad():
        head.score[-1].bias.fill_(3.0)  # 70 + 20 * 3 = 130 points before clamping
    pooled = torch.zeros(2, 16, requires_grad=True)
    out = head(pooled, tokens(b=2), torch.zeros(2, dtype=torch.long))
    assert torch.equal(out["score"], torch.full((2,), 100.0))
    assert out["score_unclamped"].min() > 100.0
    (out["score_unclamped"] - 100.0).square().sum().backward()
    assert pooled.grad.abs().sum() > 0 and head.score[-1].bias.grad.item() > 0


def test_deviation_path_reads_tokens_against_their_actions_statistics(fkg):
    """Training updates only the rows of the actions seen; at inference the same tokens give
    different deviation logits under two actions whose statistics differ."""
    table, _ = fkg.weight_table()
    names, slots = error_name_table(fkg, table.shape[1])
    torch.manual_seed(0)
    head = AQAHead(16, torch.from_numpy(table), slots, len(names), time_bins=4, deviation=True)
    norm = head.deviation["norm"]
    head.train()
    for _ in range(5):
        t = tokens(4)
        t.values[2:] += 3.0  # action 1 runs 3 units higher than action 0
        head(torch.randn(4, 16), t, torch.tensor([0, 0, 1, 1]))
    assert norm.seen.tolist()[:3] == [True, True, False]
    assert (norm.mean[1] - norm.mean[0]).mean() == pytest.approx(3.0, abs=0.5)
    head.eval()
    t = tokens(1)
    z0 = norm(head._bins(t)[0].flatten(1), torch.tensor([0]))
    z1 = norm(head._bins(t)[0].flatten(1), torch.tensor([1]))
    assert (z0 - z1).mean() > 1.0
    out = head(torch.randn(2, 16), tokens(2), torch.tensor([0, 1]))
    out["error_logits"].sum().backward()
    assert head.deviation["errors"].weight.grad.abs().sum() > 0


def _encoder_head(fkg, **options) -> AQAHead:
    table, _ = fkg.weight_table()
    names, slots = error_name_table(fkg, table.shape[1])
    torch.manual_seed(0)
    return AQAHead(
        16, torch.from_numpy(table), slots, len(names), time_bins=4, deviation=True,
        deviation_source="encoders", encoder_dims={"pose": 6, "emg": 5}, **options,
    )  # fmt: skip


def test_deviation_path_on_encoder_tokens_ignores_absent_modalities(fkg):
    head = _encoder_head(fkg)
    assert head.deviation["errors"].in_features == 4 * (6 + 5)
    head.train()
    encoded = {"pose": tokens(4, dim=6), "emg": tokens(4, dim=5)}
    head(torch.randn(4, 16), tokens(4), torch.tensor([0, 0, 1, 1]), encoded)
    head.eval()
    pooled, fused, action = torch.randn(2, 16), tokens(2), torch.tensor([0, 1])
    pose = tokens(2, dim=6)
    leaf = {"pose": Tokens(pose.values.clone().requires_grad_(True), pose.mask, pose.times)}
    head(pooled, fused, action, leaf)["error_logits"].sum().backward()
    assert leaf["pose"].values.grad.abs().sum() == 0  # silent at the start ...
    assert head.deviation["errors"].weight.grad.abs().sum() > 0  # ... but it learns
    with torch.no_grad():
        for name in ("errors", "score"):
            head.deviation[name].weight.normal_(0.0, 0.01)
    dropped = {"pose": torch.tensor([True, True]), "emg": torch.tensor([False, False])}
    kept = head(pooled, fused, action, {"pose": pose, "emg": tokens(2, dim=5)}, dropped)
    alone = head(pooled, fused, action, {"pose": pose})
    other = head(pooled, fused, action, {"pose": tokens(2, dim=6)})
    torch.testing.assert_close(kept["error_logits"], alone["error_logits"])
    torch.testing.assert_close(kept["score"], alone["score"])
    assert not torch.allclose(other["error_logits"], alone["error_logits"])  # it reads pose
    leaf["pose"].values.grad = None
    head(pooled, fused, action, leaf)["error_logits"].sum().backward()
    assert leaf["pose"].values.grad.abs().sum() > 0  # and trains the encoder


def test_bad_deviation_source_is_refused(fkg):
    with pytest.raises(ValueError, match="deviation_source: unknown 'raw'"):
        AQAHead(16, torch.zeros(2, 3), torch.zeros(2, 3), 3, deviation=True, deviation_source="raw")
    with pytest.raises(ValueError, match="needs the encoders' widths"):
        AQAHead(16, torch.zeros(2, 3), torch.zeros(2, 3), 3, deviation=True,
                deviation_source="encoders")  # fmt: skip
