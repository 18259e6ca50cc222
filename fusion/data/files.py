"""Layout-independent file parsing for the readers: JSON, numeric CSV, typed JSON fields."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from fusion.data.sample import DataError


def dataset_folder(root: str | Path) -> Path:
    """`root` as a Path; a root that is not an existing folder is a DataError."""
    path = Path(root)
    if not path.is_dir():
        raise DataError(path, "expected a dataset folder")
    return path


def read_json(path: Path) -> object:
    """Parse a JSON file; a missing, unreadable or malformed file is a DataError."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(path, "missing file") from None
    except UnicodeDecodeError as exc:
        raise DataError(path, f"expected UTF-8 JSON, got undecodable bytes ({exc.reason})") from exc
    except json.JSONDecodeError as exc:
        raise DataError(path, f"expected JSON: {exc.msg}", f"line {exc.lineno}") from exc
    except OSError as exc:
        raise DataError(path, f"cannot read: {exc.strerror or exc}") from exc


def read_csv(path: Path, header: bool) -> tuple[list[str] | None, np.ndarray]:
    """Parse a numeric CSV with np.loadtxt; a bad row or value is a DataError naming its line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(path, "missing file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(path, f"cannot read as text: {exc}") from exc
    names = None
    body = text
    if header:
        first, _, body = text.partition("\n")
        names = [name.strip() for name in first.split(",")]
        if _all_numbers(names):
            raise DataError(path, "expected a header row of column names, got numbers", "line 1")
    if not body.strip():
        raise DataError(path, "expected data rows after the header" if header else "empty file")
    try:
        values = np.loadtxt(io.StringIO(body), delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError:
        raise _locate_bad_row(path, body, first_line=2 if header else 1) from None
    bad = np.argwhere(~np.isfinite(values))
    if len(bad):
        row, column = bad[0]
        where = f"line {row + 1 + int(header)}, column {column + 1}"
        raise DataError(path, f"expected a finite number, got {values[row, column]}", where)
    return names, values


def _all_numbers(fields: Sequence[str]) -> bool:
    try:
        [float(f) for f in fields]
    except ValueError:
        return False
    return True


def _locate_bad_row(path: Path, body: str, first_line: int) -> DataError:
    """The first row np.loadtxt could not parse: a ragged row or a value that is not a number."""
    lines = body.splitlines()
    width, width_line = None, first_line
    for number, line in enumerate(lines, start=first_line):
        if not line.strip():
            continue
        fields = line.split(",")
        if width is None:
            width, width_line = len(fields), number
        if len(fields) != width:
            truncated = " (truncated file?)" if number == first_line + len(lines) - 1 else ""
            problem = f"expected {width} values like line {width_line}, got {len(fields)}"
            return DataError(path, problem + truncated, f"line {number}")
        for column, field in enumerate(fields, start=1):
            try:
                float(field)
            except ValueError:
                where = f"line {number}, column {column}"
                return DataError(path, f"expected a number, got {field.strip()!r}", where)
    return DataError(path, "expected comma-separated numbers")


def is_finite_number(value: object) -> bool:
    """A JSON number the readers accept: an int or float (not a bool) that is finite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def as_span(value: object) -> tuple[float, float] | None:
    """A JSON `[start_s, end_s]` of finite numbers with start <= end as floats, else None."""
    if not (isinstance(value, list) and len(value) == 2 and all(map(is_finite_number, value))):
        return None
    start, end = value
    return (float(start), float(end)) if start <= end else None


class JsonFields:
    """Typed access to one JSON object; a wrong or missing value is a DataError naming its field."""

    def __init__(self, data: object, path: Path, prefix: str = "") -> None:
        if not isinstance(data, dict):
            got = type(data).__name__
            raise DataError(path, f"expected a JSON object, got {got}", prefix or None)
        self.data, self.path, self.prefix = data, path, prefix

    def _where(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def invalid(self, name: str, expected: str) -> DataError:
        """The DataError for field `name`: what was expected and the value found."""
        return DataError(
            self.path, f"expected {expected}, got {self.data.get(name)!r}", self._where(name)
        )

    def number(self, name: str, positive: bool = False) -> float | None:
        """A finite (or positive) number, None when absent."""
        value = self.data.get(name)
        if value is None:
            return None
        if not is_finite_number(value) or (positive and value <= 0):
            raise self.invalid(name, "a positive number" if positive else "a finite number")
        return float(value)

    def text(self, name: str, choices: Sequence[str] | None = None) -> str | None:
        """A string (one of `choices` when given), None when absent."""
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, str) or (choices and value not in choices):
            raise self.invalid(name, f"one of {', '.join(choices)}" if choices else "a string")
        return value

    def texts(self, name: str) -> tuple[str, ...] | None:
        """A list of strings as a tuple, None when absent."""
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.invalid(name, "a list of strings")
        return tuple(value)

    def span(self, name: str) -> tuple[float, float] | None:
        """A `[start_s, end_s]` pair with start <= end, None when absent."""
        value = self.data.get(name)
        if value is None:
            return None
        span = as_span(value)
        if span is None:
            raise self.invalid(name, "[start_s, end_s] with start_s <= end_s")
        return span

    def objects(self, name: str) -> list[JsonFields]:
        """Each object of a list field (none when absent), with its index in error locations."""
        value = self.data.get(name, [])
        if not isinstance(value, list):
            raise self.invalid(name, "a list of objects")
        return [
            JsonFields(item, self.path, f"{self._where(name)}[{i}]") for i, item in enumerate(value)
        ]

    def child(self, name: str) -> JsonFields | None:
        """A nested object, None when absent."""
        value = self.data.get(name)
        return None if value is None else JsonFields(value, self.path, self._where(name))
