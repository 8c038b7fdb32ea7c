"""Value: the tier, the ledger (sales, payments, service costs; P2), satisfaction, and
exceptions to a policy granted by an approver (P1, P4)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from kamflow.domain.account import Account
from kamflow.domain.commands import Command, option
from kamflow.domain.commands.corrections import VoidFact
from kamflow.domain.commands.fields import (
    Amount,
    Cost,
    Currency,
    Name,
    OptText,
    Percent,
    Ref,
    Score,
    Text,
)
from kamflow.domain.errors import Conflict, RuleViolation, Suggest
from kamflow.domain.policies import credit_after_sale
from kamflow.domain.values import BIG_TIERS, Tier, format_money, same_name

if TYPE_CHECKING:
    from kamflow.domain.envelope import Meta

Rule = Literal["credit-limit", "discount-ceiling"]


def _principle(account: Account) -> str:
    # P1 for every tier; P4 names the same rule for the biggest ones, because a big
    # customer does not buy an exception by being big.
    return "P4" if account.tier in BIG_TIERS else "P1"


class SetTier(Command):
    """Move an account to another tier (prospect, target, key, strategic).

    \b
    Example:
        kamflow tier set acme key --reason "top-20% by profit two quarters running"
    """

    name = "tier set"
    arguments = ("account", "tier")
    tier: Tier = option(metavar="TIER")
    reason: Text = option()
    approved_by: Name | None = option(default=None, metavar="NAME")

    def execute(self, account: Account, meta: Meta) -> str:
        if self.tier == account.tier:
            raise Conflict(f'account "{account.key}" is already tier {self.tier}')
        account.record(
            Account.TierChanged,
            meta,
            from_tier=account.tier,
            to_tier=self.tier,
            reason=self.reason,
            approved_by=self.approved_by,
        )
        return self.tier


class RecordSale(Command):
    """Record a sale (P2: invoice ref, amount and cost).

    \b
    Example:
        kamflow sale record acme --invoice INV-0042 --product phytase \\
            --amount 120000 --cost 84000 --currency CNY
    """

    name = "sale record"
    needs_governance = True
    invoice: Ref = option()
    product: Name = option()
    amount: Amount = option("Invoice amount, e.g. 120000 or 120000.50.")
    cost: Cost = option("Our cost of the goods sold.")
    currency: Currency | None = option("Default: the account's currency.", default=None)
    discount: Percent | None = option(
        "Discount off list price, in percent (P1: under the ceiling).", default=None
    )

    def execute(self, account: Account, meta: Meta) -> str:
        if account.lifecycle in ("lost", "reviewed"):
            raise Conflict(
                f'account "{account.key}" is {account.lifecycle};'
                " reactivate it before recording a sale"
            )
        invoice = self.invoice
        if account.used_invoice(invoice):
            raise RuleViolation(
                "P2",
                f'invoice {invoice} is already recorded on "{account.key}";'
                " each sale needs its own invoice ref",
            )
        currency = self.currency or account.currency
        what = f"sale {invoice}"
        account.within_total(account.revenue, "revenue", currency, self.amount, what)
        account.within_total(account.cost_of_sales, "cost of sales", currency, self.cost, what)
        used: list[str] = []
        if meta.governance is not None:
            owed = account.receivable().get(currency, Decimal(0))
            credit = credit_after_sale(owed, self.amount, account.tier, meta.governance.policy)
            if credit.exceeded:
                used.append(
                    _exception_or_refuse(
                        account,
                        "credit-limit",
                        invoice,
                        f'sale {invoice} would take what "{account.key}" owes to'
                        f" {format_money(credit.owed)} {currency}, over the {account.tier}-tier"
                        f" credit limit of {format_money(credit.limit)}",
                    )
                )
            ceiling = meta.governance.policy("discount-ceiling-pct")
            if self.discount is not None and self.discount > ceiling:
                used.append(
                    _exception_or_refuse(
                        account,
                        "discount-ceiling",
                        invoice,
                        f"a discount of {self.discount}% on sale {invoice} is over the"
                        f" {ceiling}% ceiling",
                    )
                )
        account.record(
            Account.SaleRecorded,
            meta,
            invoice=invoice,
            product=self.product,
            amount=self.amount,
            cost=self.cost,
            currency=currency,
            discount_pct=self.discount,
            exceptions=used or None,
        )
        return invoice


class VoidSale(VoidFact):
    """Void a sale recorded by mistake (REF: its invoice ref, or its #N in the
    history). A sale with payments or credit notes cannot be voided (P2): issue a
    credit note instead.

    \b
    Example:
        kamflow sale void acme INV-0042 --reason "invoice cancelled before delivery"
    """

    name = "sale void"
    kind = "sale"


class CreditSale(Command):
    """Issue a credit note (红字发票) against a sale: it lowers what the invoice is
    worth, and the revenue, by the amount (default: all that is still owed). What was
    paid stays paid, so the ledger reconciles (P2).

    \b
    Example:
        kamflow sale credit acme INV-0042 --amount 20000 --reason "2 t returned, damaged"
    """

    name = "sale credit"
    arguments = ("account", "invoice")
    invoice: Ref = option(metavar="INVOICE")
    amount: Amount | None = option("Default: all that is still owed on it.", default=None)
    reason: Text = option()

    def execute(self, account: Account, meta: Meta) -> str:
        invoice = account.open_invoice(self.invoice)
        if invoice is None:
            if not account.used_invoice(self.invoice):
                raise RuleViolation(
                    "P2", f'invoice {self.invoice} is not a sale on "{account.key}"'
                )
            raise RuleViolation(
                "P2",
                f"invoice {self.invoice} is settled or credited in full; nothing is owed on it"
                " to credit (a refund is not a credit note)",
            )
        sale = account.invoices[invoice]
        owed = Decimal(sale["amount"]) - Decimal(sale["paid"])
        amount = owed if self.amount is None else self.amount
        if amount > owed:
            raise RuleViolation(
                "P2",
                f"a credit note of {format_money(amount)} {sale['currency']} exceeds the"
                f" {format_money(owed)} still owed on invoice {invoice}",
            )
        note = account.next_id("CN")
        account.record(
            Account.SaleCredited,
            meta,
            credit_note=note,
            invoice=invoice,
            amount=amount,
            currency=sale["currency"],
            reason=self.reason,
        )
        return f"{note} on {invoice}"


def _exception_or_refuse(account: Account, rule: str, invoice: str, problem: str) -> str:
    """An unused exception granted for this rule (and invoice), or a P1/P4 refusal."""
    for exception_id, exc in account.exceptions.items():
        scope = exc["invoice"]
        if (
            exc["rule"] == rule
            and exc["used_by"] is None
            and (scope is None or same_name(scope, invoice))
        ):
            return exception_id
    fix = Suggest(
        "exception grant", (account.key,), {"rule": rule, "invoice": invoice, "reason": None}
    )
    if account.tier in BIG_TIERS:
        raise RuleViolation(
            "P4",
            f"{problem}; {account.tier} accounts get no automatic exception;"
            " an approver can grant one with ",
            fix,
        )
    raise RuleViolation("P1", f"{problem}; an approver can grant one with ", fix)


class RecordPayment(Command):
    """Record a payment received against an invoice.

    \b
    Example:
        kamflow payment record acme --invoice INV-0042 --amount 60000
    """

    name = "payment record"
    invoice: Ref = option("The sale it pays (P2).")
    amount: Amount = option()
    currency: Currency | None = option(default=None)

    def execute(self, account: Account, meta: Meta) -> str:
        amount = self.amount
        # The payment names the invoice as its sale recorded it, whatever its form here.
        invoice = account.open_invoice(self.invoice) or self.invoice
        sale = account.invoices.get(invoice)
        if sale is None and account.used_invoice(invoice):
            # Settled invoices leave the state (ADR 0001): nothing is owed on them.
            raise RuleViolation(
                "P2",
                f"payment of {format_money(amount)} {self.currency or account.currency} exceeds"
                f" the {format_money(Decimal(0))} still owed on invoice {invoice}",
            )
        if sale is None:
            raise RuleViolation(
                "P2",
                f'payment references invoice {invoice}, which is not a sale on "{account.key}";'
                " record the sale first",
            )
        currency = self.currency or sale["currency"]
        if currency != sale["currency"]:
            raise RuleViolation("P2", f"invoice {invoice} is in {sale['currency']}, not {currency}")
        outstanding = Decimal(sale["amount"]) - Decimal(sale["paid"])
        if amount > outstanding:
            raise RuleViolation(
                "P2",
                f"payment of {format_money(amount)} {currency} exceeds the"
                f" {format_money(outstanding)} still owed on invoice {invoice}",
            )
        account.record(
            Account.PaymentReceived, meta, invoice=invoice, amount=amount, currency=currency
        )
        return invoice


class VoidPayment(VoidFact):
    """Void a payment recorded by mistake (REF: its #N in the history); what it paid
    is owed again.

    \b
    Example:
        kamflow payment void acme 17 --reason "booked on the wrong account"
    """

    name = "payment void"
    kind = "payment"


class RecordServiceCost(Command):
    """Record a service cost.

    \b
    Example:
        kamflow cost record acme --amount 3500 --category "technical service"
    """

    name = "cost record"
    amount: Amount = option()
    category: Name = option("e.g. logistics, technical service, entertainment.")
    description: OptText = option(default="")
    currency: Currency | None = option(default=None)

    def execute(self, account: Account, meta: Meta) -> str:
        currency = self.currency or account.currency
        what = f"a service cost of {format_money(self.amount)}"
        account.within_total(account.service_cost, "service cost", currency, self.amount, what)
        account.record(
            Account.ServiceCostRecorded,
            meta,
            amount=self.amount,
            currency=currency,
            category=self.category,
            description=self.description,
        )
        return self.category


class VoidServiceCost(VoidFact):
    """Void a service cost recorded by mistake (REF: its #N in the history).

    \b
    Example:
        kamflow cost void acme 23 --reason "belongs to another customer"
    """

    name = "cost void"
    kind = "cost"


class MeasureSatisfaction(Command):
    """Record a satisfaction measurement.

    \b
    Example:
        kamflow satisfaction record acme --score 7.5 --target 8.5
    """

    name = "satisfaction record"
    score: Score = option("0 to 10.")
    target: Score = option("0 to 10.")
    note: OptText = option(default="")

    def execute(self, account: Account, meta: Meta) -> str:
        account.record(
            Account.SatisfactionMeasured, meta, score=self.score, target=self.target, note=self.note
        )
        return str(self.score)


class VoidSatisfaction(VoidFact):
    """Void a satisfaction measurement recorded by mistake (REF: its #N in the
    history); the latest one left counts.

    \b
    Example:
        kamflow satisfaction void acme 31 --reason "survey of another plant"
    """

    name = "satisfaction void"
    kind = "satisfaction"


class GrantException(Command):
    """Grant a one-off exception to a policy; the acting person must hold the approver role.

    \b
    Example:
        kamflow --actor zhao.director exception grant acme --rule credit-limit \\
            --invoice INV-0077 --reason "harvest season; paid on time for 5 years"
    """

    name = "exception grant"
    needs_governance = True
    rule: Rule = option()
    reason: Text = option()
    invoice: Ref | None = option(
        "The one sale it covers (default: the next sale that needs it).", default=None
    )

    def execute(self, account: Account, meta: Meta) -> str:
        governance = meta.governance
        if governance is None or not governance.holds(meta.actor, "approver"):
            raise RuleViolation(
                _principle(account),
                f"{meta.actor} does not hold the approver role; only an approver can grant an"
                " exception (see ",
                Suggest("roster show"),
                ")",
            )
        exception_id = account.next_id("E")
        account.record(
            Account.PolicyExceptionGranted,
            meta,
            exception_id=exception_id,
            rule=self.rule,
            approver=meta.actor,
            reason=self.reason,
            invoice=self.invoice,
        )
        return exception_id
