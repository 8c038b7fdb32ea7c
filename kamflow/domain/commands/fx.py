"""Exchange rates (ADR 0021): recorded on the governance stream, like policies, so that
every converted figure can say which rate it used, who set it and when."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kamflow.domain.commands import GovernanceCommand, option
from kamflow.domain.commands.fields import Currency, Rate, Text
from kamflow.domain.errors import InvalidInput

if TYPE_CHECKING:
    from kamflow.domain.envelope import Meta
    from kamflow.domain.governance import Governance


class SetRate(GovernanceCommand):
    """Record an exchange rate: 1 CURRENCY = RATE QUOTE from the business date --on
    (default today) until the next rate of the pair. Reports convert each amount at the
    rate in force on its business date, or the inverse of the reverse pair's.

    \b
    Example:
        kamflow fx set USD CNY 7.12 --on 2026-11-01 --source "bank of china mid"
    """

    name = "fx set"
    arguments = ("currency", "quote", "rate")
    currency: Currency = option("The currency converted from (USD).", metavar="CURRENCY")
    quote: Currency = option("The currency converted to (CNY).", metavar="QUOTE")
    rate: Rate = option("Units of QUOTE for one unit of CURRENCY.", metavar="RATE")
    source: Text = option("Where the rate comes from (bank, mid or spot, date).")

    def apply_to(self, governance: Governance, meta: Meta) -> str:
        if self.currency == self.quote:
            raise InvalidInput(
                f"a rate converts between two currencies, not {self.quote} to itself"
            )
        governance.set_rate(meta, self.currency, self.quote, self.rate, self.source)
        return f"1 {self.currency} = {self.rate} {self.quote} from {meta.occurred_on}"
