"""Complaints (投诉) and their workflow: every one must reach an outcome (P7)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kamflow.domain.account import Account
from kamflow.domain.commands import Command, option
from kamflow.domain.commands.fields import OptLine, OptText, ShortRef, Text
from kamflow.domain.errors import RuleViolation
from kamflow.domain.values import Severity
from kamflow.workflows.complaint import COMPLAINT

if TYPE_CHECKING:
    from kamflow.domain.envelope import Meta


class RaiseComplaint(Command):
    """Record a complaint.

    \b
    Example:
        kamflow complaint raise acme --summary "late delivery, line 2 stopped" --severity high
    """

    name = "complaint raise"
    summary: Text = option()
    severity: Severity = option()

    def execute(self, account: Account, meta: Meta) -> str:
        complaint_id = account.next_id("C")
        account.record(
            Account.ComplaintRaised,
            meta,
            complaint_id=complaint_id,
            summary_text=self.summary,
            severity=self.severity,
        )
        return complaint_id


class ComplaintStep(Command):
    """A step of the complaint workflow on one complaint."""

    arguments = ("account", "complaint")
    complaint: ShortRef = option(metavar="COMPLAINT")

    def step(self, account: Account, trigger: str, **context: Any) -> str:
        complaint_id, complaint = account.complaint(self.complaint)
        subject = f'complaint {complaint_id} on "{account.key}"'
        account.step(COMPLAINT, complaint["status"], trigger, subject, **context)
        return complaint_id


class AcknowledgeComplaint(ComplaintStep):
    """Acknowledge a complaint to the customer.

    \b
    Example:
        kamflow complaint ack acme C-1
    """

    name = "complaint ack"

    def execute(self, account: Account, meta: Meta) -> str:
        complaint_id = self.step(account, "ack")
        account.record(Account.ComplaintAcknowledged, meta, complaint_id=complaint_id)
        return complaint_id


class InvestigateComplaint(ComplaintStep):
    """Start investigating an acknowledged complaint.

    \b
    Example:
        kamflow complaint investigate acme C-1 --note "carrier logs requested"
    """

    name = "complaint investigate"
    note: OptText = option("What is being looked into.", default="")

    def execute(self, account: Account, meta: Meta) -> str:
        complaint_id = self.step(account, "investigate")
        account.record(
            Account.ComplaintInvestigationStarted, meta, complaint_id=complaint_id, note=self.note
        )
        return complaint_id


class EscalateComplaint(ComplaintStep):
    """Escalate an open complaint.

    \b
    Example:
        kamflow complaint escalate acme C-1 --reason "line stopped twice" --to "sales director"
    """

    name = "complaint escalate"
    reason: Text = option()
    to: OptLine = option("Whom it is escalated to.", default="")

    def execute(self, account: Account, meta: Meta) -> str:
        complaint_id = self.step(account, "escalate")
        account.record(
            Account.ComplaintEscalated,
            meta,
            complaint_id=complaint_id,
            **self.given("reason", "to"),
        )
        return complaint_id


class ResolveComplaint(ComplaintStep):
    """Resolve a complaint with its outcome.

    \b
    Example:
        kamflow complaint resolve acme C-1 --outcome "credit note; second carrier contracted"
    """

    name = "complaint resolve"
    outcome: Text = option()

    def execute(self, account: Account, meta: Meta) -> str:
        complaint_id = self.step(account, "resolve", outcome=self.outcome)
        account.record(
            Account.ComplaintResolved, meta, complaint_id=complaint_id, outcome=self.outcome
        )
        return complaint_id


class RejectComplaint(ComplaintStep):
    """Reject a complaint, with the justification.

    \b
    Example:
        kamflow complaint reject acme C-2 --justification "damage happened after delivery"
    """

    name = "complaint reject"
    justification: Text = option()

    def execute(self, account: Account, meta: Meta) -> str:
        complaint_id = self.step(account, "reject", justification=self.justification)
        account.record(
            Account.ComplaintRejected,
            meta,
            complaint_id=complaint_id,
            justification=self.justification,
        )
        return complaint_id


class CloseComplaint(ComplaintStep):
    """Close a resolved or rejected complaint (P7: never without an outcome).

    \b
    Example:
        kamflow complaint close acme C-1 --confirmation "Wang Fang confirmed by phone"
    """

    name = "complaint close"
    confirmation: Text = option("How the customer confirmed the outcome.")

    def execute(self, account: Account, meta: Meta) -> str:
        open_one = account.complaints.get(self.complaint.upper())
        if open_one is not None and not open_one["outcome"]:
            # Name the principle, not only the workflow: nothing closes without an outcome.
            raise RuleViolation(
                "P7",
                f'complaint {self.complaint.upper()} on "{account.key}" has no outcome;'
                " resolve or reject it first",
            )
        complaint_id = self.step(
            account,
            "close",
            complaint_id=self.complaint.upper(),
            outcome_recorded=bool(open_one and open_one["outcome"]),
        )
        account.record(
            Account.ComplaintClosed, meta, complaint_id=complaint_id, confirmation=self.confirmation
        )
        return complaint_id
