"""Export of the sealed log as JSON Lines, and its check with no database. ADR 0018.

An export is three kinds of line, each one JSON object::

    {"format": "kamflow-export-v1", "algorithm": "sha256-chain-v1", "kamflow": "0.1.0",
     "made_at": "2026-12-01T02:13:18Z", "account": null, "account_id": null,
     "seal_meta": {}}                                                # the header
    {"position": 7, "account": "acme", "account_id": "<32 hex>", "version": 3,
     "type": "TierChanged", "actor": "li.wei", "delegate": null, "occurred_on": "2026-03-02",
     "recorded_at": "2026-03-02T01:02:03+00:00", "command_id": "...",
     "payload": {...}, "topic": "kamflow.domain.account:Account.TierChanged",
     "state": "<the stored bytes, as text>", "previous": "<64 hex>", "seal": "<64 hex>"}
    {"checkpoint": {...}}                                            # signed, the last line

Each event line carries what a reader needs to check it alone: the stored bytes exactly
as the database holds them (``state``; ``state_base64`` instead when they are not UTF-8
text, e.g. compressed or encrypted), the seal of the event before it in the log
(``previous``) and its own seal. ``seal.link(previous, position, account id, version,
topic, state) == seal`` proves the line is what was sealed; the readable fields (type,
actor, dates, command id, payload, account key) are checked to be what ``state``
decodes to, so that no one reads an edited payload beside intact stored bytes. In a
whole-log export each line's ``previous`` is the line before's ``seal``, and the
checkpoint at the end signs the log's size and head. An ``--account`` export holds one
account's lines: each verifies alone, its versions must run 1, 2, 3... with none
missing, and its checkpoint also signs that account's event count, last seal and a
SHA-256 of all its lines' seals (a line changed and resealed is found there).

Streaming both ways: the writer reads the log in batches and the checker reads the
file a line at a time; memory grows with the number of accounts (their keys and last
versions), not with the log.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import islice
from typing import IO, TYPE_CHECKING, Any

from kamflow.checkpoint import Checkpoint, VerifyFailed, check_signature, make, parse, utc_text
from kamflow.domain.errors import InvalidInput
from kamflow.seal import ALGORITHM, GENESIS, Break, Row, link, walk

if TYPE_CHECKING:
    from kamflow.application import Kamflow
    from kamflow.checkpoint import SigningKey
    from kamflow.signing import Signature

FORMAT = "kamflow-export-v1"
BATCH = 2000
Progress = Callable[[int], None]


def is_export(first_line: bytes | str) -> bool:
    """Whether a file's first line is a kamflow export's header."""
    text = first_line.decode("utf-8", "replace") if isinstance(first_line, bytes) else first_line
    if f'"{FORMAT}"' not in text:
        return False
    try:
        header = json.loads(text)
    except ValueError:
        return False
    return isinstance(header, dict) and header.get("format") == FORMAT


# ------------------------------------------------------------------ reading the store
def store_plain(locator: str) -> Plain:
    """How to get the JSON of the store's stored events: as they are, or through the
    cipher and compressor the store's settings name (its mapper's)."""
    from kamflow.storage import parse as parse_store
    from kamflow.stored import log_mapper

    return Plain(log_mapper(parse_store(locator).env()))


def offline_plain() -> Plain:
    """For an offline check: with the settings of the process's environment (a cipher
    key, if the store's events were encrypted)."""
    from kamflow.stored import log_mapper

    return Plain(log_mapper({}))


class Plain:
    """The stored bytes of an event as the JSON object they hold (eventsourcing's
    mapper: decrypted, then decompressed, when the store has a cipher or compressor)."""

    def __init__(self, mapper: Any) -> None:
        from pydantic_core import from_json

        self.parse = from_json
        self.cipher = mapper.cipher
        self.compressor = mapper.compressor

    def __call__(self, state: bytes) -> Any:
        if self.cipher is not None:
            state = self.cipher.decrypt(state)
        if self.compressor is not None:
            state = self.compressor.decompress(state)
        return self.parse(state)


Position = tuple[int, int, bytes]  # events verified, last position, head seal


def verified_batches(kamflow: Kamflow) -> Iterator[tuple[list[Row], Position, Position]]:
    """The store's log in batches of rows, each with the chain before and after it,
    every seal checked as it is read (``seal.walk``, over ``sealed.iter_sealed``: one
    read transaction). Raises VerifyFailed at the first break, naming its position and
    kind, and for a store with no seals (one written before sealing, opened read-only).
    """
    from kamflow.sealed import is_sealed, iter_sealed, orphans

    if not is_sealed(kamflow):
        raise VerifyFailed(
            f"database {kamflow.store.named} has no seals yet (it is read-only and was"
            " written before kamflow sealed its log); open it writable once to seal it"
        )
    gone = orphans(kamflow)
    versions: dict[uuid.UUID, int] = {}
    start: Position = (0, 0, GENESIS)
    rows = iter_sealed(kamflow, batch=BATCH)
    while True:
        batch = list(islice(rows, BATCH))
        if not batch:
            break
        # Only the seals left by deleted events up to this batch's end: those after it
        # are judged with the batches they fall in.
        upto = batch[-1].position
        checked = walk(batch, [p for p in gone if p <= upto], start=start, versions=versions)
        if isinstance(checked, Break):
            raise _broken(checked)
        after = (checked.count, checked.last_position, checked.head)
        yield batch, start, after
        start = after
    tail = [p for p in gone if p > start[1]]
    if tail:
        raise _broken(Break(tail[0], "deleted", f"the event sealed at position {tail[0]} is gone"))


def _broken(found: Break) -> VerifyFailed:
    return VerifyFailed(f"position {found.position}: {found.kind}: {found.detail}")


def chain(kamflow: Kamflow, progress: Progress | None = None) -> Iterator[Position]:
    """(count, position, seal) of every event of the store's verified log, in order
    (``verified_batches``)."""
    for rows, before, _ in verified_batches(kamflow):
        count = before[0]
        for row in rows:
            count += 1
            assert row.seal is not None
            yield count, row.position, row.seal
        if progress is not None:
            progress(len(rows))


def head(kamflow: Kamflow, progress: Progress | None = None) -> Position:
    """(size, last position, head seal) of the store's log, every seal checked."""
    last: Position = (0, 0, GENESIS)
    for rows, _, after in verified_batches(kamflow):
        last = after
        if progress is not None:
            progress(len(rows))
    return last


def named(locator: str) -> str:
    """The store as messages name it (never its password)."""
    from kamflow.storage import parse as parse_store

    return parse_store(locator).named


# ------------------------------------------------------------------ one line
class Readable:
    """What a line shows people, read from the stored bytes alone, the same way by the
    writer and the checker: the event's type (its class's name), envelope and payload
    as stored, and its account's key, learnt from its opening event. Values kamflow
    stores transcoded (``{"_type_": "decimal_str", "_data_": "12.50"}``: amounts, dates,
    times, ids) are shown as their text (``"12.50"``); the payload is what was stored,
    not upcast to the event class's current fields, and needs no kamflow to read."""

    def __init__(self, plain: Plain) -> None:
        self.plain = plain
        self.keys: dict[uuid.UUID, str] = {}

    def fields(self, row: Row) -> dict[str, Any]:
        """The readable fields of a stored event, plain JSON values, with ``account``:
        the key of its account, or None (governance, or an account whose opening event
        cannot be read). ``unreadable`` (why) in place of the envelope and payload for
        bytes that are not a JSON object."""
        kind = row.topic.rsplit(":", 1)[-1].rsplit(".", 1)[-1]
        try:
            state = self.plain(row.state)
            if not isinstance(state, dict):
                raise ValueError("the stored JSON is not an object")
        except Exception as exc:  # shown as unreadable, its bytes still sealed and kept
            from kamflow.stored import one_line

            return {"account": self.keys.get(row.originator_id), "type": kind,
                    "unreadable": one_line(exc)}  # fmt: skip
        if row.version == 1 and isinstance(state.get("key"), str):
            self.keys[row.originator_id] = state["key"]
        return {
            "account": self.keys.get(row.originator_id),
            "type": kind,
            "actor": state.get("actor"),
            # Who recorded it for its actor (`--on-behalf-of`, ADR 0025), else None;
            # an older file without the field reads as None, as its events had none.
            "delegate": state.get("delegate"),
            "occurred_on": _shown(state.get("occurred_on")),
            "recorded_at": _shown(state.get("timestamp")),
            "command_id": state.get("command_id"),
            "payload": {k: _shown(v) for k, v in state.items() if k not in _ENVELOPE},
        }


# What every stored event carries besides its payload (kamflow.domain.envelope), and
# eventsourcing's class version.
_ENVELOPE = frozenset(
    {"timestamp", "originator_topic", "actor", "delegate", "occurred_on", "command_id",
     "command_id_given", "class_version"}
)  # fmt: skip


def _shown(value: Any) -> Any:
    """A stored value with every transcoded value (``{"_type_", "_data_"}``) as its
    data, at any depth."""
    if value.__class__ is dict:
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            return _shown(value["_data_"])
        return {k: _shown(v) for k, v in value.items()}
    if value.__class__ is list:
        return [_shown(v) for v in value]
    return value


def dumps(line: dict[str, Any]) -> str:
    """One line of an export: ASCII only (every other character escaped), so that no
    control or bidirectional character reaches a terminal or a diff raw, whatever the
    stored text holds."""
    return json.dumps(line, ensure_ascii=True)


def line_of(
    row: Row, previous: bytes, readable: dict[str, Any], signed: Signature | None = None
) -> dict[str, Any]:
    line: dict[str, Any] = {
        "position": row.position,
        "account": readable["account"],
        "account_id": row.originator_id.hex,
        "version": row.version,
        **{k: v for k, v in readable.items() if k != "account"},
        "topic": row.topic,
    }
    try:
        line["state"] = row.state.decode("utf-8")
    except UnicodeDecodeError:
        line["state_base64"] = base64.b64encode(row.state).decode("ascii")
    line["previous"] = previous.hex()
    assert row.seal is not None
    line["seal"] = row.seal.hex()
    if signed is not None:
        # On the first line of a signed write (ADR 0025): the signature of the lines
        # from here to ``last_position``.
        line["signature"] = {
            "last_position": signed.last,
            "signer": signed.signer,
            "behalf": signed.behalf,
            "key_id": signed.key_id,
            "anchor": signed.anchor.hex(),
            "value": base64.b64encode(signed.signature).decode("ascii"),
        }
    return line


# ------------------------------------------------------------------ writing
@dataclass(frozen=True)
class Written:
    """What an export wrote: its event lines and the checkpoint at its end."""

    lines: int
    checkpoint: dict[str, Any]


def write(
    kamflow: Kamflow,
    out: IO[str],
    *,
    key: SigningKey,
    signer: str,
    made_at: datetime,
    account: tuple[str, uuid.UUID] | None = None,
    progress: Progress | None = None,
) -> Written:
    """Write the store's log to ``out`` as an export (see the module's docstring):
    every event, or only ``account``'s (key, id), then a checkpoint signed with
    ``key``. The log's chain is checked as it is read: a store whose seals do not
    verify is refused (VerifyFailed, naming the first bad position), since the
    checkpoint would otherwise vouch for it. ``progress(n)`` after each n events read.
    """
    from kamflow import __version__
    from kamflow.sealed import seal_meta
    from kamflow.signing import read_signatures

    readable = Readable(store_plain(kamflow.locator))
    header = {
        "format": FORMAT,
        "algorithm": ALGORITHM,
        "kamflow": __version__,
        "made_at": utc_text(made_at),
        "account": None if account is None else account[0],
        "account_id": None if account is None else account[1].hex,
        # What the store says of its seals: from which position they were applied
        # after the fact (a store written before sealing), carried over by import.
        "seal_meta": {k: v for k, v in seal_meta(kamflow).items() if k != "algorithm"},
    }
    out.write(dumps(header) + "\n")
    signatures = read_signatures(kamflow)
    lines = 0
    last_seal = GENESIS
    # An account's lines do not chain to each other (other accounts' events stand
    # between), so its checkpoint signs a digest of all their seals.
    seals = hashlib.sha256()
    start = (0, 0, GENESIS)
    for rows, before, after in verified_batches(kamflow):
        start = after
        previous = before[2]
        chunk: list[str] = []
        for row in rows:
            assert row.seal is not None
            if account is None or row.originator_id == account[1]:
                fields = readable.fields(row)
                signed = signatures.get(row.position)
                chunk.append(dumps(line_of(row, previous, fields, signed)))
                last_seal = row.seal
                seals.update(row.seal)
                lines += 1
            previous = row.seal
        if chunk:
            out.write("\n".join(chunk) + "\n")
        if progress is not None:
            progress(len(rows))
    scope = None
    if account is not None:
        scope = {
            "key": account[0],
            "account_id": account[1].hex,
            "events": lines,
            "last_seal": last_seal.hex(),
            "seals": seals.hexdigest(),
        }
    statement = make(
        key,
        size=start[0],
        last_position=start[1],
        head=start[2],
        signer=signer,
        made_at=made_at,
        account=scope,
    )
    out.write(dumps({"checkpoint": statement}) + "\n")
    return Written(lines, statement)


# ------------------------------------------------------------------ checking
@dataclass(frozen=True)
class Line:
    """One event line as checked: where it stands in the file, and the event."""

    number: int
    row: Row
    previous: bytes


@dataclass(frozen=True)
class Verified:
    """An export that verified: its event lines, whether it is one account's, the
    checkpoint at its end, and whether its signature was checked against a trusted key
    (``--public-key``) or only against the key it names."""

    lines: int
    account: str | None
    checkpoint: Checkpoint
    trusted: bool
    signatures: str = ""  # what the signature check found (a whole log's export)


class Reader:
    """The lines of an export, each checked as it is read (``lines``), then its
    checkpoint (``result``). Raises VerifyFailed naming the first line that fails, and
    InvalidInput for a file that is not an export at all."""

    def __init__(self, stream: IO[bytes], name: str, trusted: bytes | None) -> None:
        self.stream = stream
        self.name = name
        self.trusted = trusted
        self.number = 0
        self.account: str | None = None
        self.account_id: uuid.UUID | None = None
        self.result: Verified | None = None
        self._headed = False
        self.seal_meta: dict[str, str] = {}
        # The signatures of the lines read so far, by the first position of each write.
        self.signatures: dict[int, Signature] = {}

    def _fail(self, what: str) -> VerifyFailed:
        return VerifyFailed(f"{self.name} line {self.number}: {what}")

    def _next(self) -> dict[str, Any] | None:
        raw = self.stream.readline()
        if not raw:
            return None
        self.number += 1
        try:
            found = json.loads(raw)
        except ValueError:
            raise self._fail("not JSON (the file was cut or edited)") from None
        if not isinstance(found, dict):
            raise self._fail("not a JSON object")
        return found

    def header(self) -> None:
        """Read and check the header line (once): sets ``account`` for an ``--account``
        export. Raises InvalidInput for a file that is not an export."""
        if self._headed:
            return
        self._headed = True
        first = self._next()
        if first is None or first.get("format") != FORMAT:
            raise InvalidInput(f"{self.name} is not a kamflow export (its first line is not a"
                               f" {FORMAT} header)")  # fmt: skip
        if first.get("algorithm") != ALGORITHM:
            raise InvalidInput(
                f"{self.name}: its seals are {first.get('algorithm')!r}; this kamflow checks"
                f" {ALGORITHM!r}"
            )
        meta = first.get("seal_meta") or {}
        if isinstance(meta, dict):
            self.seal_meta = {str(k): str(v) for k, v in meta.items()}
        account = first.get("account")
        if account is not None:
            self.account = str(account)
            try:
                # The id it was stored under (an account opened by an older kamflow
                # under a key typed in full-width letters has another than its key's).
                self.account_id = uuid.UUID(hex=str(first["account_id"]))
            except (KeyError, ValueError):
                raise InvalidInput(f"{self.name}: its header names no account id") from None

    def lines(self) -> Iterator[Line]:
        """Every event line, checked; then the checkpoint is checked (``result``)."""
        self.header()
        readable = Readable(offline_plain())
        previous_seal = GENESIS
        last_position = 0
        versions: dict[uuid.UUID, int] = {}
        count = 0
        seals = hashlib.sha256()
        while True:
            line = self._next()
            if line is None:
                raise self._fail(
                    "the export ends without its checkpoint (the file was cut short)"
                    if self.number
                    else "empty"
                )
            if "checkpoint" in line:
                self._finish(line["checkpoint"], count, last_position, previous_seal, seals)
                if self._next() is not None:
                    raise self._fail("a line after the checkpoint")
                return
            row, previous = self._row(line)
            if "signature" in line:
                self.signatures[row.position] = self._signature(row.position, line["signature"])
            if row.position <= last_position:
                raise self._fail(
                    f"position {row.position} after position {last_position}: lines moved"
                )
            if self.account_id is None and previous != previous_seal:
                raise self._fail(
                    "its previous seal is not the seal of the line before: a line before it"
                    " was dropped, inserted or moved"
                )
            if self.account_id is not None and row.originator_id != self.account_id:
                raise self._fail(f"an event of another account in an export of {self.account}")
            expected = link(
                previous, row.position, row.originator_id, row.version, row.topic, row.state
            )
            if expected != row.seal:
                raise self._fail(
                    f"seal does not match (position {row.position}): the event's stored"
                    " bytes, type, account, version or position were edited"
                )
            prior = versions.get(row.originator_id, 0)
            if row.version != prior + 1:
                what = "dropped" if row.version > prior + 1 else "repeated or moved"
                raise self._fail(
                    f"version {row.version} of its account follows version {prior}: a line"
                    f" was {what}"
                )
            versions[row.originator_id] = row.version
            shown = readable.fields(row)
            for name, value in shown.items():
                if line.get(name) != value:
                    raise self._fail(
                        f"{name} is not what the sealed event holds (the line was edited)"
                    )
            extra = set(line) - set(shown) - _SEALED
            if extra:
                raise self._fail(f"unknown field {sorted(extra)[0]!r}")
            count += 1
            seals.update(row.seal)
            last_position = row.position
            previous_seal = row.seal
            yield Line(self.number, row, previous)

    def _signature(self, position: int, given: Any) -> Signature:
        from kamflow.signing import Signature

        try:
            return Signature(
                position,
                int(given["last_position"]),
                str(given["signer"]),
                str(given["behalf"]),
                str(given["key_id"]),
                bytes.fromhex(str(given["anchor"])),
                base64.b64decode(str(given["value"]), validate=True),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise self._fail(f"not a signature ({type(exc).__name__}: {exc})") from None

    def _row(self, line: dict[str, Any]) -> tuple[Row, bytes]:
        try:
            position, version = line["position"], line["version"]
            if not isinstance(position, int) or not isinstance(version, int):
                raise TypeError("position and version must be whole numbers")
            if "state" in line:
                state = str(line["state"]).encode("utf-8")
            else:
                state = base64.b64decode(str(line["state_base64"]), validate=True)
            previous = bytes.fromhex(str(line["previous"]))
            seal = bytes.fromhex(str(line["seal"]))
            aid = uuid.UUID(hex=str(line["account_id"]))
            topic = str(line["topic"])
        except (KeyError, TypeError, ValueError) as exc:
            raise self._fail(f"not an event line ({type(exc).__name__}: {exc})") from None
        if len(previous) != 32 or len(seal) != 32:
            raise self._fail("a seal is not 32 bytes")
        return Row(position, aid, version, topic, state, seal), previous

    def _finish(
        self, statement: Any, count: int, last_position: int, head: bytes, seals: Any
    ) -> None:
        where = f"{self.name} line {self.number} (the checkpoint)"
        checkpoint = parse(statement, where)
        trusted = check_signature(checkpoint, self.trusted, where)
        if self.account_id is None:
            if "account" in checkpoint.statement:
                raise self._fail("the checkpoint is of one account's export, the header not")
            if checkpoint.size != count:
                raise self._fail(
                    f"the checkpoint signs {checkpoint.size} events, the export holds {count}:"
                    " lines were dropped or added"
                )
            if (checkpoint.last_position, checkpoint.head) != (last_position, head):
                raise self._fail("the checkpoint's head is not the last line's seal")
        else:
            scope = checkpoint.statement.get("account")
            assert self.account_id is not None
            if (
                not isinstance(scope, dict)
                or scope.get("key") != self.account
                or scope.get("account_id") != self.account_id.hex
            ):
                raise self._fail(f"the checkpoint is not of an export of {self.account}")
            if scope.get("events") != count:
                raise self._fail(
                    f"the checkpoint signs {scope.get('events')} events of {self.account},"
                    f" the export holds {count}: lines were dropped or added"
                )
            if scope.get("last_seal") != (head.hex() if count else GENESIS.hex()):
                raise self._fail("the checkpoint's last seal is not the last line's")
            if scope.get("seals") != seals.hexdigest():
                raise self._fail(
                    "the checkpoint does not sign these lines' seals: a line was changed"
                    " and its seal recomputed"
                )
        self.result = Verified(count, self.account, checkpoint, trusted)


# Fields of an event line besides the readable ones.
_SEALED = frozenset(
    {
        "position",
        "account_id",
        "version",
        "topic",
        "state",
        "state_base64",
        "previous",
        "seal",
        "signature",
    }
)


def verify(
    stream: IO[bytes], name: str, trusted: bytes | None, progress: Progress | None = None
) -> Verified:
    """Check a whole export (see ``Reader``). Returns what verified."""
    from kamflow.signature_check import check_rows

    reader = Reader(stream, name, trusted)

    def rows() -> Iterator[Row]:
        for line in reader.lines():
            if progress is not None:
                progress(1)
            yield line.row

    reader.header()
    if reader.account_id is not None:
        # One account's lines: the writes they belong to hold other accounts' events.
        for _ in rows():
            pass
        assert reader.result is not None
        return reader.result
    # A whole log: its signatures too, against the roster its lines hold (ADR 0025).
    signed = check_rows(rows(), reader.signatures.get, offline_plain())
    assert reader.result is not None
    if signed.findings:
        first = signed.findings[0]
        raise VerifyFailed(
            f"{name}: the signature of position {first.where}: {first.kind}: {first.detail}",
            kind=first.kind,
        )
    return replace(reader.result, signatures=signed.summary())
