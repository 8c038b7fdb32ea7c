"""The field types commands are made of: what each kind of input may hold.

Every write path (the command line, ``kamflow apply``, imports) validates through these,
so a rule about text, amounts or references is written once, here. Every text type
carries the text rule of ``kamflow.domain.text`` (ADR 0011): one-line text for names,
keys, refs and list items, multi-line text (prose) for notes, results and reasons.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

from kamflow.domain.text import explain, is_surrogate, refused_character
from kamflow.domain.values import MAX_AMOUNT, MAX_NAME, MAX_TEXT, normalise_key


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


def _plain(value: Decimal) -> Decimal:
    # 1E+2 and -0 are valid decimals; store them as 100 and 0, so that events, views
    # (scores and discounts are text there) and reports all show the digits users expect.
    plain = Decimal(format(value, "f"))
    return plain if plain else abs(plain)


def _not_a_number(value: Any) -> Any:
    # pydantic reads a number as a Unix time: "on": 0 in a script would be 1970-01-01.
    if isinstance(value, int | float | Decimal):
        raise PydanticCustomError("date_type", "give the date as YYYY-MM-DD, not a number")
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
Amount = Annotated[
    Decimal,
    Field(gt=0, le=MAX_AMOUNT, decimal_places=2, allow_inf_nan=False),
    AfterValidator(_plain),
]
Cost = Annotated[
    Decimal,
    Field(ge=0, le=MAX_AMOUNT, decimal_places=2, allow_inf_nan=False),
    AfterValidator(_plain),
]
Score = Annotated[
    Decimal, Field(ge=0, le=10, decimal_places=2, allow_inf_nan=False), AfterValidator(_plain)
]
Percent = Annotated[
    Decimal, Field(ge=0, le=100, decimal_places=2, allow_inf_nan=False), AfterValidator(_plain)
]
# Invoice refs are matched in the account's state and are a view's primary key.
Ref = Annotated[str, _line(64), ONE_LINE]
ShortRef = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z]-\d+$"), ONE_LINE
]
PolicyName = Annotated[str, _line(80), ONE_LINE]
PolicyValue = Annotated[str, _line(40), ONE_LINE]
BusinessDate = Annotated[date, BeforeValidator(_not_a_number)]
# A visit with more people or issues than this is a mistake, not a visit.
MAX_ITEMS = 100
