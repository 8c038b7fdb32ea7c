"""Reading a table to import: CSV/TSV text in whatever encoding Excel wrote it, or an
XLSX workbook (openpyxl, imported only here); and the dates written in it.

A table is its header row and its rows of cells, each cell text or, from a workbook, a
``date`` (a cell Excel formats as a date). Rows are numbered as a spreadsheet shows
them: the header is row 1.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from kamflow.domain.dates import BadDate, check_range
from kamflow.domain.errors import InvalidInput

Cell = str | date
TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx")


@dataclass(frozen=True)
class Table:
    """A table read from a file: ``headers`` and ``rows`` (cells as in ``headers``;
    row i is spreadsheet row i + 2), and the encoding it was read in (``xlsx`` for a
    workbook)."""

    headers: list[str]
    rows: list[list[Cell]]
    encoding: str


def read_table(
    path: Path,
    *,
    encoding: str | None = None,
    sheet: str | None = None,
    delimiter: str | None = None,
) -> Table:
    """The table in ``path``: a workbook by its suffix ``.xlsx``, else delimited text
    (tab for ``.tsv``, else comma unless ``delimiter``). Raises InvalidInput for a file
    that cannot be read, decoded, or holds no header row."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None
    if path.suffix.lower() == ".xlsx":
        return _workbook(data, path, sheet)
    text, used = decode(data, encoding, path)
    sep = delimiter or ("\t" if path.suffix.lower() == ".tsv" else ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    try:
        records: list[list[Cell]] = [list(r) for r in reader]
    except csv.Error as exc:
        raise InvalidInput(f"{path}: not valid CSV at line {reader.line_num}: {exc}") from None
    return _table(records, used, path)


def decode(data: bytes, encoding: str | None, path: Path) -> tuple[str, str]:
    """The text of ``data`` and the encoding it was read in: ``encoding`` if given;
    else UTF-8 (with or without its byte-order mark), UTF-16 with its mark (Excel's
    "Unicode text"), or GB18030 (a superset of GBK, as Excel on a Chinese Windows saves
    CSV)."""
    if encoding is not None:
        try:
            return data.decode(encoding), codecs.lookup(encoding).name
        except LookupError:
            raise InvalidInput(f"unknown encoding {encoding!r}") from None
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"{path} is not valid {encoding} (byte {exc.start})") from None
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", "strict"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    for candidate in ("utf-8", "gb18030"):
        try:
            return data.decode(candidate), candidate
        except UnicodeDecodeError:
            continue
    raise InvalidInput(
        f"cannot tell the encoding of {path} (not UTF-8, UTF-16 or GB18030); give --encoding"
    )


def _table(records: list[list[Cell]], encoding: str, path: Path) -> Table:
    while records and not any(str(c).strip() for c in records[0]):
        records.pop(0)
    if not records:
        raise InvalidInput(f"{path} holds no header row")
    headers = [str(h).strip() for h in records[0]]
    seen: set[str] = set()
    for h in headers:
        if h and h in seen:
            raise InvalidInput(f"{path}: column {h!r} appears twice in the header row")
        seen.add(h)
    rows = [r + [""] * (len(headers) - len(r)) for r in records[1:]]
    return Table(headers, rows, encoding)


def _workbook(data: bytes, path: Path, sheet: str | None) -> Table:
    # Imported here only: no other command pays for openpyxl.
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # zipfile, XML and openpyxl's own errors alike
        raise InvalidInput(f"{path} is not an XLSX workbook ({type(exc).__name__})") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise InvalidInput(
                f"{path} has no sheet {sheet!r} (its sheets: {', '.join(book.sheetnames)})"
            )
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        records = [[_cell(v) for v in row] for row in ws.iter_rows(values_only=True)]
    finally:
        book.close()
    while records and not any(str(c).strip() for c in records[-1]):
        records.pop()
    return _table(records, "xlsx", path)


def _cell(value: object) -> Cell:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # 1054.0 as Excel shows it, 0.1 as typed (not 0.1000000000000000055...).
        number = Decimal(repr(value))
        return str(number.to_integral_value()) if number == number.to_integral() else str(number)
    return str(value)


_PATTERNS = {
    "YYYY-MM-DD": (re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"), (0, 1, 2)),
    "YYYY/MM/DD": (re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"), (0, 1, 2)),
    "M/D/YYYY": (re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})"), (2, 0, 1)),
    "D/M/YYYY": (re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})"), (2, 1, 0)),
    "D.M.YYYY": (re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})"), (2, 1, 0)),
}
# Excel's day 0 is 1899-12-30 (its 1900 calendar counts a 29 February that never was).
EXCEL_EPOCH = date(1899, 12, 30)


def parse_date(cell: Cell, formats: tuple[str, ...]) -> date:
    """The date a cell holds, read with the first of ``formats`` that fits (a workbook's
    date cell is a date already; a time after the day is ignored). Raises BadDate with
    the reason, naming the formats."""
    if isinstance(cell, date):
        return check_range(cell)
    text = cell.strip()
    day_part = text.split(" ", 1)[0].split("T", 1)[0]
    for form in formats:
        if form == "excel":
            if re.fullmatch(r"\d{1,6}(\.\d+)?", text):
                return check_range(EXCEL_EPOCH + timedelta(days=int(float(text))))
            continue
        pattern, order = _PATTERNS[form]
        found = pattern.fullmatch(day_part)
        if found is None:
            continue
        parts = found.groups()
        try:
            return check_range(date(*(int(parts[i]) for i in order)))
        except ValueError as exc:
            raise BadDate(f"not a day of the calendar as {form} ({exc})") from None
    raise BadDate(f"not a date written as {' or '.join(formats)}")
