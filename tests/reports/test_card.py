"""Report cards: points lost per FKG error, span marks on the right frames, answers of a text
run, and what a card says when its sample or dataset is missing."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser

import pytest

from fusion.data.config import ReaderConfig
from fusion.data.readers import open_reader
from fusion.fkg.loader import load_fkg
from fusion.reports.card import chosen_keys, render_card
from fusion.reports.frames import Dataset, frame_rows
from fusion.reports.run import ReportError, load_run


class Tags(HTMLParser):
    """Every start tag as (tag, attributes)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def find(self, tag: str, *css: str) -> list[dict[str, str]]:
        """The tags with every one of the classes."""
        return [a for t, a in self.tags if t == tag and set(css) <= set(a.get("class", "").split())]


def card(run, key: str) -> str:
    return render_card(run, key, Dataset(run.config["data"]), load_fkg())


def cells(html: str, first: str) -> list[str]:
    """The cells after the first of the table row that starts with `first`."""
    row = re.search(rf"<tr><td>{first}</td>(.*?)</tr>", html)
    assert row is not None, first
    return re.findall(r"<td>(.*?)</td>", row[1])


def test_points_lost_are_each_errors_share_of_the_fkg_weights(aqa_run):
    run = load_run(aqa_run())
    squat = load_fkg().action("A01")
    total = sum(e.weight for e in squat.errors)
    share = {e.name: 100 * e.weight / total for e in squat.errors}
    html = card(run, "A01/001")  # predicted: rounded_lower_back, knees_inward; true: the first
    # columns after the name: phase, severity, points lost predicted / true, spans predicted / true
    assert cells(html, "rounded_lower_back")[2:4] == [f"{share['rounded_lower_back']:.1f}"] * 2
    assert cells(html, "knees_inward")[2:4] == [f"{share['knees_inward']:.1f}", "–"]
    left = 100 - share["rounded_lower_back"] - share["knees_inward"]
    assert cells(html, "score from these errors")[2] == f"{left:.1f}"
    assert cells(html, "score")[:2] == ["79.55", "97.50 direct, 96.00 FKG"]
    assert "<li>Keep a neutral spine.</li>" in html
    missed = card(run, "A01/008")  # a true error the model did not predict
    assert cells(missed, "knees_forward")[2:4] == ["–", f"{share['knees_forward']:.1f}"]
    assert "No feedback: no error predicted." in missed


def test_span_marks_sit_on_the_frames_inside_the_spans(aqa_run, flex_root):
    run = load_run(aqa_run())
    tags = Tags(card(run, "A01/001"))
    reader = open_reader(ReaderConfig(root=str(flex_root), modalities=["video"]))
    sample = reader.read(next(i for i in reader.index() if i.key == "A01/001"))
    times = sample.video.times[frame_rows(len(sample.video.times))]
    labelled = next(e.span_s for e in sample.labels.errors if e.name == "rounded_lower_back")
    predicted = [(1.0, 1.6), (2.5, 2.7), (0.2, 0.4)]
    frames = tags.find("img", "frame")
    assert len(frames) == 2 * len(times)  # two views
    assert {f["data-view"] for f in frames} == {"1", "5"}
    for frame in frames:
        t = float(frame["data-time"])
        assert min(abs(times - t)) < 1e-3
        classes = frame["class"].split()
        assert ("in-pred" in classes) == any(s <= t <= e for s, e in predicted), t
        assert ("in-true" in classes) == (labelled[0] <= t <= labelled[1]), t
    assert any("in-pred" in f["class"] for f in frames)
    duration = sample.video.duration_s
    bars = tags.find("span", "bar", "pred")
    assert len(bars) == 3
    assert sorted((float(b["data-start"]), float(b["data-end"])) for b in bars) == sorted(predicted)
    (first,) = [b for b in bars if b["data-start"] == "1.000"]
    assert f"left:{100 * 1.0 / duration:.2f}%" in first["style"]
    assert f"width:{100 * 0.6 / duration:.2f}%" in first["style"]
    (true_bar,) = tags.find("span", "bar", "true")
    assert float(true_bar["data-start"]) == pytest.approx(labelled[0], abs=1e-3)


def test_a_missing_dataset_folder_is_named_and_the_rest_of_the_card_stays(aqa_run, tmp_path):
    gone = tmp_path / "moved-away"
    run = load_run(aqa_run(root=gone))
    html = card(run, "A01/001")
    assert "Frames not shown" in html and str(gone) in html and "is missing" in html
    assert 'class="frame' not in html
    assert "<td>rounded_lower_back</td>" in html and "Keep a neutral spine." in html


def test_a_sample_missing_from_the_dataset_is_said(aqa_run, flex_subset):
    run = load_run(aqa_run(root=flex_subset(2)))
    html = card(run, "A01/008")
    assert "Frames not shown: sample A01/008 is not in the dataset folder" in html


def test_a_key_not_in_predictions_is_an_error_naming_it_and_the_file(aqa_run):
    run = load_run(aqa_run())
    assert chosen_keys(run, None, 2) == ["A01/001", "A01/002"]
    with pytest.raises(ReportError, match=r"predictions\.csv: sample 'A09/999' is not in it"):
        chosen_keys(run, ["A01/002", "A09/999"], 3)


def test_a_text_card_shows_each_question_with_both_answers_and_one_view(text_run):
    run = load_run(text_run)
    html = render_card(run, "BackSquat_S01_001", Dataset(run.config["data"]), None)
    for text in ("Q temporal?", "No errors are visible.", "It scores 80.", "It scores 90."):
        assert text in html
    assert "points lost" not in html
    assert "Fitness-AQA clips have one view: showing view 1." in html
    tags = Tags(html)
    assert {f["data-view"] for f in tags.find("img", "frame")} == {"1"}
    (bar,) = tags.find("span", "bar", "pred")
    assert (float(bar["data-start"]), float(bar["data-end"])) == (1.0, 1.5)
    (track,) = [a for t, a in tags.tags if "track" in a.get("class", "").split()]
    assert track["data-error"] == "knees_forward"


def test_a_damaged_sample_is_reported_in_its_card(aqa_run, flex_copy):
    shutil.rmtree(flex_copy / "A01" / "001" / "View-5")
    run = load_run(aqa_run(root=flex_copy))
    html = card(run, "A01/001")
    assert "Frames not shown: sample A01/001 could not be read" in html


def test_an_error_the_fkg_does_not_know_is_an_error_naming_the_file(aqa_run):
    run = load_run(aqa_run())
    run.predictions[1]["points_lost"] = "nope:3.0"  # A01/002
    with pytest.raises(ReportError, match=r"predictions\.csv: sample A01/002: .*no error 'nope'"):
        card(run, "A01/002")
