"""Corrections by compensating events (ADR 0020), through the domain and `apply`.

Given an account with facts recorded by mistake, when they are voided, credited,
amended or renamed, then the account and every view read as if the mistake had never
been made, while the history shows both the fact and its correction.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import ACTOR, FakeClock, refused, run, snapshot_views
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kamflow.application import Kamflow
from kamflow.batch import apply_lines
from kamflow.domain.commands import COMMANDS, build
from kamflow.domain.errors import Conflict, InvalidInput, NotFound, RuleViolation
from kamflow.projections.reports import builder
from kamflow.projections.reports.base import ReportParams

DAY = date(2026, 11, 2)
# Far enough apart that no write looks like a repeat of the one before (the window is
# minutes); the repeat tests use a clock of seconds.
APART = timedelta(minutes=30)


def opened(locator: str, step: timedelta = APART) -> Kamflow:
    kf = Kamflow(locator, clock=FakeClock(DAY, step=step))
    opening = {"name": "Acme", "industry": "feed", "owner": ACTOR, "on": "2026-09-01"}
    run(kf, "account open", {"account": "acme", **opening})
    run(
        kf,
        "contact add",
        {
            "account": "acme",
            "contact": "Wang Fang",
            "title": "CFO",
            "department": "finance",
            "on": "2026-09-01",
        },
    )
    return kf


def visit(
    kf: Kamflow, purpose: str, on: str = "2026-11-01", *, again: bool = False, **more: Any
) -> str:
    fields = {"account": "acme", "with": ["P-1"], "purpose": purpose, "objective": "o"}
    fields.update(result="r", on=on, **more)
    return run(kf, "visit log", fields, again=again).reference.split()[0]


# ------------------------------------------------------------------ void
def test_a_voided_visit_leaves_the_state_and_every_view_but_not_the_history(
    locator: str,
) -> None:
    kf = opened(locator)
    visit(kf, "first", on="2026-10-01")
    visit(kf, "second", on="2026-10-20", issues=["price vs DSM"])
    run(kf, "visit void", {"account": "acme", "ref": "V-2", "reason": "entered twice"})

    account = kf.load("acme")
    assert account.visits == 1
    assert account.last_visit is not None and account.last_visit["id"] == "V-1"
    assert account.last_contact_on == date(2026, 10, 1)
    assert account.open_issues == {}
    db = snapshot_views(kf)
    assert [r["visit_id"] for r in db.query("SELECT visit_id FROM kf_visits")] == ["V-1"]
    assert db.query("SELECT * FROM kf_issues") == []
    (row,) = db.query("SELECT visits, last_contact_on FROM kf_accounts")
    assert (row["visits"], row["last_contact_on"]) == (1, "2026-10-01")
    history = [(e.type, e.summary) for e in kf.history("acme")]
    assert history[-2][0] == "VisitLogged"
    assert history[-1] == (
        "FactVoided",
        "voided visit V-2 (#4) (second): entered twice",
    )
    # Voided once: a second void is refused, and so is a visit that is not there.
    assert isinstance(
        refused(kf, "visit void", {"account": "acme", "ref": "v-2", "reason": "x"}), Conflict
    )
    assert isinstance(
        refused(kf, "visit void", {"account": "acme", "ref": "V-9", "reason": "x"}), NotFound
    )


def test_every_kind_of_fact_voids_and_its_figures_go_with_it(locator: str) -> None:
    kf = opened(locator)
    sale = {"account": "acme", "product": "phytase", "amount": "1000", "cost": "600"}
    run(kf, "sale record", {**sale, "invoice": "INV-1"})
    run(kf, "sale record", {**sale, "invoice": "INV-2"})
    paid = run(kf, "payment record", {"account": "acme", "invoice": "INV-1", "amount": "400"})
    cost = run(kf, "cost record", {"account": "acme", "amount": "50", "category": "logistics"})
    run(kf, "satisfaction record", {"account": "acme", "score": "8", "target": "8"})
    low = run(kf, "satisfaction record", {"account": "acme", "score": "3", "target": "8"})
    run(kf, "competitor note", {"account": "acme", "competitor": "DSM", "strengths": "price"})
    note = run(kf, "competitor note", {"account": "acme", "competitor": "DSM", "strengths": "x"})

    def void(noun: str, ref: str | int) -> None:
        run(kf, f"{noun} void", {"account": "acme", "ref": str(ref), "reason": "mistake"})

    void("sale", "inv-2")
    void("payment", paid.events[0][1])
    void("cost", f"#{cost.events[0][1]}")
    void("satisfaction", low.events[0][1])
    void("competitor", note.events[0][1])

    account = kf.load("acme")
    assert account.revenue == {"CNY": Decimal(1000)}
    assert account.cost_of_sales == {"CNY": Decimal(600)}
    assert account.received == account.service_cost == {}
    assert account.receivable() == {"CNY": Decimal(1000)}
    assert account.satisfaction is not None and account.satisfaction["score"] == Decimal(8)
    assert account.competitors == {"DSM": {"strengths": "price"}}
    db = snapshot_views(kf)
    (money,) = db.query("SELECT * FROM kf_account_money")
    assert (money["revenue_cents"], money["received_cents"], money["service_cost_cents"]) == (
        100000,
        0,
        0,
    )
    assert [(s["invoice"], s["paid_cents"]) for s in db.query("SELECT * FROM kf_sales")] == [
        ("INV-1", 0)
    ]
    for table in ("kf_payments", "kf_service_costs"):
        assert db.query(f"SELECT * FROM {table}") == []
    assert [r["score"] for r in db.query("SELECT score FROM kf_satisfaction")] == ["8"]
    assert len(db.query("SELECT * FROM kf_competitor_notes")) == 1
    # The satisfaction report shows the measurement that remains, not the voided one.
    report = builder("satisfaction")(db, ReportParams(today=DAY)).as_json()
    assert [str(r.get("score")) for r in report["rows"]] == ["8"]


def test_a_sale_with_payments_is_credited_not_voided_and_the_ledger_reconciles(
    locator: str,
) -> None:
    kf = opened(locator)
    run(
        kf,
        "sale record",
        {"account": "acme", "invoice": "INV-1", "product": "p", "amount": "1000", "cost": "600"},
    )
    run(kf, "payment record", {"account": "acme", "invoice": "INV-1", "amount": "400"})
    error = refused(kf, "sale void", {"account": "acme", "ref": "INV-1", "reason": "x"})
    assert isinstance(error, RuleViolation) and error.principle == "P2"
    assert "sale credit" in str(error)

    run(kf, "sale credit", {"account": "acme", "invoice": "INV-1", "amount": "100", "reason": "r"})
    too_much = refused(
        kf, "sale credit", {"account": "acme", "invoice": "INV-1", "amount": "501", "reason": "r"}
    )
    assert isinstance(too_much, RuleViolation) and "500.00 still owed" in str(too_much)
    full = run(kf, "sale credit", {"account": "acme", "invoice": "INV-1", "reason": "rest"})
    assert full.ids == {"credit_note": "CN-2"}

    account = kf.load("acme")
    assert account.revenue == {"CNY": Decimal(400)}
    assert account.receivable() == {}  # settled by payment and credit notes
    db = snapshot_views(kf)
    (sale,) = db.query("SELECT * FROM kf_sales")
    assert (sale["amount_cents"], sale["credited_cents"], sale["paid_cents"]) == (
        40000,
        60000,
        40000,
    )
    (money,) = db.query("SELECT * FROM kf_account_money")
    # P2: sales net of credit notes = payments + what is still owed (nothing).
    assert money["revenue_cents"] == money["received_cents"] == 40000
    principles = builder("principles")(db, ReportParams(today=DAY)).as_json()
    assert "INV-1" not in json.dumps(principles, ensure_ascii=False, default=str)


def test_as_of_before_a_void_shows_the_old_picture(locator: str) -> None:
    kf = opened(locator)
    visit(kf, "only")
    before = kf.last_version("acme")
    run(kf, "visit void", {"account": "acme", "ref": "V-1", "reason": "wrong account"})
    assert kf.account_at("acme", version=before).visits == 1
    assert kf.load("acme").visits == 0


def test_amend_and_rename_keep_the_old_values(locator: str) -> None:
    kf = opened(locator)
    visit(kf, "trial")
    run(
        kf,
        "visit amend",
        {"account": "acme", "visit": "V-1", "result": "3 t agreed", "reason": "typo"},
    )
    run(kf, "contact rename", {"account": "acme", "contact": "P-1", "new_name": "王芳 Wang Fang"})
    *_, amended, renamed = kf.history("acme")
    assert amended.summary == "visit V-1 amended: result r -> 3 t agreed; typo"
    assert renamed.changes[0]["old"] == "Wang Fang"
    db = snapshot_views(kf)
    assert db.query("SELECT result FROM kf_visits")[0]["result"] == "3 t agreed"
    assert db.query("SELECT name FROM kf_contacts")[0]["name"] == "王芳 Wang Fang"
    assert isinstance(
        refused(kf, "visit amend", {"account": "acme", "visit": "V-1", "reason": "x"}),
        InvalidInput,
    )


def test_an_account_opened_in_error_closes_out_of_every_report(locator: str) -> None:
    kf = opened(locator)
    run(kf, "account open", {"account": "acme2", "name": "A", "industry": "f", "owner": ACTOR})
    run(kf, "account close", {"account": "acme2", "reason": "opened-in-error"})
    assert kf.load("acme2").lifecycle == "closed"
    db = snapshot_views(kf)
    assert [r["key"] for r in db.query("SELECT key FROM kf_accounts")] == ["acme"]
    principles = json.dumps(
        builder("principles")(db, ReportParams(today=DAY)).as_json(), default=str
    )
    assert "acme2" not in principles
    # Closed: no new facts, and it was never lost (no P8 post-mortem asked).
    error = refused(
        kf,
        "visit log",
        {"account": "acme2", "with": ["x"], "purpose": "p", "objective": "o", "result": "r"},
    )
    assert "closed" in str(error)
    assert kf.load("acme2").lost is None


def test_corrections_through_apply(locator: str, tmp_path: Path) -> None:
    kf = opened(locator)
    lines = [
        {
            "command": "visit log",
            "account": "acme",
            "with": ["P-1"],
            "purpose": "p",
            "objective": "o",
            "result": "r",
        },
        {"command": "visit void", "account": "acme", "ref": "V-1", "reason": "twice"},
        {
            "command": "sale record",
            "account": "acme",
            "invoice": "I-1",
            "product": "p",
            "amount": "10",
            "cost": "5",
        },
        {"command": "sale credit", "account": "acme", "invoice": "I-1", "reason": "r"},
        {"command": "account rename", "account": "acme", "name": "Acme Group"},
    ]
    summary = apply_lines(kf, [json.dumps(x).encode() for x in lines], actor=ACTOR)
    assert summary.startswith("applied 5")
    account = kf.load("acme")
    # Credited in full: the sale stays, worth nothing.
    assert (account.visits, account.revenue, account.profile["name"]) == (
        0,
        {"CNY": Decimal(0)},
        "Acme Group",
    )


# ------------------------------------------------------------------ repeats
def test_a_repeated_write_is_refused_with_a_hint_and_again_passes(locator: str) -> None:
    kf = opened(locator, step=timedelta(seconds=5))
    visit(kf, "trial")
    error = refused(
        kf,
        "visit log",
        {
            "account": "acme",
            "with": ["P-1"],
            "purpose": "trial",
            "objective": "o",
            "result": "r",
            "on": "2026-11-01",
        },
    )
    assert isinstance(error, Conflict)
    assert str(error).startswith("looks like V-1 again")
    assert "--again if this is a second visit" in str(error)
    assert visit(kf, "trial", again=True) == "V-2"
    # Another field, or a given command id, is not a repeat.
    assert visit(kf, "trial", on="2026-10-31") == "V-3"
    out = run(
        kf, "cost record", {"account": "acme", "amount": "5", "category": "c"}, command_id="a"
    )
    assert out.applied
    run(kf, "cost record", {"account": "acme", "amount": "5", "category": "c"}, command_id="b")


def test_the_same_write_after_the_window_is_no_repeat(locator: str) -> None:
    kf = opened(locator, step=timedelta(minutes=11))
    visit(kf, "trial")
    assert visit(kf, "trial") == "V-2"


# ------------------------------------------------------------------ names
def test_two_people_may_share_a_name_and_are_named_by_id(locator: str) -> None:
    kf = opened(locator)
    run(
        kf,
        "contact add",
        {"account": "acme", "contact": "Wang Fang", "title": "buyer", "department": "procurement"},
    )
    error = refused(
        kf,
        "visit log",
        {"account": "acme", "with": ["wang fang"], "purpose": "p", "objective": "o", "result": "r"},
    )
    assert str(error) == ('"wang fang" is P-1 (finance) or P-2 (procurement) on "acme"; use the id')
    assert visit(kf, "p", **{"with": ["P-2"]}) == "V-1"


def test_a_link_to_someone_who_left_is_shown_and_counts_as_missing(locator: str) -> None:
    kf = opened(locator)
    run(
        kf,
        "contact add",
        {
            "account": "acme",
            "contact": "Li Na",
            "title": "buyer",
            "department": "procurement",
            "reports_to": "P-1",
        },
    )
    run(
        kf,
        "contact leave",
        {
            "account": "acme",
            "contact": "P-1",
            "reason": "retired",
            "analysis": "a",
            "on": "2026-11-01",
        },
    )
    file = builder("file")(snapshot_views(kf), ReportParams(today=DAY, key="acme")).as_json()
    (li,) = [p for p in file["rows"] if p["contact_id"] == "P-2"]
    assert li["reports_to"] == "P-1 Wang Fang (left 2026-11-01)"
    assert any("influence" in m for m in file["completeness_missing"])


# ------------------------------------------------------------------ merge
def _open_dup(kf: Kamflow) -> None:
    opening = {"name": "Acme (dup)", "industry": "feed", "owner": ACTOR, "on": "2026-09-01"}
    run(kf, "account open", {"account": "dup", **opening})
    run(
        kf,
        "contact add",
        {
            "account": "dup",
            "contact": "Zhou Min",
            "title": "GM",
            "department": "board",
            "roles": ["decider"],
            "on": "2026-09-01",
        },
    )


def test_a_merge_counts_once_under_the_target_and_as_of_before_shows_them_apart(
    locator: str,
) -> None:
    kf = opened(locator, step=timedelta(hours=7))
    _open_dup(kf)
    visit(kf, "ours", on="2026-10-01")
    run(
        kf,
        "visit log",
        {
            "account": "dup",
            "with": ["P-1"],
            "purpose": "theirs",
            "objective": "o",
            "result": "r",
            "on": "2026-10-05",
        },
    )
    sale = {"product": "p", "amount": "500", "cost": "100", "on": "2026-10-06"}
    run(kf, "sale record", {"account": "acme", "invoice": "A-1", **sale})
    run(kf, "sale record", {"account": "dup", "invoice": "D-1", **sale})
    run(kf, "payment record", {"account": "dup", "invoice": "D-1", "amount": "200"})
    run(kf, "satisfaction record", {"account": "dup", "score": "6", "target": "8"})
    before_merge = kf.today()
    kf.clock.next_day()  # type: ignore[attr-defined]
    run(kf, "account merge", {"account": "dup", "into": "acme", "reason": "one customer"})

    assert kf.load("dup").lifecycle == "merged"
    target = kf.load("acme")
    assert target.revenue == {"CNY": Decimal(1000)}
    assert target.receivable() == {"CNY": Decimal(800)}
    # Payments against the duplicate's invoices are now recorded on the target (P2).
    run(kf, "payment record", {"account": "acme", "invoice": "D-1", "amount": "300"})
    db = snapshot_views(kf)
    assert [r["key"] for r in db.query("SELECT key FROM kf_accounts")] == ["acme"]
    (account,) = db.query("SELECT visits, last_contact_on FROM kf_accounts")
    assert (account["visits"], account["last_contact_on"]) == (2, "2026-10-05")
    (money,) = db.query("SELECT * FROM kf_account_money")
    assert (money["revenue_cents"], money["received_cents"]) == (100000, 50000)
    assert sorted(r["visit_id"] for r in db.query("SELECT visit_id FROM kf_visits")) == [
        "V-1",
        "dup/V-1",
    ]
    file = builder("file")(db, ReportParams(today=DAY, key="acme")).as_json()
    assert {v["with"] for v in file["visits"]} == {"P-1 Wang Fang", "dup/P-1 Zhou Min"}
    paid = {s["invoice"]: str(s["paid"]) for s in file["sales"]}
    assert paid == {"A-1": "0.00", "D-1": "500.00"}
    portfolio = builder("portfolio")(db, ReportParams(today=DAY)).as_json()
    assert [r["key"] for r in portfolio["rows"]] == ["acme"]
    # Both histories stay readable.
    assert [e.type for e in kf.history("dup")][-1] == "AccountMergedInto"
    assert "AccountAbsorbed" in [e.type for e in kf.history("acme")]
    # As of before the merge, the two are apart.
    old = Kamflow(locator, clock=FakeClock(DAY))
    assert old.account_at("acme", as_of=before_merge).revenue == {"CNY": Decimal(500)}
    assert old.account_at("dup", as_of=before_merge).lifecycle == "active"


def test_a_merge_is_refused_when_it_would_lose_or_clash(locator: str) -> None:
    kf = opened(locator)
    _open_dup(kf)
    merge = {"account": "dup", "into": "acme", "reason": "r"}
    run(
        kf,
        "sale record",
        {"account": "acme", "invoice": "X-1", "product": "p", "amount": "5", "cost": "1"},
    )
    run(
        kf,
        "sale record",
        {"account": "dup", "invoice": "x-1", "product": "p", "amount": "5", "cost": "1"},
    )
    clash = refused(kf, "account merge", merge)
    assert isinstance(clash, RuleViolation) and clash.principle == "P2"
    run(kf, "sale void", {"account": "dup", "ref": "x-1", "reason": "r"})
    clash = refused(kf, "account merge", merge)  # a voided invoice's ref stays used
    run(
        kf,
        "visit log",
        {
            "account": "dup",
            "with": ["P-1"],
            "purpose": "p",
            "objective": "o",
            "result": "r",
            "issues": ["late"],
        },
    )
    open_issue = refused(kf, "account merge", merge)
    assert isinstance(open_issue, RuleViolation) and open_issue.principle == "P6"
    assert isinstance(refused(kf, "account merge", {**merge, "into": "dup"}), Conflict)


def test_a_merge_whose_second_write_failed_completes_when_run_again(locator: str) -> None:
    kf = opened(locator)
    _open_dup(kf)
    merge = {"account": "dup", "into": "acme", "reason": "r"}
    # The target's side alone, as if the duplicate's write had failed after it.
    command = build(COMMANDS["account merge"], merge)
    first = command.first(kf.load("dup"))  # type: ignore[union-attr]
    assert first is not None
    kf.execute(first, actor=ACTOR)
    run(kf, "account merge", merge)
    assert [e.type for e in kf.history("acme")].count("AccountAbsorbed") == 1
    assert kf.load("dup").lifecycle == "merged"


# ------------------------------------------------------------------ property
KINDS = ("visit", "sale", "payment", "cost", "satisfaction", "competitor")


def _write(kf: Kamflow, key: str, kind: str, n: int, on: str, invoice: str | None) -> str | None:
    """Record fact ``n`` of ``kind`` on account ``key`` (a payment against ``invoice``);
    the ref a void would name it by (None: refused)."""
    try:
        if kind == "visit":
            fields = {
                "account": key,
                "with": ["P-1"],
                "purpose": f"v{n}",
                "objective": "o",
                "result": "r",
                "on": on,
            }
            return run(kf, "visit log", fields).reference.split()[0]
        if kind == "sale":
            run(
                kf,
                "sale record",
                {
                    "account": key,
                    "invoice": f"S-{n}",
                    "product": "p",
                    "amount": str(100 + n),
                    "cost": "50",
                    "on": on,
                },
            )
            return f"S-{n}"
        if kind == "payment":
            if invoice is None:
                return None
            out = run(
                kf, "payment record", {"account": key, "invoice": invoice, "amount": "10", "on": on}
            )
        elif kind == "cost":
            out = run(
                kf, "cost record", {"account": key, "amount": str(n + 1), "category": "c", "on": on}
            )
        elif kind == "satisfaction":
            out = run(
                kf,
                "satisfaction record",
                {"account": key, "score": str(n % 10), "target": "8", "on": on},
            )
        else:
            out = run(
                kf,
                "competitor note",
                {"account": key, "competitor": "DSM", "strengths": f"s{n}", "on": on},
            )
        return f"#{out.events[0][1]}"
    except (RuleViolation, InvalidInput):  # nothing owed; dated before its sale
        return None


def _figures(kf: Kamflow) -> dict[str, Any]:
    """What the reports read, without the ids and positions a history hands out."""
    db = snapshot_views(kf)
    a = kf.load("acme")

    def q(sql: str) -> list[tuple[Any, ...]]:
        return sorted(tuple(r.values()) for r in db.query(sql))

    return {
        "ledger": (a.revenue, a.cost_of_sales, a.received, a.service_cost, a.receivable()),
        "money": q("SELECT * FROM kf_account_money"),
        "months": q("SELECT * FROM kf_account_months"),
        "account": q("SELECT key, visits, last_contact_on FROM kf_accounts"),
        "visits": q("SELECT key, occurred_on, purpose FROM kf_visits"),
        "sales": q("SELECT key, invoice, amount_cents, paid_cents FROM kf_sales"),
        "payments": q("SELECT key, invoice, occurred_on, amount_cents FROM kf_payments"),
        "costs": q("SELECT key, occurred_on, amount_cents FROM kf_service_costs"),
        "satisfaction": q("SELECT key, occurred_on, score FROM kf_satisfaction"),
        "notes": q("SELECT key, competitor, details FROM kf_competitor_notes"),
    }


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    facts=st.lists(
        st.tuples(st.sampled_from(KINDS), st.booleans(), st.integers(1, 28), st.booleans()),
        max_size=14,
    ),
    merge=st.booleans(),
)
# A duplicate's only sale, merged: the target's months to profit must count it.
@example(facts=[("sale", True, 1, False)], merge=True)
def test_views_equal_a_fold_of_the_surviving_facts(
    tmp_path_factory: pytest.TempPathFactory,
    facts: list[tuple[str, bool, int, bool]],
    merge: bool,
) -> None:
    """Random facts on two accounts, random voids, and perhaps a merge of the second
    into the first: the views equal those of a store holding only the facts that
    survive, recorded where they count (on the first account, after a merge)."""
    folder = tmp_path_factory.mktemp("fold")
    with_voids = opened(str(folder / "voids.db"))
    _open_dup(with_voids)
    survivors: list[tuple[str, str, int, str, str | None]] = []
    last_sale: dict[str, str | None] = {"acme": None, "dup": None}
    for n, (kind, on_dup, day, void) in enumerate(facts):
        key, on = ("dup" if on_dup else "acme"), f"2026-10-{day:02d}"
        invoice = last_sale[key]
        ref = _write(with_voids, key, kind, n, on, invoice)
        if ref is None:
            continue
        voided = False
        if void:
            try:
                run(with_voids, f"{kind} void", {"account": key, "ref": ref, "reason": "x"})
                voided = True
            except RuleViolation:  # a sale with payments: credit notes are the way
                pass
        if kind == "sale" and not voided:
            last_sale[key] = ref
        if not voided:
            survivors.append((key, kind, n, on, invoice))
    merged = False
    if merge:
        try:
            run(with_voids, "account merge", {"account": "dup", "into": "acme", "reason": "r"})
            merged = True
        except RuleViolation:  # an invoice ref used on both (voided ones stay used)
            pass
    clean = opened(str(folder / "clean.db"))
    if not merged:
        _open_dup(clean)
    for key, kind, n, on, invoice in survivors:
        where = "acme" if merged else key
        assert _write(clean, where, kind, n, on, invoice) is not None
    assert _figures(with_voids) == _figures(clean)


def test_a_payment_on_an_invoice_taken_over_by_a_merge_can_be_voided(locator: str) -> None:
    kf = opened(locator)
    _open_dup(kf)
    run(
        kf,
        "sale record",
        {"account": "dup", "invoice": "D-1", "product": "p", "amount": "500", "cost": "100"},
    )
    run(kf, "payment record", {"account": "dup", "invoice": "D-1", "amount": "100"})
    run(kf, "account merge", {"account": "dup", "into": "acme", "reason": "one customer"})
    paid = run(kf, "payment record", {"account": "acme", "invoice": "D-1", "amount": "400"})
    assert kf.load("acme").receivable() == {}
    run(kf, "payment void", {"account": "acme", "ref": str(paid.events[0][1]), "reason": "x"})
    assert kf.load("acme").receivable() == {"CNY": Decimal(400)}
    (sale,) = snapshot_views(kf).query("SELECT paid_cents FROM kf_sales")
    assert sale["paid_cents"] == 10000
