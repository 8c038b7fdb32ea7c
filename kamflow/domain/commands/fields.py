"""The field types commands are made of: what each kind of input may hold.

Every write path (the command line, ``kamflow apply``, imports) validates through these,
so a rule about text, amounts or references is written once, here. Every text type
carries the text rule of ``kamflow.domain.text`` (ADR 0011): one-line text for names,
keys, refs and list items, multi-line text (prose) for notes, results and reasons.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, ValidationInfo
from pydantic_core import PydanticCustomError

from kamflow.domain.dates import BadDate, check_range, parse_date
from kamflow.domain.text import explain, is_surrogate, refused_character
from kamflow.domain.values import (
    MAX_AMOUNT,
    MAX_NAME,
    MAX_TEXT,
    NUMBER_FORM,
    BadNumber,
    canonical_money,
    normalise_key,
    parse_number,
    written_out,
)


def _text_rule(*, multiline: bool) -> BeforeValidator:
    """The text rule as a pydantic validator. It runs before stripping and length
    checks, so a refused character is refused wherever it is."""

    def check(value: Any) -> Any:
        if isinstance(value, str):
            found = refused_character(value, multiline=multiline)
            if found is not None:
                index, ch = found
                if is_surrogate(ch):
                    raise PydanticCustomError("kamflow_utf8", "not valid UTF-8 text")
                reason = explain(index, ch, multiline=multiline)
                raise PydanticCustomError("kamflow_text", "{reason}", {"reason": reason})
        return value

    return BeforeValidator(check)


ONE_LINE = _text_rule(multiline=False)
MULTI_LINE = _text_rule(multiline=True)


class ExponentNumber(Decimal):
    """A JSON number written with an exponent (``1e2``) in a line of ``kamflow apply``:
    refused where a number is expected, like the same text typed on the command line.
    ``text`` is the number as written."""

    text: str

    def __new__(cls, text: str) -> ExponentNumber:
        number = super().__new__(cls, text)
        number.text = text
        return number


def _plain_number(value: Any) -> Any:
    """Typed text as a number (kamflow.domain.values.parse_number); numbers from JSON or
    Python pass, except one written with an exponent."""
    if isinstance(value, ExponentNumber):
        reason = f"{value.text} is written with an exponent; give {NUMBER_FORM}"
        raise PydanticCustomError("kamflow_number", "{reason}", {"reason": reason})
    if isinstance(value, str):
        try:
            return parse_number(value)
        except BadNumber as exc:
            raise PydanticCustomError("kamflow_number", "{reason}", {"reason": str(exc)}) from None
    return value


def _business_date(value: Any, info: ValidationInfo) -> Any:
    """``YYYY-MM-DD``, ``today`` or ``yesterday`` (kamflow.domain.dates.parse_date); the
    business date for the last two comes in the validation context (``today``: a date
    or a function giving it), so that the zone is the caller's to know."""
    # pydantic reads a number as a Unix time: "on": 0 in a script would be 1970-01-01.
    if isinstance(value, int | float | Decimal):
        raise PydanticCustomError("date_type", "give the date as YYYY-MM-DD, not a number")
    try:
        if isinstance(value, str):
            today = info.context.get("today") if isinstance(info.context, dict) else None
            return parse_date(value, today)
        if isinstance(value, date) and not isinstance(value, datetime):
            return check_range(value)
    except BadDate as exc:
        raise PydanticCustomError("kamflow_date", "{reason}", {"reason": str(exc)}) from None
    return value


def _line(max_length: int, *, required: bool = True) -> Any:
    return StringConstraints(
        strip_whitespace=True, min_length=1 if required else 0, max_length=max_length
    )


# One-line text: identifiers, names and list items, matched and shown in table cells.
Key = Annotated[str, AfterValidator(normalise_key), ONE_LINE]
Name = Annotated[str, _line(MAX_NAME), ONE_LINE]
Line = Annotated[str, _line(MAX_TEXT), ONE_LINE]
OptLine = Annotated[str, _line(MAX_TEXT, required=False), ONE_LINE]
# Multi-line text: prose (notes, results, reasons, analysis, outcomes, descriptions).
Text = Annotated[str, _line(MAX_TEXT), MULTI_LINE]
OptText = Annotated[str, _line(MAX_TEXT, required=False), MULTI_LINE]
Currency = Annotated[str, StringConstraints(to_upper=True, pattern=r"^[A-Za-z]{3}$"), ONE_LINE]
# Numbers: typed as plain decimals (parse_number). Money is stored in one form, with two
# decimals (85000.50); scores and percentages keep the digits typed (8.0, 3.5, 18.00),
# as the demo's stored events have them.
NUMBER = BeforeValidator(_plain_number)
Amount = Annotated[
    Decimal,
    Field(gt=0, le=MAX_AMOUNT, decimal_places=2, allow_inf_nan=False),
    AfterValidator(canonical_money),
    NUMBER,
]
Cost = Annotated[
    Decimal,
    Field(ge=0, le=MAX_AMOUNT, decimal_places=2, allow_inf_nan=False),
    AfterValidator(canonical_money),
    NUMBER,
]
Score = Annotated[
    Decimal,
    Field(ge=0, le=10, decimal_places=2, allow_inf_nan=False),
    AfterValidator(written_out),
    NUMBER,
]
Percent = Annotated[
    Decimal,
    Field(ge=0, le=100, decimal_places=2, allow_inf_nan=False),
    AfterValidator(written_out),
    NUMBER,
]
# An exchange rate: how many units of the quote currency one unit buys (7.12 CNY for
# 1 USD); up to 8 decimals, as banks publish them, kept as typed.
Rate = Annotated[
    Decimal,
    Field(gt=0, le=1_000_000, decimal_places=8, allow_inf_nan=False),
    AfterValidator(written_out),
    NUMBER,
]
# Invoice refs are matched in the account's state and are a view's primary key.
Ref = Annotated[str, _line(64), ONE_LINE]
ShortRef = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z]-\d+$"), ONE_LINE
]
PolicyName = Annotated[str, _line(80), ONE_LINE]
PolicyValue = Annotated[str, _line(40), ONE_LINE]
BusinessDate = Annotated[date, BeforeValidator(_business_date)]
# What the validation context's "today" may be: the date, or a function giving it.
Today = date | Callable[[], date]
# A visit with more people or issues than this is a mistake, not a visit.
MAX_ITEMS = 100
