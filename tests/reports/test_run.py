"""Reading a run folder back: bad input is one clear error naming the file, and `fusion
report` turns it into exit code 2 without a traceback."""

from __future__ import annotations

import pytest

from fusion.cli import main
from fusion.reports.run import ReportError, load_run


def test_a_good_run_folder_loads(aqa_run):
    run = load_run(aqa_run())
    assert run.kind == "aqa" and run.name == "tiny-aqa" and run.emg is None
    assert [r["key"] for r in run.predictions] == ["A01/001", "A01/002", "A01/008"]
    assert run.metrics["test/rho"] == 0.8123 and len(run.log) == 4


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda f: (f / "metrics.json").unlink(), r"metrics\.json: not found"),
        (lambda f: (f / "metrics.json").write_text("{oops"), r"metrics\.json: expected a JSON"),
        (lambda f: (f / "metrics.json").write_text("[1, 2]"), r"metrics\.json: .* got list"),
        (lambda f: (f / "config.yaml").unlink(), r"config\.yaml: not found: expected a run"),
        (lambda f: (f / "config.yaml").write_text("- a\n- b\n"), r"config\.yaml: expected a run"),
        (lambda f: _replace(f / "config.yaml", "kind: aqa", "kind: poetry"),
         r"config\.yaml: task\.kind: expected one of aqa, text, video2emg, got 'poetry'"),
        (lambda f: (f / "predictions.csv").write_bytes(b"\xff\xfe\x00garbage"),
         r"predictions\.csv: expected a CSV file"),
        (lambda f: (f / "predictions.csv").unlink(), r"predictions\.csv: not found"),
        (lambda f: (f / "predictions.csv").write_text("key,score\nA01/001,1\n"),
         r"predictions\.csv: expected the aqa columns .*missing \['action'"),
        (lambda f: _replace(f / "predictions.csv", "79.55", "high"),
         r"predictions\.csv: line 2: score: expected a number, got 'high'"),
        (lambda f: _replace(f / "predictions.csv", "rounded_lower_back@1.00-1.60s", "oops"),
         r"predictions\.csv: line 2: spans_pred: expected name@start-ends items, got 'oops'"),
        (lambda f: _replace(f / "predictions.csv", "A01/002,", "A01/002,,,,"),
         r"predictions\.csv: line 3: expected 11 fields"),
        (lambda f: _replace(f / "metrics.csv", "2.5", "x"),
         r"metrics\.csv: line 3: val/loss: expected a number, got 'x'"),
    ],
)  # fmt: skip
def test_bad_files_are_named_with_what_was_expected(aqa_run, damage, message):
    folder = aqa_run()
    damage(folder)
    with pytest.raises(ReportError, match=message):
        load_run(folder)


def _replace(path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_not_a_folder_is_refused(tmp_path):
    with pytest.raises(ReportError, match="not a folder: expected a run folder"):
        load_run(tmp_path / "nothing")


def test_the_command_exits_2_with_one_line_naming_the_file(aqa_run, capsys):
    folder = aqa_run()
    (folder / "metrics.json").unlink()
    assert main(["report", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fusion report: ") and "metrics.json" in err
    assert "Traceback" not in err and err.count("\n") == 1
    assert not (folder / "report.html").exists()


def test_an_unknown_sample_exits_2_naming_the_key_and_the_file(aqa_run, capsys):
    folder = aqa_run()
    assert main(["report", str(folder), "--samples", "A01/001", "B/404"]) == 2
    err = capsys.readouterr().err
    assert "'B/404'" in err and str(folder / "predictions.csv") in err
