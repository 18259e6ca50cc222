"""Aggregation over seeds, the Markdown table, the checks and the plots, from a hand-made
results.csv."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest
from PIL import Image

from fusion.ablate.results import aggregate, check_lines, read_results, write_tables
from fusion.ablate.spec import load_spec
from fusion.config import ConfigError

STUDY = """
ablation: hand
axes:
  modalities: {pose: ["model.modalities=[pose]"], all: []}
  views: {"1": ["data.reader.views=[1]"], "5": []}
seeds: [0, 1, 2]
metrics: [test/rho, test/error_f1]
checks:
  - {metric: test/rho, better: {modalities: all}, worse: {modalities: pose}}
  - {metric: test/rho, better: {views: "5"}, worse: {views: "1"}}
"""

# (modalities, views, seed, status, rho, f1)
ROWS = [
    ("pose", "1", 0, "done", 0.70, 0.60),
    ("pose", "1", 1, "finished", 0.72, 0.62),
    ("pose", "1", 2, "done", 0.71, 0.58),
    ("pose", "5", 0, "done", 0.74, 0.61),
    ("pose", "5", 1, "done", 0.60, 0.63),
    ("pose", "5", 2, "failed", "", ""),
    ("all", "1", 0, "done", 0.80, 0.70),
    ("all", "1", 1, "done", 0.82, 0.71),
    ("all", "1", 2, "done", 0.81, 0.69),
    ("all", "5", 0, "done", 0.88, 0.75),
    ("all", "5", 1, "done", 0.86, 0.76),
    ("all", "5", 2, "done", 0.87, 0.74),
]


@pytest.fixture()
def study(tmp_path: Path):
    path = tmp_path / "study.yaml"
    path.write_text(STUDY)
    out = tmp_path / "out"
    out.mkdir()
    lines = ["run,modalities,views,seed,status,minutes,test/rho,test/error_f1,error"]
    for m, v, seed, status, rho, f1 in ROWS:
        error = "ValueError: boom" if status == "failed" else ""
        lines.append(f"m={m};v={v};s={seed},{m},{v},{seed},{status},1.0,{rho},{f1},{error}")
    (out / "results.csv").write_text("\n".join(lines) + "\n")
    return load_spec(path), out


def expected(modalities: str, views: str, column: int) -> tuple[float, float, int]:
    values = [r[column] for r in ROWS if r[0] == modalities and r[1] == views and r[3] != "failed"]
    return statistics.mean(values), statistics.stdev(values), len(values)


def test_aggregate_gives_mean_and_sample_std_per_grid_point(study):
    spec, out = study
    table = aggregate(read_results(out / "results.csv", spec), list(spec.axes), spec.metrics)
    assert len(table) == 4
    for _, row in table.iterrows():
        mean, std, n = expected(row["modalities"], row["views"], 4)
        assert row["seeds"] == n
        assert row["test/rho mean"] == pytest.approx(mean)
        assert row["test/rho std"] == pytest.approx(std)
        mean, std, n = expected(row["modalities"], row["views"], 5)
        assert row["test/error_f1 mean"] == pytest.approx(mean)
    pose5 = table[(table["modalities"] == "pose") & (table["views"] == "5")].iloc[0]
    assert pose5["seeds"] == 2  # the failed seed is not averaged in


def test_checks_compare_beyond_the_seed_spread(study):
    spec, out = study
    table = aggregate(read_results(out / "results.csv", spec), list(spec.axes), spec.metrics)
    lines = check_lines(spec, table)
    assert len(lines) == 4  # each check once per value of the axis it leaves free
    by_context = {line.split(":")[0]: line for line in lines}
    assert "**holds**" in by_context["- test/rho (views=1)"]
    assert "**holds**" in by_context["- test/rho (views=5)"]
    # all: 5 views 0.87 ± 0.01 against 1 view 0.81 ± 0.01: holds.
    assert "**holds**" in by_context["- test/rho (modalities=all)"]
    # pose: 5 views 0.67 ± 0.099 against 1 view 0.71 ± 0.01: lower.
    assert by_context["- test/rho (modalities=pose)"].endswith("**does not hold**")


def test_markdown_table_and_plots(study):
    spec, out = study
    written = write_tables(spec, out)
    text = (out / "results.md").read_text()
    mean, std, _ = expected("all", "5", 4)
    assert f"| all | 5 | 3 | {mean:.3f} ± {std:.3f} |" in text
    assert "- m=pose;v=5;s=2: failed: ValueError: boom" in text
    plots = {p.name for p in written if p.suffix == ".png"}
    assert plots == {"plot_modalities.png", "plot_views.png"}
    for name in plots:
        width, height = Image.open(out / name).size
        assert width > 400 and height > 200


def test_a_results_file_without_the_study_columns_is_refused(study, tmp_path):
    spec, out = study
    (out / "results.csv").write_text("run,seed,status\nx,0,done\n")
    with pytest.raises(ConfigError, match=r"lacks column\(s\) \['modalities', 'views'"):
        read_results(out / "results.csv", spec)
