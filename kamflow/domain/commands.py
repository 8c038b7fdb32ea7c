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
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from kamflow.domain.account import Account, Meta
from kamflow.domain.errors import Conflict, InvalidInput, RuleViolation
from kamflow.domain.policies import ROLES, parse_policy_value
from kamflow.domain.text import explain, is_surrogate, refused_character
from kamflow.domain.values import (
    MAX_AMOUNT,
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


def _text_rule(*, multiline: bool) -> BeforeValidator:
    """The text rule of kamflow.domain.text as a pydantic validator. It runs before
    stripping and length checks, so a refused character is refused wherever it is."""

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


# One-line text: identifiers, names and list items, matched and shown in table cells.
Key = Annotated[str, AfterValidator(normalise_key), ONE_LINE]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME), ONE_LINE
]
Line = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT), ONE_LINE
]
OptLine = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_TEXT), ONE_LINE]
# Multi-line text: prose (notes, results, reasons, analysis, outcomes, descriptions).
Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT), MULTI_LINE
]
OptText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_TEXT), MULTI_LINE]
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
Ref = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), ONE_LINE
]
ShortRef = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z]-\d+$"), ONE_LINE
]
PolicyName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80), ONE_LINE
]
PolicyValue = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40), ONE_LINE
]


def _not_a_number(value: Any) -> Any:
    # pydantic reads a number as a Unix time: "on": 0 in a script would be 1970-01-01.
    if isinstance(value, int | float | Decimal):
        raise PydanticCustomError("date_type", "give the date as YYYY-MM-DD, not a number")
    return value


BusinessDate = Annotated[date, BeforeValidator(_not_a_number)]
# A visit with more people or issues than this is a mistake, not a visit.
MAX_ITEMS = 100


class Command(BaseModel):
    """A request to change one account; ``on`` is the business date (default: today)."""

    # defer_build: a CLI process validates one command, so building the schemas of
    # all the others at import would only slow start-up.
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    name: ClassVar[str]
    # True for commands whose rules read policies or the roster (P1, P4).
    needs_governance: ClassVar[bool] = False
    account: Key
    on: BusinessDate | None = None

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
    size: Line | None = None
    website: Line | None = None
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
    roles: list[BuyingRole] = Field(default=[], max_length=MAX_ITEMS)
    influence: Level | None = None
    attitude: Attitude | None = None
    personality: Personality | None = None
    reports_to: Name | None = None
    influenced_by: list[Name] = Field(default=[], max_length=MAX_ITEMS)

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
    roles: list[BuyingRole] | None = Field(default=None, max_length=MAX_ITEMS)
    influence: Level | None = None
    attitude: Attitude | None = None
    personality: Personality | None = None
    reports_to: Name | None = None
    influenced_by: list[Name] | None = Field(default=None, max_length=MAX_ITEMS)

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
    with_: list[Name] = Field(alias="with", min_length=1, max_length=MAX_ITEMS)
    purpose: Text
    objective: Text
    result: Text | None = None
    issues: list[Line] = Field(default=[], max_length=MAX_ITEMS)

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
    decision_maker: OptLine = ""
    timeline: OptLine = ""
    procurement: OptLine = ""

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
    to: OptLine = ""

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
    on: BusinessDate | None = None

    def apply_to(self, governance: Governance, meta: Meta) -> str:
        raise NotImplementedError


class SetPolicy(GovernanceCommand):
    name = "policy set"
    policy: PolicyName
    value: PolicyValue
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
    """Validate ``fields`` into a command, or raise InvalidInput with one clear line.

    Every text field is checked by the rule of kamflow.domain.text (its type carries
    it), so a typed option and a line of `kamflow apply` are refused alike.
    """
    try:
        return cls.model_validate(fields)
    except ValidationError as exc:
        raise InvalidInput(describe(exc)) from None


# Model field names that users type differently (options, or the key argument).
_AS_TYPED = {
    "with_": "--with",
    "display_name": "--name",
    "issues": "--issue",
    "roles": "--role",
    "account": "account key",
}


def describe(exc: ValidationError) -> str:
    """One line for the first problem pydantic found, naming the field as users type it."""
    err = exc.errors(include_url=False)[0]
    loc = [str(p) for p in err["loc"] if not isinstance(p, int)]
    field = loc[0] if loc else "input"
    what = _AS_TYPED.get(field, "--" + field.replace("_", "-"))
    msg = err["msg"]
    value = err.get("input")
    kind = err["type"]
    if kind == "missing":
        return f"missing required field {what if what.startswith('--') else '--' + field}"
    if kind == "extra_forbidden":
        return f"unknown field {field!r}"
    if kind in ("kamflow_utf8", "string_unicode"):
        return f"{'the ' if what == 'account key' else ''}{what} is not valid UTF-8 text"
    if kind == "kamflow_text":
        # The message names the character; the value itself is never echoed.
        return f"invalid {what}: {msg}"
    if isinstance(value, Decimal):
        value = str(value)
    shown = (
        f" (got {value!r})" if isinstance(value, str | int | float) and len(str(value)) < 60 else ""
    )
    return f"invalid {what}: {msg[0].lower() + msg[1:]}{shown}"
