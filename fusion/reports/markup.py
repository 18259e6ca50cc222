"""HTML building blocks for the report: every text goes through `html.escape` here."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from typing import Any


def esc(value: Any) -> str:
    """Text for HTML content or a quoted attribute."""
    return html.escape(str(value), quote=True)


def number(value: Any, digits: int = 3) -> str:
    """A metric as the page prints it: `digits` decimals, n/a for NaN."""
    value = float(value)
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def table(
    header: Sequence[str], rows: Iterable[Sequence[Any]], css: str = "", raw: bool = False
) -> str:
    """A table with one header row; cells are escaped unless `raw` (already HTML)."""
    cell = str if raw else esc
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    attribute = f' class="{esc(css)}"' if css else ""
    return f"<table{attribute}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def image(uri: str, alt: str, css: str, **data: Any) -> str:
    """An <img> with a data URI, a class and `data-*` attributes."""
    extra = "".join(f' data-{esc(k.replace("_", "-"))}="{esc(v)}"' for k, v in data.items())
    return f'<img class="{esc(css)}" src="{uri}" alt="{esc(alt)}"{extra}>'
