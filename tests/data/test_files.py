"""The shared file parsers: CSV and JSON values read back, and each bad input named by place."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fusion.data.files import JsonFields, as_span, dataset_folder, read_csv, read_json
from fusion.data.sample import DataError


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def error_of(call, *args) -> DataError:
    with pytest.raises(DataError) as caught:
        call(*args)
    return caught.value


def test_a_csv_reads_back_as_written(tmp_path):
    values = np.random.default_rng(0).normal(size=(5, 3))
    path = tmp_path / "v.csv"
    np.savetxt(path, values, delimiter=",", header="a, b ,c", comments="")
    names, read = read_csv(path, header=True)
    assert names == ["a", "b", "c"]
    np.testing.assert_allclose(read, values, rtol=1e-15)
    path.write_text("1.5,2\n")
    assert read_csv(path, header=False) == (None, pytest.approx(np.array([[1.5, 2.0]])))


@pytest.mark.parametrize(
    ("text", "header", "where", "problem"),
    [
        ("1,2\n3,4\n5\n", False, "line 3", "expected 2 values like line 1, got 1 (truncated"),
        ("1,2\n3\n5,6\n", False, "line 2", "expected 2 values like line 1, got 1"),
        ("x,y\n1,2\n3,oops\n", True, "line 3, column 2", "expected a number, got 'oops'"),
        ("x,y\n1,2\n3,inf\n", True, "line 3, column 2", "expected a finite number, got inf"),
        ("1,2\n3,4\n", True, "line 1", "expected a header row of column names, got numbers"),
        ("x,y\n", True, None, "expected data rows after the header"),
        ("", False, None, "empty file"),
    ],
)
def test_a_bad_csv_names_its_row_and_column(tmp_path, text, header, where, problem):
    path = write(tmp_path, "bad.csv", text)
    error = error_of(read_csv, path, header)
    assert (error.path, error.where) == (str(path), where)
    assert error.problem.startswith(problem)


def test_a_missing_or_undecodable_csv_is_named(tmp_path):
    assert error_of(read_csv, tmp_path / "absent.csv", False).problem == "missing file"
    path = write(tmp_path, "latin.csv", b"\xff\xfe1,2\n")
    assert error_of(read_csv, path, False).problem.startswith("cannot read as text")


def test_json_reads_back_and_bad_json_names_its_line(tmp_path):
    assert read_json(write(tmp_path, "ok.json", '{"a": [1, 2.5]}')) == {"a": [1, 2.5]}
    path = write(tmp_path, "bad.json", '{\n  "a": 1,\n  "b": \n}')
    error = error_of(read_json, path)
    assert error.where == "line 4" and error.problem.startswith("expected JSON")
    assert error_of(read_json, tmp_path / "absent.json").problem == "missing file"
    undecodable = error_of(read_json, write(tmp_path, "bin.json", b'{"a": "\xff"}'))
    assert undecodable.problem.startswith("expected UTF-8 JSON")


@pytest.mark.parametrize(
    ("value", "span"),
    [
        ([0, 1.5], (0.0, 1.5)),
        ([2, 2], (2.0, 2.0)),
        ([-1, 0], (-1.0, 0.0)),
        ([2, 1], None),
        ([0, float("nan")], None),
        ([True, 2], None),
        ([1], None),
        ("0,1", None),
    ],
)
def test_as_span_accepts_only_ordered_finite_pairs(value, span):
    assert as_span(value) == span


def test_json_fields_read_typed_values_and_name_bad_ones(tmp_path):
    path = tmp_path / "a.json"
    data = {
        "rate": 30,
        "side": "left",
        "names": ["a", "b"],
        "span": [0.5, 1],
        "items": [{"n": 1}, {"n": "x"}],
        "rates": {"emg": 2000},
    }
    fields = JsonFields(data, path)
    assert fields.number("rate", positive=True) == 30.0 and fields.number("absent") is None
    assert fields.text("side", ("both", "left", "right")) == "left"
    assert fields.texts("names") == ("a", "b") and fields.span("span") == (0.5, 1.0)
    assert fields.child("rates").number("emg") == 2000.0 and fields.child("absent") is None
    assert fields.objects("items")[0].number("n") == 1.0 and fields.objects("absent") == []

    bad = error_of(fields.objects("items")[1].number, "n")
    assert (bad.path, bad.where, bad.problem) == (
        str(path),
        "items[1].n",
        "expected a finite number, got 'x'",
    )
    assert error_of(fields.text, "side", ("both",)).problem == "expected one of both, got 'left'"
    assert error_of(fields.child("rates").text, "emg").where == "rates.emg"
    assert error_of(JsonFields, [1], path, "subject").where == "subject"
    assert error_of(JsonFields({"r": -1}, path).number, "r", True).problem.startswith(
        "expected a positive number"
    )


def test_dataset_folder_must_exist(tmp_path):
    assert dataset_folder(str(tmp_path)) == tmp_path
    error = error_of(dataset_folder, tmp_path / "absent")
    assert error.problem == "expected a dataset folder"
