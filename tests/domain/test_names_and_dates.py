"""One name is one record, whatever form it is typed in; nothing is dated before what it
is about began.

The identity rule (values.identity): NFKC, case-folded, inner spaces collapsed, stripped.
Every name, key and reference compared for sameness goes through it; what is shown is
what was first typed.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from conftest import ACTOR, FakeClock, refused, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kamflow.application import Kamflow
from kamflow.domain.conformance import check_history
from kamflow.domain.errors import Conflict, InvalidInput, NotFound, RuleViolation
from kamflow.domain.values import identity, normalise_key

DAY = date(2026, 11, 20)


@pytest.fixture
def kf(sqlite_locator: str) -> Iterator[Kamflow]:
    kamflow = Kamflow(sqlite_locator, clock=FakeClock(DAY))
    yield kamflow
    kamflow.close()


def full_width(text: str) -> str:
    """ASCII letters and digits as a Chinese IME types them (U+FF01..U+FF5E)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def variants(name: str) -> list[str]:
    """Forms of one name a user may type: case, width, NFD, doubled and outer spaces."""
    return [
        name.upper(),
        name.lower(),
        full_width(name),
        unicodedata.normalize("NFD", name),
        "  " + name.replace(" ", "   ") + " ",
        full_width(name.upper()).replace(" ", "\u3000"),  # ideographic space
    ]


WORDS = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzáéíóúāēīōūǎěǐǒǔüñç王芳李娜张伟陈"),
    min_size=1,
    max_size=8,
)
NAMES = st.lists(WORDS, min_size=1, max_size=3).map(" ".join)


@given(NAMES)
def test_every_typed_form_of_a_name_has_one_identity(name: str) -> None:
    assert {identity(v) for v in variants(name)} == {identity(name)}


# ------------------------------------------------------------ through the commands
def open_acme(kf: Kamflow, key: str = "acme") -> None:
    run(
        kf,
        "account open",
        {"account": key, "name": "Acme Feed", "industry": "feed", "owner": "li.wei"},
    )


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(name=NAMES, data=st.data())
def test_variants_of_a_name_always_reach_the_same_record(
    tmp_path_factory: pytest.TempPathFactory, name: str, data: st.DataObject
) -> None:
    db = str(tmp_path_factory.mktemp("names") / "k.db")
    kf = Kamflow(db, clock=FakeClock(DAY))
    try:
        key = "k" + "".join(c for c in identity(name) if c.isalnum())[:20]
        open_acme(kf, key)
        typed = data.draw(st.sampled_from(variants(key)), label="key")
        assert kf.load(typed).key == key

        contact = run(
            kf, "contact add", {"account": key, "contact": name, "title": "GM", "department": "x"}
        ).reference
        again = data.draw(st.sampled_from(variants(name)), label="contact")
        assert kf.load(key).find_contact(again) == contact
        # Another person of that name may be added (ADR 0020); either form then names
        # both, and is refused with their ids.
        run(kf, "contact add", {"account": key, "contact": again, "title": "GM", "department": "y"})
        ambiguous = refused(
            kf, "contact leave", {"account": key, "contact": name, "reason": "r", "analysis": "a"}
        )
        assert isinstance(ambiguous, InvalidInput)
        assert "is P-1 (x) or P-2 (y)" in str(ambiguous)

        run(kf, "team assign", {"account": key, "member": name, "role": "support"})
        member = data.draw(st.sampled_from(variants(name)), label="member")
        assert isinstance(
            refused(kf, "team assign", {"account": key, "member": member, "role": "support"}),
            Conflict,
        )
        run(kf, "team release", {"account": key, "member": member})
        assert kf.load(key).team == {}

        invoice = "INV " + name
        run(
            kf,
            "sale record",
            {"account": key, "invoice": invoice, "product": "p", "amount": "10", "cost": "1"},
        )
        ref = data.draw(st.sampled_from(variants(invoice)), label="invoice")
        duplicate = refused(
            kf,
            "sale record",
            {"account": key, "invoice": ref, "product": "p", "amount": "5", "cost": "1"},
        )
        assert isinstance(duplicate, RuleViolation) and duplicate.principle == "P2"
        assert (
            run(kf, "payment record", {"account": key, "invoice": ref, "amount": "10"}).reference
            == invoice
        )
        assert kf.load(key).invoices == {}

        run(kf, "competitor note", {"account": key, "competitor": name, "strengths": "price"})
        other = data.draw(st.sampled_from(variants(name)), label="competitor")
        run(kf, "competitor note", {"account": key, "competitor": other, "weaknesses": "slow"})
        assert kf.load(key).competitors == {name: {"strengths": "price", "weaknesses": "slow"}}
    finally:
        kf.close()


def test_a_full_width_key_is_the_ascii_key(kf: Kamflow) -> None:
    open_acme(kf)

    error = refused(
        kf,
        "account open",
        {"account": "ＡＣＭＥ", "name": "again", "industry": "feed", "owner": "li.wei"},
    )

    assert isinstance(error, Conflict)
    assert normalise_key("ＡＣＭＥ") == "acme"


def test_two_spaces_and_one_name_the_same_contact(kf: Kamflow) -> None:
    open_acme(kf)
    run(
        kf, "contact add", {"account": "acme", "contact": "Li Na", "title": "GM", "department": "x"}
    )

    # A second person of that name may be added (ADR 0020); naming either way then
    # matches both.
    run(
        kf,
        "contact add",
        {"account": "acme", "contact": "Li  Na", "title": "GM", "department": "y"},
    )
    error = refused(
        kf, "contact leave", {"account": "acme", "contact": "li na", "reason": "r", "analysis": "a"}
    )

    assert str(error) == '"li na" is P-1 (x) or P-2 (y) on "acme"; use the id'


# ------------------------------------------------------------------------ dates
def test_a_complaint_cannot_be_resolved_before_it_was_raised(kf: Kamflow) -> None:
    open_acme(kf)
    run(
        kf,
        "complaint raise",
        {"account": "acme", "summary": "late", "severity": "high", "on": "2026-11-20"},
    )

    error = refused(
        kf,
        "complaint resolve",
        {"account": "acme", "complaint": "C-1", "outcome": "ok", "on": "2026-11-10"},
    )

    assert isinstance(error, InvalidInput)
    assert str(error) == (
        'complaint C-1 was raised on 2026-11-20; "acme" cannot record that on'
        " --on 2026-11-10, before it"
    )
    assert kf.load("acme").complaints["C-1"]["status"] == "raised"


@pytest.mark.parametrize(
    ("setup", "command", "fields", "what"),
    [
        (
            [("opp open", {"title": "line 3", "on": "2026-11-20"})],
            "opp lose",
            {"opportunity": "O-1", "reason": "budget", "on": "2026-11-01"},
            "opportunity O-1 was opened on 2026-11-20",
        ),
        (
            [("sale record", {"invoice": "I1", "product": "p", "amount": "9", "cost": "1"})],
            "payment record",
            {"invoice": "I1", "amount": "9", "on": "2026-10-01"},
            "sale I1 was made on 2026-11-20",
        ),
        (
            [],
            "visit log",
            {"with": ["P-1"], "purpose": "p", "objective": "o", "result": "r", "on": "2026-01-01"},
            "the account was opened on 2026-11-20",
        ),
        (
            [],
            "contact leave",
            {"contact": "P-1", "reason": "r", "analysis": "a", "on": "2026-11-19"},
            "contact P-1 was added on 2026-11-20",
        ),
        (
            [
                (
                    "visit log",
                    {
                        "with": ["P-1"],
                        "purpose": "p",
                        "objective": "o",
                        "result": "r",
                        "issues": ["price"],
                    },
                )
            ],
            "visit follow-up",
            {"issue": "I-1", "result": "ok", "on": "2026-11-19"},
            "issue I-1 was raised on 2026-11-20",
        ),
    ],
)
def test_nothing_is_dated_before_what_it_is_about_began(
    kf: Kamflow,
    setup: list[tuple[str, dict[str, Any]]],
    command: str,
    fields: dict[str, Any],
    what: str,
) -> None:
    open_acme(kf)
    run(
        kf,
        "contact add",
        {"account": "acme", "contact": "Wang Fang", "title": "GM", "department": "x"},
    )
    for name, fields_before in setup:
        run(kf, name, {"account": "acme", **fields_before})
    before = kf.load("acme").version

    error = refused(kf, command, {"account": "acme", **fields})

    assert isinstance(error, InvalidInput)
    assert str(error).startswith(what + ";")
    assert kf.load("acme").version == before


def test_workflow_check_names_a_stored_fact_dated_before_its_item(kf: Kamflow) -> None:
    from kamflow.domain.account import Account
    from kamflow.domain.envelope import Meta

    open_acme(kf)
    run(kf, "complaint raise", {"account": "acme", "summary": "late", "severity": "high"})
    account = kf.load("acme")
    # As an older kamflow or an import would have stored it: no rule asked.
    meta = Meta(ACTOR, "c", date(2026, 11, 1), account.modified_on)
    super(Account, account).record(
        Account.ComplaintResolved, meta, complaint_id="C-1", outcome="ok"
    )
    kf.app.save(account)

    events = [e for e in kf.app.events.get(account.id) if isinstance(e, Account.Event)]

    assert check_history("acme", events) == [
        "acme v3 ComplaintResolved: dated 2026-11-01, before complaint C-1 was raised on 2026-11-20"
    ]


def test_not_found_is_still_not_found_for_an_unknown_variant(kf: Kamflow) -> None:
    open_acme(kf)

    with pytest.raises(NotFound):
        kf.load("acmf")


def test_a_store_from_before_keeps_its_full_width_key_findable(tmp_path: Path) -> None:
    """An account an older kamflow opened under a full-width key (its id was the uuid5
    of the NFC form) is still found by what was typed."""
    import uuid

    from kamflow.domain.account import Account
    from kamflow.domain.envelope import Meta
    from kamflow.domain.values import ACCOUNT_NAMESPACE

    db = str(tmp_path / "old.db")
    clock = FakeClock(DAY)
    kf = Kamflow(db, clock=clock)
    try:
        legacy = uuid.uuid5(ACCOUNT_NAMESPACE, "ａｃｍｅ")
        meta = Meta(ACTOR, "c1", DAY, clock())
        opened = Account._create(
            Account.AccountOpened,
            id=legacy,
            timestamp=meta.recorded_at,
            actor=ACTOR,
            occurred_on=DAY,
            command_id="c1",
            command_id_given=False,
            key="ａｃｍｅ",
            name="Old Acme",
            industry="feed",
            owner="li.wei",
            currency="CNY",
            tier="prospect",
        )
        kf.app.save(opened)

        assert kf.load("ＡＣＭＥ").id == legacy
        run(kf, "complaint raise", {"account": "ａｃｍｅ", "summary": "late", "severity": "low"})
        assert kf.load("ａｃｍｅ").complaints["C-1"]["summary"] == "late"
    finally:
        kf.close()
