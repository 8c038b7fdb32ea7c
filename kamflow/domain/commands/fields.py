"""The field types commands are made of: what each kind of input may hold.

Every write path (the command line, ``kamflow apply``, imports) validates through these,
so a rule about text, amounts or references is written once, here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from kamflow.domain.values import MAX_NAME, MAX_TEXT, normalise_key

Key = Annotated[str, AfterValidator(normalise_key)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT)]
OptText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_TEXT)]
Currency = Annotated[str, StringConstraints(to_upper=True, pattern=r"^[A-Za-z]{3}$")]
Amount = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=2, allow_inf_nan=False)]
Cost = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2, allow_inf_nan=False)]
Score = Annotated[Decimal, Field(ge=0, le=10, decimal_places=2, allow_inf_nan=False)]
Percent = Annotated[Decimal, Field(ge=0, le=100, decimal_places=2, allow_inf_nan=False)]
# Invoice refs are matched line by line in the account's state: no line breaks.
Ref = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[^\r\n]+$"),
]
ShortRef = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z]-\d+$")]
