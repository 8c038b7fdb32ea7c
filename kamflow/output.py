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

from kamflow.domain.text import BIDI_CONTROLS, LINE_SEPARATORS, SURROGATES

# What a terminal could obey or reorder, or that breaks a line: C0 (line feeds and tabs
# too: a table cell is one line), DEL, C1, bidirectional controls, line separators, and
# lone surrogates. The write side refuses them all (kamflow.domain.text) but events
# stored by older versions may hold them.
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{BIDI_CONTROLS}{LINE_SEPARATORS}{SURROGATES}]")
_UNSAFE_BUT_LINES = re.compile(
    f"[\x00-\x09\x0b-\x1f\x7f-\x9f{BIDI_CONTROLS}{LINE_SEPARATORS}{SURROGATES}]"
)
# What json.dumps(ensure_ascii=False) leaves raw: it escapes C0 itself.
_JSON_UNSAFE = re.compile(f"[\x7f-\x9f{BIDI_CONTROLS}{LINE_SEPARATORS}{SURROGATES}]")
# CSV quotes line breaks and tabs (multi-line text may hold them); nothing else passes.
_CSV_UNSAFE = re.compile(
    f"[\x00-\x08\x0b-\x1f\x7f-\x9f{BIDI_CONTROLS}{LINE_SEPARATORS}{SURROGATES}]"
)


_SHORT = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _code(match: re.Match[str]) -> str:
    ch = match.group()
    n = ord(ch)
    return _SHORT.get(ch) or (f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}")


def _json_code(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def escape(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every control character, bidirectional control, line separator
    and lone surrogate written as a Python-style escape (``\\x1b``, ``\\u202e``), so that
    printing stored text can never move the cursor, clear the screen, reorder a line or
    break one. ``keep_newlines`` leaves U+000A as it is, for text already laid out in
    lines whose cells were escaped. Escaped text is printable ASCII: escaping twice
    changes nothing.
    """
    if text.isprintable():  # the common case, and C speed
        return text
    return (_UNSAFE_BUT_LINES if keep_newlines else _UNSAFE).sub(_code, text)


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, list | tuple):
        return ", ".join(cell(v) for v in value) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{escape(str(k))} {cell(v)}" for k, v in value.items()) or "-"
    return escape(str(value))


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
    # Characters a terminal could obey become \\uXXXX: the same text to a JSON reader.
    return _JSON_UNSAFE.sub(_json_code, json.dumps(data, ensure_ascii=False, default=_default))


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
    return _CSV_UNSAFE.sub(_code, buffer.getvalue().rstrip("\n"))
