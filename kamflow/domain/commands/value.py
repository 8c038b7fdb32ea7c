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
from kamflow.domain.errors import Conflict, InvalidInput, NotFound, RuleViolation, Suggest
from kamflow.domain.policies import credit_after_sale
from kamflow.domain.values import BIG_TIERS, TIERS, Tier, format_money, same_name

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
    needs_governance = True
    tier: Tier = option(metavar="TIER")
    reason: Text = option()
    approved_by: Name | None = option(
        "Deprecated, ignored once roles are enforced: use tier request and tier approve.",
        default=None,
        metavar="NAME",
    )

    def deprecation(self) -> str | None:
        if self.approved_by is None:
            return None
        return (
            "--approved-by is deprecated and will be removed in the next release: a raise"
            " to key or strategic is `kamflow tier request` by one person and"
            " `kamflow tier approve` by an approver"
        )

    def execute(self, account: Account, meta: Meta) -> str:
        if self.tier == account.tier:
            raise Conflict(f'account "{account.key}" is already tier {self.tier}')
        raising = self.tier in BIG_TIERS and TIERS.index(self.tier) > TIERS.index(account.tier)
        governance = meta.governance
        # Four eyes need a second person: from the day the roster names an approver
        # (a team of one cannot ask anyone); report principles flags raises before it.
        if (
            raising
            and governance is not None
            and governance.enforcing
            and governance.staffed("approver")
        ):
            raise RuleViolation(
                "P4",
                f"raising {account.key} to {self.tier} needs a second person (four eyes):"
                " missing an approval; request it with ",
                Suggest(
                    "tier request",
                    (account.key, self.tier),
                    {"reason": self.reason},
                    argument_names=("account", "tier"),
                ),
                " and an approver who is not you runs ",
                Suggest("tier approve", (account.key,)),
            )
        account.record(
            Account.TierChanged,
            meta,
            from_tier=account.tier,
            to_tier=self.tier,
            **self.given("reason", "approved_by"),
        )
        return self.tier


class RequestTier(Command):
    """Ask for an account to be raised to key or strategic; an approver who is someone
    else then approves it (four eyes: the requester never approves their own request).

    \b
    Example:
        kamflow tier request acme key --reason "top-20% by profit two quarters running"
    """

    name = "tier request"
    arguments = ("account", "tier")
    tier: Tier = option(metavar="TIER")
    reason: Text = option()

    def execute(self, account: Account, meta: Meta) -> str:
        if self.tier not in BIG_TIERS:
            raise InvalidInput(
                f"only a raise to {' or '.join(BIG_TIERS)} needs approval; move to"
                f" {self.tier} with ",
                Suggest("tier set", (account.key, self.tier), {"reason": self.reason}),
            )
        if TIERS.index(self.tier) <= TIERS.index(account.tier):
            raise Conflict(f'account "{account.key}" is already tier {account.tier}')
        pending = account.requests.get("tier")
        if pending is not None:
            raise Conflict(
                f'a raise of "{account.key}" to {pending["to_tier"]} requested by'
                f" {pending['requester']} already awaits an approver"
            )
        account.record(
            Account.TierRaiseRequested,
            meta,
            from_tier=account.tier,
            to_tier=self.tier,
            reason=self.reason,
        )
        return f"{self.tier} requested; an approver who is not {meta.actor} approves it"


class ApproveTier(Command):
    """Approve the raise to key or strategic someone else requested (approver role).

    \b
    Example:
        kamflow --actor zhao.director tier approve acme
    """

    name = "tier approve"
    needs_governance = True
    needs_role = "approver"

    def execute(self, account: Account, meta: Meta) -> str:
        pending = account.requests.get("tier")
        if pending is None:
            raise NotFound(f'no tier raise of "{account.key}" awaits approval')
        _approvable(account, meta, pending["requester"], f"the raise to {pending['to_tier']}")
        to_tier = pending["to_tier"] or account.tier
        account.record(
            Account.TierRaiseApproved,
            meta,
            from_tier=account.tier,
            to_tier=to_tier,
            reason=pending["reason"],
            approved_by=meta.actor,
            requested_by=pending["requester"],
        )
        return f"{to_tier}, approved by {meta.actor}"


def _approvable(account: Account, meta: Meta, requester: str, what: str) -> None:
    """Refuse an approval unless the actor is an approver and not the requester (four
    eyes, as auditors test segregation of duties: SOX; ADR 0023). Enforced whether or
    not the store enforces the other roles: these commands are new, with no history
    to keep working."""
    governance = meta.governance
    if governance is None or not governance.holds(meta.actor, "approver"):
        raise RuleViolation(
            "role approver",
            f"approving {what} needs the approver role and {meta.actor} does not hold it (see ",
            Suggest("roster show"),
            ")",
        )
    if same_name(requester, meta.actor):
        raise RuleViolation(
            "four eyes",
            f"{meta.actor} requested {what} on {account.key} and cannot also approve it;"
            " another approver must",
        )


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
            currency=currency,
            discount_pct=self.discount,
            exceptions=used or None,
            **self.given("product", "amount", "cost"),
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
    waiting = next(
        (
            i
            for i, r in account.requests.items()
            if r["kind"] == "exception"
            and r["rule"] == rule
            and (r["invoice"] is None or same_name(r["invoice"], invoice))
        ),
        None,
    )
    principle = _principle(account)
    big = (
        f"{account.tier} accounts get no automatic exception; " if account.tier in BIG_TIERS else ""
    )
    if waiting is not None:
        requester = account.requests[waiting]["requester"]
        raise RuleViolation(
            principle,
            f"{problem}; {big}missing: an approval of exception {waiting}, requested by"
            f" {requester}; an approver who is not {requester} runs ",
            Suggest(
                "exception approve", (account.key, waiting), argument_names=("account", "exception")
            ),
        )
    raise RuleViolation(
        principle,
        f"{problem}; {big}missing: an approved {rule} exception; request one with ",
        Suggest(
            "exception request", (account.key,), {"rule": rule, "invoice": invoice, "reason": None}
        ),
        " and have an approver who is not you approve it",
    )


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
            currency=currency,
            **self.given("amount", "category", "description"),
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
        account.record(Account.SatisfactionMeasured, meta, **self.given("score", "target", "note"))
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
    """Deprecated (use exception request and exception approve): grant an exception at
    once; only where roles are not enforced, by an approver.

    \b
    Example:
        kamflow --actor zhao.director exception grant acme --rule credit-limit \\
            --invoice INV-0077 --reason "harvest season; paid on time for 5 years"
    """

    name = "exception grant"
    needs_governance = True
    # Refused with the four-eyes rule where roles apply (execute), whoever asks.
    rule: Rule = option()
    reason: Text = option()
    invoice: Ref | None = option(
        "The one sale it covers (default: the next sale that needs it).", default=None
    )

    def deprecation(self) -> str:
        return (
            "exception grant is deprecated and will be removed in the next release: an"
            " exception is `kamflow exception request` by one person and"
            " `kamflow exception approve` by an approver"
        )

    def execute(self, account: Account, meta: Meta) -> str:
        governance = meta.governance
        if governance is not None and governance.enforcing:
            raise RuleViolation(
                _principle(account),
                "an exception needs two people (four eyes): request it with ",
                Suggest(
                    "exception request",
                    (account.key,),
                    {"rule": self.rule, "invoice": self.invoice, "reason": self.reason}
                    if self.invoice
                    else {"rule": self.rule, "reason": self.reason},
                ),
                " and an approver who is not the requester runs ",
                Suggest(
                    "exception approve",
                    (account.key, "E-n"),
                    argument_names=("account", "exception"),
                ),
            )
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
            approver=meta.actor,
            **self.given("rule", "reason", "invoice"),
        )
        return exception_id


class RequestException(Command):
    """Ask for a one-off exception to a policy; it covers nothing until an approver who
    is someone else approves it (four eyes).

    \b
    Example:
        kamflow exception request acme --rule credit-limit --invoice INV-0077 \\
            --reason "harvest season; paid on time for 5 years"
    """

    name = "exception request"
    rule: Rule = option()
    reason: Text = option()
    invoice: Ref | None = option(
        "The one sale it covers (default: the next sale that needs it).", default=None
    )

    def execute(self, account: Account, meta: Meta) -> str:
        exception_id = account.next_id("E")
        account.record(
            Account.PolicyExceptionRequested,
            meta,
            exception_id=exception_id,
            **self.given("rule", "reason", "invoice"),
        )
        return f"{exception_id} requested; an approver who is not {meta.actor} approves it"


class ApproveException(Command):
    """Approve an exception someone else requested (approver role; never your own).

    \b
    Example:
        kamflow --actor zhao.director exception approve acme E-3
    """

    name = "exception approve"
    arguments = ("account", "exception")
    needs_governance = True
    needs_role = "approver"
    exception: Ref = option("The requested exception's id, e.g. E-3.", metavar="ID")

    def execute(self, account: Account, meta: Meta) -> str:
        exception_id = next(
            (i for i in account.requests if same_name(i, self.exception)), self.exception
        )
        pending = account.requests.get(exception_id)
        if pending is None or pending["kind"] != "exception":
            if exception_id.upper() in account.exceptions:
                raise Conflict(f"exception {exception_id.upper()} is approved already")
            raise NotFound(f'no exception {self.exception} awaits approval on "{account.key}"')
        _approvable(account, meta, pending["requester"], f"exception {exception_id}")
        account.record(
            Account.PolicyExceptionApproved,
            meta,
            exception_id=exception_id,
            rule=pending["rule"],
            approver=meta.actor,
            reason=pending["reason"],
            invoice=pending["invoice"],
            requested_by=pending["requester"],
        )
        return f"{exception_id}, approved by {meta.actor}"
