"""What text kamflow stores: one rule for every write path (docs/decisions, text rules).

Every value a command accepts must be one that every view, on SQLite and PostgreSQL,
can hold and every report can print without the terminal obeying it. So, in any text
a user gives (options, ``apply`` lines, the actor, command ids):

- NUL (U+0000) never: PostgreSQL text cannot hold it, and events cannot be changed.
- control characters never: C0 (U+0001-U+001F), DEL (U+007F), C1 (U+0080-U+009F).
  Multi-line text (prose: notes, results, reasons...) may hold line breaks (U+000A) and
  tabs (U+0009); one-line text (names, keys, refs, ids, list items) may not.
- bidirectional embedding, override and isolate controls (U+202A-U+202E,
  U+2066-U+2069) never: they make a name read differently from what is stored.
- the Unicode line and paragraph separators (U+2028, U+2029) never: some programs
  break lines on them and some do not; a line break is written as U+000A.
- lone surrogates never: undecodable bytes reach Python that way (PEP 383) and could
  not be stored as UTF-8.

Lengths are bounded by the field types in ``commands`` (MAX_NAME, MAX_TEXT).
"""

from __future__ import annotations

import re

from kamflow.domain.errors import InvalidInput, Part

BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
LINE_SEPARATORS = "\u2028\u2029"

# Shared with kamflow.output, which escapes what they match when it prints. Lone
# surrogates are found by encoding instead (first_surrogate): a surrogate range makes
# the patterns slow to compile, and every command compiles them.
REFUSED_IN_ONE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{BIDI_CONTROLS}{LINE_SEPARATORS}]")
REFUSED_IN_PROSE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{BIDI_CONTROLS}{LINE_SEPARATORS}]")


def first_surrogate(value: str) -> int | None:
    """The index of the first lone surrogate in ``value``, or None."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def refused_character(value: str, *, multiline: bool = False) -> tuple[int, str] | None:
    """The first character the rule refuses in ``value`` (0-based index, character),
    or None when the whole value may be stored."""
    if value.isprintable():  # every refused character is unprintable; C speed
        return None
    found = (REFUSED_IN_PROSE if multiline else REFUSED_IN_ONE_LINE).search(value)
    index = None if found is None else found.start()
    surrogate = first_surrogate(value)
    if surrogate is not None and (index is None or surrogate < index):
        index = surrogate
    return None if index is None else (index, value[index])


def is_surrogate(ch: str) -> bool:
    return "\ud800" <= ch <= "\udfff"


def explain(index: int, ch: str, *, multiline: bool = False) -> str:
    """Why the character at ``index`` is refused, naming it as U+XXXX (one line)."""
    code = f"U+{ord(ch):04X}"
    at = f"character {index + 1}"
    if ch == "\x00":
        return f"{at} is NUL ({code}), which kamflow never stores"
    if ch in BIDI_CONTROLS:
        return f"{at} is the bidirectional control {code}, which kamflow never stores"
    if ch in LINE_SEPARATORS:
        kind = "line separator" if ch == "\u2028" else "paragraph separator"
        return f"{at} is the {kind} {code}; write a line break as U+000A" + (
            "" if multiline else ", in multi-line fields only"
        )
    if is_surrogate(ch):
        return f"{at} is not valid UTF-8 text ({code})"
    if multiline:
        return (
            f"{at} is the control character {code}; multi-line text may hold only"
            " line breaks (U+000A) and tabs (U+0009)"
        )
    return f"{at} is the control character {code}, not allowed in one-line text"


def check_text(value: str, what: Part, *, multiline: bool = False) -> str:
    """``value`` unchanged if the rule accepts it; else InvalidInput naming ``what``
    (the field, e.g. ``Field("actor")``) and the character."""
    found = refused_character(value, multiline=multiline)
    if found is None:
        return value
    index, ch = found
    if is_surrogate(ch):
        raise InvalidInput(what, " is not valid UTF-8 text")
    raise InvalidInput("invalid ", what, f": {explain(index, ch, multiline=multiline)}")


def check_actor(actor: str, source: str, longest: int) -> str:
    """``actor`` (a person's name, as every event records who acted) if it is one line
    of 1 to ``longest`` characters that are not all white space; else InvalidInput
    naming where it came from (``source``: ``--actor``, ``KAMFLOW_ACTOR``, the OS user
    name). A blank actor would make an event no one did, a two-line one would split
    the audit trail into a forged second line (ADR 0023)."""
    if not actor.strip():
        raise InvalidInput(
            f"the actor ({source}) is blank; give the name of the person acting,"
            " e.g. --actor li.wei"
        )
    if "\n" in actor or "\r" in actor:
        raise InvalidInput(f"the actor ({source}) is more than one line; give one name")
    check_text(actor, f"actor ({source})")
    if len(actor) > longest:
        raise InvalidInput(f"the actor ({source}) is {len(actor)} characters; at most {longest}")
    return actor
