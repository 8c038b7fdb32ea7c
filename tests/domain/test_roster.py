"""The roster a single write reads from the stored JSON (kamflow.domain.roster, ADR
0029) is the aggregate's: same people and roles, same spelling, same refusals."""

from __future__ import annotations

import pytest
from conftest import ACTOR, run

from kamflow.application import Kamflow
from kamflow.domain.errors import KamflowError
from kamflow.domain.roster import Roster
from kamflow.identity import derived_key


def light_roster(kf: Kamflow) -> Roster | None:
    known, roster = kf._read_roster()
    assert known
    return roster


def refusal(who: Kamflow | Roster, actor: str) -> str | None:
    target = who.governance() if isinstance(who, Kamflow) else who
    try:
        target.authorize(actor, "approver", "exception approve")
    except KamflowError as exc:
        return str(exc)
    return None


def test_the_roster_read_from_json_is_the_aggregates_after_grants_and_revokes(
    sqlite_locator: str,
) -> None:
    kf = Kamflow(sqlite_locator)
    try:
        assert light_roster(kf) is None  # nothing recorded yet
        fields = {"account": "acme", "name": "Acme", "industry": "feed", "owner": ACTOR}
        run(kf, "account open", fields)  # the first writer becomes admin and KAM
        new = derived_key("wu", b"a new laptop").public
        steps = [
            ("roster grant", {"person": "Zhao Min", "role": "approver", "reason": "r"}),
            ("roster grant", {"person": "zhao  min", "role": "kam", "reason": "r"}),
            ("roster grant", {"person": "Wu", "role": "admin", "reason": "r"}),
            ("policy set", {"policy": "discount-ceiling-pct", "value": "12", "reason": "r"}),
            ("roster revoke", {"person": "ZHAO MIN", "role": "approver", "reason": "r"}),
            ("roster revoke", {"person": "zhao min", "role": "kam", "reason": "r"}),
            ("roster revoke-key", {"person": "wu", "reason": "r"}),
            # A new key: the revoked one is never bound again.
            ("roster grant", {"person": "Ｗｕ", "role": "approver", "reason": "r", "key": new}),
        ]
        for name, step in steps:
            run(kf, name, step)
            roster = light_roster(kf)
            assert roster is not None
            governance = kf.governance()
            assert roster.roster == governance.roster, name
            assert roster.enforcing == governance.enforcing
            assert (roster.keys, roster.signing) == (governance.key_book(), governance.signing)
            assert roster.revoked_keys() == governance.revoked_keys()
            for actor in (ACTOR, "Zhao Min", "wu", "Ｗｕ", "stranger"):
                assert roster.person(actor) == governance.person(actor)
                assert refusal(roster, actor) == refusal(kf, actor), (name, actor)
    finally:
        kf.close()


def test_a_write_refused_by_role_is_refused_alike_and_a_spelling_acts_as_the_roster_name(
    sqlite_locator: str,
) -> None:
    kf = Kamflow(sqlite_locator)
    try:
        fields = {"account": "acme", "name": "Acme", "industry": "feed", "owner": ACTOR}
        run(kf, "account open", fields)
        run(kf, "roster grant", {"person": "Zhao Min", "role": "kam", "reason": "r"})
        cost = {"account": "acme", "amount": "5", "category": "travel"}
        run(kf, "cost record", cost, actor="ZHAO  MIN")
        assert [e.actor for e in kf.history("acme")][-1] == "Zhao Min"
        with pytest.raises(KamflowError, match='"cost record" needs the kam role and wu is not'):
            run(kf, "cost record", cost, actor="wu")
    finally:
        kf.close()


def test_an_unknown_governance_event_makes_a_write_read_the_aggregate() -> None:
    roster = Roster()
    assert roster.apply("kamflow.domain.governance:Governance.KeyAdded", {"person": "li"}) is False
    assert roster.apply("kamflow.domain.governance:Governance.RateSet", {}) is True
