"""Corrections: compensating events, never edits (ADR 0020).

A mistake is never erased from the log: it is taken back by a new event, as an
accountant reverses a booking. This module holds what every correction shares, so the
aggregate (``account.py``) only declares the events:

- ``VOIDABLE``: the facts that can be voided (a visit, a sale, a payment, a service
  cost, a satisfaction measurement, a competitor note), each with the event that
  records it and how users name one (``V-14``, an invoice ref, or the fact's position
  in ``account history``, ``#17``);
- ``find``: the stored event a reference names, refused when it is not there or was
  voided already;
- ``restored``: the decision state a void must put back (the last visit, the latest
  satisfaction, a competitor's details...), recomputed by folding the surviving facts,
  so that the account after a void equals the account that never had the fact;
- ``evolve_void``: how a ``FactVoided`` changes the decision state;
- ``repeated``: whether a write looks like one just recorded (a shell-history repeat).

Nothing here does I/O: the application hands the account's stored events to the
commands that declare ``needs_history`` (``Meta.history``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from kamflow.domain.errors import Conflict, Field, NotFound, RuleViolation, Suggest
from kamflow.domain.values import format_money, identity

if TYPE_CHECKING:
    from kamflow.domain.account import Account

# How long after a write an identical one is taken for a repeat (a command sent twice
# from shell history), unless the user says it is meant (``again``).
REPEAT_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True)
class Voidable:
    """A kind of fact that can be voided: the event recording it, the field naming it
    (None: named by its position in the stream, ``#17``), and words for people."""

    event: str
    id_field: str | None
    label: str


VOIDABLE: dict[str, Voidable] = {
    "visit": Voidable("VisitLogged", "visit_id", "visit"),
    "sale": Voidable("SaleRecorded", "invoice", "sale"),
    "payment": Voidable("PaymentReceived", None, "payment"),
    "cost": Voidable("ServiceCostRecorded", None, "service cost"),
    "satisfaction": Voidable("SatisfactionMeasured", None, "satisfaction measurement"),
    "competitor": Voidable("CompetitorNoted", None, "competitor note"),
}


def _type(event: Any) -> str:
    return type(event).__name__


def voided_versions(history: Sequence[Any]) -> set[int]:
    """The positions of the facts a ``FactVoided`` of this history took back."""
    return {e.version for e in history if _type(e) == "FactVoided"}


def find(account: Account, history: Sequence[Any], kind: str, ref: str) -> Any:
    """The stored event of ``kind`` that ``ref`` names on this account: its id (``V-14``,
    an invoice ref, by ``values.identity``) or its position (``#17`` or ``17``, as
    ``account history`` numbers it). Raises NotFound, or Conflict when it was voided."""
    spec = VOIDABLE[kind]
    wanted = ref.strip().lstrip("#")
    by_position = wanted.isdigit()
    found = None
    for event in history:
        if _type(event) != spec.event:
            continue
        if by_position:
            hit = event.originator_version == int(wanted)
        else:
            hit = spec.id_field is not None and identity(getattr(event, spec.id_field)) == identity(
                wanted
            )
        if hit:
            found = event
            break
    if found is None:
        how = "its id or its number" if spec.id_field else "its number (#N)"
        raise NotFound(
            f'no {spec.label} {ref} on "{account.key}"; name one by {how} as ',
            Suggest("account history", (account.key,)),
            " shows it",
        )
    if found.originator_version in voided_versions(history):
        raise Conflict(
            f'{spec.label} {ref} on "{account.key}" is already voided (#{found.originator_version})'
        )
    return found


def label(kind: str, event: Any) -> str:
    """How people name a fact: its id, else its position (``#17``)."""
    spec = VOIDABLE[kind]
    return str(getattr(event, spec.id_field)) if spec.id_field else f"#{event.originator_version}"


def fact_of(event: Any) -> dict[str, Any]:
    """What a void keeps of the fact it takes back: its fields and business date (the
    views subtract exactly these)."""
    fact = {k: v for k, v in event.payload().items() if k != "previous"}
    fact["occurred_on"] = event.occurred_on
    return fact


def check_voidable(account: Account, history: Sequence[Any], kind: str, event: Any) -> None:
    """Refuse to void a sale something else stands on: a payment or a credit note (P2:
    the ledger must still reconcile; a credit note is the way)."""
    if kind != "sale":
        return
    voided = voided_versions(history)
    invoice = identity(event.invoice)
    for e in history:
        if (
            _type(e) in ("PaymentReceived", "SaleCredited")
            and identity(e.invoice) == invoice
            and e.originator_version not in voided
        ):
            raise RuleViolation(
                "P2",
                f'sale {event.invoice} on "{account.key}" has payments or credit notes;'
                " it cannot be voided; issue a credit note with ",
                Suggest("sale credit", (account.key, event.invoice), {"reason": None}),
            )


def restored(history: Sequence[Any], kind: str, event: Any) -> dict[str, Any]:
    """The decision state a void of ``event`` must put back, folded from the facts that
    survive it (every earlier void, and this one, left out)."""
    gone = voided_versions(history) | {event.originator_version}
    alive = [e for e in history if e.originator_version not in gone]
    if kind == "visit":
        visits = [e for e in alive if _type(e) == "VisitLogged"]
        last = max(visits, key=lambda e: (e.occurred_on, e.originator_version), default=None)
        return {
            "last_visit": None
            if last is None
            else {"id": last.visit_id, "on": last.occurred_on, "purpose": last.purpose},
            "last_contact_on": None if last is None else last.occurred_on,
        }
    if kind == "satisfaction":
        measured = [e for e in alive if _type(e) == "SatisfactionMeasured"]
        latest = max(measured, key=lambda e: (e.occurred_on, e.originator_version), default=None)
        return {
            "satisfaction": None
            if latest is None
            else {"score": latest.score, "target": latest.target, "on": latest.occurred_on}
        }
    if kind == "competitor":
        wanted = identity(event.competitor)
        details: dict[str, str] = {}
        for e in alive:
            if _type(e) == "CompetitorNoted" and identity(e.competitor) == wanted:
                details.update(e.details)
        return {"competitor": details}
    if kind == "payment":
        return {"invoice": _invoice(alive, identity(event.invoice))}
    return {}


def _invoice(alive: Sequence[Any], invoice: str) -> dict[str, Any]:
    """An invoice as the surviving facts leave it: its sale (or, taken over from a
    merged duplicate, the invoice as the merge took it in), less its credit notes, with
    what its payments paid."""
    start: dict[str, Any] | None = None
    for e in alive:
        if _type(e) == "SaleRecorded" and identity(e.invoice) == invoice:
            start = {"currency": e.currency, "amount": e.amount, "paid": 0, "on": e.occurred_on}
        elif _type(e) == "AccountAbsorbed":
            for ref, sale in e.ledger["invoices"].items():
                if identity(ref) == invoice:
                    start = dict(sale)
    assert start is not None, "a payment names a sale of its account (P2)"
    amount, paid = Decimal(start["amount"]), Decimal(start["paid"])
    for e in alive:
        if _type(e) in ("SaleCredited", "PaymentReceived") and identity(e.invoice) == invoice:
            if _type(e) == "SaleCredited":
                amount -= Decimal(e.amount)
            else:
                paid += Decimal(e.amount)
    return {**start, "amount": amount, "paid": paid}


def _less(totals: dict[str, Decimal], currency: str, amount: Any) -> None:
    left = totals.get(currency, Decimal(0)) - Decimal(amount)
    # A total only the voided fact had made goes with it, as if it had never been.
    if left:
        totals[currency] = left
    else:
        totals.pop(currency, None)


def evolve_void(
    account: Account, kind: str, fact: Mapping[str, Any], back: Mapping[str, Any]
) -> None:
    """Take a voided fact back out of the decision state (``FactVoided.evolve``)."""
    if kind == "visit":
        account.visits -= 1
        for issue_id in fact["issues"]:
            account.open_issues.pop(issue_id, None)
        account.last_visit = back["last_visit"]
        account.last_contact_on = back["last_contact_on"]
    elif kind == "sale":
        account.invoices.pop(fact["invoice"], None)
        _less(account.revenue, fact["currency"], fact["amount"])
        _less(account.cost_of_sales, fact["currency"], fact["cost"])
    elif kind == "payment":
        account.invoices[fact["invoice"]] = dict(back["invoice"])  # type: ignore[assignment]
        _less(account.received, fact["currency"], fact["amount"])
    elif kind == "cost":
        _less(account.service_cost, fact["currency"], fact["amount"])
    elif kind == "satisfaction":
        account.satisfaction = back["satisfaction"]
    elif kind == "competitor":
        name = account.competitor_named(fact["competitor"]) or fact["competitor"]
        if back["competitor"]:
            account.competitors[name] = dict(back["competitor"])
        else:
            account.competitors.pop(name, None)


def void_summary(kind: str, ref: str, version: int, fact: Mapping[str, Any], reason: str) -> str:
    """``voided payment #17 (INV-7, 60,000.00 CNY): entered twice``."""
    what = VOIDABLE[kind].label
    detail = ""
    if "amount" in fact:
        detail = f"{format_money(Decimal(fact['amount']))} {fact['currency']}"
        if kind == "payment":
            detail = f"{fact['invoice']}, {detail}"
    elif kind == "visit":
        detail = fact["purpose"]
    elif kind == "satisfaction":
        detail = f"score {fact['score']}"
    elif kind == "competitor":
        detail = fact["competitor"]
    shown = ref if ref.startswith("#") else f"{ref} (#{version})"
    return f"voided {what} {shown}" + (f" ({detail})" if detail else "") + f": {reason}"


# --------------------------------------------------------------------------- merges
def check_mergeable(duplicate: Account, target: str) -> None:
    """Refuse a merge that would lose something the duplicate still has to do: an
    open issue (P6) or a complaint without an outcome (P7) is finished on it first."""
    if identity(duplicate.key) == identity(target):
        raise Conflict(f'account "{duplicate.key}" cannot be merged into itself')
    if duplicate.open_issues:
        first = next(iter(duplicate.open_issues))
        raise RuleViolation(
            "P6",
            f'"{duplicate.key}" has open issues ({", ".join(duplicate.open_issues)});'
            " follow them up before merging it, e.g. with ",
            Suggest("visit follow-up", (duplicate.key, first), {"result": None}),
        )
    pending = duplicate.complaints_without_outcome()
    if pending:
        raise RuleViolation(
            "P7",
            f'"{duplicate.key}" has complaints without an outcome ({", ".join(pending)});'
            " resolve or reject them before merging it",
        )


def ledger_of(duplicate: Account) -> dict[str, Any]:
    """What the target of a merge takes over: the open invoices (payments against
    them are recorded on the target from then on), every invoice ref used (P2: never
    used twice), and the money totals."""
    return {
        "invoices": {ref: dict(sale) for ref, sale in duplicate.invoices.items()},
        "invoice_refs": [r for r in duplicate.invoice_refs.split("\n") if r],
        "revenue": dict(duplicate.revenue),
        "cost_of_sales": dict(duplicate.cost_of_sales),
        "service_cost": dict(duplicate.service_cost),
        "received": dict(duplicate.received),
    }


def check_absorbable(target: Account, source: str, ledger: Mapping[str, Any]) -> None:
    """Refuse a merge whose invoice refs the target used already (P2)."""
    clash = [r for r in ledger["invoice_refs"] if f"\n{r}\n" in target.invoice_refs]
    if clash:
        raise RuleViolation(
            "P2",
            f'invoice {clash[0]} is recorded on both "{source}" and "{target.key}";'
            " each sale needs its own invoice ref, so they cannot be merged as they are",
        )


def absorb(target: Account, source: str, ledger: Mapping[str, Any]) -> None:
    """Take a duplicate's ledger into the target's state (``AccountAbsorbed.evolve``)."""
    target.merged_from += f"{source}\n"
    target.invoices.update(ledger["invoices"])
    target.invoice_refs += "".join(f"{r}\n" for r in ledger["invoice_refs"])
    for name in ("revenue", "cost_of_sales", "service_cost", "received"):
        totals: dict[str, Decimal] = getattr(target, name)
        for currency, amount in ledger[name].items():
            totals[currency] = totals.get(currency, Decimal(0)) + Decimal(amount)


def absorbed(target: Account, source: str) -> bool:
    """Whether the target already took this duplicate in (a merge whose second write,
    on the duplicate, failed: running it again completes it)."""
    return f"\n{source}\n" in target.merged_from


# --------------------------------------------------------------- repeated commands
# The fields whose values kamflow hands out (a repeat gets the next id though the user
# typed the same), by event; and ``previous``, recomputed from the state each changes.
GIVEN_OUT: dict[str, frozenset[str]] = {
    "ContactAdded": frozenset({"contact_id"}),
    "VisitLogged": frozenset({"visit_id"}),
    "ComplaintRaised": frozenset({"complaint_id"}),
    "OpportunityOpened": frozenset({"opportunity_id"}),
    "PolicyExceptionGranted": frozenset({"exception_id"}),
    "SaleCredited": frozenset({"credit_note"}),
}


def _comparable(event: Any) -> tuple[str, Any, Any]:
    given_out = GIVEN_OUT.get(_type(event), frozenset())
    fields = {
        # A visit's issues are numbered by kamflow too: compare their texts.
        k: (sorted(v.values()) if k == "issues" and isinstance(v, dict) else v)
        for k, v in event.payload().items()
        if k not in given_out and k != "previous"
    }
    return _type(event), event.occurred_on, repr(sorted(fields.items()))


def repeated(
    pending: Sequence[Any], recent: Sequence[Any], now: datetime, window: timedelta = REPEAT_WINDOW
) -> Any:
    """The event among ``recent`` (the account's latest stored events) that ``pending``
    (what a command is about to record) repeats: the same event with the same fields
    and business date, recorded less than ``window`` before ``now``; else None. The
    ids kamflow gives out (``GIVEN_OUT``; a visit's issues' I-n) are not compared."""
    if not pending:
        return None
    first = _comparable(pending[0])
    for event in reversed(recent):
        if now - event.timestamp >= window:
            continue
        if _comparable(event) == first:
            return event
    return None


def repeat_hint(event: Any, noun: str) -> Conflict:
    """``looks like V-13 again (recorded 14:02); ...``: the refusal of a repeat."""
    ids = event.ids()
    named = next((str(v) for v in ids.values() if isinstance(v, str)), None) or getattr(
        event, "invoice", None
    )
    what = named or f"#{event.originator_version} ({_type(event)})"
    return Conflict(
        f"looks like {what} again, recorded {event.timestamp:%H:%M} UTC; add ",
        Field("again"),
        f" if this is a second {noun}",
    )
