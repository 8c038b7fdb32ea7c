"""`audit verify`'s check of the signatures (ADR 0025): every write's signature against
the key the roster held for its signer when it was written.

One pass over the log in order (``kamflow.sealed.iter_sealed``), with the stored
signatures (``kamflow.signing.read_signatures``, one row per write) and the roster as
it stood: governance events are decoded as the walk meets them and take effect after
the write that holds them (the first admin's key, recorded in the very write it
signs, excepted). For each write:

- ``bad signature``: the signature does not verify over the write's events and
  positions with the key it names (an event of the write edited, inserted or moved; the
  signature edited, or copied from other events);
- ``not entitled``: the key it names was not the signer's at the time (none
  registered, revoked or replaced, another person's), an event of the write is recorded
  under another person's name, or a write for someone else (``--on-behalf-of``) by a
  signer who did not hold the delegate role;
- ``history rewritten``: the write is intact, but the seal before it is not the one its
  writer saw (events before it were changed and the chain recomputed; named once, at
  the first such write);
- ``unsigned``: an event no signature covers, written while signatures were required.

Events written while signatures were off are counted, not findings: ``unsigned`` ranges.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kamflow.seal import GENESIS, Row, link

if TYPE_CHECKING:
    from kamflow.application import Kamflow
    from kamflow.signing import Signature
    from kamflow.verify import Finding

_ACTOR = re.compile(rb'"actor":"((?:[^"\\]|\\.){0,2000})"')


@dataclass
class SignatureCheck:
    """What the check found: writes whose signature verified, events they cover, the
    ranges of positions written unsigned while signatures were off, the findings."""

    writes: int = 0
    events: int = 0
    unsigned_off: list[tuple[int, int]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    required: bool = False  # whether signatures were required at the end of the log

    def summary(self) -> str:
        off = ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in self.unsigned_off)
        text = f"{self.writes:,} writes ({self.events:,} events) signed by their actor's key"
        if off:
            text += f"; unsigned while signatures were off: positions {off}"
        if not self.required:
            text += "; signatures are off (an admin turns them on: policy set signatures required)"
        return text


class _Roster:
    """Keys, roles and the signatures setting as they stood at a point of the log."""

    def __init__(self) -> None:
        self.keys: dict[str, str] = {}  # identity -> public key text
        self.roles: dict[str, set[str]] = {}
        self.ended: dict[tuple[str, str], str] = {}  # (identity, key) -> why it ended
        self.signing = False

    def apply(self, event: tuple[str, dict[str, Any]] | None, position: int) -> None:
        from kamflow.domain.values import identity

        if event is None:
            return
        kind, values = event
        person = identity(str(values.get("person", "")))
        if kind in ("AdminBootstrapped", "RoleGranted"):
            roles = values.get("roles") or [values.get("role")]
            self.roles.setdefault(person, set()).update(str(r) for r in roles)
            if values.get("key"):
                self._bind(person, str(values["key"]), position)
            if values.get("signatures"):
                self.signing = values["signatures"] == "required"
        elif kind == "RoleRevoked":
            self.roles.get(person, set()).discard(str(values["role"]))
        elif kind == "KeyRegistered":
            self._bind(person, str(values["key"]), position)
        elif kind == "KeyRevoked":
            old = self.keys.pop(person, None)
            if old is not None:
                self.ended[(person, old)] = f"revoked at position {position}"
        elif kind == "SettingSet" and values.get("setting") == "signatures":
            self.signing = values["value"] == "required"

    def _bind(self, person: str, key: str, position: int) -> None:
        old = self.keys.get(person)
        if old is not None and old != key:
            self.ended[(person, old)] = f"replaced at position {position}"
        self.keys[person] = key


def check(kamflow: Kamflow) -> SignatureCheck:
    """Check every signature of the store ``kamflow`` has open (see the module)."""
    from kamflow.export import Plain
    from kamflow.sealed import iter_sealed
    from kamflow.signing import read_signatures

    signatures = read_signatures(kamflow)
    return check_rows(iter_sealed(kamflow), signatures.get, Plain(kamflow.app.mapper))


def check_rows(
    rows: Iterable[Row],
    signature_at: Callable[[int], Signature | None],
    plain: Callable[[bytes], Any],
) -> SignatureCheck:
    """Check the signatures of ``rows`` (the log in order, from its start): the write
    signed at a position is ``signature_at(position)``, asked once its first row was
    read (so an export can be checked as it streams); ``plain(state)`` is the JSON
    object a stored event holds (``kamflow.export.Plain``)."""
    result = SignatureCheck()
    roster = _Roster()
    walker = _Walker(plain, roster, result)
    pending: Signature | None = None
    group: list[Row] = []
    previous_seal = GENESIS
    anchor_seen = GENESIS
    for row in rows:
        if pending is None:
            pending = signature_at(row.position)
            if pending is not None:
                group, anchor_seen = [], previous_seal
        if pending is not None:
            group.append(row)
            if row.position >= pending.last:
                walker.write(pending, group, anchor_seen)
                pending = None
        else:
            walker.unsigned(row)
        previous_seal = row.seal if row.seal is not None else previous_seal
    if pending is not None:
        walker.write(pending, group, anchor_seen)
    walker.close()
    result.required = roster.signing
    return result


class _Walker:
    def __init__(
        self, plain: Callable[[bytes], Any], roster: _Roster, result: SignatureCheck
    ) -> None:
        from kamflow.domain.values import GOVERNANCE_ID

        self.plain = plain
        self.roster = roster
        self.result = result
        self.governance = GOVERNANCE_ID
        self.off: tuple[int, int] | None = None
        self.rewritten = False

    def _finding(self, where: str, kind: str, detail: str) -> None:
        from kamflow.verify import Finding

        self.result.findings.append(Finding("signature", where, kind, detail))

    def _decode(self, row: Row) -> tuple[str, dict[str, Any]] | None:
        """The event's class name and stored fields, or None when it cannot be read
        (an edit: the seals name it)."""
        try:
            values = self.plain(row.state)
        except Exception:  # whatever an edited row makes the decoder raise
            return None
        if not isinstance(values, dict):
            return None
        return row.topic.rsplit(".", 1)[-1], values

    def _actor(self, row: Row) -> str:
        found = _ACTOR.search(row.state)
        if found is not None:
            try:
                return str(json.loads(b'"' + found.group(1) + b'"'))
            except ValueError:
                pass
        event = self._decode(row)
        return "" if event is None else str(event[1].get("actor", ""))

    def _delegate(self, row: Row) -> str | None:
        """Who the event says recorded it for its actor (``Event.delegate``), or None.
        Plain JSON without the key has none: no decoding for almost every event."""
        if row.state[:1] == b"{" and b'"delegate"' not in row.state:
            return None
        event = self._decode(row)
        found = None if event is None else event[1].get("delegate")
        return found if isinstance(found, str) else None

    def _governance(self, row: Row) -> None:
        if row.originator_id == self.governance:
            self.roster.apply(self._decode(row), row.position)

    def unsigned(self, row: Row) -> None:
        if self.roster.signing:
            self._close_off()
            self._finding(
                str(row.position),
                "unsigned",
                f"an event recorded as {self._actor(row)!r} that no signature covers, written"
                " while signatures were required: written outside kamflow",
            )
        elif self.off is not None and self.off[1] == row.position - 1:
            self.off = (self.off[0], row.position)
        else:
            self._close_off()
            self.off = (row.position, row.position)
        self._governance(row)

    def _close_off(self) -> None:
        if self.off is not None:
            self.result.unsigned_off.append(self.off)
            self.off = None

    def close(self) -> None:
        self._close_off()

    def write(self, signature: Signature, rows: list[Row], anchor_seen: bytes) -> None:
        from kamflow.domain.values import identity
        from kamflow.identity import valid

        self._close_off()
        where = f"{signature.first}" + (
            f"-{signature.last}" if signature.last > signature.first else ""
        )
        signer = identity(signature.signer)
        decoded = [(row, self._decode(row)) for row in rows if row.originator_id == self.governance]
        key = self.roster.keys.get(signer)
        if key is None and not self.roster.roles:
            # The first write of a database: its admin's key is recorded in it.
            for _, event in decoded:
                if (
                    event is not None
                    and event[0] == "AdminBootstrapped"
                    and identity(str(event[1].get("person", ""))) == signer
                ):
                    key = event[1].get("key")
        head = signature.anchor
        anchored = len(head) == len(GENESIS)  # a seal, as kamflow writes it; else edited
        for row in rows if anchored else ():
            head = link(head, row.position, row.originator_id, row.version, row.topic, row.state)
        problem: tuple[str, str] | None = None
        if not anchored:
            problem = ("bad signature", "its row is not as kamflow writes it (the anchor)")
        elif not rows or rows[0].position != signature.first or rows[-1].position != signature.last:
            problem = ("bad signature", "the events it covers are not the ones signed")
        elif key is None or _key_id(key) != signature.key_id:
            ended = next(
                (
                    why
                    for (person, old), why in self.roster.ended.items()
                    if person == signer and _key_id(old) == signature.key_id
                ),
                None,
            )
            if ended is not None:
                problem = ("not entitled", f"signed by {signature.signer} with a key {ended}")
            elif key is None:
                problem = (
                    "not entitled",
                    f"signed by {signature.signer}, who had no key registered then",
                )
            else:
                problem = (
                    "not entitled",
                    f"signed as {signature.signer} with a key that was not theirs"
                    f" (key id {signature.key_id})",
                )
        elif not valid(_raw(key), signature.signature, signature.message(head)):
            problem = (
                "bad signature",
                f"{signature.signer}'s signature does not verify: these events, or the"
                " signature, are not the ones signed (edited, inserted, or copied from"
                " other events)",
            )
        else:
            recorded_for = identity(signature.behalf) if signature.behalf else signer
            others = sorted(
                {a for a in (self._actor(r) for r in rows) if identity(a) != recorded_for}
            )
            if others:
                problem = (
                    "not entitled",
                    f"signed by {signature.signer}, recorded as {', '.join(others)}",
                )
            elif signature.behalf and "delegate" not in self.roster.roles.get(signer, set()):
                problem = (
                    "not entitled",
                    f"{signature.signer} recorded for {signature.behalf} without the delegate role",
                )
            else:
                # Each event names the delegate who recorded it (shown by history and
                # the audit trail): the signer of a write for someone else, no one else.
                named = signature.signer if signature.behalf else None
                wrong = {d for d in (self._delegate(r) for r in rows) if d != named}
                if wrong:
                    said = ", ".join(sorted(d or "no one" for d in wrong))
                    problem = (
                        "not entitled",
                        f"signed by {signature.signer}"
                        f"{' for ' + signature.behalf if signature.behalf else ''}, its events"
                        f" name {said} as the delegate who recorded them",
                    )
        if problem is not None:
            self._finding(where, *problem)
        else:
            self.result.writes += 1
            self.result.events += len(rows)
            if anchor_seen != signature.anchor and not self.rewritten:
                self.rewritten = True
                self._finding(
                    where,
                    "history rewritten",
                    f"{signature.signer}'s write is intact, but the log before it is not the"
                    " one they signed after: events before position"
                    f" {signature.first} were changed and the seals recomputed",
                )
        for row, event in decoded:
            self.roster.apply(event, row.position)


@functools.lru_cache(maxsize=1024)
def _raw(key: str) -> bytes:
    from kamflow.domain.keys import parse_public

    return parse_public(key)


@functools.lru_cache(maxsize=1024)
def _key_id(key: str) -> str:
    from kamflow.domain.keys import key_id

    return key_id(_raw(key))
