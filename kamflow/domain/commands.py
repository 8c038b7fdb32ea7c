"""Commands: validated, immutable requests to change one account.

Each command is a pydantic model (input validation: types, enums, lengths, amounts)
whose ``decide`` calls the aggregate (rules that need the account's state). The CLI and
``kamflow apply`` build the same models, so a line of a JSONL file and a typed command
are checked by exactly the same code.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from kamflow.domain.account import Account, Meta
from kamflow.domain.errors import Conflict, InvalidInput, RuleViolation
from kamflow.domain.policies import ROLES, parse_policy_value
from kamflow.domain.values import (
    MAX_NAME,
    MAX_TEXT,
    Attitude,
    BuyingRole,
    Level,
    Personality,
    Severity,
    Tier,
    normalise_key,
)
from kamflow.workflows.program import STEPS
from kamflow.workflows.stage import LADDER

if TYPE_CHECKING:
    # Only governance commands touch the aggregate; the rest need not import it.
    from kamflow.domain.governance import Governance

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


class Command(BaseModel):
    """A request to change one account; ``on`` is the business date (default: today)."""

    # defer_build: a CLI process validates one command, so building the schemas of
    # all the others at import would only slow start-up.
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    name: ClassVar[str]
    # True for commands whose rules read policies or the roster (P1, P4).
    needs_governance: ClassVar[bool] = False
    account: Key
    on: date | None = None

    def decide(self, account: Account | None, meta: Meta) -> tuple[Account, str]:
        """Record this command's events on the account; return it and a reference."""
        if account is None:
            raise RuleViolation(
                "P3",
                f'account "{self.account}" has no file; open it first with'
                f" `kamflow account open {self.account} --name ... --industry ... --owner ...`",
            )
        return account, self.execute(account, meta)

    def execute(self, account: Account, meta: Meta) -> str:
        raise NotImplementedError


class OpenAccount(Command):
    name = "account open"
    display_name: Name = Field(alias="name")
    industry: Name
    owner: Name
    currency: Currency = "CNY"
    tier: Tier = "prospect"

    model_config = ConfigDict(populate_by_name=True)

    def decide(self, account: Account | None, meta: Meta) -> tuple[Account, str]:
        if account is not None:
            raise Conflict(
                f'account "{self.account}" already exists ("{account.profile.get("name")}");'
                f" change it with `kamflow account update {self.account}`"
            )
        opened = Account.open(
            meta,
            key=self.account,
            name=self.display_name,
            industry=self.industry,
            owner=self.owner,
            currency=self.currency,
            tier=self.tier,
        )
        return opened, self.account


class UpdateAccount(Command):
    name = "account update"
    display_name: Name | None = Field(default=None, alias="name")
    industry: Name | None = None
    owner: Name | None = None
    address: Text | None = None
    size: Text | None = None
    website: Text | None = None
    strategy: Text | None = None
    products: Text | None = None
    finance: Text | None = None
    fit: Text | None = None
    notes: Text | None = None

    model_config = ConfigDict(populate_by_name=True)

    def execute(self, account: Account, meta: Meta) -> str:
        changes = self.model_dump(exclude={"account", "on"}, exclude_none=True)
        if "display_name" in changes:
            changes["name"] = changes.pop("display_name")
        if not changes:
            raise InvalidInput("nothing to update: give at least one field, e.g. --address")
        account.update_profile(meta, changes)
        return account.key


class AddContact(Command):
    name = "contact add"
    contact: Name
    title: Name
    department: Name
    roles: list[BuyingRole] = []
    influence: Level | None = None
    attitude: Attitude | None = None
    personality: Personality | None = None
    reports_to: Name | None = None
    influenced_by: list[Name] = []

    def execute(self, account: Account, meta: Meta) -> str:
        return account.add_contact(
            meta,
            name=self.contact,
            title=self.title,
            department=self.department,
            roles=list(self.roles),
            influence=self.influence,
            attitude=self.attitude,
            personality=self.personality,
            reports_to=self.reports_to,
            influenced_by=list(self.influenced_by),
        )


class ChangeContact(Command):
    name = "contact change"
    contact: Name
    title: Name | None = None
    department: Name | None = None
    roles: list[BuyingRole] | None = None
    influence: Level | None = None
    attitude: Attitude | None = None
    personality: Personality | None = None
    reports_to: Name | None = None
    influenced_by: list[Name] | None = None

    def execute(self, account: Account, meta: Meta) -> str:
        changes: dict[str, Any] = self.model_dump(
            exclude={"account", "on", "contact"}, exclude_none=True
        )
        if not changes:
            raise InvalidInput("nothing to change: give at least one field, e.g. --title")
        return account.change_contact(meta, self.contact, changes)


class ContactLeaves(Command):
    name = "contact leave"
    contact: Name
    reason: Text
    analysis: Text

    def execute(self, account: Account, meta: Meta) -> str:
        return account.contact_leaves(
            meta, self.contact, reason=self.reason, analysis=self.analysis
        )


class LogVisit(Command):
    name = "visit log"
    with_: list[Name] = Field(alias="with", min_length=1)
    purpose: Text
    objective: Text
    result: Text | None = None
    issues: list[Text] = []

    model_config = ConfigDict(populate_by_name=True)

    def execute(self, account: Account, meta: Meta) -> str:
        visit_id = account.log_visit(
            meta,
            with_=list(self.with_),
            purpose=self.purpose,
            objective=self.objective,
            result=self.result,
            issues=list(self.issues),
        )
        # Say which issue ids the visit opened: users type them in `visit follow-up`.
        opened = [iid for iid, issue in account.open_issues.items() if issue["visit"] == visit_id]
        return f"{visit_id} with issues {', '.join(opened)}" if opened else visit_id


class RecordFollowUp(Command):
    name = "visit follow-up"
    issue: ShortRef
    result: Text

    def execute(self, account: Account, meta: Meta) -> str:
        return account.record_follow_up(meta, self.issue, result=self.result)


class RaiseComplaint(Command):
    name = "complaint raise"
    summary: Text
    severity: Severity

    def execute(self, account: Account, meta: Meta) -> str:
        return account.raise_complaint(meta, summary=self.summary, severity=self.severity)


class ResolveComplaint(Command):
    name = "complaint resolve"
    complaint: ShortRef
    outcome: Text

    def execute(self, account: Account, meta: Meta) -> str:
        return account.resolve_complaint(meta, self.complaint, outcome=self.outcome)


class RejectComplaint(Command):
    name = "complaint reject"
    complaint: ShortRef
    justification: Text

    def execute(self, account: Account, meta: Meta) -> str:
        return account.reject_complaint(meta, self.complaint, justification=self.justification)


class SetTier(Command):
    name = "tier set"
    tier: Tier
    reason: Text
    approved_by: Name | None = None

    def execute(self, account: Account, meta: Meta) -> str:
        account.set_tier(meta, self.tier, reason=self.reason, approved_by=self.approved_by)
        return self.tier


class RecordSale(Command):
    name = "sale record"
    needs_governance = True
    invoice: Ref
    product: Name
    amount: Amount
    cost: Cost
    currency: Currency | None = None
    discount: Percent | None = None

    def execute(self, account: Account, meta: Meta) -> str:
        account.record_sale(
            meta,
            invoice=self.invoice,
            product=self.product,
            amount=self.amount,
            cost=self.cost,
            currency=self.currency,
            discount_pct=self.discount,
        )
        return self.invoice


class RecordPayment(Command):
    name = "payment record"
    invoice: Ref
    amount: Amount
    currency: Currency | None = None

    def execute(self, account: Account, meta: Meta) -> str:
        account.record_payment(
            meta, invoice=self.invoice, amount=self.amount, currency=self.currency
        )
        return self.invoice


class RecordServiceCost(Command):
    name = "cost record"
    amount: Amount
    currency: Currency | None = None
    category: Name
    description: OptText = ""

    def execute(self, account: Account, meta: Meta) -> str:
        account.record_service_cost(
            meta,
            amount=self.amount,
            currency=self.currency,
            category=self.category,
            description=self.description,
        )
        return self.category


class MeasureSatisfaction(Command):
    name = "satisfaction record"
    score: Score
    target: Score
    note: OptText = ""

    def execute(self, account: Account, meta: Meta) -> str:
        account.measure_satisfaction(meta, score=self.score, target=self.target, note=self.note)
        return str(self.score)


class NoteCompetitor(Command):
    name = "competitor note"
    competitor: Name
    products: Text | None = None
    satisfaction: Text | None = None
    rep: Name | None = None
    style: Text | None = None
    relationship: Text | None = None
    strengths: Text | None = None
    weaknesses: Text | None = None

    def execute(self, account: Account, meta: Meta) -> str:
        details = self.model_dump(exclude={"account", "on", "competitor"}, exclude_none=True)
        account.note_competitor(meta, self.competitor, details)
        return self.competitor


class OpenOpportunity(Command):
    name = "opp open"
    title: Name
    problem: OptText = ""
    budget: Amount | None = None
    currency: Currency | None = None
    decision_maker: OptText = ""
    timeline: OptText = ""
    procurement: OptText = ""

    def execute(self, account: Account, meta: Meta) -> str:
        return account.open_opportunity(
            meta,
            title=self.title,
            problem=self.problem,
            budget=self.budget,
            currency=self.currency,
            decision_maker=self.decision_maker,
            timeline=self.timeline,
            procurement=self.procurement,
        )


# ---------------------------------------------------------------- workflows
class AcknowledgeComplaint(Command):
    name = "complaint ack"
    complaint: ShortRef

    def execute(self, account: Account, meta: Meta) -> str:
        return account.acknowledge_complaint(meta, self.complaint)


class InvestigateComplaint(Command):
    name = "complaint investigate"
    complaint: ShortRef
    note: OptText = ""

    def execute(self, account: Account, meta: Meta) -> str:
        return account.investigate_complaint(meta, self.complaint, note=self.note)


class EscalateComplaint(Command):
    name = "complaint escalate"
    complaint: ShortRef
    reason: Text
    to: OptText = ""

    def execute(self, account: Account, meta: Meta) -> str:
        return account.escalate_complaint(meta, self.complaint, reason=self.reason, to=self.to)


class CloseComplaint(Command):
    name = "complaint close"
    complaint: ShortRef
    confirmation: Text

    def execute(self, account: Account, meta: Meta) -> str:
        return account.close_complaint(meta, self.complaint, confirmation=self.confirmation)


class LoseAccount(Command):
    name = "account lose"
    cause: Text

    def execute(self, account: Account, meta: Meta) -> str:
        account.lose(meta, cause=self.cause)
        return "lost"


class ReviewAccount(Command):
    name = "account review"
    cause: Text
    lessons: Text

    def execute(self, account: Account, meta: Meta) -> str:
        account.review(meta, cause=self.cause, lessons=self.lessons)
        return "reviewed"


class ArchiveAccount(Command):
    name = "account archive"
    note: OptText = ""

    def execute(self, account: Account, meta: Meta) -> str:
        account.archive(meta, note=self.note)
        return "archived"


class ReactivateAccount(Command):
    name = "account reactivate"
    reason: Text

    def execute(self, account: Account, meta: Meta) -> str:
        account.reactivate(meta, reason=self.reason)
        return "active"


StageName = Literal[LADDER]  # type: ignore[valid-type]
StepName = Literal[STEPS]  # type: ignore[valid-type]
OppStage = Literal["qualified", "proposal", "negotiation"]


class AdvanceStage(Command):
    name = "stage advance"
    stage: StageName
    reason: OptText = ""

    def execute(self, account: Account, meta: Meta) -> str:
        account.advance_stage(meta, self.stage, reason=self.reason)
        return str(self.stage)


class Uncouple(Command):
    name = "stage uncouple"
    reason: Text

    def execute(self, account: Account, meta: Meta) -> str:
        account.uncouple(meta, reason=self.reason)
        return "uncoupling"


class ReEngage(Command):
    name = "stage re-engage"
    reason: Text

    def execute(self, account: Account, meta: Meta) -> str:
        account.re_engage(meta, reason=self.reason)
        return "early"


class AssignTeamMember(Command):
    name = "team assign"
    member: Name
    role: Name = "key-account manager"

    def execute(self, account: Account, meta: Meta) -> str:
        account.assign(meta, self.member, role=self.role)
        return self.member


class ReleaseTeamMember(Command):
    name = "team release"
    member: Name
    reason: OptText = ""

    def execute(self, account: Account, meta: Meta) -> str:
        account.release(meta, self.member, reason=self.reason)
        return self.member


class CompleteProgramStep(Command):
    name = "program complete"
    step: StepName
    evidence: Text

    def execute(self, account: Account, meta: Meta) -> str:
        cycle = account.complete_step(meta, str(self.step), evidence=self.evidence)
        return f"{self.step} (cycle {cycle})"


class AdvanceOpportunity(Command):
    name = "opp advance"
    opportunity: ShortRef
    to: OppStage | None = None

    def execute(self, account: Account, meta: Meta) -> str:
        dest = account.advance_opportunity(meta, self.opportunity, to=self.to)
        return f"{self.opportunity.upper()} {dest}"


class WinOpportunity(Command):
    name = "opp win"
    opportunity: ShortRef
    note: OptText = ""

    def execute(self, account: Account, meta: Meta) -> str:
        return account.win_opportunity(meta, self.opportunity, note=self.note)


class LoseOpportunity(Command):
    name = "opp lose"
    opportunity: ShortRef
    reason: Text

    def execute(self, account: Account, meta: Meta) -> str:
        return account.lose_opportunity(meta, self.opportunity, reason=self.reason)


class GrantException(Command):
    name = "exception grant"
    needs_governance = True
    rule: Literal["credit-limit", "discount-ceiling"]
    reason: Text
    invoice: Ref | None = None

    def execute(self, account: Account, meta: Meta) -> str:
        return account.grant_exception(
            meta, rule=self.rule, reason=self.reason, invoice=self.invoice
        )


# ---------------------------------------------------------------- governance
class GovernanceCommand(BaseModel):
    """A change to the store's policies or roster (not to one account)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    name: ClassVar[str]
    on: date | None = None

    def apply_to(self, governance: Governance, meta: Meta) -> str:
        raise NotImplementedError


class SetPolicy(GovernanceCommand):
    name = "policy set"
    policy: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
    value: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    reason: Text

    def apply_to(self, governance: Governance, meta: Meta) -> str:
        value = parse_policy_value(self.policy, self.value)
        governance.set_policy(meta, self.policy, value, self.reason)
        return f"{self.policy} = {value}"


Role = Literal[ROLES]  # type: ignore[valid-type]


class GrantRole(GovernanceCommand):
    name = "roster grant"
    person: Name
    role: Role
    reason: Text

    def apply_to(self, governance: Governance, meta: Meta) -> str:
        governance.grant(meta, self.person, str(self.role), self.reason)
        return f"{self.person} {self.role}"


class RevokeRole(GovernanceCommand):
    name = "roster revoke"
    person: Name
    role: Role
    reason: Text

    def apply_to(self, governance: Governance, meta: Meta) -> str:
        governance.revoke(meta, self.person, str(self.role), self.reason)
        return f"{self.person} {self.role}"


COMMANDS: dict[str, type[Command] | type[GovernanceCommand]] = {
    cls.name: cls
    for cls in (
        OpenAccount,
        UpdateAccount,
        AddContact,
        ChangeContact,
        ContactLeaves,
        LogVisit,
        RecordFollowUp,
        RaiseComplaint,
        ResolveComplaint,
        RejectComplaint,
        SetTier,
        RecordSale,
        RecordPayment,
        RecordServiceCost,
        MeasureSatisfaction,
        NoteCompetitor,
        OpenOpportunity,
        AcknowledgeComplaint,
        InvestigateComplaint,
        EscalateComplaint,
        CloseComplaint,
        LoseAccount,
        ReviewAccount,
        ArchiveAccount,
        ReactivateAccount,
        AdvanceStage,
        Uncouple,
        ReEngage,
        AssignTeamMember,
        ReleaseTeamMember,
        CompleteProgramStep,
        AdvanceOpportunity,
        WinOpportunity,
        LoseOpportunity,
        GrantException,
        SetPolicy,
        GrantRole,
        RevokeRole,
    )
}


def build(
    cls: type[Command] | type[GovernanceCommand], fields: dict[str, Any]
) -> Command | GovernanceCommand:
    """Validate ``fields`` into a command, or raise InvalidInput with one clear line."""
    for field, value in fields.items():
        _check_utf8(field, value)
    try:
        return cls.model_validate(fields)
    except ValidationError as exc:
        raise InvalidInput(describe(exc)) from None


def describe(exc: ValidationError) -> str:
    """One line for the first problem pydantic found, naming the field as users type it."""
    err = exc.errors(include_url=False)[0]
    loc = [str(p) for p in err["loc"] if not isinstance(p, int)]
    field = loc[0] if loc else "input"
    field = {"with_": "with", "display_name": "name"}.get(field, field).replace("_", "-")
    msg = err["msg"]
    value = err.get("input")
    if err["type"] == "missing":
        return f"missing required field --{field}"
    if err["type"] == "extra_forbidden":
        return f"unknown field {field!r}"
    shown = (
        f" (got {value!r})" if isinstance(value, str | int | float) and len(str(value)) < 60 else ""
    )
    return f"invalid --{field}: {msg[0].lower() + msg[1:]}{shown}"


def _check_utf8(field: str, value: Any) -> None:
    # Bytes that are not UTF-8 reach Python as lone surrogates (surrogateescape);
    # they would fail only when the event is encoded, so refuse them up front.
    if isinstance(value, str):
        if any("\ud800" <= ch <= "\udfff" for ch in value):
            what = (
                "the account key"
                if field == "account"
                else f"--{field.rstrip('_').replace('_', '-')}"
            )
            raise InvalidInput(f"{what} is not valid UTF-8 text")
    elif isinstance(value, list | tuple):
        for item in value:
            _check_utf8(field, item)
