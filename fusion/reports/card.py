"""Report cards: one test sample each. An AQA card holds the true and predicted action and
score, the points lost per FKG error (`breakdown`) and the feedback; a text card each
question's reference and generated answers; a Video->EMG card the clip's envelopes. Every
card shows frames of up to two views with the predicted and true error spans marked on a
timeline strip, or says why it cannot.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fusion.fkg.graph import FitnessKnowledgeGraph
from fusion.fkg.scoring import ScoreBreakdown, breakdown
from fusion.reports.columns import named_numbers, names, spans
from fusion.reports.emg import curves_figure
from fusion.reports.frames import Clip, Dataset, FramesUnavailable
from fusion.reports.markup import esc, image, number, table
from fusion.reports.plots import figure_uri, image_uri
from fusion.reports.run import ReportError, Run

Span = tuple[float, float]


@dataclass(frozen=True)
class Track:
    """One error on the timeline: its predicted spans and its labelled span (if any)."""

    error: str
    predicted: tuple[Span, ...]
    true: Span | None


def sample_rows(run: Run) -> dict[str, list[dict[str, str]]]:
    """predictions.csv's rows by key, in file order (a text run has one row per question)."""
    rows: dict[str, list[dict[str, str]]] = {}
    for row in run.predictions:
        rows.setdefault(row["key"], []).append(row)
    return rows


def card_source(run: Run) -> Path:
    """The file a card's sample must be in: predictions.csv, or the Video->EMG predictions."""
    if run.kind == "video2emg" and run.emg is not None:
        return run.emg.predictions
    return run.folder / "predictions.csv"


def chosen_keys(run: Run, samples: list[str] | None, count: int) -> list[str]:
    """The carded samples: `samples` (each must be in the run's predictions), else the first
    `count` test samples."""
    if run.kind == "video2emg" and run.emg is not None:
        known = [r["key"] for r in run.emg.records]
    else:
        known = list(sample_rows(run))
    if samples is None:
        return known[:count]
    for key in samples:
        if key not in known:
            raise ReportError(
                card_source(run),
                f"sample {key!r} is not in it (it holds {len(known)} test samples, "
                f"e.g. {', '.join(known[:3])})",
            )
    return list(samples)


def render_card(run: Run, key: str, dataset: Dataset, fkg: FitnessKnowledgeGraph | None) -> str:
    """The card of one sample as an HTML <section>."""
    rows = sample_rows(run).get(key, [])
    try:
        clip: Clip | None = dataset.clip(key)
        missing = ""
    except FramesUnavailable as why:
        clip, missing = None, str(why)
    parts = [f'<section class="card" id="card-{esc(key)}"><h3>{esc(key)}</h3>']
    if run.kind == "aqa":
        assert fkg is not None
        details, tracks = aqa_details(run, key, rows[0], fkg, clip)
    elif run.kind == "text":
        details, tracks = text_details(rows, clip)
    else:
        details, tracks = emg_details(run, key), None
    parts.append(details)
    if clip is None:
        parts.append(f'<p class="missing">Frames not shown: {esc(missing)}.</p>')
    else:
        parts.append(frames_html(clip, tracks))
    parts.append("</section>")
    return "\n".join(parts)


def _breakdown(
    run: Run, key: str, fkg: FitnessKnowledgeGraph, action: str, errors: list[str]
) -> ScoreBreakdown:
    """`breakdown` of the errors under an action of the run's FKG; a name the FKG does not
    know is a ReportError naming predictions.csv."""
    try:
        return breakdown(fkg.action(action), errors)
    except (KeyError, ValueError) as error:
        raise ReportError(
            run.folder / "predictions.csv",
            f"sample {key}: {error.args[0]} (FKG {fkg.name}, the run's task.fkg)",
        ) from None


def aqa_details(
    run: Run, key: str, row: dict[str, str], fkg: FitnessKnowledgeGraph, clip: Clip | None
) -> tuple[str, list[Track]]:
    """Action, scores, points lost per error (predicted and true) and feedback; the tracks
    of every predicted or labelled error."""
    predicted = _breakdown(
        run, key, fkg, row["action_pred"], list(named_numbers(row["points_lost"]))
    )
    truth = None
    if row["action"]:
        truth = _breakdown(run, key, fkg, row["action"], names(row["errors_true"]))
    said = spans(row["spans_pred"])
    true_spans = clip.true_spans if clip else {}
    lost = {item.name: item for item in predicted.items}
    real = {item.name: item for item in truth.items} if truth else {}
    order = [*lost, *(n for n in real if n not in lost)]
    facts = [
        ("action", _action(fkg, row["action"]), _action(fkg, row["action_pred"])),
        (
            "score",
            row["score"] or "unlabelled",
            f"{row['score_pred']} direct, {row['fkg_score']} FKG",
        ),
    ]
    html = [table(("", "true", "predicted"), facts, css="facts")]
    lines = []
    for name in order:
        item = lost.get(name) or real[name]
        lines.append(
            (
                name,
                item.phase,
                item.severity,
                number(lost[name].points_lost, 1) if name in lost else "–",
                number(real[name].points_lost, 1) if name in real else "–",
                _spans_text(said.get(name, [])),
                _spans_text([true_spans[name]]) if name in true_spans else "–",
            )
        )
    lines.append(
        (
            "score from these errors",
            "",
            "",
            number(predicted.score, 1),
            number(truth.score, 1) if truth else "–",
            "",
            "",
        )
    )
    header = ("error", "phase", "severity", "points lost (predicted)", "points lost (true)",
              "predicted spans", "true span")  # fmt: skip
    html.append(table(header, lines, css="points"))
    feedback = [text for text in row["feedback"].split(" | ") if text]
    if feedback:
        html.append('<h4>Feedback</h4><ul class="feedback">')
        html.extend(f"<li>{esc(text)}</li>" for text in feedback)
        html.append("</ul>")
    else:
        html.append('<p class="feedback">No feedback: no error predicted.</p>')
    tracks = [Track(n, tuple(said.get(n, [])), true_spans.get(n)) for n in order]
    return "\n".join(html), tracks


def _action(fkg: FitnessKnowledgeGraph, action: str) -> str:
    """`A01 Barbell Back Squat`, or `unlabelled`."""
    if not action:
        return "unlabelled"
    try:
        return f"{action} {fkg.action(action).name}"
    except KeyError:
        return action


def _spans_text(found: list[Span]) -> str:
    return ", ".join(f"{s:.2f}–{e:.2f} s" for s, e in found) or "–"


def text_details(rows: list[dict[str, str]], clip: Clip | None) -> tuple[str, list[Track]]:
    """Each question with its reference and generated answer; the tracks of every error
    said or labelled, with the spans the answers gave."""
    first = rows[0]
    facts = [("action", first["action"] or "unlabelled", first["action_pred"] or "–")]
    html = [table(("", "true", "answered"), facts, css="facts")]
    answers = [
        (
            r["turn"],
            r["question"],
            r["reference"],
            r["generated"],
            "yes" if r["parsed"] == "1" else "no",
        )
        for r in rows
    ]
    html.append(
        table(
            ("turn", "question", "reference answer", "generated answer", "parsed"),
            answers,
            css="answers",
        )
    )
    said: dict[str, list[Span]] = {}
    told: list[str] = []
    for row in rows:
        told.extend(n for n in names(row["errors_pred"]) if n not in told)
        for name, found in spans(row["spans_pred"]).items():
            known = said.setdefault(name, [])
            known += [span for span in found if span not in known]
    true_spans = clip.true_spans if clip else {}
    order = [*told, *(n for n in names(first["errors_true"]) if n not in told)]
    return "\n".join(html), [Track(n, tuple(said.get(n, [])), true_spans.get(n)) for n in order]


def emg_details(run: Run, key: str) -> str:
    """The clip's true and predicted envelopes of its busiest muscles."""
    assert run.emg is not None
    uri = figure_uri(curves_figure(run.emg, [key]))
    return image(uri, f"EMG envelopes of {key}", "card-plot")


def _inside(time: float, found: list[Span] | tuple[Span, ...]) -> bool:
    return any(start <= time <= end for start, end in found)


def frames_html(clip: Clip, tracks: list[Track] | None) -> str:
    """The frames of each shown view (a frame inside a predicted span has the `in-pred`
    class, inside a labelled one `in-true`) over a timeline strip of the tracks; None: a
    run without error spans (Video->EMG), no strip."""
    predicted = [s for t in tracks or () for s in t.predicted]
    labelled = [t.true for t in tracks or () if t.true is not None]
    if len(clip.views_found) == 1:
        note = f"{clip.dataset} clips have one view: showing view {clip.views[0]}."
    else:
        shown = " and ".join(str(v) for v in clip.views)
        plural = "s" if len(clip.views) > 1 else ""
        note = f"View{plural} {shown} of the {len(clip.views_found)} {clip.dataset} views."
        if clip.tested_views:
            note += f" The run was tested on view(s) {', '.join(map(str, clip.tested_views))}."
    html = [f'<p class="views">{esc(note)} Frames at {_times(clip)}.</p>', '<div class="frames">']
    for view, frames in zip(clip.views, clip.frames, strict=True):
        html.append(f'<div class="view"><span class="view-name">View {view}</span>')
        for time, frame in zip(clip.times, frames, strict=True):
            marks = ["frame"]
            marks += ["in-pred"] if _inside(time, predicted) else []
            marks += ["in-true"] if _inside(time, labelled) else []
            alt = f"{clip.key} view {view} at {time:.2f} s"
            html.append(
                image(image_uri(frame), alt, " ".join(marks), view=view, time=f"{time:.3f}")
            )
        html.append("</div>")
    html.append("</div>")
    if tracks is not None:
        html.append(timeline_html(clip, tracks))
    return "\n".join(html)


def _times(clip: Clip) -> str:
    return ", ".join(f"{t:.2f}" for t in clip.times) + f" s of {clip.duration_s:.2f} s"


def _bar(span: Span, duration: float, css: str, error: str) -> str:
    start, end = max(0.0, span[0]), min(duration, span[1])
    left, width = 100 * start / duration, 100 * max(0.0, end - start) / duration
    what = "predicted" if css == "pred" else "labelled"
    return (
        f'<span class="bar {css}" data-start="{span[0]:.3f}" data-end="{span[1]:.3f}" '
        f'style="left:{left:.2f}%;width:{width:.2f}%" '
        f'title="{esc(error)} {what} {span[0]:.2f}–{span[1]:.2f} s"></span>'
    )


def timeline_html(clip: Clip, tracks: list[Track]) -> str:
    """One lane per error with its predicted (orange) and labelled (green) spans against the
    clip's duration, and a tick at each shown frame."""
    duration = clip.duration_s
    ticks = "".join(
        f'<span class="tick" style="left:{100 * t / duration:.2f}%"></span>' for t in clip.times
    )
    lanes = tracks or [Track("no error predicted or labelled", (), None)]
    html = [f'<div class="timeline" data-duration="{duration:.3f}">']
    for track in lanes:
        bars = [_bar(s, duration, "pred", track.error) for s in track.predicted]
        if track.true is not None:
            bars.append(_bar(track.true, duration, "true", track.error))
        html.append(
            f'<div class="track" data-error="{esc(track.error)}">'
            f'<span class="track-name">{esc(track.error)}</span>'
            f'<div class="lane">{"".join(bars)}{ticks}</div></div>'
        )
    unlabelled = "" if clip.labelled else " The dataset labels no errors for this sample."
    html.append(
        f'<div class="axis"><span>0 s</span><span>{duration:.2f} s</span></div>'
        f'<p class="legend"><span class="key pred"></span> predicted span (frames inside it '
        f'have an orange border) <span class="key true"></span> labelled span (frames inside it '
        f"have a green inner frame).{esc(unlabelled)}</p></div>"
    )
    return "\n".join(html)
