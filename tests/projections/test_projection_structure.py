"""Meta-tests: a step forgotten while adding an event fails here, loudly.

Every Account and Governance event class is projected by some view or listed, with a
reason, in ``handlers.UNPROJECTED``; every event a workflow row names is an Account
event class, and every Account event that moves a workflow state is named by a row of
that workflow's table; the handlers' source is the one recorded with
``HANDLERS_VERSION`` (a changed handler must rebuild stored views, so the version must
move); and a report over caught-up views imports neither eventsourcing nor the event
classes (ADR 0009), while one that catches up reads the log without the application.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import inspect
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import old_store

from kamflow.application import Kamflow
from kamflow.domain import account as account_module
from kamflow.domain import envelope
from kamflow.domain.account import Account
from kamflow.domain.governance import Governance
from kamflow.projections import engine, handlers
from kamflow.projections.db import ViewDB
from kamflow.projections.views import HANDLERS_DIGEST, HANDLERS_VERSION, VIEWS, View
from kamflow.workflows import registry
from kamflow.workflows.base import Workflow
from kamflow.workflows.complaint import COMPLAINT
from kamflow.workflows.lifecycle import LIFECYCLE
from kamflow.workflows.opportunity import OPPORTUNITY
from kamflow.workflows.program import PROGRAM
from kamflow.workflows.stage import STAGE

FIXTURE = "demo-03f4076.db.gz"  # in tests/fixtures/


def event_classes(aggregate: type) -> dict[str, type]:
    """The event classes nested in an aggregate (its own ``Event`` subclasses)."""
    base: type = aggregate.Event  # type: ignore[attr-defined]
    return {
        name: cls
        for name, cls in vars(aggregate).items()
        if isinstance(cls, type) and issubclass(cls, base) and cls is not base
    }


ACCOUNT_EVENTS = event_classes(Account)
GOVERNANCE_EVENTS = event_classes(Governance)


# ------------------------------------------------------------------ every event projected
def handled() -> dict[type, list[str]]:
    """Event class -> the views with a handler for it."""
    found: dict[type, list[str]] = {}
    for view in VIEWS.values():
        for cls in view.handlers:
            found.setdefault(cls, []).append(view.name)
    return found


def test_the_event_classes_are_found() -> None:
    # (a guard for the two tests below: an empty list would pass them)
    assert {"AccountOpened", "SaleRecorded", "ComplaintClosed"} <= set(ACCOUNT_EVENTS)
    assert {"Started", "PolicySet", "RoleGranted"} <= set(GOVERNANCE_EVENTS)


def test_every_event_class_is_projected_by_a_view_or_listed_as_unprojected() -> None:
    views = handled()
    every = [*ACCOUNT_EVENTS.values(), *GOVERNANCE_EVENTS.values()]

    forgotten = [c.__qualname__ for c in every if c not in views and c not in handlers.UNPROJECTED]
    both = [c.__qualname__ for c in every if c in views and c in handlers.UNPROJECTED]

    assert not forgotten, (
        f"no view projects {forgotten}: register a handler in kamflow/projections/handlers.py"
        " (@VIEW.on(Account.X)), or list the class in handlers.UNPROJECTED with the reason"
    )
    assert not both, f"handled by a view, so remove from handlers.UNPROJECTED: {both}"
    assert all(reason.strip() for reason in handlers.UNPROJECTED.values())


def test_handlers_are_registered_for_event_classes_only() -> None:
    known = {*ACCOUNT_EVENTS.values(), *GOVERNANCE_EVENTS.values()}

    assert set(handled()) | set(handlers.UNPROJECTED) <= known
    # The audit trail is written by the engine for every event, never by a handler.
    assert not VIEWS["audit"].handlers


def test_a_class_registered_twice_on_one_view_is_refused() -> None:
    view = View("scratch", "a view of this test only", {})
    view.on(Account.SaleRecorded)(lambda e, key: [])

    with pytest.raises(ValueError, match=r"view scratch handles Account\.SaleRecorded twice"):
        view.on(Account.SaleRecorded)(lambda e, key: [])


# ------------------------------------------------------------------ workflows and events
def test_every_event_a_workflow_row_names_is_an_account_event_class() -> None:
    unknown = {
        (workflow.name, name)
        for workflow in registry().values()
        for name in workflow.events()
        if name not in ACCOUNT_EVENTS
    }

    assert not unknown, f"workflow rows name events that are not Account event classes: {unknown}"


# Where each workflow's state lives on the account, as ``evolve`` writes it:
# account.<attribute> = ..., <...>["<key>"] = ..., <...>.update({"<key>": ...}), or a
# call of one of the account's helpers.
ATTRIBUTES = {"lifecycle": LIFECYCLE, "stage": STAGE}
KEYS = {"step": PROGRAM, "status": COMPLAINT, "stage": OPPORTUNITY}
HELPERS = {"complaint_stepped": COMPLAINT}


def workflows_moved(evolve: ast.FunctionDef) -> set[Workflow]:
    """The workflows whose state an ``evolve`` method writes (read from its syntax)."""
    moved: set[Workflow] = set()
    for node in ast.walk(evolve):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Attribute) and target.attr in ATTRIBUTES:
                moved.add(ATTRIBUTES[target.attr])
            if (
                isinstance(target, ast.Subscript)
                and isinstance(target.slice, ast.Constant)
                and target.slice.value in KEYS
            ):
                moved.add(KEYS[target.slice.value])
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in HELPERS:
                moved.add(HELPERS[node.func.attr])
            if node.func.attr == "update":
                for arg in node.args:
                    if isinstance(arg, ast.Dict):
                        for key in arg.keys:
                            if isinstance(key, ast.Constant) and key.value in KEYS:
                                moved.add(KEYS[key.value])
    return moved


def evolve_methods() -> dict[str, ast.FunctionDef]:
    """Account event class name -> its ``evolve`` method's syntax tree."""
    tree = ast.parse(inspect.getsource(account_module))
    account = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Account")
    # An evolve that several events share is a module function (``evolve = _shared``).
    shared = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    found: dict[str, ast.FunctionDef] = {}
    for node in account.body:
        if isinstance(node, ast.ClassDef) and node.name in ACCOUNT_EVENTS:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "evolve":
                    found[node.name] = item
                if (
                    isinstance(item, ast.Assign)
                    and [ast.unparse(t) for t in item.targets] == ["evolve"]
                    and isinstance(item.value, ast.Name)
                ):
                    found[node.name] = shared[item.value.id]
    return found


def test_every_account_event_that_moves_a_workflow_is_named_by_a_row_of_it() -> None:
    moves = {name: workflows_moved(evolve) for name, evolve in evolve_methods().items()}
    missing = sorted(
        (name, workflow.name)
        for name, workflows in moves.items()
        for workflow in workflows
        if name not in workflow.events()
    )

    # (the reading of evolve finds the steps it must: a guard against a silent pass)
    assert moves["AccountLost"] == {LIFECYCLE} and moves["OpportunityWon"] == {OPPORTUNITY}
    assert moves["ComplaintClosed"] == {COMPLAINT} and moves["ProgramStepCompleted"] == {PROGRAM}
    assert moves["RelationshipStageChanged"] == {STAGE}
    assert not missing, (
        f"these events move a workflow whose table names them in no row: {missing};"
        " add the event to the row's events=(...) in kamflow/workflows/"
    )


@contextlib.contextmanager
def demo_store(tmp_path: Path) -> Iterator[Kamflow]:
    store = tmp_path / "demo.db"
    old_store(FIXTURE, str(store))
    kamflow = Kamflow(str(store))
    try:
        yield kamflow
    finally:
        kamflow.close()


def workflow_states(account: Account) -> dict[Workflow, Any]:
    return {
        LIFECYCLE: account.lifecycle,
        STAGE: account.stage,
        PROGRAM: account.program["step"],
        COMPLAINT: {cid: c["status"] for cid, c in account.complaints.items()},
        OPPORTUNITY: {oid: o["stage"] for oid, o in account.opportunities.items()},
    }


def test_on_the_demo_every_event_that_changed_a_workflow_state_is_in_its_table(
    tmp_path: Path,
) -> None:
    # The same rule as above, from what replaying history does rather than from syntax:
    # a workflow state changed by an event no row of that workflow names. (A subject
    # that appears, a new complaint or opportunity, starts at the initial state.)
    unnamed: set[tuple[str, str]] = set()
    seen: set[str] = set()
    with demo_store(tmp_path) as kamflow:
        for aid in kamflow.account_ids():
            account: Any = None
            for event in kamflow.app.events.get(aid):
                name = type(event).__name__
                seen.add(name)
                before = None if account is None else workflow_states(account)
                account = event.mutate(account)
                after = workflow_states(account)
                for workflow, state in after.items():
                    old = None if before is None else before[workflow]
                    if isinstance(state, dict):
                        changed = any(k in (old or {}) and old[k] != v for k, v in state.items())
                    else:
                        changed = before is not None and old != state
                    if changed and name not in workflow.events():
                        unnamed.add((name, workflow.name))
    assert {"ComplaintClosed", "OpportunityWon", "AccountLost", "TierChanged"} <= seen
    assert not unnamed, f"events that moved a workflow no row of it names: {sorted(unnamed)}"


# ------------------------------------------------------------------ handlers' version
def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            first = body[0] if body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
    return tree


def _unprojected_left_out(tree: ast.Module) -> ast.Module:
    # Listing an event as unprojected changes no row.
    tree.body = [
        node
        for node in tree.body
        if not (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == "UNPROJECTED"
        )
    ]
    return tree


def _normalised(code: Any) -> str:
    tree = _without_docstrings(ast.parse(textwrap.dedent(inspect.getsource(code))))
    return ast.dump(tree, annotate_fields=False)


def audit_text() -> list[Any]:
    """What the audit view's rows are made of besides the events' envelope: written by
    the engine, not by a handler, from each event's summary and the values it replaced."""
    code: list[Any] = [
        engine.Projector._audit_row,
        engine.audit_changes,
        envelope.Change.as_json,
        envelope.shown,
        envelope.described,
        envelope.changes_of,
        envelope.Event.summary,
    ]
    said: list[str] = []
    for cls in [*ACCOUNT_EVENTS.values(), *GOVERNANCE_EVENTS.values()]:
        code += [vars(cls)[name] for name in ("summary", "changed") if name in vars(cls)]
        # A summary declared as a template of the event's fields (envelope.Event.said).
        if "said" in vars(cls):
            said.append(f"{cls.__qualname__}: {vars(cls)['said']}")
    return [*code, *said]
    return code


def handlers_digest() -> str:
    """What the views' rows depend on besides their tables (which the fingerprint holds
    itself): the handlers' source, normalised (no comments, docstrings or layout; not
    UNPROJECTED), the derived figures' statements, the workflow rows the handlers
    read states from, and the code that writes the audit trail's text (audit_text)."""
    tree = _without_docstrings(_unprojected_left_out(ast.parse(inspect.getsource(handlers))))
    parts = [ast.dump(tree, annotate_fields=False)]
    parts += [code if isinstance(code, str) else _normalised(code) for code in audit_text()]
    for view in VIEWS.values():
        parts += [f"{view.name}:{one}:{every}" for one, every in sorted(view.derived.items())]
    for workflow in sorted(registry().values(), key=lambda w: w.name):
        rows = [(t.trigger, t.source, t.dest, t.events) for t in workflow.transitions]
        parts.append(repr((workflow.name, workflow.initial, workflow.states, rows)))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def test_handlers_are_the_ones_recorded_with_their_version() -> None:
    digest = handlers_digest()

    assert digest == HANDLERS_DIGEST, (
        f"handlers changed: bump HANDLERS_VERSION and update the recorded hash"
        f" (kamflow/projections/views.py: HANDLERS_DIGEST = {digest!r}), so that stored"
        f" views are rebuilt. Only when a rebuild gives the same rows before and after"
        f" (compare a dump) may the hash change alone. HANDLERS_VERSION is {HANDLERS_VERSION}."
    )


def test_the_digest_ignores_comments_and_layout_but_not_code() -> None:
    source = inspect.getsource(handlers)

    def digest(text: str) -> str:
        return ast.dump(_without_docstrings(ast.parse(text)), annotate_fields=False)

    assert digest(source) == digest(source.replace("# ", "#  ").replace("\n\n\n", "\n\n"))
    assert digest(source) != digest(source.replace("lifecycle=?", "lifecycle=? ", 1))


def test_a_new_handlers_version_changes_every_fingerprint(monkeypatch: pytest.MonkeyPatch) -> None:
    db = ViewDB(":memory:")
    try:
        before = {view.name: engine.fingerprint(view, db) for view in VIEWS.values()}
        monkeypatch.setattr(engine, "HANDLERS_VERSION", HANDLERS_VERSION + "+1")
        after = {view.name: engine.fingerprint(view, db) for view in VIEWS.values()}
    finally:
        db.close()

    assert all(before[name] != after[name] for name in VIEWS)


# ------------------------------------------------------------------ reports stay light
REPORT = """\
import json, sys
from kamflow.cli import main
try:
    main(["--db", sys.argv[1], "report", "portfolio", "--json"])
except SystemExit:
    pass
names = ["eventsourcing", "kamflow.domain.account", "kamflow.projections.handlers",
         "kamflow.application"]
sys.__stdout__.write("\\n" + json.dumps([n for n in names if n in sys.modules]))
"""


def report_imports(store: Path) -> tuple[str, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", REPORT, str(store)],
        capture_output=True,
        text=True,
        cwd=store.parent,
        check=True,
    )
    output, _, loaded = done.stdout.rpartition("\n")
    return output, json.loads(loaded)


@pytest.mark.slow
def test_a_report_on_caught_up_views_imports_neither_eventsourcing_nor_the_events(
    tmp_path: Path,
) -> None:
    store = tmp_path / "demo.db"
    old_store(FIXTURE, str(store))

    # A report whose views are behind reads the log: the handlers and events load (and
    # the log is read by the views' own reader, not through the application)...
    first, loaded = report_imports(store)
    assert loaded == ["eventsourcing", "kamflow.domain.account", "kamflow.projections.handlers"]

    # ...and one over the caught-up views loads none of them, with the same answer.
    again, loaded = report_imports(store)
    assert loaded == []
    assert json.loads(again) == json.loads(first)
    assert json.loads(again)["rows"]
