"""Video->EMG plots: per-muscle r of every model (the benchmark's), and predicted against true
envelopes (the benchmark's and `fusion report`'s; docs/architecture.md)."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from fusion.constants import EMG_CHANNELS  # noqa: E402

CLIPS_SHOWN = 3  # test clips per protocol in envelopes.png
MUSCLES_SHOWN = 4  # the channels with the most activity in those clips


def _save(figure: plt.Figure, path: Path) -> Path:
    """Write through a temporary name, so a half-drawn PNG never replaces a good one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp.png")
    figure.savefig(temporary, dpi=110, bbox_inches="tight")
    plt.close(figure)
    os.replace(temporary, path)
    return path


def _channel_names(count: int) -> list[str]:
    return list(EMG_CHANNELS) if count == len(EMG_CHANNELS) else [f"ch{i}" for i in range(count)]


def plot_per_muscle_r(rows: Sequence[Mapping[str, Any]], path: Path) -> Path:
    """One panel per protocol: grouped bars of each model's mean r per muscle channel."""
    by_protocol: dict[str, dict[str, list[list[float]]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        by_protocol[row["protocol"]][row["model"]].append(list(row["r_ch"]))
    figure, axes = plt.subplots(
        len(by_protocol),
        1,
        figsize=(12, 4.2 * len(by_protocol)),
        squeeze=False,
        layout="constrained",
    )
    for ax, (protocol, models) in zip(axes[:, 0], by_protocol.items(), strict=True):
        width = 0.8 / len(models)
        channels = len(next(iter(models.values()))[0])
        for n, (model, values) in enumerate(models.items()):
            mean = np.nanmean(np.array(values, dtype=float), axis=0)
            ax.bar(np.arange(channels) + n * width, mean, width, label=model)
        ax.set_xticks(np.arange(channels) + 0.4 - width / 2, _channel_names(channels))
        ax.tick_params(axis="x", labelrotation=60, labelsize=7)
        ax.set_ylabel("Pearson r")
        ax.set_title(protocol)
        ax.axhline(0.0, color="black", linewidth=0.5)
        ax.set_ylim(top=1.2)  # room above the bars for the legend
        ax.legend(fontsize=7, ncol=len(models), loc="upper center")
    return _save(figure, path)


def plot_envelopes(
    records_of: Mapping[tuple[str, str, int], Sequence[Mapping[str, Any]]],
    targets_of: Mapping[str, Sequence[Mapping[str, Any]]],
    path: Path,
) -> Path:
    """envelopes.png: `envelope_figure` of the first test clips of each protocol."""
    return _save(envelope_figure(records_of, targets_of), path)


def envelope_figure(
    records_of: Mapping[tuple[str, str, int], Sequence[Mapping[str, Any]]],
    targets_of: Mapping[str, Sequence[Mapping[str, Any]]],
    clips: int = CLIPS_SHOWN,
) -> plt.Figure:
    """For the first `clips` test clips of each protocol: true envelope and every model's
    prediction (first seed) for the clip's most active muscles."""
    protocols = list(targets_of)
    figure, axes = plt.subplots(
        len(protocols) * clips,
        MUSCLES_SHOWN,
        figsize=(3.2 * MUSCLES_SHOWN, 2.0 * clips * len(protocols)),
        squeeze=False,
    )
    for p, protocol in enumerate(protocols):
        models = {}
        for (model, proto, _seed), records in records_of.items():
            if proto == protocol and model not in models:
                models[model] = {r["key"]: r for r in records}
        for c, target in enumerate(targets_of[protocol][:clips]):
            names = _channel_names(target["target"].shape[1])
            busiest = np.argsort(-target["target"].mean(0))[:MUSCLES_SHOWN]
            for m, channel in enumerate(busiest):
                ax = axes[p * clips + c, m]
                ax.plot(target["times"], target["target"][:, channel], "k", lw=2, label="true")
                for model, by_key in models.items():
                    predicted = by_key[target["key"]]["envelope"][:, channel]
                    ax.plot(target["times"], predicted, lw=1, label=model)
                ax.set_title(f"{protocol} {target['key']} {names[channel]}", fontsize=7)
                ax.tick_params(labelsize=6)
    axes[0, 0].legend(fontsize=6)
    return figure
