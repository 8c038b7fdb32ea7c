"""The five workflows as specifications: every transition of every table, every guard.

The expected answers are computed from the workflow tables themselves (the
``Transition`` rows), never from the machine's own queries, so a machine that drifts
from its table fails here. Commands go through the application service over a real
SQLite file, as the CLI and `kamflow apply` drive them; diagrams and the history check
go through the CLI.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import ACTOR, invoke, refused, run

from kamflow.application import Kamflow, Outcome
from kamflow.domain.account import Account, Meta
from kamflow.domain.commands import COMMANDS, Command
from kamflow.domain.conformance import check_history
from kamflow.domain.errors import Conflict, InvalidInput, KamflowError, RuleViolation
from kamflow.domain.values import account_id
from kamflow.workflows import registry
from kamflow.workflows.base import Workflow
from kamflow.workflows.complaint import COMPLAINT
from kamflow.workflows.lifecycle import LIFECYCLE
from kamflow.workflows.opportunity import OPPORTUNITY
from kamflow.workflows.program import PROGRAM, STEPS
from kamflow.workflows.stage import LADDER, STAGE

KEY = "acme"
WORKFLOWS: dict[str, Workflow] = {
    w.name: w for w in (COMPLAINT, PROGRAM, STAGE, LIFECYCLE, OPPORTUNITY)
}

# Edges the table holds but no command can take: archiving needs a post-mortem, and
# recording one moves a lost account to "reviewed", so "lost" never has one. The edge
# exists so that archiving a lost account is refused under P8, not as "not allowed".
GUARDED_SHUT = {("lifecycle", "lost", "archive")}
# "activate" is not a command: a prospect becomes active by its first sale or tier.
NOT_A_COMMAND = {("lifecycle", "activate")}


# ------------------------------------------------------------------ the tables
def table_edges(workflow: Workflow) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(source, dest, trigger, guards) for every row of the table, one per source."""
    return [(s, t.dest, t.trigger, t.guards) for t in workflow.transitions for s in t.source]


def table_triggers_from(workflow: Workflow, state: str) -> list[str]:
    """The triggers a user may fire from ``state`` by the table, in table order."""
    triggers = dict.fromkeys(t.trigger for t in workflow.transitions if not t.internal)
    return [t for t in triggers if any(e[0] == state and e[2] == t for e in table_edges(workflow))]


def path_to(workflow: Workflow, target: str) -> list[str]:
    """The shortest sequence of triggers leading from the initial state to ``target``."""
    paths: dict[str, list[str]] = {workflow.initial: []}
    queue = deque([workflow.initial])
    while queue:
        state = queue.popleft()
        for source, dest, trigger, _ in table_edges(workflow):
            if source == state and dest not in paths:
                if (workflow.name, source, trigger) in GUARDED_SHUT:
                    continue
                paths[dest] = [*paths[state], trigger]
                queue.append(dest)
    return paths[target]


def machine_reachable(workflow: Workflow, start: str) -> set[str]:
    """States reachable from ``start``, walking the transitions machine itself."""
    seen = {start}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        for event in workflow.machine.events.values():
            for transition in event.transitions.get(state, []):
                dest = str(transition.dest)
                if dest not in seen:
                    seen.add(dest)
                    queue.append(dest)
    return seen


ALLOWED = [
    pytest.param(w.name, source, trigger, dest, id=f"{w.name}:{source}-{trigger}->{dest}")
    for w in WORKFLOWS.values()
    for source, dest, trigger, _ in table_edges(w)
    if (w.name, source, trigger) not in GUARDED_SHUT
]

REFUSED = [
    pytest.param(w.name, state, trigger, id=f"{w.name}:{state}-{trigger}")
    for w in WORKFLOWS.values()
    for state in w.states
    for trigger in dict.fromkeys(t.trigger for t in w.transitions)
    if trigger not in table_triggers_from(w, state) and (w.name, trigger) not in NOT_A_COMMAND
]


# ------------------------------------------------------------------ helpers
@pytest.fixture
def kf(sqlite_locator: str) -> Iterator[Kamflow]:
    kamflow = Kamflow(sqlite_locator)
    yield kamflow
    kamflow.close()


def meta() -> Meta:
    now = datetime.now(UTC)
    return Meta(ACTOR, "test", now.date(), now)


def open_account(kf: Kamflow, tier: str = "target") -> None:
    run(
        kf,
        "account open",
        {"account": KEY, "name": "Acme Feed", "industry": "feed", "owner": ACTOR, "tier": tier},
    )


def add_contact(kf: Kamflow, name: str, department: str, *roles: str) -> None:
    run(
        kf,
        "contact add",
        {
            "account": KEY,
            "contact": name,
            "title": "manager",
            "department": department,
            "roles": list(roles),
        },
    )


def complete_program(kf: Kamflow, through: str) -> None:
    """Complete the program's steps, from where it stands, up to and including ``through``."""
    while True:
        step = kf.load(KEY).next_step()
        PROGRAM_DRIVER.prepare(kf, step)
        run(kf, "program complete", {"account": KEY, "step": step, "evidence": "done"})
        if step == through:
            return


def record_raw(kf: Kamflow, event_class: type[Account.Event], **payload: Any) -> int:
    """Save an event as an import or an old bug would: no command, no rule, no guard."""
    account = kf.load(KEY)
    account.record(event_class, meta(), **payload)
    kf.app.save(account)
    return account.version


def not_allowed(subject: str, workflow: Workflow, state: str, trigger: str) -> str:
    allowed = table_triggers_from(workflow, state)
    then = f"allowed now: {', '.join(allowed)}" if allowed else "nothing follows it"
    return f'{subject} is {state}; "{trigger}" is not allowed from there ({then})'


# ------------------------------------------------------------------ drivers
@dataclass
class Driver:
    """How to put one workflow through its states with real commands."""

    workflow: Workflow
    subject: str

    def start(self, kf: Kamflow) -> None:
        open_account(kf)

    def state(self, kf: Kamflow) -> str:
        raise NotImplementedError

    def command(self, state: str, trigger: str) -> tuple[str, dict[str, Any], str]:
        """The command (name, fields) that fires ``trigger`` and the event it records."""
        raise NotImplementedError

    def prepare(self, kf: Kamflow, trigger: str) -> None:
        """Satisfy the guards of ``trigger`` from the current state."""

    def fire(self, kf: Kamflow, trigger: str) -> Outcome:
        self.prepare(kf, trigger)
        name, fields, _ = self.command(self.state(kf), trigger)
        return run(kf, name, {"account": KEY, **fields})

    def refusal(self, state: str, trigger: str) -> tuple[type[KamflowError], str]:
        return Conflict, not_allowed(self.subject, self.workflow, state, trigger)


class ComplaintDriver(Driver):
    def start(self, kf: Kamflow) -> None:
        open_account(kf)
        run(kf, "complaint raise", {"account": KEY, "summary": "late delivery", "severity": "high"})

    def state(self, kf: Kamflow) -> str:
        return str(kf.load(KEY).complaints["C-1"]["status"])

    def command(self, state: str, trigger: str) -> tuple[str, dict[str, Any], str]:
        extra, event = {
            "ack": ({}, "ComplaintAcknowledged"),
            "investigate": ({"note": "carrier logs"}, "ComplaintInvestigationStarted"),
            "escalate": ({"reason": "line stopped", "to": "director"}, "ComplaintEscalated"),
            "resolve": ({"outcome": "credit note"}, "ComplaintResolved"),
            "reject": ({"justification": "damage after delivery"}, "ComplaintRejected"),
            "close": ({"confirmation": "confirmed by phone"}, "ComplaintClosed"),
        }[trigger]
        return f"complaint {trigger}", {"complaint": "C-1", **extra}, event

    def refusal(self, state: str, trigger: str) -> tuple[type[KamflowError], str]:
        if trigger == "close" and state not in ("resolved", "rejected", "closed"):
            return (
                RuleViolation,
                'P7: complaint C-1 on "acme" has no outcome; resolve or reject it first',
            )
        return super().refusal(state, trigger)


class ProgramDriver(Driver):
    def state(self, kf: Kamflow) -> str:
        return str(kf.load(KEY).program["step"])

    def command(self, state: str, trigger: str) -> tuple[str, dict[str, Any], str]:
        return "program complete", {"step": trigger, "evidence": "done"}, "ProgramStepCompleted"

    def prepare(self, kf: Kamflow, trigger: str) -> None:
        account = kf.load(KEY)
        if trigger == "deploy-team" and not account.team:
            run(kf, "team assign", {"account": KEY, "member": "zhang.min"})
        if trigger == "map-decision-process" and not account.has_current_decider():
            add_contact(kf, "GM Zhao", "management", "decider")
        if trigger == "measure-results":
            run(
                kf,
                "satisfaction record",
                {"account": KEY, "score": "8", "target": "8.5"},
                again=True,
            )

    def refusal(self, state: str, trigger: str) -> tuple[type[KamflowError], str]:
        last = "not started" if state == "not-started" else f'at "{state}"'
        following = (
            "confirm" if state in ("not-started", STEPS[-1]) else STEPS[STEPS.index(state) + 1]
        )
        return Conflict, (
            f'the program of "acme" is {last}; steps go in order, so the next is'
            f' "{following}", not "{trigger}"'
        )


# Departments, in the order they are added; the first contact is the decider.
DEPARTMENTS = ("management", "procurement", "R&D", "production")


class StageDriver(Driver):
    def state(self, kf: Kamflow) -> str:
        return str(kf.load(KEY).stage)

    def command(self, state: str, trigger: str) -> tuple[str, dict[str, Any], str]:
        if trigger == "advance":
            # From the top or from uncoupling there is no next stage; ask for "early".
            to = (
                STAGE.dest(state, "advance")
                if state not in ("synergistic", "uncoupling")
                else "early"
            )
            return (
                "stage advance",
                {"stage": to, "reason": "broader contact"},
                "RelationshipStageChanged",
            )
        return f"stage {trigger}", {"reason": "ownership changed"}, "RelationshipStageChanged"

    def prepare(self, kf: Kamflow, trigger: str) -> None:
        account = kf.load(KEY)
        if trigger != "advance" or account.stage not in LADDER[:-1]:
            return
        dest = LADDER[LADDER.index(account.stage) + 1]
        for i in range(len(account.departments()), LADDER.index(dest)):
            add_contact(kf, f"Contact {i}", DEPARTMENTS[i], *(["decider"] if i == 0 else []))
        if dest == "partnership":
            complete_program(kf, through="publish-plan")
        if dest == "synergistic":
            for member in ("zhang.min", "liu.yang"):
                if member not in account.team:
                    run(kf, "team assign", {"account": KEY, "member": member})


class LifecycleDriver(Driver):
    def start(self, kf: Kamflow) -> None:
        open_account(kf, tier="prospect")
        # The account a merge goes into.
        opening = {"name": "Acme", "industry": "feed", "owner": ACTOR}
        run(kf, "account open", {"account": "acme-main", **opening})

    def state(self, kf: Kamflow) -> str:
        return str(kf.load(KEY).lifecycle)

    def command(self, state: str, trigger: str) -> tuple[str, dict[str, Any], str]:
        if trigger == "activate":  # only ever from prospect, so once per account
            fields = {"invoice": "INV-1", "product": "phytase"}
            return "sale record", {**fields, "amount": "1000", "cost": "600"}, "SaleRecorded"
        fields, event = {
            "lose": ({"cause": "switched on price"}, "AccountLost"),
            "review": ({"cause": "one thread", "lessons": "map the buyers"}, "PostMortemRecorded"),
            "archive": ({"note": "done"}, "AccountArchived"),
            "reactivate": ({"reason": "new GM"}, "AccountReactivated"),
            "close": ({"reason": "opened-in-error"}, "AccountClosed"),
            "merge": ({"into": "acme-main", "reason": "one customer"}, "AccountMergedInto"),
        }[trigger]
        return f"account {trigger}", fields, event

    def refusal(self, state: str, trigger: str) -> tuple[type[KamflowError], str]:
        if state in ("archived", "closed", "merged"):
            return Conflict, f'account "acme" is {state}; its file is closed to new facts'
        return super().refusal(state, trigger)


class OpportunityDriver(Driver):
    def start(self, kf: Kamflow) -> None:
        open_account(kf)
        run(kf, "opp open", {"account": KEY, "title": "enzyme line 3", "budget": "500000"})

    def state(self, kf: Kamflow) -> str:
        return str(kf.load(KEY).opportunities["O-1"]["stage"])

    def command(self, state: str, trigger: str) -> tuple[str, dict[str, Any], str]:
        fields, event = {
            "advance": ({}, "OpportunityAdvanced"),
            "win": ({"note": "3-year contract"}, "OpportunityWon"),
            "lose": ({"reason": "budget frozen"}, "OpportunityLost"),
        }[trigger]
        return f"opp {trigger}", {"opportunity": "O-1", **fields}, event


PROGRAM_DRIVER = ProgramDriver(PROGRAM, 'the program of "acme"')
DRIVERS: dict[str, Driver] = {
    "complaint": ComplaintDriver(COMPLAINT, 'complaint C-1 on "acme"'),
    "program": PROGRAM_DRIVER,
    "stage": StageDriver(STAGE, 'account "acme"\'s relationship'),
    "lifecycle": LifecycleDriver(LIFECYCLE, 'account "acme"'),
    "opportunity": OpportunityDriver(OPPORTUNITY, 'opportunity O-1 on "acme"'),
}


def drive_to(kf: Kamflow, name: str, state: str) -> Driver:
    driver = DRIVERS[name]
    driver.start(kf)
    for trigger in path_to(driver.workflow, state):
        driver.fire(kf, trigger)
    assert driver.state(kf) == state
    return driver


# ------------------------------------------------------------------ every transition
@pytest.mark.parametrize(("name", "source", "trigger", "dest"), ALLOWED)
def test_every_transition_of_the_table_is_accepted_and_leads_where_the_table_says(
    kf: Kamflow, name: str, source: str, trigger: str, dest: str
) -> None:
    driver = drive_to(kf, name, source)
    _, _, event = driver.command(source, trigger)

    outcome = driver.fire(kf, trigger)

    assert [e for e, _ in outcome.events] == [event]
    assert driver.state(kf) == dest
    assert kf.check_workflows(KEY) == []


@pytest.mark.parametrize(("name", "state", "trigger"), REFUSED)
def test_every_transition_the_table_lacks_is_refused_with_one_clear_line(
    kf: Kamflow, name: str, state: str, trigger: str
) -> None:
    driver = drive_to(kf, name, state)
    name_, fields, _ = driver.command(state, trigger)
    driver.prepare(kf, trigger)
    expected_type, expected_message = driver.refusal(state, trigger)

    # again: the step may repeat the one that led here, and the rule, not the repeat
    # check (ADR 0020), is what must refuse it.
    error = refused(kf, name_, {"account": KEY, **fields}, again=True)

    assert type(error) is expected_type
    assert str(error) == expected_message
    assert driver.state(kf) == state


def test_the_edge_from_lost_to_archived_exists_only_to_refuse_under_P8(kf: Kamflow) -> None:
    drive_to(kf, "lifecycle", "lost")

    error = refused(kf, "account archive", {"account": KEY})

    assert LIFECYCLE.dest("lost", "archive") == "archived"
    assert str(error) == (
        'P8: account "acme" was lost without a post-mortem; record one with'
        " `kamflow account review acme --cause ... --lessons ...`"
    )


def test_a_tier_above_prospect_activates_a_prospect_as_its_first_sale_does(kf: Kamflow) -> None:
    open_account(kf, tier="prospect")

    run(kf, "tier set", {"account": KEY, "tier": "target", "reason": "top-20% by profit"})

    assert kf.load(KEY).lifecycle == "active"


def test_a_lost_account_records_no_sale_until_it_is_reactivated(kf: Kamflow) -> None:
    drive_to(kf, "lifecycle", "lost")
    sale = {"invoice": "INV-9", "product": "phytase", "amount": "100", "cost": "50"}

    error = refused(kf, "sale record", {"account": KEY, **sale})
    run(kf, "account reactivate", {"account": KEY, "reason": "new GM"})
    run(kf, "sale record", {"account": KEY, **sale})

    assert str(error) == 'account "acme" is lost; reactivate it before recording a sale'
    assert kf.load(KEY).lifecycle == "active"


# ------------------------------------------------------------------ program guards
def test_deploy_team_is_refused_without_a_team_member_and_allowed_with_one(kf: Kamflow) -> None:
    open_account(kf)
    run(
        kf, "program complete", {"account": KEY, "step": "confirm", "evidence": "top-20% by profit"}
    )

    error = refused(
        kf, "program complete", {"account": KEY, "step": "deploy-team", "evidence": "team named"}
    )
    run(kf, "team assign", {"account": KEY, "member": "zhang.min"})
    run(kf, "program complete", {"account": KEY, "step": "deploy-team", "evidence": "team named"})

    assert type(error) is Conflict
    assert str(error) == (
        'no team member is assigned to "acme"; assign one with `kamflow team assign`'
    )
    assert kf.load(KEY).program["step"] == "deploy-team"


def test_deploy_team_is_refused_again_once_the_only_member_is_released(kf: Kamflow) -> None:
    open_account(kf)
    run(kf, "program complete", {"account": KEY, "step": "confirm", "evidence": "top-20%"})
    run(kf, "team assign", {"account": KEY, "member": "zhang.min"})
    run(kf, "team release", {"account": KEY, "member": "zhang.min", "reason": "moved region"})

    error = refused(
        kf, "program complete", {"account": KEY, "step": "deploy-team", "evidence": "team named"}
    )

    assert "no team member is assigned" in str(error)


def _program_at(kf: Kamflow, step: str) -> None:
    open_account(kf)
    complete_program(kf, through=step)


def test_map_decision_process_needs_a_current_decider(kf: Kamflow) -> None:
    _program_at(kf, "deploy-team")
    add_contact(kf, "Wang Fang", "procurement", "buyer", "influencer")
    expected = (
        'no current contact on "acme" has the decider role; add or change one with --role decider'
    )

    without_decider = refused(
        kf, "program complete", {"account": KEY, "step": "map-decision-process", "evidence": "map"}
    )
    add_contact(kf, "GM Zhao", "management", "decider")
    run(kf, "program complete", {"account": KEY, "step": "map-decision-process", "evidence": "map"})

    assert str(without_decider) == expected
    assert kf.load(KEY).program["step"] == "map-decision-process"


def test_a_decider_who_has_left_does_not_count(kf: Kamflow) -> None:
    _program_at(kf, "deploy-team")
    add_contact(kf, "GM Zhao", "management", "decider")
    run(
        kf,
        "contact leave",
        {"account": KEY, "contact": "GM Zhao", "reason": "retired", "analysis": "re-map"},
    )

    error = refused(
        kf, "program complete", {"account": KEY, "step": "map-decision-process", "evidence": "map"}
    )

    assert "has the decider role" in str(error)


def test_measure_results_needs_a_satisfaction_measurement_in_the_cycle(kf: Kamflow) -> None:
    _program_at(kf, "monitor")

    error = refused(
        kf, "program complete", {"account": KEY, "step": "measure-results", "evidence": "review"}
    )
    run(kf, "satisfaction record", {"account": KEY, "score": "7.5", "target": "8.5"})
    run(kf, "program complete", {"account": KEY, "step": "measure-results", "evidence": "review"})

    assert type(error) is Conflict
    assert str(error) == (
        'no satisfaction measurement or sale on "acme" in program cycle 1; record one first'
    )
    assert kf.load(KEY).program["step"] == "measure-results"


def test_measure_results_accepts_a_sale_in_the_cycle_as_its_result(kf: Kamflow) -> None:
    _program_at(kf, "monitor")

    run(
        kf,
        "sale record",
        {"account": KEY, "invoice": "INV-1", "product": "phytase", "amount": "1000", "cost": "600"},
    )
    run(kf, "program complete", {"account": KEY, "step": "measure-results", "evidence": "review"})

    assert kf.load(KEY).program["step"] == "measure-results"


def test_a_new_cycle_needs_new_results(kf: Kamflow) -> None:
    open_account(kf)
    run(
        kf, "satisfaction record", {"account": KEY, "score": "9", "target": "8"}
    )  # before any cycle: does not count
    complete_program(kf, through="measure-results")
    run(kf, "program complete", {"account": KEY, "step": "confirm", "evidence": "still top-20%"})
    complete_program(kf, through="monitor")

    error = refused(
        kf, "program complete", {"account": KEY, "step": "measure-results", "evidence": "review"}
    )
    run(
        kf,
        "sale record",
        {"account": KEY, "invoice": "INV-2", "product": "phytase", "amount": "1000", "cost": "600"},
    )
    run(kf, "program complete", {"account": KEY, "step": "measure-results", "evidence": "review"})

    assert str(error) == (
        'no satisfaction measurement or sale on "acme" in program cycle 2; record one first'
    )
    program = kf.load(KEY).program
    assert (program["cycle"], program["step"]) == (2, "measure-results")


def test_results_recorded_before_confirm_do_not_count_for_the_cycle(kf: Kamflow) -> None:
    open_account(kf)
    run(kf, "satisfaction record", {"account": KEY, "score": "9", "target": "8"})
    complete_program(kf, through="monitor")
    # complete_program satisfied nothing for measure-results yet: the early score is stale.

    error = refused(
        kf, "program complete", {"account": KEY, "step": "measure-results", "evidence": "review"}
    )

    assert "in program cycle 1" in str(error)


# ------------------------------------------------------------------ stage guards
def test_early_needs_one_current_contact(kf: Kamflow) -> None:
    open_account(kf)

    without = refused(kf, "stage advance", {"account": KEY, "stage": "early"})
    add_contact(kf, "Wang Fang", "procurement", "buyer")
    run(kf, "stage advance", {"account": KEY, "stage": "early"})

    assert str(without) == '"acme" has no current contact; early KAM needs one'
    assert kf.load(KEY).stage == "early"


def test_a_contact_who_has_left_is_no_contact_for_early(kf: Kamflow) -> None:
    open_account(kf)
    add_contact(kf, "Wang Fang", "procurement", "buyer")
    run(
        kf,
        "contact leave",
        {"account": KEY, "contact": "Wang Fang", "reason": "new job", "analysis": "find another"},
    )

    error = refused(kf, "stage advance", {"account": KEY, "stage": "early"})

    assert str(error) == '"acme" has no current contact; early KAM needs one'


def _stage_at(kf: Kamflow, stage: str) -> None:
    drive_to(kf, "stage", stage)


def test_mid_needs_current_contacts_in_two_departments(kf: Kamflow) -> None:
    _stage_at(kf, "early")
    # Department names are compared case-insensitively: this is still one thread.
    add_contact(kf, "Wang Fang", "MANAGEMENT", "buyer")

    one_thread = refused(kf, "stage advance", {"account": KEY, "stage": "mid"})
    add_contact(kf, "Li Na", "procurement", "user")
    run(kf, "stage advance", {"account": KEY, "stage": "mid"})

    assert str(one_thread) == (
        '"acme" has current contacts in 1 department(s); mid KAM (more than one thread)'
        " needs 2: add contacts in other departments (`kamflow contact add`)"
    )
    assert kf.load(KEY).stage == "mid"


def test_partnership_needs_three_departments(kf: Kamflow) -> None:
    _stage_at(kf, "mid")
    complete_program(kf, through="publish-plan")

    error = refused(kf, "stage advance", {"account": KEY, "stage": "partnership"})
    add_contact(kf, "Li Na", "R&D", "user")
    run(kf, "stage advance", {"account": KEY, "stage": "partnership"})

    assert str(error) == (
        '"acme" has current contacts in 2 department(s); partnership KAM needs 3:'
        " add contacts in other departments (`kamflow contact add`)"
    )
    assert kf.load(KEY).stage == "partnership"


def test_partnership_needs_a_current_decider(kf: Kamflow) -> None:
    _stage_at(kf, "mid")
    complete_program(kf, through="publish-plan")
    add_contact(kf, "Li Na", "R&D", "user")
    run(kf, "contact change", {"account": KEY, "contact": "Contact 0", "roles": ["user"]})

    error = refused(kf, "stage advance", {"account": KEY, "stage": "partnership"})
    run(kf, "contact change", {"account": KEY, "contact": "Li Na", "roles": ["decider"]})
    run(kf, "stage advance", {"account": KEY, "stage": "partnership"})

    assert str(error) == (
        'no current contact on "acme" has the decider role; add or change one with --role decider'
    )


def test_partnership_needs_a_published_account_plan(kf: Kamflow) -> None:
    _stage_at(kf, "mid")
    add_contact(kf, "Li Na", "R&D", "user")
    complete_program(kf, through="secure-resources")

    error = refused(kf, "stage advance", {"account": KEY, "stage": "partnership"})
    run(
        kf,
        "program complete",
        {"account": KEY, "step": "publish-plan", "evidence": "plan v1 signed"},
    )
    run(kf, "stage advance", {"account": KEY, "stage": "partnership"})

    assert str(error) == (
        '"acme" has no published account plan; complete the program step publish-plan'
    )
    assert kf.load(KEY).stage == "partnership"


def test_synergistic_needs_four_departments(kf: Kamflow) -> None:
    _stage_at(kf, "partnership")
    run(kf, "team assign", {"account": KEY, "member": "liu.yang"})

    error = refused(kf, "stage advance", {"account": KEY, "stage": "synergistic"})
    add_contact(kf, "Chen Jie", "production", "user")
    run(kf, "stage advance", {"account": KEY, "stage": "synergistic"})

    assert str(error) == (
        '"acme" has current contacts in 3 department(s); synergistic KAM needs 4:'
        " add contacts in other departments (`kamflow contact add`)"
    )
    assert kf.load(KEY).stage == "synergistic"


def test_synergistic_needs_two_team_members(kf: Kamflow) -> None:
    _stage_at(kf, "partnership")
    add_contact(kf, "Chen Jie", "production", "user")
    members = kf.load(KEY).team  # the program's deploy-team step assigned one

    error = refused(kf, "stage advance", {"account": KEY, "stage": "synergistic"})
    run(kf, "team assign", {"account": KEY, "member": "liu.yang"})
    run(kf, "stage advance", {"account": KEY, "stage": "synergistic"})

    assert len(members) == 1
    assert str(error) == '"acme" has 1 team member(s); synergistic KAM needs 2'


def test_a_stage_cannot_be_skipped_even_when_its_guards_would_pass(kf: Kamflow) -> None:
    open_account(kf)
    for i, department in enumerate(DEPARTMENTS):
        add_contact(kf, f"Contact {i}", department, "decider")

    error = refused(kf, "stage advance", {"account": KEY, "stage": "mid"})

    assert str(error) == (
        'account "acme"\'s relationship is pre-kam; stages go one at a time,'
        " so the next is early, not mid"
    )


def test_advancing_to_the_current_stage_is_refused(kf: Kamflow) -> None:
    _stage_at(kf, "early")

    error = refused(kf, "stage advance", {"account": KEY, "stage": "early"})

    assert str(error) == 'account "acme"\'s relationship is already early'


# ------------------------------------------------------------------ lifecycle guards
def test_archive_is_refused_under_P8_until_the_post_mortem(kf: Kamflow) -> None:
    open_account(kf)
    run(kf, "account lose", {"account": KEY, "cause": "switched to DSM on price"})

    error = refused(kf, "account archive", {"account": KEY})
    run(
        kf,
        "account review",
        {"account": KEY, "cause": "no contact above purchasing", "lessons": "map the buyers"},
    )
    run(kf, "account archive", {"account": KEY})

    assert isinstance(error, RuleViolation)
    assert error.principle == "P8"
    assert kf.load(KEY).lifecycle == "archived"


def test_archive_is_refused_under_P7_while_a_complaint_lacks_an_outcome(kf: Kamflow) -> None:
    open_account(kf)
    run(kf, "complaint raise", {"account": KEY, "summary": "late delivery", "severity": "high"})
    run(kf, "complaint escalate", {"account": KEY, "complaint": "C-1", "reason": "line stopped"})
    run(kf, "account lose", {"account": KEY, "cause": "switched to DSM on price"})
    run(
        kf,
        "account review",
        {"account": KEY, "cause": "late deliveries", "lessons": "second carrier"},
    )

    error = refused(kf, "account archive", {"account": KEY})
    run(
        kf,
        "complaint reject",
        {"account": KEY, "complaint": "C-1", "justification": "carrier's fault, not ours"},
    )
    run(kf, "account archive", {"account": KEY})

    assert str(error) == ('P7: complaint C-1 on "acme" has no outcome; resolve or reject it first')
    assert kf.load(KEY).lifecycle == "archived"


def test_a_reactivated_account_needs_a_new_post_mortem_before_archive(kf: Kamflow) -> None:
    open_account(kf)
    run(kf, "account lose", {"account": KEY, "cause": "price"})
    run(kf, "account review", {"account": KEY, "cause": "price", "lessons": "value selling"})
    run(kf, "account reactivate", {"account": KEY, "reason": "new GM"})
    run(kf, "account lose", {"account": KEY, "cause": "price again"})

    error = refused(kf, "account archive", {"account": KEY})

    assert isinstance(error, RuleViolation)
    assert error.principle == "P8"


def test_an_archived_account_takes_no_new_facts(kf: Kamflow) -> None:
    drive_to(kf, "lifecycle", "archived")

    error = refused(kf, "complaint raise", {"account": KEY, "summary": "late", "severity": "low"})

    assert str(error) == 'account "acme" is archived; its file is closed to new facts'


# ------------------------------------------------------------------ outcome guards
def unchecked(command: str, account: Account, **fields: Any) -> str:
    """Decide a command on a loaded account without pydantic's validation of its
    fields: a blank outcome gets past the field type to show the guard still holds."""
    cls = COMMANDS[command]
    assert issubclass(cls, Command)
    return cls.model_construct(account=account.key, **fields).execute(account, meta())


def _loaded_with_complaint(kf: Kamflow) -> Account:
    open_account(kf)
    run(kf, "complaint raise", {"account": KEY, "summary": "late delivery", "severity": "high"})
    return kf.load(KEY)


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_resolution_without_an_outcome_is_refused_by_the_P7_guard(
    kf: Kamflow, blank: str
) -> None:
    account = _loaded_with_complaint(kf)

    with pytest.raises(RuleViolation) as info:
        unchecked("complaint resolve", account, complaint="C-1", outcome=blank)
    unchecked("complaint resolve", account, complaint="C-1", outcome="credit note")

    assert str(info.value) == "P7: an outcome is required"
    assert [type(e).__name__ for e in account.collect_events()] == ["ComplaintResolved"]


def test_a_rejection_without_a_justification_is_refused_by_the_P7_guard(kf: Kamflow) -> None:
    account = _loaded_with_complaint(kf)

    with pytest.raises(RuleViolation) as info:
        unchecked("complaint reject", account, complaint="C-1", justification="")
    unchecked("complaint reject", account, complaint="C-1", justification="damage after delivery")

    assert str(info.value) == "P7: a justification is required"
    assert account.complaints["C-1"]["status"] == "rejected"


@pytest.mark.parametrize(
    ("command", "field"),
    [("complaint resolve", "outcome"), ("complaint reject", "justification")],
)
def test_a_blank_outcome_never_reaches_the_store(kf: Kamflow, command: str, field: str) -> None:
    _loaded_with_complaint(kf)

    error = refused(kf, command, {"account": KEY, "complaint": "C-1", **{field: "  "}})

    assert type(error) is InvalidInput
    assert str(error) == f"invalid --{field}: string should have at least 1 character (got '  ')"


def test_losing_an_opportunity_needs_a_reason(kf: Kamflow) -> None:
    open_account(kf)
    run(kf, "opp open", {"account": KEY, "title": "enzyme line 3"})
    account = kf.load(KEY)

    with pytest.raises(Conflict) as info:
        unchecked("opp lose", account, opportunity="O-1", reason="")
    missing = refused(kf, "opp lose", {"account": KEY, "opportunity": "O-1"})
    run(kf, "opp lose", {"account": KEY, "opportunity": "O-1", "reason": "budget frozen"})

    assert str(info.value) == "a reason is required"
    assert str(missing) == "missing required field --reason"
    assert kf.load(KEY).opportunities["O-1"]["stage"] == "lost"


def test_the_opportunity_funnel_refuses_a_skipped_stage(kf: Kamflow) -> None:
    open_account(kf)
    run(kf, "opp open", {"account": KEY, "title": "enzyme line 3"})

    error = refused(kf, "opp advance", {"account": KEY, "opportunity": "O-1", "to": "proposal"})

    assert str(error) == (
        'opportunity O-1 on "acme" is lead; the funnel moves one stage at a time,'
        " so the next is qualified, not proposal"
    )


# ------------------------------------------------------------------ structure
@pytest.mark.parametrize("name", list(WORKFLOWS))
def test_every_state_is_reachable_from_the_initial_state(name: str) -> None:
    workflow = WORKFLOWS[name]

    reached = machine_reachable(workflow, workflow.initial)

    assert reached == set(workflow.states)
    assert workflow.reachable() == reached


@pytest.mark.parametrize("name", ["complaint", "opportunity", "lifecycle"])
def test_a_final_state_can_be_reached_from_every_state(name: str) -> None:
    workflow = WORKFLOWS[name]

    stuck = [
        s for s in workflow.states if not machine_reachable(workflow, s) & set(workflow.finals)
    ]

    assert workflow.finals
    assert stuck == []


@pytest.mark.parametrize("name", ["program", "stage"])
def test_the_cyclic_workflows_can_always_return_to_their_start_of_work(name: str) -> None:
    workflow = WORKFLOWS[name]
    home = {"program": "confirm", "stage": "early"}[name]

    stuck = [s for s in workflow.states if home not in machine_reachable(workflow, s)]

    assert stuck == []


@pytest.mark.parametrize("name", list(WORKFLOWS))
def test_the_machine_holds_exactly_the_table(name: str) -> None:
    workflow = WORKFLOWS[name]

    held = sorted(
        (source, str(t.dest), trigger)
        for trigger, event in workflow.machine.events.items()
        for source, transitions in event.transitions.items()
        for t in transitions
    )

    assert held == sorted((s, d, t) for s, d, t, _ in table_edges(workflow))
    assert not any(trigger.startswith("to_") for trigger in workflow.machine.events)


# The workflows as specified (docs/domain.md, Workflows), written out by hand: "source
# trigger dest [guards]". The tests above take their cases from the tables; this pins
# the tables themselves to the specification.
DESIGN = {
    "complaint": """
        raised ack acknowledged
        acknowledged investigate investigating
        escalated investigate investigating
        raised escalate escalated
        acknowledged escalate escalated
        investigating escalate escalated
        raised resolve resolved outcome_given
        acknowledged resolve resolved outcome_given
        investigating resolve resolved outcome_given
        escalated resolve resolved outcome_given
        raised reject rejected justification_given
        acknowledged reject rejected justification_given
        investigating reject rejected justification_given
        escalated reject rejected justification_given
        resolved close closed has_outcome
        rejected close closed has_outcome
    """,
    "program": """
        not-started confirm confirm
        confirm deploy-team deploy-team team_assigned
        deploy-team map-decision-process map-decision-process decider_known
        map-decision-process research-opportunities research-opportunities
        research-opportunities draft-objectives draft-objectives
        draft-objectives secure-resources secure-resources
        secure-resources publish-plan publish-plan
        publish-plan implement implement
        implement monitor monitor
        monitor measure-results measure-results results_in_cycle
        measure-results confirm confirm
    """,
    "stage": """
        pre-kam advance early one_current_contact
        early advance mid two_departments
        mid advance partnership three_departments,decider_known,plan_published
        partnership advance synergistic four_departments,two_team_members
        pre-kam uncouple uncoupling
        early uncouple uncoupling
        mid uncouple uncoupling
        partnership uncouple uncoupling
        synergistic uncouple uncoupling
        uncoupling re-engage early
    """,
    "lifecycle": """
        prospect activate active
        prospect lose lost
        active lose lost
        lost review reviewed
        lost archive archived post_mortem,complaints_have_outcomes
        reviewed archive archived post_mortem,complaints_have_outcomes
        lost reactivate active
        reviewed reactivate active
        prospect close closed
        active close closed
        lost close closed
        reviewed close closed
        prospect merge merged
        active merge merged
        lost merge merged
        reviewed merge merged
    """,
    "opportunity": """
        lead advance qualified
        qualified advance proposal
        proposal advance negotiation
        negotiation win won
        lead lose lost reason_given
        qualified lose lost reason_given
        proposal lose lost reason_given
        negotiation lose lost reason_given
    """,
}


@pytest.mark.parametrize("name", list(WORKFLOWS))
def test_each_table_is_the_one_of_design_section_3(name: str) -> None:
    rows = [line.split() for line in DESIGN[name].strip().splitlines()]
    expected = sorted(
        (row[0], row[2], row[1], tuple(row[3].split(",")) if len(row) > 3 else ()) for row in rows
    )

    assert sorted(table_edges(WORKFLOWS[name])) == expected


def test_the_registry_names_the_five_workflows() -> None:
    assert registry() == WORKFLOWS


def test_the_program_steps_are_the_ten_of_the_playbook_in_order() -> None:
    assert PROGRAM.states == ("not-started", *STEPS)
    assert [PROGRAM.dest(a, b) for a, b in itertools.pairwise(STEPS)] == list(STEPS[1:])
    assert PROGRAM.dest("measure-results", "confirm") == "confirm"


# ------------------------------------------------------------------ diagrams (CLI)
def _mermaid_id(state: str) -> str:
    return state.replace("-", "_")


@pytest.mark.parametrize("name", list(WORKFLOWS))
def test_workflow_show_draws_every_edge_of_the_machine_in_mermaid(
    sqlite_locator: str, name: str
) -> None:
    workflow = WORKFLOWS[name]
    expected_edges = sorted(
        f"  {_mermaid_id(s)} --> {_mermaid_id(d)}: {t}" + (f" [{', '.join(g)}]" if g else "")
        for s, d, t, g in table_edges(workflow)
    )

    result = invoke(sqlite_locator, "workflow", "show", name)

    assert (result.exit_code, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert f"  [*] --> {_mermaid_id(workflow.initial)}" in lines
    edges = sorted(line for line in lines if re.match(r"  \w+ --> \w+: ", line))
    assert edges == expected_edges
    for state in workflow.states:
        assert f'  state "{state}" as {_mermaid_id(state)}' in lines
    finals = [line for line in lines if line.endswith(" --> [*]")]
    assert finals == [f"  {_mermaid_id(f)} --> [*]" for f in workflow.finals]


@pytest.mark.parametrize("name", list(WORKFLOWS))
def test_workflow_show_json_lists_the_states_and_transitions_of_the_table(
    sqlite_locator: str, name: str
) -> None:
    workflow = WORKFLOWS[name]

    result = invoke(sqlite_locator, "workflow", "show", name, "--format", "json")

    assert (result.exit_code, result.stderr) == (0, "")
    shown = json.loads(result.stdout)
    assert shown["name"] == name
    assert shown["initial"] == workflow.initial
    assert shown["finals"] == list(workflow.finals)
    assert shown["states"] == list(workflow.states)
    assert sorted(
        (t["source"], t["dest"], t["trigger"], tuple(t["guards"])) for t in shown["transitions"]
    ) == sorted(table_edges(workflow))


def test_workflow_show_of_an_unknown_name_is_one_line_and_exit_2(sqlite_locator: str) -> None:
    result = invoke(sqlite_locator, "workflow", "show", "approval")

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        'Error: unknown workflow "approval"; one of: complaint, program, stage, lifecycle,'
        " opportunity\n"
    )


def test_workflow_list_names_every_workflow_with_its_state_count(sqlite_locator: str) -> None:
    result = invoke(sqlite_locator, "workflow", "list", "--json")

    assert result.exit_code == 0
    listed = {w["name"]: w["states"] for w in json.loads(result.stdout)}
    assert listed == {name: len(w.states) for name, w in WORKFLOWS.items()}


# ------------------------------------------------------------------ workflow check
def test_workflow_check_reports_a_close_the_machine_would_not_allow(sqlite_locator: str) -> None:
    kf = Kamflow(sqlite_locator)
    try:
        open_account(kf)
        run(kf, "complaint raise", {"account": KEY, "summary": "late delivery", "severity": "high"})
        version = record_raw(
            kf, Account.ComplaintClosed, complaint_id="C-1", confirmation="imported as closed"
        )
    finally:
        kf.close()

    result = invoke(sqlite_locator, "workflow", "check", "acme")
    shown = invoke(sqlite_locator, "account", "show", "acme", "--json")

    assert version == 3
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        'acme v3 ComplaintClosed: complaint C-1 is raised; "close" is not allowed from there'
        " (allowed now: ack, escalate, resolve, reject)"
    ]
    assert result.stderr == (
        "Error: workflow: 1 step(s) no workflow allows, 0 act(s) the roles and four eyes forbid\n"
    )
    assert shown.exit_code == 0
    assert json.loads(shown.stdout)["complaints"][0]["status"] == "closed"


def test_workflow_check_without_a_key_checks_every_account(sqlite_locator: str) -> None:
    kf = Kamflow(sqlite_locator)
    try:
        run(
            kf,
            "account open",
            {"account": "beta", "name": "Beta", "industry": "feed", "owner": ACTOR},
        )
        open_account(kf)
        add_contact(kf, "Wang Fang", "procurement", "buyer")
        add_contact(kf, "Li Na", "R&D", "user")
        record_raw(
            kf, Account.RelationshipStageChanged, from_stage="pre-kam", to_stage="mid", reason=""
        )
    finally:
        kf.close()

    result = invoke(sqlite_locator, "workflow", "check")

    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "acme v4 RelationshipStageChanged: relationship went pre-kam -> mid;"
        " the workflow leads to early"
    ]


def test_workflow_check_passes_a_history_made_of_commands(sqlite_locator: str) -> None:
    kf = Kamflow(sqlite_locator)
    try:
        drive_to(kf, "lifecycle", "archived")
    finally:
        kf.close()

    result = invoke(sqlite_locator, "workflow", "check")

    assert (result.exit_code, result.stderr) == (0, "")
    # acme and the account the lifecycle's merge goes into.
    assert result.stdout == (
        "checked 2 account(s): every step is one the workflows allow, and every act one the"
        " roles and four eyes allow\n"
    )


def test_the_close_guard_is_checked_on_history_even_when_the_machine_allows_close(
    kf: Kamflow,
) -> None:
    open_account(kf)
    run(kf, "complaint raise", {"account": KEY, "summary": "late", "severity": "high"})
    record_raw(kf, Account.ComplaintResolved, complaint_id="C-1", outcome="")
    record_raw(kf, Account.ComplaintClosed, complaint_id="C-1", confirmation="phone")
    run(kf, "complaint raise", {"account": KEY, "summary": "wrong grade", "severity": "low"})
    run(kf, "complaint resolve", {"account": KEY, "complaint": "C-2", "outcome": "replaced"})
    run(kf, "complaint close", {"account": KEY, "complaint": "C-2", "confirmation": "phone"})

    stored = kf.app.events.get(account_id(KEY))
    problems = check_history(KEY, [e for e in stored if isinstance(e, Account.Event)])

    assert problems == [
        "acme v3 ComplaintResolved: P7: an outcome is required",
        "acme v4 ComplaintClosed: P7: complaint C-1 has no outcome",
    ]
    assert kf.load(KEY).complaints["C-1"]["status"] == "closed"


def test_workflow_check_reports_events_after_archive(kf: Kamflow) -> None:
    drive_to(kf, "lifecycle", "archived")
    version = record_raw(
        kf, Account.ComplaintRaised, complaint_id="C-1", summary_text="x", severity="low"
    )

    problems = kf.check_workflows(KEY)

    assert problems == [f"acme v{version} ComplaintRaised: recorded after the account was archived"]
