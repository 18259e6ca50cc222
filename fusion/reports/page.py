"""The report page: headline and test metrics, plots, Video->EMG curves and report cards,
assembled into one self-contained HTML file (images are PNG data URIs) written atomically."""

from __future__ import annotations

import os
import time
from pathlib import Path

from fusion.fkg.loader import load_fkg
from fusion.outputs import OutputError, say_swept, sweep_stale, temporary, writer_lock
from fusion.reports.card import chosen_keys, render_card
from fusion.reports.emg import FIGURES
from fusion.reports.frames import Dataset
from fusion.reports.markup import esc, image, number, table
from fusion.reports.plots import Plot, emg_plot, run_plots
from fusion.reports.run import ReportError, Run, is_number
from fusion.summary import ROWS

TITLE = "<title>fusion report: "  # how an earlier report is told from another file
PER_ERROR = ("test/f1/", "test/ap/")  # per-error metrics, listed apart from the headline ones
STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
figure { margin: 1em 0; } img.plot, img.card-plot { max-width: 100%; }
figcaption, .views, .legend, .missing { color: #555; font-size: 0.9em; }
.missing { color: #a40000; font-weight: bold; }
.card { border: 1px solid #bbb; border-radius: 6px; padding: 0.5em 1em; margin: 1.5em 0; }
.view { display: flex; align-items: center; gap: 4px; margin: 4px 0; }
.view-name { flex: 0 0 5em; font-size: 0.85em; }
img.frame { width: 96px; image-rendering: pixelated; border: 4px solid transparent; }
img.frame.in-pred { border-color: #e67e22; }
img.frame.in-true { outline: 3px solid #27ae60; outline-offset: -9px; }
.timeline { margin: 0.5em 0; max-width: 900px; }
.track { display: flex; align-items: center; height: 18px; margin: 2px 0; }
.track-name { flex: 0 0 160px; box-sizing: border-box; padding-right: 6px; font-size: 0.8em;
  text-align: right; }
.lane { position: relative; flex: 1; height: 14px; background: #eee; }
.bar { position: absolute; top: 0; height: 7px; }
.bar.pred { background: #e67e22; } .bar.true { background: #27ae60; top: 7px; }
.tick { position: absolute; top: 0; height: 14px; width: 1px; background: #555; }
.axis { display: flex; justify-content: space-between; font-size: 0.8em; margin-left: 160px; }
.key { display: inline-block; width: 1.5em; height: 0.7em; }
.key.pred { background: #e67e22; } .key.true { background: #27ae60; }
"""


def headline(run: Run) -> str:
    """Name, task, modalities, data, split, epochs, seed and checkpoint of the run."""
    reader = run.section("data", "reader") or {}
    epochs = run.metrics.get("epochs")
    if epochs is None:
        epochs = f"{run.section('trainer', 'max_epochs')} (configured)"
    modalities = run.section("model", "modalities") or []
    facts = [
        ("run", run.name),
        ("folder", run.folder),
        ("task", run.kind),
        ("modalities", ", ".join(modalities) or "–"),
        ("data root", f"{reader.get('root')} (format {reader.get('format', 'auto')})"),
        ("split protocol", run.section("data", "split", "protocol") or "–"),
        ("epochs", epochs),
        ("seed", run.config.get("seed", "–")),
        ("best checkpoint", run.metrics.get("best_checkpoint") or "–"),
    ]
    return table(("", ""), facts, css="headline")


def metric_rows(run: Run) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """(label, key, value) of the test metrics, named ones first (`fusion.summary.ROWS`, or the
    Video->EMG figures), then every other test/* metric; and the per-error ones apart."""
    labels = dict(ROWS) if run.kind != "video2emg" else {f"test/{k}": v for k, v in FIGURES}
    values = {k: v for k, v in run.metrics.items() if k.startswith("test/") and is_number(v)}
    named = [(label, key, number(values[key])) for key, label in labels.items() if key in values]
    others = [
        (key.removeprefix("test/"), key, number(value))
        for key, value in values.items()
        if key not in labels and not key.startswith(PER_ERROR)
    ]
    per_error = [(k, number(v)) for k, v in values.items() if k.startswith(PER_ERROR)]
    return named + others, per_error


def metrics_html(run: Run) -> str:
    """The test metrics table, with the per-error metrics folded beneath it."""
    rows, per_error = metric_rows(run)
    source = "metrics.json" if run.kind != "video2emg" else "the run's Video→EMG predictions"
    html = [f"<p>Test metrics, from {esc(source)}.</p>"]
    html.append(table(("metric", "key", "value"), rows, css="metrics"))
    if per_error:
        html.append(f"<details><summary>{len(per_error)} per-error metrics</summary>")
        html.append(table(("key", "value"), per_error, css="per-error"))
        html.append("</details>")
    return "\n".join(html)


def plot_html(plot: Plot) -> str:
    return (
        f"<figure><h3>{esc(plot.title)}</h3>{image(plot.uri, plot.title, 'plot')}"
        f"<figcaption>{esc(plot.caption)}</figcaption></figure>"
    )


def emg_html(run: Run) -> str:
    """The Video->EMG section; empty (no section at all) when the run has no EMG predictions."""
    plot = emg_plot(run)
    if plot is None or run.emg is None:
        return ""
    html = ['<section id="emg"><h2>Video→EMG</h2>']
    if run.kind != "video2emg":  # a Video->EMG run shows these figures in its headline
        rows = [(label, number(run.emg.figures[k])) for k, label in FIGURES if k in run.emg.figures]
        html.append(table(("figure", "value"), rows, css="emg-metrics"))
    html.append(plot_html(plot))
    html.append("</section>")
    return "\n".join(html)


def build_page(run: Run, samples: list[str] | None = None, cards: int = 3) -> str:
    """The whole page for a run: cards for `samples`, else for its first `cards` samples."""
    keys = chosen_keys(run, samples, cards)
    fkg = load_fkg(run.section("task", "fkg")) if run.kind == "aqa" else None
    dataset = Dataset(run.config["data"])
    plots = run_plots(run)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"{TITLE}{esc(run.name)}</title><style>{STYLE}</style></head><body>",
        f"<h1>Run report: {esc(run.name)}</h1>",
        headline(run),
        '<section id="metrics"><h2>Test metrics</h2>',
        metrics_html(run),
        "</section>",
        '<section id="plots"><h2>Plots</h2>',
        *(plot_html(p) for p in plots),
        "</section>"
        if plots
        else "<p>No plots: the run has nothing they are drawn from.</p></section>",
        emg_html(run),
        f'<section id="cards"><h2>Report cards ({len(keys)})</h2>',
        *(render_card(run, key, dataset, fkg) for key in keys),
        "</section>",
        f"<footer><p>Written by <code>fusion report</code> on {time.strftime('%Y-%m-%d %H:%M')} "
        f"from {esc(run.folder)}.</p></footer>",
        "</body></html>",
    ]
    return "\n".join(part for part in parts if part) + "\n"


def _is_report(path: Path) -> bool:
    """Whether `path` starts like a page `fusion report` wrote (its title within 4 KiB)."""
    with path.open("rb") as handle:
        head = handle.read(4096).decode("utf-8", errors="replace")
    return TITLE in head


def write_page(text: str, path: Path) -> Path:
    """Write the page through a temporary name in the same folder, then rename it, so a
    reader never sees half a page; one writer at a time, and an existing file is replaced only
    when it is an earlier report."""
    path = Path(path)
    if path.is_symlink() or path.is_dir() or (path.exists() and not _is_report(path)):
        raise ReportError(path, "exists and is not an earlier fusion report; expected a new "
                                "file name or a report to replace")  # fmt: skip
    try:
        with writer_lock(path, "report"):
            say_swept(sweep_stale(path), "report")
            tmp = temporary(path)
            try:
                tmp.write_text(text, encoding="utf-8")
                os.replace(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)
    except OutputError as error:
        raise ReportError(path, str(error).removeprefix(f"{path}: ")) from None
    return path
