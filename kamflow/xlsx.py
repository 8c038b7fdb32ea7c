"""A report as an Excel workbook (``--xlsx FILE``): one sheet per table of the report.

Imported only by the command that writes a workbook, so that no other command pays for
openpyxl (benchmarks/run.py's import table; tests/cli/test_report_files.py checks it).

Each sheet is one of ``Report.tables()``, named as in the report's JSON (``rows``,
``summary``, ...): a header row, frozen and filtered, then the values typed as Excel
holds them: numbers as numbers (amounts declared money in the report's layout shown
with two decimals and thousands separators), ``YYYY-MM-DD`` dates as dates, True/False
as booleans, nothing as an empty cell. Text is always text: a name that starts with
``=`` is stored as the string it is, never as a formula, and characters the write side
refuses are shown escaped as in tables (``kamflow.output.escape``). Times keep their
offset as ISO 8601 text, since Excel has no time zones. Columns are as wide as their
widest cell (Chinese counted double), at most ``MAX_WIDTH``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from kamflow.output import MONEY, TEXT, Col, escape, width
from kamflow.projections.reports.base import Table

MAX_WIDTH = 60
MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Excel refuses these in a sheet's name, which is at most 31 characters.
_NOT_IN_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")


def workbook(tables: Sequence[Table], *, title: str = "", layout: Mapping[str, Col]) -> bytes:
    """The XLSX file's bytes: one sheet per table, in order; ``title`` is the workbook's
    title property, ``layout`` the report's column declarations (money columns get a
    money format)."""
    book = Workbook(write_only=True)
    book.properties.title = title[:255] or None
    book.properties.creator = "kamflow"
    used: set[str] = set()
    for table in tables:
        sheet = book.create_sheet(sheet_name(table.name, used))
        _fill(sheet, table, layout)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def sheet_name(name: str, used: set[str]) -> str:
    """``name`` as Excel allows a sheet's: without ``[]:*?/\\``, at most 31 characters,
    unlike any in ``used`` (case-insensitively, as Excel compares them); added to it."""
    base = _NOT_IN_SHEET_NAME.sub("_", name).strip("'") or "sheet"
    candidate, n = base[:31], 1
    while candidate.casefold() in used:
        n += 1
        suffix = f" ({n})"
        candidate = base[: 31 - len(suffix)] + suffix
    used.add(candidate.casefold())
    return candidate


# A write-only sheet (openpyxl's stubs leave out its column widths and filter).
Sheet = Any


def _fill(sheet: Sheet, table: Table, layout: Mapping[str, Col]) -> None:
    # A column its report declares as text (an audit change's old and new value) keeps
    # text that looks like a date as text.
    text = [h in layout and layout[h].kind == TEXT for h in table.headers]
    values = [
        [
            escape(v, keep_newlines=True) if keep and isinstance(v, str) and v else cell_value(v)
            for v, keep in zip(row, text, strict=True)
        ]
        for row in table.rows
    ]
    money = [layout.get(h, Col()).kind == MONEY for h in table.headers]
    # Column widths and the frozen header must be set before the first row is written.
    for i, header in enumerate(table.headers):
        widest = max([width(header), *(_shown_width(row[i]) for row in values)])
        sheet.column_dimensions[get_column_letter(i + 1)].width = min(MAX_WIDTH, widest + 2)
    if table.headers:
        sheet.freeze_panes = "A2"
        bold = Font(bold=True)
        header_cells = []
        for header in table.headers:
            cell = _cell(sheet, escape(header))
            cell.font = bold
            header_cells.append(cell)
        sheet.append(header_cells)
        last = get_column_letter(len(table.headers))
        sheet.auto_filter.ref = f"A1:{last}{len(values) + 1}"
    for row in values:
        cells = []
        for value, is_money in zip(row, money, strict=True):
            cell = _cell(sheet, value)
            if isinstance(value, date):
                cell.number_format = DATE_FORMAT
            elif is_money and isinstance(value, Decimal | int) and not isinstance(value, bool):
                cell.number_format = MONEY_FORMAT
            cells.append(cell)
        sheet.append(cells)


def _cell(sheet: Sheet, value: Any) -> Cell:
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        # openpyxl takes a text starting with "=" as a formula (and "#N/A" as an
        # error): stored text is text, always.
        cell.data_type = "s"
    return cell


def cell_value(value: Any) -> Any:
    """A report's value as the workbook holds it: numbers and booleans as they are, a
    ``YYYY-MM-DD`` text or a date as a date, a time as its ISO 8601 text with offset,
    lists joined with commas, other text escaped as tables escape it; None, an
    empty text and an empty list are an empty cell (None)."""
    if value is None or isinstance(value, bool | int | Decimal | float):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value
    if value == "" or value == []:
        return None
    if isinstance(value, str):
        if len(value) == 10 and _ISO_DATE.fullmatch(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass  # 2026-13-45 is text that looks like a date
        return escape(value, keep_newlines=True)
    if isinstance(value, list | tuple):
        return escape(", ".join(str(cell_value(v)) for v in value), keep_newlines=True)
    return escape(str(value), keep_newlines=True)


def _shown_width(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, date):
        return 10
    if isinstance(value, Decimal):
        return len(f"{value:,.2f}")
    text = str(value)
    return max((width(line) for line in text.split("\n")), default=0)
