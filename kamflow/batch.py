"""`kamflow apply`: a stream of commands, one JSON object a line, in one process."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from kamflow.application import Kamflow, Outcome
from kamflow.domain.commands import COMMANDS, build
from kamflow.domain.commands.fields import ExponentNumber
from kamflow.domain.errors import InvalidInput, KamflowError


class LineFailed(KamflowError):
    """A line of the stream was refused; the lines before it stay applied."""

    def __init__(self, number: int, applied: int, cause: KamflowError) -> None:
        before = f"lines before it applied ({_n(applied)})" if applied else "nothing applied"
        # The line's author wrote JSON keys, not options: name fields as keys.
        why = cause.render("apply")
        super().__init__(f"line {number}: {why}; {before}, nothing of line {number} or after")
        self.exit_code = cause.exit_code
        # For `kamflow apply --json`: the error's kind and principle are its cause's.
        self.line = number
        self.applied = applied
        self.cause = cause


def parse_line(raw: bytes) -> tuple[str, dict[str, Any], str | None, bool] | None:
    """The command name, its fields, its command id and whether it is meant ``again``
    (not a repeat of the same write just recorded, ADR 0020); None for a blank line."""
    try:
        # utf-8-sig: files saved by Windows editors start with a byte-order mark.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"not valid UTF-8 (byte {exc.start})") from None
    if not text.strip():
        return None
    try:
        # Without the line end a truncated object is reported at its real column.
        # Decimal keeps every digit of a number (0.1 stays 0.1); one written with an
        # exponent (1e2) is marked, and refused where a number is expected.
        data = json.loads(text.rstrip("\r\n"), parse_float=_number, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"not valid JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        # The decoder recurses once per bracket; a command nests two levels at most.
        raise InvalidInput("not valid JSON: nested too deeply") from None
    except ValueError as exc:
        # An integer of more than sys.get_int_max_str_digits() digits (4300), or NaN
        # or Infinity, which JSON does not have (_constant).
        raise InvalidInput(f"not valid JSON: {_first_line(exc)}") from None
    if not isinstance(data, dict):
        raise InvalidInput("each line must be a JSON object")
    name = data.pop("command", None)
    if not isinstance(name, str):
        raise InvalidInput('missing "command", e.g. {"command": "visit log", ...}')
    if name not in COMMANDS:
        raise InvalidInput(f'unknown command "{name}"; one of: {", ".join(sorted(COMMANDS))}')
    command_id = data.pop("command_id", None)
    if command_id is not None and (not isinstance(command_id, str) or not command_id.strip()):
        raise InvalidInput('"command_id" must be a non-empty string')
    again = data.pop("again", False)
    if not isinstance(again, bool):
        raise InvalidInput('"again" must be true or false')
    return name, data, command_id, again


def _number(text: str) -> Decimal:
    return ExponentNumber(text) if "e" in text or "E" in text else Decimal(text)


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _first_line(exc: ValueError) -> str:
    text = str(exc)
    if text.startswith("Exceeds the limit"):
        return f"a number with more than {sys.get_int_max_str_digits()} digits"
    return text.splitlines()[0] if text else type(exc).__name__


def apply_lines(
    kamflow: Kamflow,
    lines: Iterable[bytes],
    *,
    actor: str,
    on_outcome: Callable[[int, Outcome], None] | None = None,
    on_behalf_of: str | None = None,
) -> str:
    """Apply each line in order; the summary line (``applied 3 commands``). Raises
    LineFailed for the first line refused, the lines before it staying applied.
    ``on_outcome`` is told each applied (or already applied) line's number and outcome.
    ``on_behalf_of``: every line is recorded by ``actor`` as a delegate for that person
    (`kamflow --on-behalf-of NAME apply`, ADR 0025)."""
    kamflow.keep_loaded()
    applied = skipped = 0
    for number, raw in enumerate(lines, start=1):
        try:
            parsed = parse_line(raw)
            if parsed is None:
                continue
            name, fields, command_id, again = parsed
            command = build(COMMANDS[name], fields, today=kamflow.today)
            outcome = kamflow.execute(
                command, actor=actor, command_id=command_id, again=again, on_behalf_of=on_behalf_of
            )
        except KamflowError as exc:
            raise LineFailed(number, applied, exc) from None
        if outcome.applied:
            applied += 1
        else:
            skipped += 1
        if on_outcome is not None:
            on_outcome(number, outcome)
    already = f", {skipped} already applied (skipped)" if skipped else ""
    return f"applied {_n(applied)}{already}"


def _n(count: int) -> str:
    return f"{count} command" if count == 1 else f"{count} commands"
