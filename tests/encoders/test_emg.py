"""EMGEncoder: spectrogram/envelope frames against numpy references, frame-centre times, masks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.signal import get_window

from fusion.encoders.emg import EMGEncoder

N_FFT, HOP = 128, 50


def _batch(lengths: list[int], samples: int = 1000, channels: int = 16) -> tuple[torch.Tensor, ...]:
    """(B, samples, channels) sEMG at 1 kHz starting at 0.25 s, first lengths[b] samples real."""
    torch.manual_seed(2)
    x = torch.randn(len(lengths), samples, channels)
    mask = torch.arange(samples) < torch.tensor(lengths)[:, None]
    times = 0.25 + torch.arange(samples, dtype=torch.float64).expand(len(lengths), -1) / 1000
    return x, mask, times


def _windows(signal: np.ndarray, frames: int) -> np.ndarray:
    """(frames, N_FFT) windows of a zero-padded 1-D signal centred on samples 0, HOP, 2 HOP, ..."""
    padded = np.pad(signal, (N_FFT // 2, N_FFT))
    return np.stack([padded[k * HOP : k * HOP + N_FFT] for k in range(frames)])


@pytest.mark.parametrize("samples, frames", [(1000, 20), (1001, 21), (1049, 21), (40, 1)])
def test_one_token_per_hop(samples: int, frames: int) -> None:
    x, mask, times = _batch([samples], samples=samples)
    tokens = EMGEncoder(n_fft=N_FFT, hop_length=HOP, dim=16)(x, mask, times)
    assert tokens.values.shape == (1, frames, 16)


def test_spectrogram_matches_numpy_reference() -> None:
    x, mask, _ = _batch([1000], channels=3)
    encoder = EMGEncoder(channels=3, n_fft=N_FFT, hop_length=HOP)
    features = encoder.frame_features(x.transpose(1, 2))[0, :20].numpy()
    window = get_window("hann", N_FFT)
    for c in range(3):
        spectrum = np.fft.rfft(_windows(x[0, :, c].numpy(), 20) * window, axis=-1)
        reference = np.log1p(np.abs(spectrum) ** 2)
        bins = N_FFT // 2 + 1
        np.testing.assert_allclose(
            features[:, c * bins : (c + 1) * bins], reference, rtol=1e-4, atol=1e-6
        )


def test_envelope_is_the_centred_moving_rms() -> None:
    x, mask, _ = _batch([1000], channels=2)
    encoder = EMGEncoder(channels=2, n_fft=N_FFT, hop_length=HOP, features="envelope")
    features = encoder.frame_features(x.transpose(1, 2))[0].numpy()
    assert features.shape == (20, 2)
    for c in range(2):
        reference = np.sqrt((_windows(x[0, :, c].numpy(), 20) ** 2).mean(-1))
        np.testing.assert_allclose(features[:, c], reference, rtol=1e-5)


def test_token_times_are_frame_centres() -> None:
    x, mask, times = _batch([1000, 730])
    tokens = EMGEncoder(n_fft=N_FFT, hop_length=HOP)(x, mask, times)
    expected = 0.25 + torch.arange(20, dtype=torch.float64) * HOP / 1000
    assert torch.allclose(tokens.times, expected.expand(2, -1))
    # A frame is real when its centre sample is: 730 real samples -> centres 0..700 -> 15 frames.
    assert tokens.mask.sum(1).tolist() == [20, 15]


def test_a_burst_peaks_at_the_token_centred_on_it() -> None:
    x, mask, times = _batch([1000], channels=1)
    x.zero_()
    x[0, 745:756, 0] = torch.randn(11)
    # 32-sample windows: only the frame centred on sample 750 sees the burst.
    encoder = EMGEncoder(channels=1, n_fft=32, hop_length=HOP, features="envelope")
    envelope = encoder.frame_features(x.transpose(1, 2))[0, :, 0]
    peak = int(envelope.argmax())
    assert envelope.gt(1e-5).sum() == 1
    assert times[0, peak * HOP].item() == pytest.approx(0.25 + 0.750)


@pytest.mark.parametrize("features", ["spectrogram", "envelope"])
def test_masked_values_change_no_real_token(features: str, assert_mask_invariant) -> None:
    x, mask, times = _batch([1000, 613, 0])
    encoder = EMGEncoder(features=features)
    assert_mask_invariant(encoder.train(), x, mask, times)


@pytest.mark.parametrize("features", ["spectrogram", "envelope"])
def test_gradients_reach_every_parameter(features: str, assert_grads_everywhere) -> None:
    x, mask, times = _batch([1000, 613, 0])
    encoder = EMGEncoder(features=features)
    assert_grads_everywhere(encoder, encoder(x, mask, times))


def test_bad_options_and_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown features 'mfcc'"):
        EMGEncoder(features="mfcc")
    x, mask, times = _batch([100], samples=100, channels=8)
    with pytest.raises(ValueError, match=r"expected \(B, L, 16\)"):
        EMGEncoder()(x, mask, times)
