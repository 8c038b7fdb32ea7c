"""Rendering for read commands: aligned text tables for people, JSON and CSV for programs.

Tables are plain text, sized by display width so that Chinese names (two columns wide)
line up, and never truncated: a script piping a table gets every character.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

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
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, datetime):
        return time_cell(value)
    if isinstance(value, list | tuple):
        return ", ".join(cell(v) for v in value) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{escape(str(k))} {cell(v)}" for k, v in value.items()) or "-"
    return escape(str(value))


def time_cell(value: datetime) -> str:
    """A time as tables show it, to the second with its offset: ``2026-11-30 20:18:22
    +08:00``. The reader converts record times to the business zone before; this only
    formats."""
    text = value.isoformat(sep=" ", timespec="seconds")
    return f"{text[:19]} {text[19:]}" if value.utcoffset() is not None else text


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    texts = [[cell(v) for v in row] for row in rows]
    widths = [width(h) for h in headers]
    for row in texts:
        for i, text in enumerate(row):
            widths[i] = max(widths[i], width(text))

    def line(values: Sequence[str]) -> str:
        padded = [v + " " * (widths[i] - width(v)) for i, v in enumerate(values)]
        return "  ".join(padded).rstrip()

    out = [line(list(headers)), line(["-" * w for w in widths])]
    out.extend(line(row) for row in texts)
    return "\n".join(out)


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


def to_csv(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow(
            [
                v.isoformat() if isinstance(v, date | datetime) else ("" if v is None else v)
                for v in row
            ]
        )
    # CSV has no escapes of its own: control characters other than the line breaks and
    # tabs it quotes are shown as in tables, so that a CSV printed to a terminal is safe.
    return _escape_surrogates(REFUSED_IN_PROSE.sub(_code, buffer.getvalue().rstrip("\n")))
