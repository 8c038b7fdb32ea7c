"""What every ``<noun> void`` command shares (ADR 0020): one decision, declared once.

Each noun's module declares its own ``void`` command as a subclass naming the kind of
fact (``kind``, a key of ``kamflow.domain.corrections.VOIDABLE``), its help and its
example; this class decides for all of them. It is not in ``MODULES``: it declares no
command of its own (no ``name``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from kamflow.domain import corrections
from kamflow.domain.account import Account
from kamflow.domain.commands import Command, option
from kamflow.domain.commands.fields import Ref, Text

if TYPE_CHECKING:
    from kamflow.domain.envelope import Meta


class VoidFact(Command):
    """Void a recorded fact (see each subclass)."""

    arguments = ("account", "ref")
    needs_history = True
    kind: ClassVar[str]
    ref: Ref = option(metavar="REF")
    reason: Text = option("Why it is voided (kept in the history and the audit trail).")

    def execute(self, account: Account, meta: Meta) -> str:
        history = meta.history or ()
        event = corrections.find(account, history, self.kind, self.ref)
        corrections.check_voidable(account, history, self.kind, event)
        ref = corrections.label(self.kind, event)
        account.record(
            Account.FactVoided,
            meta,
            ref=ref,
            version=event.originator_version,
            fact=corrections.fact_of(event),
            restores=corrections.restored(history, self.kind, event),
            **self.given("kind", "reason"),
        )
        return f"{ref} voided"
