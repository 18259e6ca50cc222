"""The run's plots drawn again from its files (with `fusion.report`'s plotting functions),
as PNG data URIs the page embeds."""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from fusion.report import (
    LEARNING_CURVES,
    error_f1_figure,
    f1_per_name,
    learning_curves_figure,
    scores_figure,
)
from fusion.reports.columns import named_numbers, names
from fusion.reports.emg import curves_figure
from fusion.reports.run import Run, is_number

F1_PREFIX = "test/f1/"


@dataclass(frozen=True)
class Plot:
    """One embedded plot: its heading, a line on where it comes from, the PNG data URI."""

    title: str
    caption: str
    uri: str


def figure_uri(fig: plt.Figure) -> str:
    """A matplotlib figure as a PNG data URI (the figure is freed)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def image_uri(image: np.ndarray) -> str:
    """An (H, W, 3) uint8 RGB image as a PNG data URI."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def metric_f1(run: Run) -> dict[str, float]:
    """Test F1 per (action, error) from metrics.json's test/f1/<action>/<error> keys."""
    return {
        key.removeprefix(F1_PREFIX): float(value)
        for key, value in sorted(run.metrics.items())
        if key.startswith(F1_PREFIX) and is_number(value) and not math.isnan(value)
    }


def predicted_f1(run: Run) -> dict[str, float]:
    """Test F1 per error name from predictions.csv: each error named in errors_pred or
    errors_true is a label (present when in errors_true), thresholded at test/threshold."""
    labelled: dict[str, tuple[list[float], list[int]]] = {}
    for row in run.predictions:
        if not row["action"]:
            continue
        probs = named_numbers(row["errors_pred"])
        present = set(names(row["errors_true"]))
        for name in sorted(set(probs) | present):
            p, y = labelled.setdefault(name, ([], []))
            p.append(probs.get(name, 0.0))
            y.append(int(name in present))
    threshold = run.metrics.get("test/threshold")
    return f1_per_name(labelled, threshold if is_number(threshold) else 0.5)


def run_plots(run: Run) -> list[Plot]:
    """Learning curves, predicted against true scores and per-error F1, where the run has
    what they are drawn from; Video->EMG curves are `emg_plot`."""
    plots = []
    curves = learning_curves_figure(run.log, *LEARNING_CURVES[run.kind])
    if curves is not None:
        plots.append(Plot("Learning curves", "per epoch, from metrics.csv", figure_uri(curves)))
    if run.kind == "aqa":
        scored = [r for r in run.predictions if r["score"]]
        figure = scores_figure(
            [float(r["score"]) for r in scored],
            [float(r["score_pred"]) for r in scored],
            [float(r["fkg_score"]) for r in scored],
        )
        if figure is not None:
            caption = f"{len(scored)} scored test samples, from predictions.csv"
            plots.append(Plot("Predicted against true scores", caption, figure_uri(figure)))
    f1, source = metric_f1(run), "per action and error, from metrics.json"
    if not f1 and run.kind == "aqa":
        f1 = predicted_f1(run)
        source = (
            "per error, from predictions.csv (its rounded probabilities; every error it names "
            "counted as labelled)"
        )
    figure = error_f1_figure(f1)
    if figure is not None:
        plots.append(Plot("Per-error F1", f"test F1 {source}", figure_uri(figure)))
    return plots


def emg_plot(run: Run) -> Plot | None:
    """Predicted against true EMG envelopes of the first test clips; None without EMG results."""
    if run.emg is None:
        return None
    caption = (
        f"the {run.emg.protocol} protocol's first test clips, busiest muscles; from "
        f"{run.emg.predictions} and {run.emg.targets}"
    )
    return Plot("Video→EMG envelopes", caption, figure_uri(curves_figure(run.emg)))
