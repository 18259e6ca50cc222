"""EnvelopeMetrics against numpy / scipy on padded batches."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import torch

from fusion.metrics.emg import EnvelopeMetrics


def batch(seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    target = torch.rand(3, 10, 4, generator=gen)
    preds = target + 0.3 * torch.randn(3, 10, 4, generator=gen)
    mask = torch.ones(3, 10, dtype=torch.bool)
    mask[1, 7:] = False
    mask[2, 4:] = False
    preds[~mask] = 1e6  # padding must not count
    return preds, target, mask


def test_pooled_and_clip_figures_match_numpy_and_scipy():
    preds, target, mask = batch()
    metric = EnvelopeMetrics(channels=4, pairs=2)
    shares = (torch.tensor([[0.4, 0.6]] * 3), torch.tensor([[0.5, 0.5]] * 3))
    metric.update(preds[:2], target[:2], mask[:2], (shares[0][:2], shares[1][:2]))
    metric.update(preds[2:], target[2:], mask[2:], (shares[0][2:], shares[1][2:]))
    out = metric.compute()
    p, t = preds[mask].numpy(), target[mask].numpy()
    np.testing.assert_allclose(out["mae_ch"], np.abs(p - t).mean(0), rtol=1e-5)
    np.testing.assert_allclose(out["rmse_ch"], np.sqrt(((p - t) ** 2).mean(0)), rtol=1e-5)
    r = [scipy.stats.pearsonr(p[:, c], t[:, c])[0] for c in range(4)]
    np.testing.assert_allclose(out["r_ch"], r, rtol=1e-4)
    assert out["r"] == pytest.approx(np.mean(r), rel=1e-4)
    clip_r = [
        np.mean([scipy.stats.pearsonr(preds[b][mask[b]][:, c], target[b][mask[b]][:, c])[0]
                 for b in range(3)])
        for c in range(4)
    ]  # fmt: skip
    np.testing.assert_allclose(out["clip_r_ch"], clip_r, rtol=1e-4)
    assert out["contribution_mae"] == pytest.approx(0.1, abs=1e-6)


def test_reset_forgets_every_state():
    preds, target, mask = batch()
    metric = EnvelopeMetrics(channels=4)
    metric.update(preds, target, mask)
    first = metric.compute()["mae"]
    metric.reset()
    other = batch(seed=3)
    metric.update(*other)
    direct = EnvelopeMetrics(channels=4)
    direct.update(*other)
    assert metric.compute()["mae"] == pytest.approx(float(direct.compute()["mae"]))
    assert metric.compute()["mae"] != pytest.approx(float(first))
    assert torch.isnan(metric.compute()["contribution_mae"])  # no pairs given


def test_wrong_shapes_are_refused():
    preds, target, mask = batch()
    metric = EnvelopeMetrics(channels=4)
    with pytest.raises(ValueError, match=r"\(B, T, 4\)"):
        metric.update(preds[..., :3], target[..., :3], mask)
    with pytest.raises(ValueError, match="mask must be bool"):
        metric.update(preds, target, mask.float())
