"""The Video->EMG model: output contract, masks, and learning EMG that is a known pose function."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from fusion.encoders.base import Tokens
from fusion.metrics.emg import EnvelopeMetrics
from fusion.models.video2emg import (
    Video2EMGModel,
    interpolate_curves,
    phase_features,
    token_spacing,
)

JOINTS, CHANNELS, PAIRS = 5, 4, 2


def model(**options) -> Video2EMGModel:
    encoders = {"pose": {"name": "pose_transformer", "joints": JOINTS, "dim": 32, "dropout": 0.0}}
    return Video2EMGModel(["pose"], encoders, dim=32, channels=CHANNELS, pairs=PAIRS, **options)


def make_batch(n: int, seed: int) -> dict[str, torch.Tensor]:
    """Smooth random joint paths at 20 Hz; channel c's envelope is a soft rectification of
    joint c's height, read at 10 Hz: a known function of the pose to follow in time."""
    gen = torch.Generator().manual_seed(seed)
    frames = 40
    t = torch.arange(frames) / 20.0
    freq = 0.5 + 1.5 * torch.rand(n, 1, JOINTS, 3, generator=gen)
    phase = 6.28 * torch.rand(n, 1, JOINTS, 3, generator=gen)
    pose = torch.sin(freq * 6.28 * t[None, :, None, None] + phase)
    envelope = F.softplus(3.0 * pose[:, ::2, :CHANNELS, 2])
    return {
        "pose": pose,
        "pose_mask": torch.ones(n, frames, dtype=torch.bool),
        "pose_times": t.expand(n, frames),
        "envelope": envelope,
        "envelope_times": t[::2].expand(n, frames // 2),
        "envelope_mask": torch.ones(n, frames // 2, dtype=torch.bool),
        "contribution": torch.full((n, PAIRS), 0.5),
    }


def test_outputs_follow_the_target_clock_and_padding_stays_silent():
    batch = make_batch(3, seed=0)
    batch["envelope_mask"][1, 12:] = False
    out = model()(batch)
    assert out["envelope"].shape == (3, 20, CHANNELS)
    assert out["contribution"].shape == (3, PAIRS)
    assert (out["envelope"][1, 12:] == 0).all()
    assert ((out["contribution"] > 0) & (out["contribution"] < 1)).all()


def test_a_sample_without_pose_gets_no_pose_evidence():
    batch = make_batch(2, seed=1)
    net = model().eval()
    alone = net({k: v[:1] for k, v in batch.items()})
    batch["pose_mask"][1] = False
    batch["pose"][1] = 1e3  # masked garbage
    together = net(batch)
    torch.testing.assert_close(together["envelope"][:1], alone["envelope"], atol=1e-5, rtol=0)


def test_token_spacing_is_the_mean_gap_between_real_tokens():
    times = torch.tensor([[0.0, 0.5, 1.0, 9.0], [0.0, 0.1, 0.2, 0.3]])
    mask = torch.tensor([[True, True, True, False], [True, False, False, False]])
    tokens = Tokens(torch.zeros(2, 4, 1), mask, times)
    torch.testing.assert_close(token_spacing(tokens), torch.tensor([0.5, 1.0]))


def test_unknown_inputs_are_refused():
    with pytest.raises(ValueError, match="expected some of"):
        Video2EMGModel(["emg"], {"emg": {"name": "emg"}}, 32, CHANNELS, PAIRS)
    with pytest.raises(ValueError, match="no encoder configured for pose"):
        Video2EMGModel(["pose"], {}, 32, CHANNELS, PAIRS)


def test_learns_emg_that_is_a_known_function_of_the_pose():
    torch.manual_seed(0)
    net = model()
    optimiser = torch.optim.Adam(net.parameters(), lr=3e-3)
    train = make_batch(64, seed=2)
    for _ in range(150):
        out = net(train)
        loss = F.mse_loss(out["envelope"], train["envelope"])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    test = make_batch(32, seed=3)
    net.eval()
    with torch.no_grad():
        out = net(test)
    metric = EnvelopeMetrics(CHANNELS)
    metric.update(out["envelope"], test["envelope"], test["envelope_mask"])
    figures = metric.compute()
    assert figures["r"] > 0.9
    assert figures["clip_r"] > 0.85  # it follows each clip's envelope in time


def test_interpolate_curves_reads_linearly_between_grid_points():
    curves = torch.tensor([[[0.0], [10.0], [20.0]]])  # 3 points over 0..1
    fraction = torch.tensor([[0.0, 0.25, 0.5, 1.0]])
    out = interpolate_curves(curves, fraction)
    torch.testing.assert_close(out[0, :, 0], torch.tensor([0.0, 5.0, 10.0, 20.0]))


def test_phase_features_run_from_zero_to_one_over_the_real_rows():
    times = torch.tensor([[1.0, 1.5, 2.0, 0.0]])
    mask = torch.tensor([[True, True, True, False]])
    phase = phase_features(times, mask, harmonics=1)
    torch.testing.assert_close(phase[0, :, 0], torch.tensor([0.0, 0.5, 1.0, 0.0]))
    torch.testing.assert_close(phase[0, 1, 1:], torch.tensor([0.0, -1.0]), atol=1e-6, rtol=0)


def test_templates_learn_each_exercise_curve_without_the_label_as_input():
    torch.manual_seed(0)
    batch = make_batch(32, seed=4)
    names = ["curl" if i % 2 else "squat" for i in range(32)]
    phase = torch.linspace(0, 1, 20)
    curve = {"squat": torch.sin(torch.pi * phase), "curl": phase}
    batch["envelope"] = torch.stack([curve[n] for n in names])[..., None].expand(-1, -1, CHANNELS)
    batch["pose"][torch.tensor([n == "curl" for n in names])] += 2.0  # the exercise is visible
    batch["action"] = names
    net = model(actions=["curl", "squat"])
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(150):
        out = net(batch)
        rows = net.action_rows(batch["action"], out["envelope"].device)
        loss = F.l1_loss(out["envelope"], batch["envelope"]) + F.cross_entropy(
            out["action_logits"], rows
        )
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    net.eval()
    del batch["action"]  # the label is not an input
    with torch.no_grad():
        out = net(batch)
    assert (out["action_logits"].argmax(1) == rows).all()
    assert F.l1_loss(out["envelope"], batch["envelope"]) < 0.05
    assert net.action_rows(["lunge"], torch.device("cpu")).tolist() == [-100]
