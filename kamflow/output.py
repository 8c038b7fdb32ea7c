"""Rendering for read commands: aligned text tables for people, JSON and CSV for programs.

Tables are plain text, sized by display width so that Chinese names (two columns wide)
line up, numbers right-aligned. Given a width (the screen's), a table fits it: text is
cut (ending in …) and the least important columns are hidden, as the report declares
(``Col``), and the table says what it hid; with no width, every cell is whole, so a
script piping a table gets every character.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final, Literal

from kamflow.domain.text import REFUSED_IN_ONE_LINE, REFUSED_IN_PROSE, first_surrogate

_SHORT = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _code(match: re.Match[str]) -> str:
    ch = match.group()
    n = ord(ch)
    return _SHORT.get(ch) or (f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}")


def _json_code(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def _escape_surrogates(text: str) -> str:
    # Only text stored by older versions or read from a broken store can hold them.
    if first_surrogate(text) is None:
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def escape(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every character the write side refuses (kamflow.domain.text:
    control characters, bidirectional controls, line separators, lone surrogates)
    written as a Python-style escape (``\\x1b``, ``\\n``, ``\\u202e``), so that printing
    stored text can never move the cursor, clear the screen, reorder a line or break
    one. ``keep_newlines`` leaves line breaks and tabs as they are, for text already laid
    out in lines. Escaped text is printable ASCII: escaping twice changes nothing.
    """
    if text.isprintable():  # the common case, and C speed
        return text
    pattern = REFUSED_IN_PROSE if keep_newlines else REFUSED_IN_ONE_LINE
    return _escape_surrogates(pattern.sub(_code, text))


def width(text: str) -> int:
    """Display columns of ``text`` in a terminal: East Asian wide and full-width
    characters (Chinese) take two, combining marks none, every other character one.
    ``text`` is escaped already (no control characters)."""
    if text.isascii():  # most cells, and C speed
        return len(text)
    return sum(_char_width(ch) for ch in text)


def _char_width(ch: str) -> int:
    if unicodedata.east_asian_width(ch) in "WF":
        return 2
    # A name typed in NFD (decomposed) carries its accents as combining marks, drawn on
    # the character before them.
    return 0 if unicodedata.category(ch) in ("Mn", "Me") else 1


ELLIPSIS = "…"


def cut(text: str, room: int) -> str:
    """``text`` shortened to at most ``room`` display columns, ending in ``…`` when
    anything was left out. A wide character is never cut in half (the result may then
    be one column narrower than ``room``) and a combining mark stays with its letter."""
    if width(text) <= room:
        return text
    if room <= 0:
        return ""
    if text.isascii():
        return text[: room - 1] + ELLIPSIS
    kept: list[str] = []
    used = 0
    for ch in text:
        w = _char_width(ch)
        if used + w > room - 1:
            break
        kept.append(ch)
        used += w
    return "".join(kept) + ELLIPSIS


# ------------------------------------------------------------------ tables for people
Kind = Literal["text", "id", "number", "money", "flag"]
TEXT: Final = "text"
ID: Final = "id"
NUMBER: Final = "number"
MONEY: Final = "money"
FLAG: Final = "flag"
RIGHT_ALIGNED: tuple[Kind, ...] = (NUMBER, MONEY)
GAP = 2  # spaces between columns


@dataclass(frozen=True)
class Col:
    """How a column of a table reads for people (declared by the report or read that
    makes the table; JSON and CSV never look at it).

    ``kind``: ``"text"`` (left-aligned; cut with ``…`` when the table is too wide),
    ``"id"`` (left-aligned, never cut: keys, ids, dates, short codes; hidden rather than
    cut), ``"number"`` (right-aligned), ``"money"`` (right-aligned, thousands
    separators, two decimals), ``"flag"`` (yes/no).
    ``rank``: importance, 1 the most. When the table is wider than the screen, text is
    cut to ``least`` display columns first, then columns are hidden, the highest rank
    first (ties: the rightmost); the first column is never hidden.
    ``least``: the display columns a text column keeps before any column is hidden.

    A column nobody declared gets its kind from its values (numbers right-aligned,
    True/False as yes/no, anything else text) and rank ``DEFAULT_RANK``.
    """

    kind: Kind = TEXT
    rank: int = 3
    least: int = 16


DEFAULT_RANK = 5
Layout = Mapping[str, Col]


def cell(value: Any, kind: Kind | None = None) -> str:
    """One value as a table cell or a ``key: value`` line: ``-`` for nothing (None, an
    empty text or list), ``yes``/``no`` for True/False, a Decimal declared money
    (``kind`` ``"money"``) with thousands separators and two decimals, other decimals as
    they are (with thousands separators), integers as they are (a count is never money),
    lists joined with commas; text escaped (``escape``)."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        if kind == MONEY:
            return f"{value:,.2f}"
        # Not money unless declared so: a percentage (12.5), a score (7.3) or a count of
        # months (1.5) keeps its own digits.
        return f"{value:,f}"
    if isinstance(value, datetime):
        return time_cell(value)
    if isinstance(value, list | tuple):
        return ", ".join(cell(v, kind) for v in value) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{escape(str(k))} {cell(v, kind)}" for k, v in value.items()) or "-"
    return escape(str(value))


def time_cell(value: datetime) -> str:
    """A time as tables show it, to the second with its offset: ``2026-11-30 20:18:22
    +08:00``. The reader converts record times to the business zone before; this only
    formats."""
    text = value.isoformat(sep=" ", timespec="seconds")
    return f"{text[:19]} {text[19:]}" if value.utcoffset() is not None else text


def _infer(values: Sequence[Any]) -> Col:
    """The column of values nobody declared: numbers right-aligned, flags yes/no."""
    given = [v for v in values if v is not None]
    if given and all(isinstance(v, bool) for v in given):
        return Col(FLAG, DEFAULT_RANK)
    if given and all(isinstance(v, int | Decimal) and not isinstance(v, bool) for v in given):
        return Col(NUMBER, DEFAULT_RANK)
    return Col(TEXT, DEFAULT_RANK)


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    layout: Layout | None = None,
    limit: int | None = None,
) -> str:
    """Rows under their headers, columns two spaces apart and sized by display width;
    numbers right-aligned. ``layout`` declares columns by header (``Col``); ``limit``
    is the widest a line may be (``None``: no limit, every cell whole): text is cut and
    columns hidden as ``Col`` describes, and a last paragraph names what was hidden.
    """
    layout = layout or {}
    cols = [layout.get(h) or _infer([row[i] for row in rows]) for i, h in enumerate(headers)]
    texts = [[cell(v, c.kind) for v, c in zip(row, cols, strict=True)] for row in rows]
    heads = [escape(h) for h in headers]
    natural = [width(h) for h in heads]
    for row in texts:
        for i, text in enumerate(row):
            w = width(text)
            if w > natural[i]:
                natural[i] = w
    shown, widths = _fit(cols, heads, natural, limit)

    def line(values: Sequence[str]) -> str:
        parts = []
        for i in shown:
            text = values[i]
            w = width(text)
            if w > widths[i]:
                text = cut(text, widths[i])
                w = width(text)
            pad = " " * (widths[i] - w)
            parts.append(pad + text if cols[i].kind in RIGHT_ALIGNED else text + pad)
        return "  ".join(parts).rstrip()

    out = [line(heads), "  ".join("-" * widths[i] for i in shown)]
    out.extend(line(row) for row in texts)
    hidden = [heads[i] for i in range(len(heads)) if i not in shown]
    if hidden:
        note = f"(not shown, to fit {limit} columns: {', '.join(hidden)}; --wide shows them)"
        out += ["", *wrap(note, limit, 1)]
    return "\n".join(out)


def _fit(
    cols: Sequence[Col], heads: Sequence[str], natural: Sequence[int], limit: int | None
) -> tuple[list[int], list[int]]:
    """Which columns to show (indices, in order) and how wide each is, so that no line
    is wider than ``limit`` display columns (when at all possible)."""
    n = len(cols)
    shown = list(range(n))
    if limit is None or sum(natural) + GAP * (n - 1) <= limit:
        return shown, list(natural)

    def total(ws: Sequence[int]) -> int:
        return sum(ws[i] for i in shown) + GAP * (len(shown) - 1)

    def hide(ws: Sequence[int], least_rank: int) -> None:
        while total(ws) > limit and len(shown) > 1:
            candidates = [i for i in shown[1:] if cols[i].rank >= least_rank]
            if not candidates:
                return
            shown.remove(max(candidates, key=lambda i: (cols[i].rank, i)))

    cuttable = [c.kind == TEXT for c in cols]
    # A header is never cut, so that the column still says what it is.
    heads_w = [width(h) for h in heads]
    widths = [
        min(natural[i], max(cols[i].least, heads_w[i])) if cuttable[i] else natural[i]
        for i in range(n)
    ]
    # Text cut to its least width, hide columns of rank 2 and above while too wide.
    hide(widths, 2)
    if total(widths) > limit:
        # The most important columns alone are too wide: cut their text to the width of
        # its header, and hide the last of them if even that is too wide.
        widths = [min(natural[i], heads_w[i]) if cuttable[i] else natural[i] for i in range(n)]
        hide(widths, 1)
    # The room left goes back to cut text, the most important column first.
    spare = limit - total(widths)
    for i in sorted((i for i in shown if cuttable[i]), key=lambda i: (cols[i].rank, i)):
        if spare <= 0:
            break
        grow = min(spare, natural[i] - widths[i])
        widths[i] += grow
        spare -= grow
    return shown, widths


def wrap(text: str, limit: int | None, hang: int) -> list[str]:
    """``text`` (one line) broken into lines of at most ``limit`` display columns, at
    spaces where it can and between characters where a word is wider than a line (Chinese
    has no spaces); lines after the first start with ``hang`` more spaces than the first.
    ``limit`` None: the line as it is."""
    if limit is None or width(text) <= limit:
        return [text]
    lead = len(text) - len(text.lstrip(" "))
    indent = " " * (lead + hang)
    lines: list[str] = []
    current = text[:lead]
    fresh = True  # nothing but indentation on the current line yet
    for word in text[lead:].split(" "):
        joined = current + word if fresh else f"{current} {word}"
        if width(joined) <= limit:
            current, fresh = joined, False
            continue
        if not fresh:
            lines.append(current)
            current, fresh = indent, True
            if width(current + word) <= limit:
                current, fresh = current + word, False
                continue
        # A word wider than a whole line: as much of it as fits, then the rest.
        for ch in word:
            if width(current) + _char_width(ch) > limit and not fresh:
                lines.append(current)
                current = indent
            current += ch
            fresh = False
    lines.append(current)
    return [line.rstrip() for line in lines]


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Strings keep every digit; a float would not.
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    raise TypeError(f"cannot render {type(value).__name__} as JSON")


def to_json(data: Any) -> str:
    # One line, no indent: only then does the json module use its C encoder, which is
    # several times faster on a 10,000-account report. Pipe to `jq` to read it.
    # Characters a terminal could obey become \uXXXX escapes, the same text to a JSON
    # reader: json escapes C0 itself; this catches DEL, C1, bidi controls, separators.
    text = json.dumps(data, ensure_ascii=False, default=_default)
    return _escape_surrogates(REFUSED_IN_ONE_LINE.sub(_json_code, text))


# A cell a spreadsheet would run as a formula starts with one of these (OWASP, "CSV
# injection"): `=`, `+`, `-` and `@` start formulas, and tab and carriage return are
# stripped by some spreadsheets before they look at what follows.
FORMULA_STARTS = frozenset("=+-@\t\r")
# Written first in a file for spreadsheets: Excel reads CSV as the machine's code page
# (GBK on a Chinese Windows) unless the file starts with it.
BOM = "\ufeff"


def neutralise(text: str) -> str:
    """``text`` as a spreadsheet must show it, as text and never as a formula: a text
    that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
    leading apostrophe, which spreadsheets take as "this cell is text" and do not show
    (OWASP's advice for CSV injection). Other text is unchanged."""
    return "'" + text if text[:1] in FORMULA_STARTS else text


def csv_value(value: Any) -> Any:
    """One value as a CSV cell: numbers (int, Decimal, float) as they are, so that a
    negative amount stays a number; dates and times in ISO 8601; nothing as an empty
    cell; lists joined with commas and mappings as ``key: value`` pairs; every text
    ``neutralise``-d. True and False are written as Python writes them."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float | Decimal):
        return value
    if isinstance(value, str):
        return neutralise(value)
    return neutralise(_plain(value))


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    return str(value)


def to_csv(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str | None = None
) -> str:
    """A table as CSV (lines end in ``\n``, no line end after the last): a ``title``
    line first when given, then the headers (none when empty), then the rows; every
    cell as ``csv_value`` writes it, so that no text cell starts a formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if title is not None:
        writer.writerow([title])
    if headers:
        writer.writerow([csv_value(h) for h in headers])
    for row in rows:
        writer.writerow([csv_value(v) for v in row])
    # CSV has no escapes of its own: control characters other than the line breaks and
    # tabs it quotes are shown as in tables, so that a CSV printed to a terminal is safe.
    return _escape_surrogates(REFUSED_IN_PROSE.sub(_code, buffer.getvalue().rstrip("\n")))


def tables_to_csv(tables: Sequence[tuple[str, Sequence[str], Sequence[Sequence[Any]]]]) -> str:
    """Tables (name, headers, rows) in one CSV: the first as a plain table from the
    first line, so that a spreadsheet opens it cleanly; each other one after a blank
    line, under a line ``# name``."""
    return "\n\n".join(
        to_csv(headers, rows, title=None if i == 0 else f"# {name}")
        for i, (name, headers, rows) in enumerate(tables)
    )
