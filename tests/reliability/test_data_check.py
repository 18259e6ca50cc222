"""`fusion data check`: every frame decoded, headers checked by name, one bad file is one problem
among the others, a damaged split file is one line."""

from __future__ import annotations

import json
from pathlib import Path

from fusion.cli import main


def _check(root: Path, capsys, *args: str) -> tuple[int, str]:
    code = main(["data", "check", str(root), "--quiet", *args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out


def _problems(out: str) -> list[str]:
    return [line.strip() for line in out.split("problems:\n", 1)[1].splitlines()]


def test_a_text_file_posing_as_a_frame_is_found_by_the_deep_check(flex_subset, capsys):
    root = flex_subset(2)
    frame = root / "A01/002/View-3/img_00004.JPG"
    frame.write_text("not a picture")
    code, out = _check(root, capsys)
    assert code == 1
    assert f"{root}: flex, 2 samples (all checked)" in out
    (problem,) = _problems(out)
    assert problem.startswith(f"{frame}: expected a decodable JPEG")
    assert frame.read_text() == "not a picture"  # a check changes nothing


def test_a_frame_missing_from_the_middle_of_a_view_is_named(flex_subset, capsys):
    root = flex_subset(2)
    (root / "A01/001/View-2/img_00002.JPG").unlink()
    code, out = _check(root, capsys)
    assert code == 1
    problems = _problems(out)
    missing = f"{root / 'A01/001/View-2/img_00002.JPG'}: missing frame (frames go up to"
    assert any(p.startswith(missing) for p in problems), problems


def test_no_deep_skips_the_frame_pass_only(flex_subset, capsys, monkeypatch):
    root = flex_subset(2)
    seen = []
    monkeypatch.setattr("fusion.data.check.deep_problems", lambda *a: seen.append(a) or [])
    assert _check(root, capsys, "--no-deep")[0] == 0 and seen == []
    assert _check(root, capsys)[0] == 0 and len(seen) == 2


def test_a_renamed_skeleton_column_is_refused_by_name(flex_subset, capsys):
    root = flex_subset(2)
    path = root / "Skeleton/A01/002/skeleton_points.csv"
    header, rest = path.read_text().split("\n", 1)
    path.write_text(header.replace("head_y", "bar", 1) + "\n" + rest)
    code, out = _check(root, capsys, "--no-deep")
    assert code == 1
    assert _problems(out) == [
        f"{path}: line 1: column 2: expected 'head_y' (FLEX-21 joints x xyz: "
        "head_x,head_y,head_z,...), got 'bar'"
    ]


def test_reordered_skeleton_columns_are_refused(flex_subset, capsys):
    root = flex_subset(2)
    path = root / "Skeleton/A01/001/skeleton_points.csv"
    header, rest = path.read_text().split("\n", 1)
    names = header.split(",")
    names[0], names[3] = names[3], names[0]
    path.write_text(",".join(names) + "\n" + rest)
    code, out = _check(root, capsys, "--no-deep")
    assert code == 1 and "column 1: expected 'head_x'" in out and "got 'neck_x'" in out


def test_one_malformed_annotation_leaves_the_others_counted(flex_subset, capsys):
    root = flex_subset(3)
    bad = root / "annotations/A01/002.json"
    bad.write_text("{not json")
    code, out = _check(root, capsys, "--no-deep")
    assert code == 1
    assert f"{root}: flex, 3 samples (all checked)" in out
    assert "modalities: video 2/2, pose 2/2, emg 2/2, physio 2/2" in out
    assert _problems(out) == [f"{bad}: line 1: expected JSON: Expecting property name enclosed "
                              "in double quotes"]  # fmt: skip


def test_a_corrupt_split_file_is_one_problem_line(flex_subset, capsys):
    root = flex_subset(2)
    split = root / "Split_4/split_4_train_list.mat"
    data = split.read_bytes()
    split.write_bytes(data[: len(data) // 2])  # scipy raises IndexError on this one
    code, out = _check(root, capsys, "--no-deep")
    assert code == 1
    (problem,) = _problems(out)
    assert problem.startswith(f"{split}: expected a MATLAB .mat file (truncated or corrupt?)")
    assert json.loads((root / "dataset.json").read_text())  # nothing else touched
