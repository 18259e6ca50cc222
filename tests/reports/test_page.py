"""The page: headline and metrics, one embedded image per plot, cards, written atomically;
and the same plots as the run folder's own, drawn from a real tiny training run."""

from __future__ import annotations

import base64
import re

import pytest

from fusion.cli import main
from fusion.config import compose
from fusion.reports.page import build_page
from fusion.reports.run import load_run
from fusion.train import train


def plot_titles(html: str) -> list[str]:
    return re.findall(r'<h3>([^<]*)</h3><img class="plot"', html)


def test_the_aqa_page_holds_the_headline_metrics_plots_and_cards(aqa_run, flex_root):
    html = build_page(load_run(aqa_run()))
    for text in ("tiny-aqa", "video, pose, emg, physio", str(flex_root), "cross-subject",
                 "<td>epochs</td><td>2</td>"):  # fmt: skip
        assert text in html
    shown = {
        "Spearman rho (direct score)": "0.812",
        "Spearman rho (FKG score)": "0.857",
        "score MAE": "12.423",
        "error macro-F1": f"{0.7915:.3f}",
        "extra_metric": "4.568",
    }
    for label, value in shown.items():
        assert re.search(rf"<td>{re.escape(label)}</td><td>test/\w+</td><td>{value}</td>", html)
    assert "<td>test/f1/A01/rounded_lower_back</td><td>0.667</td>" in html
    assert "<td>test/f1/A01/knees_inward</td><td>n/a</td>" in html
    assert plot_titles(html) == ["Learning curves", "Predicted against true scores", "Per-error F1"]
    assert html.count('<img class="plot"') == 3
    assert 'id="emg"' not in html and "Video→EMG" not in html
    assert re.findall(r'<section class="card" id="card-([^"]+)"', html) == [
        "A01/001", "A01/002", "A01/008"
    ]  # fmt: skip
    assert not re.findall(r'src="(?!data:image/png;base64,)', html)  # every image embedded


def test_cards_follow_samples_and_cards(aqa_run):
    run = load_run(aqa_run())
    assert build_page(run, cards=1).count('<section class="card"') == 1
    chosen = build_page(run, samples=["A01/008", "A01/001"])
    assert re.findall(r'id="card-([^"]+)"', chosen) == ["A01/008", "A01/001"]


def test_the_text_page_has_no_score_plot_and_answer_cards(text_run):
    html = build_page(load_run(text_run))
    assert plot_titles(html) == ["Learning curves", "Per-error F1"]
    assert "<td>BLEU</td><td>test/bleu</td><td>61.250</td>" in html
    assert "It scores 80." in html and "points lost" not in html


def test_the_command_writes_report_html_through_a_temporary_name(aqa_run, capsys):
    folder = aqa_run()
    assert main(["report", str(folder), "--cards", "1"]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {folder / 'report.html'}"
    written = sorted(p.name for p in folder.iterdir() if "report" in p.name)
    assert written == [".report.html.lock", "report.html"]  # no temporary file left
    out = folder / "elsewhere" / "page.html"
    assert main(["report", str(folder), "--out", str(out), "--samples", "A01/002"]) == 0
    assert 'id="card-A01/002"' in out.read_text()


@pytest.fixture(scope="module")
def trained(flex_root, short_run, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report-train")
    config = compose(
        None, [*short_run(flex_root, tmp), "model.encoders.video.backbone=mobilenetv3_small_050"]
    )
    folder, _ = train(config)
    return folder


def test_a_real_run_gets_the_same_learning_curves_as_its_folder(trained):
    run = load_run(trained)
    html = build_page(run)
    assert plot_titles(html) == ["Learning curves", "Predicted against true scores", "Per-error F1"]
    (uri,) = re.findall(
        r'<h3>Learning curves</h3><img class="plot" src="data:image/png;base64,([^"]+)"', html
    )
    assert base64.b64decode(uri) == (trained / "learning_curves.png").read_bytes()
    keys = [r["key"] for r in run.predictions][:3]
    assert re.findall(r'id="card-([^"]+)"', html) == keys
    assert html.count('<img class="frame') == 2 * 8 * len(keys)
