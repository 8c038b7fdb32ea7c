"""The mapping a team keeps for `kamflow import`: which column of its file is which
kamflow field, the values its vocabulary uses, and how its dates are written.

A mapping is a small TOML file (ADR 0019)::

    [file]
    source = "maven-crm"        # names the source in command ids (re-runs apply once)
    dates = ["M/D/YYYY"]        # how every date column is written, tried in order
    skip_empty = ["account"]    # rows with any of these cells empty are skipped
    # encoding = "gb18030"      # else detected; sheet = "Sheet1" for a workbook

    [account]                   # each field: the column it is read from
    key = "account"             # the external id; the account key is made from it
    name = "account"
    industry = "sector"
    owner = "sales_agent"

    [account.default]           # the value when the column is absent or the cell empty
    currency = "USD"

    [account.values.industry]   # the source's words -> kamflow's
    technolgy = "technology"

``parse`` checks a mapping on its own and against the file's headers, and reports
every mistake, one line each (``MappingErrors``). No I/O: the text and the headers are
given.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from typing import Any

from kamflow.domain.errors import InvalidInput
from kamflow.domain.values import TIERS

STAGES = ("lead", "qualified", "proposal", "negotiation", "won", "lost")

# Every section and its fields: (required for the section's command, kind).
# Kinds: text, date, amount, stage, tier, list (several values separated by , or ;).
SECTIONS: dict[str, dict[str, tuple[bool, str]]] = {
    "account": {
        "key": (True, "text"),
        "name": (True, "text"),
        "industry": (True, "text"),
        "owner": (True, "text"),
        "currency": (False, "text"),
        "tier": (False, "tier"),
        "opened_on": (False, "date"),
        "address": (False, "text"),
        "size": (False, "text"),
        "website": (False, "text"),
        "notes": (False, "text"),
    },
    "contact": {
        "name": (True, "text"),
        "title": (True, "text"),
        "department": (True, "text"),
        "role": (False, "list"),
        "on": (False, "date"),
        # Personal data, stored encrypted under the person's key (ADR 0026).
        "mobile": (False, "text"),
        "email": (False, "text"),
        "wechat": (False, "text"),
        "birthday": (False, "text"),
        "note": (False, "text"),
    },
    "opportunity": {
        "id": (True, "text"),
        "title": (True, "text"),
        "stage": (True, "stage"),
        "opened_on": (False, "date"),
        "closed_on": (False, "date"),
        "budget": (False, "amount"),
        "problem": (False, "text"),
        "lost_reason": (False, "text"),
    },
    "sale": {
        "invoice": (True, "text"),
        "product": (True, "text"),
        "amount": (True, "amount"),
        "cost": (True, "amount"),
        "currency": (False, "text"),
        "on": (False, "date"),
    },
    "payment": {
        "invoice": (True, "text"),
        "amount": (True, "amount"),
        "on": (False, "date"),
    },
}

# Date formats a mapping may name; "excel" is a serial day number (45000 = 2023-03-15).
DATE_FORMATS = ("YYYY-MM-DD", "YYYY/MM/DD", "M/D/YYYY", "D/M/YYYY", "D.M.YYYY", "excel")
FILE_KEYS = ("source", "dates", "skip_empty", "encoding", "sheet", "delimiter")
DEFAULT_SOURCE = "table"


@dataclass(frozen=True)
class Section:
    """One section of a mapping: the column of each field, the defaults, the value maps."""

    name: str
    columns: dict[str, str] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)

    def given(self, name: str) -> bool:
        return name in self.columns or name in self.defaults


@dataclass(frozen=True)
class Mapping:
    """A checked mapping: the sections given, in SECTIONS order, and the [file] part."""

    sections: dict[str, Section]
    source: str = DEFAULT_SOURCE
    dates: tuple[str, ...] = ("YYYY-MM-DD",)
    skip_empty: tuple[str, ...] = ()
    encoding: str | None = None
    sheet: str | None = None
    delimiter: str | None = None


class MappingErrors(InvalidInput):
    """Everything wrong with a mapping, one line each (``mistakes``)."""

    def __init__(self, where: str, mistakes: list[str]) -> None:
        n = len(mistakes)
        super().__init__(f"{where}: {n} mistake{'s' if n > 1 else ''}: " + "; ".join(mistakes))
        self.where = where
        self.mistakes = mistakes


def parse(text: str, where: str, headers: list[str] | None = None) -> Mapping:
    """The mapping in ``text`` (TOML), checked; with ``headers``, every column it names
    must be one of them. Raises MappingErrors listing every mistake (``where`` names
    the file in the messages)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingErrors(where, [f"not valid TOML: {exc}"]) from None
    mistakes: list[str] = []
    sections: dict[str, Section] = {}
    for name, body in raw.items():
        if name == "file":
            continue
        if name not in SECTIONS:
            mistakes.append(f"unknown section [{name}]; one of: file, {', '.join(SECTIONS)}")
            continue
        if not isinstance(body, dict):
            mistakes.append(f"[{name}] must be a table of field = column")
            continue
        sections[name] = _section(name, body, mistakes, headers)
    if not sections and not mistakes:
        mistakes.append(f"nothing to import: give at least one of [{'], ['.join(SECTIONS)}]")
    facts = [s for s in sections if s != "account"]
    if facts and "account" not in sections:
        mistakes.append(f"[{facts[0]}] needs an [account] section: every fact has its account")
    if "payment" in sections and "sale" not in sections:
        mistakes.append("[payment] needs a [sale] section: a payment pays an invoice (P2)")
    settings = raw.get("file", {})
    if not isinstance(settings, dict):
        mistakes.append("[file] must be a table")
        settings = {}
    for key in settings:
        if key not in FILE_KEYS:
            mistakes.append(f"[file] unknown key {key!r}; one of: {', '.join(FILE_KEYS)}")
    dates = settings.get("dates", ["YYYY-MM-DD"])
    if isinstance(dates, str):
        dates = [dates]
    if not isinstance(dates, list) or not dates or not all(isinstance(d, str) for d in dates):
        mistakes.append("[file] dates must be a format or a list of formats")
        dates = ["YYYY-MM-DD"]
    for form in dates:
        if form not in DATE_FORMATS:
            mistakes.append(
                f"[file] dates: unknown format {form!r}; one of: {', '.join(DATE_FORMATS)}"
            )
    skip = settings.get("skip_empty", [])
    if isinstance(skip, str):
        skip = [skip]
    if not isinstance(skip, list) or not all(isinstance(c, str) for c in skip):
        mistakes.append("[file] skip_empty must be a list of columns")
        skip = []
    if headers is not None:
        for column in skip:
            if column not in headers:
                mistakes.append(f"[file] skip_empty: {_no_column(column, headers)}")
    text_settings: dict[str, str | None] = {}
    for key in ("source", "encoding", "sheet", "delimiter"):
        value = settings.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            mistakes.append(f"[file] {key} must be a non-empty string")
            value = None
        text_settings[key] = value
    source = text_settings["source"] or DEFAULT_SOURCE
    if not all(ch.isalnum() or ch in "-_." for ch in source):
        mistakes.append(f"[file] source {source!r}: letters, digits and -_. only")
    delimiter = text_settings["delimiter"]
    if delimiter is not None and len(delimiter) != 1:
        mistakes.append("[file] delimiter must be one character")
    if text_settings["encoding"] is not None:
        import codecs

        try:
            codecs.lookup(text_settings["encoding"])
        except LookupError:
            mistakes.append(f"[file] encoding: unknown encoding {text_settings['encoding']!r}")
    if mistakes:
        raise MappingErrors(where, mistakes)
    return Mapping(
        sections={name: sections[name] for name in SECTIONS if name in sections},
        source=source,
        dates=tuple(dates),
        skip_empty=tuple(skip),
        encoding=text_settings["encoding"],
        sheet=text_settings["sheet"],
        delimiter=delimiter,
    )


def file_settings(text: str, where: str) -> tuple[str | None, str | None, str | None]:
    """The encoding, sheet and delimiter a mapping's [file] gives for reading the table,
    each None where not given or not a string; MappingErrors only if the text is not
    TOML (the rest is checked by ``parse``, with the headers)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingErrors(where, [f"not valid TOML: {exc}"]) from None
    settings = raw.get("file")
    if not isinstance(settings, dict):
        return None, None, None
    got = [settings.get(k) for k in ("encoding", "sheet", "delimiter")]
    encoding, sheet, delimiter = (v if isinstance(v, str) and v else None for v in got)
    if encoding is not None:
        import codecs

        try:
            codecs.lookup(encoding)
        except LookupError:
            encoding = None  # parse() names it
    if delimiter is not None and len(delimiter) != 1:
        delimiter = None
    return encoding, sheet, delimiter


def _section(
    name: str, body: dict[str, Any], mistakes: list[str], headers: list[str] | None
) -> Section:
    fields = SECTIONS[name]
    section = Section(name)
    named: set[str] = set()  # given, rightly or not: no "needs" for them too
    for key, value in body.items():
        named.add(key)
        if key == "default":
            _defaults(name, value, section, mistakes)
        elif key == "values":
            _values(name, value, section, mistakes)
        elif key not in fields:
            mistakes.append(f"[{name}] unknown field {key!r}; one of: {', '.join(fields)}")
        elif not isinstance(value, str) or not value:
            mistakes.append(f"[{name}] {key} must be the name of a column (a string)")
        elif headers is not None and value not in headers:
            mistakes.append(f"[{name}] {key}: {_no_column(value, headers)}")
        else:
            section.columns[key] = value
    for key, (required, _) in fields.items():
        if required and not section.given(key) and key not in named:
            mistakes.append(
                f'[{name}] needs {key}: give its column ({key} = "...") or a [{name}.default] value'
            )
    return section


def _defaults(name: str, value: Any, section: Section, mistakes: list[str]) -> None:
    fields = SECTIONS[name]
    if not isinstance(value, dict):
        mistakes.append(f"[{name}.default] must be a table of field = value")
        return
    for key, given in value.items():
        if key not in fields:
            mistakes.append(f"[{name}.default] unknown field {key!r}; one of: {', '.join(fields)}")
        elif key in ("key", "id", "invoice"):
            mistakes.append(f"[{name}.default] {key} must come from a column: it tells rows apart")
        elif isinstance(given, bool) or not isinstance(given, str | int | float):
            mistakes.append(f"[{name}.default] {key} must be a string or a number")
        elif str(given).strip().upper() == "TODO":
            mistakes.append(f"[{name}.default] {key} is still TODO: give the value for every row")
        else:
            section.defaults[key] = str(given)
            _check_vocabulary(f"[{name}.default] {key}", fields[key][1], str(given), mistakes)


def _values(name: str, value: Any, section: Section, mistakes: list[str]) -> None:
    fields = SECTIONS[name]
    if not isinstance(value, dict):
        mistakes.append(f"[{name}.values] must hold one table per field")
        return
    for key, table in value.items():
        if key not in fields:
            mistakes.append(f"[{name}.values] unknown field {key!r}; one of: {', '.join(fields)}")
            continue
        if not isinstance(table, dict):
            mistakes.append(
                f"[{name}.values.{key}] must be a table of source value = kamflow value"
            )
            continue
        mapped: dict[str, str] = {}
        for source, target in table.items():
            if not isinstance(target, str):
                mistakes.append(f"[{name}.values.{key}] {source!r} must map to a string")
                continue
            if target.strip().upper() == "TODO":
                mistakes.append(f"[{name}.values.{key}] {source!r} is still TODO: map it")
                continue
            _check_vocabulary(f"[{name}.values.{key}] {source!r}", fields[key][1], target, mistakes)
            mapped[source] = target
        section.values[key] = mapped


def _check_vocabulary(where: str, kind: str, value: str, mistakes: list[str]) -> None:
    if kind == "stage" and value not in STAGES:
        mistakes.append(f"{where}: {value!r} is not a stage; one of: {', '.join(STAGES)}")
    if kind == "tier" and value not in TIERS:
        mistakes.append(f"{where}: {value!r} is not a tier; one of: {', '.join(TIERS)}")


def _no_column(column: str, headers: list[str]) -> str:
    shown = ", ".join(headers[:30]) + (", ..." if len(headers) > 30 else "")
    return f"no column {column!r} in the file (its columns: {shown})"


def columns_of(mapping: Mapping) -> MappingABC[str, list[tuple[str, str]]]:
    """For each column the mapping reads: the (section, field) pairs read from it."""
    used: dict[str, list[tuple[str, str]]] = {}
    for section in mapping.sections.values():
        for name, column in section.columns.items():
            used.setdefault(column, []).append((section.name, name))
    return used
