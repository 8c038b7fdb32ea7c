"""The eight principles (docs/domain.md, The eight principles), each refused and allowed
through the command line.

A refusal is exactly what a user sees: one line on stderr naming the rule, exit code 1
(2 for bad input), nothing on stdout, and not one event more in the store.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import ACTOR, event_count, invoke, json_of, ok, refusal

APPROVER = "zhao.director"


def refused(db: str, *args: str, actor: str = ACTOR, code: int = 1) -> str:
    """Run a command that must be refused; return its one line on stderr."""
    before = event_count(db)

    result = invoke(db, *args, actor=actor)

    line = refusal(result, code)
    assert result.stderr == line + "\n"
    assert "Traceback" not in line
    assert event_count(db) == before
    return line


@pytest.fixture
def db(sqlite_locator: str) -> str:
    return sqlite_locator


def open_account(db: str, key: str = "acme", tier: str = "target") -> None:
    ok(
        invoke(
            db,
            *("account", "open", key, "--name", "正大饲料 Acme Feed", "--industry", "feed"),
            *("--owner", ACTOR, "--tier", tier),
        )
    )


@pytest.fixture
def acme(db: str) -> str:
    open_account(db)
    return db


def sale(invoice: str, amount: str, *extra: str, key: str = "acme") -> list[str]:
    return [
        *("sale", "record", key, "--invoice", invoice, "--product", "phytase"),
        *("--amount", amount, "--cost", "1000", *extra),
    ]


def appoint_approver(db: str) -> None:
    ok(invoke(db, "roster", "grant", APPROVER, "approver", "--reason", "sales director"))


def request(rule: str, invoice: str) -> list[str]:
    return [
        *("exception", "request", "acme", "--rule", rule, "--invoice", invoice),
        *("--reason", "harvest season; pays on time"),
    ]


def grant(db: str, rule: str, invoice: str, exception: str = "E-1") -> list[str]:
    """The owner asks for an exception and the approver approves it (four eyes)."""
    ok(invoke(db, *request(rule, invoice)))
    return ok(invoke(db, "exception", "approve", "acme", exception, actor=APPROVER))


def missing(rule: str, invoice: str) -> str:
    return (
        f"missing: an approved {rule} exception; request one with `kamflow exception request"
        f" acme --rule {rule} --invoice {invoice} --reason ...` and have an approver who is"
        " not you approve it"
    )


def account_json(db: str, key: str = "acme") -> dict[str, Any]:
    shown: dict[str, Any] = json_of(invoke(db, "account", "show", key, "--json"))
    return shown


# ------------------------------------------------------------------ P1
def test_P1_a_sale_over_the_credit_limit_of_its_tier_is_refused(acme: str) -> None:
    line = refused(acme, *sale("INV-1", "250000"))

    assert line == (
        'Error: P1: sale INV-1 would take what "acme" owes to 250,000.00 CNY, over the'
        " target-tier credit limit of 200,000.00; " + missing("credit-limit", "INV-1")
    )


def test_P1_the_credit_limit_counts_what_is_still_owed(acme: str) -> None:
    ok(invoke(acme, *sale("INV-1", "190000")))

    line = refused(acme, *sale("INV-2", "20000"))
    ok(invoke(acme, "payment", "record", "acme", "--invoice", "INV-1", "--amount", "100000"))
    (recorded,) = ok(invoke(acme, *sale("INV-2", "20000")))

    assert "owes to 210,000.00 CNY" in line
    assert recorded == 'recorded SaleRecorded (version 4) on "acme": INV-2'


def test_P1_a_sale_at_the_credit_limit_is_recorded(acme: str) -> None:
    assert ok(invoke(acme, *sale("INV-1", "200000"))) == [
        'recorded SaleRecorded (version 2) on "acme": INV-1'
    ]


def test_P1_a_discount_over_the_ceiling_is_refused_and_one_at_it_recorded(acme: str) -> None:
    line = refused(acme, *sale("INV-1", "1000", "--discount", "15.5"))
    (recorded,) = ok(invoke(acme, *sale("INV-1", "1000", "--discount", "15")))

    assert line == (
        "Error: P1: a discount of 15.5% on sale INV-1 is over the 15% ceiling; "
        + missing("discount-ceiling", "INV-1")
    )
    assert recorded == 'recorded SaleRecorded (version 2) on "acme": INV-1'


def test_P1_an_approvers_exception_lets_one_sale_through(acme: str) -> None:
    appoint_approver(acme)

    waiting = refused(acme, *sale("INV-1", "250000"))
    ok(invoke(acme, *request("credit-limit", "INV-1")))
    pending = refused(acme, *sale("INV-1", "250000"))
    (granted,) = ok(invoke(acme, "exception", "approve", "acme", "E-1", actor=APPROVER))
    (recorded,) = ok(invoke(acme, *sale("INV-1", "250000")))
    again = refused(acme, *sale("INV-2", "1000"))

    assert waiting.endswith(missing("credit-limit", "INV-1"))
    assert pending.endswith(
        "missing: an approval of exception E-1, requested by li.wei; an approver who is not"
        " li.wei runs `kamflow exception approve acme E-1`"
    )
    assert granted == (
        'recorded PolicyExceptionApproved (version 3) on "acme": E-1, approved by zhao.director'
    )
    assert recorded == 'recorded SaleRecorded (version 4) on "acme": INV-1'
    assert again.startswith('Error: P1: sale INV-2 would take what "acme" owes to 251,000.00')


def test_P1_an_exception_for_one_invoice_does_not_cover_another(acme: str) -> None:
    appoint_approver(acme)
    grant(acme, "discount-ceiling", "INV-7")

    line = refused(acme, *sale("INV-1", "1000", "--discount", "20"))
    (recorded,) = ok(invoke(acme, *sale("INV-7", "1000", "--discount", "20")))

    assert line.startswith("Error: P1: a discount of 20% on sale INV-1 is over the 15% ceiling")
    assert recorded.endswith(": INV-7")


def test_P1_an_actor_without_the_approver_role_cannot_approve_an_exception(acme: str) -> None:
    appoint_approver(acme)
    ok(invoke(acme, "roster", "grant", "wang.fang", "kam", "--reason", "KAM"))
    ok(invoke(acme, *request("credit-limit", "INV-1"), actor="wang.fang"))

    line = refused(acme, "exception", "approve", "acme", "E-1", actor="li.wei")

    assert line == (
        'Error: role approver: "exception approve" needs the approver role and li.wei holds'
        " admin, kam; an admin can grant it with `kamflow roster grant li.wei approver"
        " --reason ...`"
    )


def test_P1_an_approver_whose_role_was_revoked_can_no_longer_grant(acme: str) -> None:
    appoint_approver(acme)
    ok(invoke(acme, "roster", "revoke", APPROVER, "approver", "--reason", "left the company"))

    ok(invoke(acme, *request("credit-limit", "INV-1")))
    line = refused(acme, "exception", "approve", "acme", "E-1", actor=APPROVER)

    assert line.startswith('Error: role approver: "exception approve" needs the approver role')


def test_P1_a_recorded_policy_change_applies_to_the_next_sale(acme: str) -> None:
    ok(invoke(acme, "policy", "set", "credit-limit.target", "1000", "--reason", "credit crunch"))

    line = refused(acme, *sale("INV-1", "2000"))

    assert "over the target-tier credit limit of 1,000.00" in line


# ------------------------------------------------------------------ P2
def test_P2_a_payment_for_an_unknown_invoice_is_refused(acme: str) -> None:
    line = refused(acme, "payment", "record", "acme", "--invoice", "INV-9", "--amount", "100")

    assert line == (
        'Error: P2: payment references invoice INV-9, which is not a sale on "acme";'
        " record the sale first"
    )


def test_P2_a_payment_over_what_is_still_owed_is_refused(acme: str) -> None:
    ok(invoke(acme, *sale("INV-1", "1000")))
    ok(invoke(acme, "payment", "record", "acme", "--invoice", "INV-1", "--amount", "600"))

    line = refused(acme, "payment", "record", "acme", "--invoice", "INV-1", "--amount", "400.01")
    ok(invoke(acme, "payment", "record", "acme", "--invoice", "INV-1", "--amount", "400"))

    assert line == (
        "Error: P2: payment of 400.01 CNY exceeds the 400.00 still owed on invoice INV-1"
    )
    assert account_json(acme)["money"] == {
        "CNY": {
            "revenue": "1000.00",
            "cost_of_sales": "1000.00",
            "gross_margin": "0.00",
            "service_cost": "0",
            "real_profit": "0.00",
            "received": "1000.00",
            "receivable": "0",
        }
    }


def test_P2_a_second_sale_on_the_same_invoice_is_refused(acme: str) -> None:
    ok(invoke(acme, *sale("INV-1", "1000")))

    line = refused(acme, *sale("INV-1", "500"))

    assert line == (
        'Error: P2: invoice INV-1 is already recorded on "acme"; each sale needs its own'
        " invoice ref"
    )


# ------------------------------------------------------------------ P3
NEVER_OPENED = [
    ["complaint", "raise", "ghost", "--summary", "late", "--severity", "high"],
    ["visit", "log", "ghost", "--with", "Wang Fang", "--purpose", "p", "--objective", "o"],
    ["contact", "add", "ghost", "Wang Fang", "--title", "buyer", "--department", "procurement"],
    sale("INV-1", "100", key="ghost"),
    ["payment", "record", "ghost", "--invoice", "INV-1", "--amount", "100"],
    ["stage", "advance", "ghost", "early"],
    ["program", "complete", "ghost", "confirm", "--evidence", "top-20%"],
    ["team", "assign", "ghost", "zhang.min"],
    ["account", "lose", "ghost", "--cause", "price"],
    ["account", "update", "ghost", "--size", "12 mills"],
    ["tier", "set", "ghost", "key", "--reason", "big"],
    ["opp", "open", "ghost", "--title", "line 3"],
    ["exception", "grant", "ghost", "--rule", "credit-limit", "--reason", "r"],
]


@pytest.mark.parametrize("args", NEVER_OPENED, ids=lambda a: " ".join(a[:2]))
def test_P3_no_fact_is_recorded_for_an_account_never_opened(db: str, args: list[str]) -> None:
    open_account(db, key="other")

    line = refused(db, *args)

    assert line == (
        'Error: P3: account "ghost" has no file; open it first with'
        " `kamflow account open ghost --name ... --industry ... --owner ...`"
    )


def test_P3_the_same_fact_is_recorded_once_the_file_is_opened(db: str) -> None:
    args = ["complaint", "raise", "ghost", "--summary", "late", "--severity", "high"]
    refused(db, *args)
    open_account(db, key="ghost")

    assert ok(invoke(db, *args)) == ['recorded ComplaintRaised (version 2) on "ghost": C-1']


@pytest.mark.parametrize("missing", ["--name", "--industry", "--owner"])
def test_P3_an_account_is_not_opened_without_its_minimum_file(db: str, missing: str) -> None:
    fields = {"--name": "Acme", "--industry": "feed", "--owner": ACTOR}
    del fields[missing]

    line = refused(db, "account", "open", "acme", *(x for kv in fields.items() for x in kv), code=2)

    assert line == f"Error: missing option {missing}"


# ------------------------------------------------------------------ P4
@pytest.mark.parametrize(
    ("tier", "amount", "limit"),
    [("key", "1000000.01", "1,000,000.00"), ("strategic", "5000001", "5,000,000.00")],
)
def test_P4_the_biggest_tiers_meet_the_same_credit_limit_check(
    db: str, tier: str, amount: str, limit: str
) -> None:
    open_account(db, tier=tier)

    line = refused(db, *sale("INV-1", amount))

    assert line.startswith("Error: P4: sale INV-1 would take what")
    assert line.endswith(
        f"over the {tier}-tier credit limit of {limit}; {tier} accounts get no automatic"
        " exception; " + missing("credit-limit", "INV-1")
    )


@pytest.mark.parametrize(
    ("tier", "principle"), [("target", "P1"), ("key", "P4"), ("strategic", "P4")]
)
def test_P4_a_discount_ceiling_is_the_same_for_every_tier(
    db: str, tier: str, principle: str
) -> None:
    open_account(db, tier=tier)

    line = refused(db, *sale("INV-1", "1000", "--discount", "20"))
    (recorded,) = ok(invoke(db, *sale("INV-1", "1000", "--discount", "15")))

    assert line.startswith(
        f"Error: {principle}: a discount of 20% on sale INV-1 is over the 15% ceiling;"
    )
    assert recorded.endswith(": INV-1")


def test_P4_a_strategic_account_gets_its_exception_only_from_an_approver(db: str) -> None:
    open_account(db, tier="strategic")
    appoint_approver(db)
    ok(invoke(db, *request("discount-ceiling", "INV-1")))

    by_owner = refused(db, "exception", "approve", "acme", "E-1", actor=ACTOR)
    ok(invoke(db, "exception", "approve", "acme", "E-1", actor=APPROVER))
    (recorded,) = ok(invoke(db, *sale("INV-1", "1000", "--discount", "30")))

    assert by_owner.startswith('Error: role approver: "exception approve" needs the approver')
    assert recorded == 'recorded SaleRecorded (version 4) on "acme": INV-1'


def test_P4_promotion_to_key_does_not_lift_the_check(acme: str) -> None:
    ok(invoke(acme, *sale("INV-1", "150000")))
    ok(invoke(acme, "tier", "set", "acme", "key", "--reason", "top-20% by profit"))

    line = refused(acme, *sale("INV-2", "1000", "--discount", "16"))

    assert line.startswith("Error: P4: a discount of 16% on sale INV-2 is over the 15% ceiling;")


# ------------------------------------------------------------------ P5
@pytest.mark.parametrize("tier", ["prospect", "target", "key", "strategic"])
@pytest.mark.parametrize("value", ["0", "off"])
def test_P5_no_tier_can_be_exempted_from_a_contact_cadence(db: str, tier: str, value: str) -> None:
    line = refused(db, "policy", "set", f"contact-cadence-days.{tier}", value, "--reason", "small")

    assert line == (
        f"Error: P5: every active account has a contact cadence, however small; the {tier}"
        " tier cannot be exempted (give 1-365 days)"
    )


def test_P5_a_positive_cadence_is_recorded_and_shown_with_who_set_it(db: str) -> None:
    (recorded,) = ok(
        invoke(
            db, "policy", "set", "contact-cadence-days.prospect", "120", "--reason", "board 2026-11"
        )
    )
    shown = json_of(invoke(db, "policy", "show", "--json"))

    assert recorded == (
        "recorded Started (version 1), AdminBootstrapped (version 2), PolicySet (version 3)"
        ' on "governance":'
        " contact-cadence-days.prospect = 120"
    )
    row = next(r for r in shown if r["policy"] == "contact-cadence-days.prospect")
    assert {k: row[k] for k in ("value", "default", "set_by", "reason", "principle")} == {
        "value": 120,
        "default": False,
        "set_by": ACTOR,
        "reason": "board 2026-11",
        "principle": "P5",
    }
    untouched = next(r for r in shown if r["policy"] == "contact-cadence-days.key")
    assert (untouched["value"], untouched["default"], untouched["set_by"]) == (30, True, None)


def test_P5_the_policy_table_shows_who_set_a_cadence(db: str) -> None:
    ok(invoke(db, "policy", "set", "contact-cadence-days.key", "21", "--reason", "board"))

    table = ok(invoke(db, "policy", "show"))

    row = next(line for line in table if line.startswith("contact-cadence-days.key "))
    assert row.split()[:4] == ["contact-cadence-days.key", "21", "no", ACTOR]


# ------------------------------------------------------------------ P6
VISIT = ["visit", "log", "acme", "--with", "Wang Fang", "--purpose", "phytase trial"]


@pytest.fixture
def acme_with_wang_fang(acme: str) -> str:
    ok(
        invoke(
            acme,
            "contact",
            "add",
            "acme",
            "Wang Fang",
            "--title",
            "buyer",
            "--department",
            "purchase",
        )
    )
    return acme


def test_P6_a_visit_without_a_result_is_refused(acme_with_wang_fang: str) -> None:
    db = acme_with_wang_fang

    line = refused(db, *VISIT, "--objective", "agree trial size")
    (recorded,) = ok(
        invoke(db, *VISIT, "--objective", "agree trial size", "--result", "2 t agreed")
    )

    assert line == (
        'Error: P6: a visit to "acme" needs a result as well as a purpose and an objective;'
        " add --result"
    )
    assert recorded == 'recorded VisitLogged (version 3) on "acme": V-1'


def test_P6_an_issue_found_stays_open_until_one_follow_up_result(acme_with_wang_fang: str) -> None:
    db = acme_with_wang_fang
    ok(invoke(db, *VISIT, "--objective", "size", "--result", "agreed", "--issue", "price vs DSM"))
    open_before = account_json(db)["open_issues"]

    ok(invoke(db, "visit", "follow-up", "acme", "I-1", "--result", "price matched"))
    line = refused(db, "visit", "follow-up", "acme", "I-1", "--result", "again")

    assert [i["id"] for i in open_before] == ["I-1"]
    assert account_json(db)["open_issues"] == []
    assert line == 'Error: issue I-1 on "acme" already has a follow-up result'


# ------------------------------------------------------------------ P7, P8
def lose_and_review(db: str) -> None:
    ok(invoke(db, "account", "lose", "acme", "--cause", "switched to DSM on price"))
    ok(
        invoke(
            db, "account", "review", "acme", "--cause", "one thread", "--lessons", "map the buyers"
        )
    )


def test_P7_archive_is_refused_while_a_complaint_lacks_an_outcome(acme: str) -> None:
    ok(
        invoke(
            acme, "complaint", "raise", "acme", "--summary", "late delivery", "--severity", "high"
        )
    )
    lose_and_review(acme)

    line = refused(acme, "account", "archive", "acme")
    ok(invoke(acme, "complaint", "resolve", "acme", "C-1", "--outcome", "credit note"))
    (archived,) = ok(invoke(acme, "account", "archive", "acme"))

    assert line == ('Error: P7: complaint C-1 on "acme" has no outcome; resolve or reject it first')
    assert archived == 'recorded AccountArchived (version 6) on "acme": archived'


@pytest.mark.parametrize("steps", [[], ["ack"], ["ack", "investigate"], ["escalate"]])
def test_P7_an_open_complaint_cannot_be_closed(acme: str, steps: list[str]) -> None:
    ok(
        invoke(
            acme, "complaint", "raise", "acme", "--summary", "late delivery", "--severity", "high"
        )
    )
    for step in steps:
        extra = ["--reason", "line stopped"] if step == "escalate" else []
        ok(invoke(acme, "complaint", step, "acme", "C-1", *extra))

    line = refused(acme, "complaint", "close", "acme", "C-1", "--confirmation", "phone")
    ok(
        invoke(
            acme, "complaint", "reject", "acme", "C-1", "--justification", "damage after delivery"
        )
    )
    (closed,) = ok(invoke(acme, "complaint", "close", "acme", "C-1", "--confirmation", "phone"))

    assert line == ('Error: P7: complaint C-1 on "acme" has no outcome; resolve or reject it first')
    assert closed.startswith("recorded ComplaintClosed")


def test_P8_archive_of_a_lost_account_waits_for_its_post_mortem(acme: str) -> None:
    ok(invoke(acme, "account", "lose", "acme", "--cause", "switched to DSM on price"))

    line = refused(acme, "account", "archive", "acme")
    ok(
        invoke(
            acme, "account", "review", "acme", "--cause", "one thread", "--lessons", "map buyers"
        )
    )
    (archived,) = ok(invoke(acme, "account", "archive", "acme"))

    assert line == (
        'Error: P8: account "acme" was lost without a post-mortem; record one with'
        " `kamflow account review acme --cause ... --lessons ...`"
    )
    assert archived == 'recorded AccountArchived (version 4) on "acme": archived'
    assert account_json(acme)["lifecycle"] == "archived"


# ------------------------------------------------------------------ bad input
STEP_NAMES = (
    "'confirm', 'deploy-team', 'map-decision-process', 'research-opportunities',"
    " 'draft-objectives', 'secure-resources', 'publish-plan', 'implement', 'monitor',"
    " 'measure-results'"
)
BAD_INPUT = [
    pytest.param(
        ["workflow", "show", "approval"],
        2,
        'Error: unknown workflow "approval"; one of: complaint, program, stage, lifecycle,'
        " opportunity",
        id="unknown workflow",
    ),
    pytest.param(
        ["program", "complete", "acme", "celebrate", "--evidence", "cake"],
        2,
        f"Error: Invalid value for 'STEP': 'celebrate' is not one of {STEP_NAMES}.",
        id="unknown step",
    ),
    pytest.param(
        ["stage", "advance", "acme", "married"],
        2,
        "Error: Invalid value for 'STAGE': 'married' is not one of 'pre-kam', 'early', 'mid',"
        " 'partnership', 'synergistic'.",
        id="unknown stage",
    ),
    pytest.param(
        ["program", "complete", "acme", "publish-plan", "--evidence", "plan"],
        1,
        'Error: the program of "acme" is not started; steps go in order, so the next is'
        ' "confirm", not "publish-plan"',
        id="step out of order",
    ),
    pytest.param(
        ["stage", "advance", "acme", "partnership"],
        1,
        'Error: account "acme"\'s relationship is pre-kam; stages go one at a time, so the'
        " next is early, not partnership",
        id="stage out of order",
    ),
    pytest.param(
        ["exception", "grant", "acme", "--rule", "credit-limit", "--reason", "friend"],
        1,
        "Error: P1: an exception needs two people (four eyes): request it with `kamflow"
        " exception request acme --rule credit-limit --reason friend` and an approver who is"
        " not the requester runs `kamflow exception approve acme E-n`",
        id="exception without four eyes",
    ),
    pytest.param(
        ["policy", "set", "credit-limit.key", "lots", "--reason", "r"],
        2,
        "Error: policy credit-limit.key: 'lots' is not a plain number such as 85000.50"
        " or 85,000.50",
        id="policy value not a number",
    ),
    pytest.param(
        ["policy", "set", "complaint-sla-days.key", "2.5", "--reason", "r"],
        2,
        "Error: policy complaint-sla-days.key needs a whole number of days, got 2.5",
        id="policy days not whole",
    ),
    pytest.param(
        ["policy", "set", "complaint-sla-days.key", "91", "--reason", "r"],
        2,
        "Error: policy complaint-sla-days.key must be between 1 and 90, got 91",
        id="policy over range",
    ),
    pytest.param(
        ["policy", "set", "discount-ceiling-pct", "100.5", "--reason", "r"],
        2,
        "Error: policy discount-ceiling-pct must be between 0 and 100, got 100.5",
        id="policy percent over range",
    ),
    pytest.param(
        ["policy", "set", "credit-limit.target", "NaN", "--reason", "r"],
        2,
        "Error: policy credit-limit.target: 'NaN' is not a plain number such as 85000.50"
        " or 85,000.50",
        id="policy value NaN",
    ),
    pytest.param(
        ["policy", "set", "credit-limit.platinum", "5", "--reason", "r"],
        2,
        'Error: unknown policy "credit-limit.platinum"; see `kamflow policy show` for the names',
        id="unknown policy",
    ),
    pytest.param(
        ["roster", "grant", APPROVER, "king", "--reason", "r"],
        2,
        "Error: Invalid value for 'ROLE': 'king' is not one of 'admin', 'approver', 'kam',"
        " 'auditor', 'delegate'.",
        id="unknown role",
    ),
]


@pytest.mark.parametrize(("args", "code", "message"), BAD_INPUT)
def test_bad_input_is_one_clear_line_a_non_zero_exit_and_nothing_written(
    acme: str, args: list[str], code: int, message: str
) -> None:
    line = refused(acme, *args, code=code)

    assert line == message


def test_a_refused_policy_leaves_the_policy_as_it_was(db: str) -> None:
    ok(invoke(db, "policy", "set", "complaint-sla-days.key", "4", "--reason", "board"))

    refused(db, "policy", "set", "complaint-sla-days.key", "0", "--reason", "r", code=2)
    shown = json_of(invoke(db, "policy", "show", "--json"))

    row = next(r for r in shown if r["policy"] == "complaint-sla-days.key")
    assert (row["value"], row["set_by"]) == (4, ACTOR)
