"""Video->EMG results of a run, where `fusion bench video2emg` left them, and their curves.

The benchmark writes each learned cell's run folder as BENCH/runs/<cell>/, its predictions as
BENCH/predictions/<cell>.npz and the test clips' true envelopes as BENCH/targets-<protocol>.npz
(`fusion.emg_predictions`). A run folder without such a predictions file has no EMG results.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

from fusion.emg_plots import envelope_figure
from fusion.emg_predictions import read_predictions, read_targets, score

FIGURES = (
    ("mae", "envelope MAE"),
    ("rmse", "envelope RMSE"),
    ("r", "Pearson r"),
    ("clip_r", "per-clip Pearson r"),
    ("contribution_mae", "left/right share MAE"),
)  # scored figures of a Video->EMG run and their labels


@dataclass(frozen=True)
class EMGResults:
    """A run's scored Video->EMG predictions: one record per test clip (key, times, true
    `target` and predicted `envelope`), and the averaged figures."""

    predictions: Path
    targets: Path
    protocol: str
    records: list[dict[str, Any]]
    figures: dict[str, float]


def find_emg(folder: Path, config: dict[str, Any]) -> EMGResults | None:
    """The run's Video->EMG predictions checked against their targets; None if it has none.

    A predictions file without its targets file, or one that does not match them, is a
    DataError naming the file.
    """
    bench = folder.parent.parent
    predictions = bench / "predictions" / f"{folder.name}.npz"
    if not predictions.is_file():
        return None
    protocol = str((config["data"].get("split") or {}).get("protocol", "random"))
    targets = bench / f"targets-{protocol}.npz"
    records = read_predictions(predictions, read_targets(targets))
    figures = {k: v for k, v in score(records).items() if isinstance(v, float)}
    return EMGResults(predictions, targets, protocol, records, figures)


def curves_figure(results: EMGResults, keys: list[str] | None = None) -> plt.Figure:
    """True and predicted envelopes of the busiest muscles of the given clips (default: the
    benchmark's first test clips), one row per clip, laid out to fill the page's width."""
    records_of = {("predicted", results.protocol, 0): results.records}
    if keys is None:
        figure = envelope_figure(records_of, {results.protocol: results.records})
    else:
        by_key = {r["key"]: r for r in results.records}
        chosen = [by_key[key] for key in keys]
        figure = envelope_figure(records_of, {results.protocol: chosen}, clips=len(chosen))
    figure.tight_layout()
    return figure
