"""The command side (load -> decide -> save) and the account queries.

Storage is chosen by one locator: a SQLite file path (the default, ``./kamflow.db``) or
a ``postgresql://`` URL. Everything else is eventsourcing 9.5.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import random
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar, cast

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    Repository,
    project_aggregate,
)
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Mapper, OperationalError
from eventsourcing.utils import strtobool

from kamflow.applied import AppliedCommands
from kamflow.clock import Clock, now, set_clock
from kamflow.domain.account import Account
from kamflow.domain.commands import Command, GovernanceCommand
from kamflow.domain.dates import business_date, end_of_day
from kamflow.domain.envelope import Event, Meta

if TYPE_CHECKING:
    from kamflow.domain.governance import Governance
    from kamflow.domain.roster import Roster
    from kamflow.identity import PersonalKey
    from kamflow.signing import WriteSigner
from kamflow.domain.errors import (
    AccountNotFound,
    Field,
    InvalidInput,
    KamflowError,
    NotFound,
    StorageError,
)
from kamflow.domain.text import check_actor, check_text
from kamflow.domain.values import (
    GOVERNANCE_ID,
    MAX_NAME,
    account_id,
    legacy_account_id,
    normalise_key,
)
from kamflow.storage import (
    DEFAULT_DB,
    LOCK_TIMEOUT_ENV,
    ReadOnlyStore,
    connect_postgres,
    describe_locator,
    failure,
    lock_timeout,
    parse,
    resolve,
    storage_env,
)
from kamflow.stored import (
    APPLICATION_NAME,
    SafeRepository,
    UnreadableEvent,
    checked_mapper,
    register_transcodings,
)

__all__ = [
    "DEFAULT_DB",
    "Clock",
    "Kamflow",
    "describe_locator",
    "now",
    "set_clock",
    "storage_env",
]

SNAPSHOT_INTERVAL = 20
# What one load-decide-save attempt may answer besides its result (Kamflow._attempt).
_RETRY = object()  # decide again at once: an account kept in memory was stale
_CONFLICT = object()  # the save met a concurrent write: wait, then decide again
# A conflicting writer makes us reload and decide again, after a wait that doubles with
# each conflict (from BACKOFF_FIRST to BACKOFF_CAP seconds), drawn at random below that
# ("full jitter"), so racing writers spread out instead of colliding again in lockstep.
# A writer gives up only after MIN_ATTEMPTS and the lock timeout (KAMFLOW_LOCK_TIMEOUT)
# both ran out: a storm still fails loudly, ordinary contention never does. ADR 0017.
MIN_ATTEMPTS = 12
BACKOFF_FIRST = 0.002
BACKOFF_CAP = 0.25
# How many of an account's latest events a write is compared with to catch a repeat.
REPEAT_LOOKBACK = 8
# The record time at the start of a stored event's JSON (eventsourcing's transcoder).
_TIMESTAMP = re.compile(
    rb'\{"timestamp":\{"_type_":"datetime_iso","_data_":"([0-9T:.+-]{19,40})"\}'
)
# Of the older snapshots, only those at multiples of this are kept, for as-of loads
# (the newest is always kept): ADR 0024.
CHECKPOINT_INTERVAL = 100


class KamflowApplication(Application[uuid.UUID]):
    name = APPLICATION_NAME
    # Snapshots are taken by Kamflow.execute after a successful save, not inside
    # Application.save: a failure there must never look like a write conflict.
    is_snapshotting_enabled = True

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        # The same list the views' log reader uses (kamflow.stored.log_mapper).
        register_transcodings(transcoder)

    def construct_mapper(self) -> Mapper[uuid.UUID]:
        # Stored events that cannot be decoded, or do not fit their class, are refused
        # where they are read, by name (kamflow.stored). Built as the views' log reader
        # builds it, from this application's settings.
        return checked_mapper(self.factory)

    def construct_repository(self) -> Repository[uuid.UUID]:
        # As Application.construct_repository, with snapshots that cannot be used skipped.
        cache = self.env.get(self.AGGREGATE_CACHE_MAXSIZE)
        return SafeRepository(
            event_store=self.events,
            snapshot_store=self.snapshots,
            cache_maxsize=int(cache) if cache else None,
            fastforward=strtobool(self.env.get(self.AGGREGATE_CACHE_FASTFORWARD, "y")),
            fastforward_skipping=strtobool(
                self.env.get(self.AGGREGATE_CACHE_FASTFORWARD_SKIPPING, "n")
            ),
            deepcopy_from_cache=strtobool(self.env.get(self.DEEPCOPY_FROM_AGGREGATE_CACHE, "y")),
        )


# The clock that stamps record time: a Kamflow's own (``Kamflow(clock=...)``,
# ``using_clock``), or else the module clock of kamflow.clock (``set_clock``, ``now``).
# No command line option reaches either.


def default_actor() -> str:
    import getpass  # only when no --actor or KAMFLOW_ACTOR names one

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. an anonymous container user
        return "unknown"


@dataclass(frozen=True)
class Outcome:
    """What a command did: the events it recorded (none if its id was already applied).

    ``reference`` is for people (``"V-3 with issues I-4, I-5"``); ``ids`` is for programs:
    the short ids the recorded events gave out or acted on, by kind (``{"visit": "V-3",
    "issues": ["I-4", "I-5"]}``, from each event's ``ids()``), empty when nothing was
    recorded.
    """

    account: str
    reference: str
    events: list[tuple[str, int]]
    command_id: str
    ids: dict[str, str | list[str]] = field(default_factory=dict)
    # What kamflow must tell the person besides (they became the first admin).
    notice: str | None = None

    @property
    def applied(self) -> bool:
        return bool(self.events)


@dataclass(frozen=True)
class EventRecord:
    """One stored event as users and programs see it in `account history`
    (``recorded_at`` in the business time zone)."""

    version: int
    type: str
    actor: str
    # Who recorded it for ``actor`` (`--on-behalf-of`, ADR 0025), else None.
    delegate: str | None
    occurred_on: date
    recorded_at: datetime
    command_id: str
    summary: str
    payload: dict[str, Any]
    # What the event replaced: {"subject", "field", "old", "new", "old_source"} each,
    # as the audit trail gives them (engine.audit_changes).
    changes: list[dict[str, Any]]


@dataclass(frozen=True)
class _Saved:
    """What one attempt saved (Kamflow._attempt)."""

    aggregate: Account | Governance
    pending: Sequence[Any]
    subject: str
    reference: str
    notice: str | None = None  # the writer became the first admin (ADR 0023)


@dataclass(frozen=True)
class _First:
    """An attempt that must first save another account's side (Command.first)."""

    command: Command


F = TypeVar("F", bound=Callable[..., Any])


def _guarded(method: F) -> F:
    """Run a Kamflow query inside ``Kamflow._reading`` (generators too)."""
    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def generate(self: Kamflow, *args: Any, **kwargs: Any) -> Any:
            with self._reading():
                yield from method(self, *args, **kwargs)

        return cast(F, generate)

    @functools.wraps(method)
    def call(self: Kamflow, *args: Any, **kwargs: Any) -> Any:
        with self._reading():
            return method(self, *args, **kwargs)

    return cast(F, call)


def _warn_on_stderr(message: str) -> None:
    sys.stderr.write(f"Warning: {message}\n")
    sys.stderr.flush()


@dataclass(frozen=True)
class Listed:
    """One account in `account list`: loaded, or the reason it cannot be read."""

    key: str
    account: Account | None
    problem: str | None = None


class Kamflow:
    """kamflow's application service: commands and account queries over one store."""

    def __init__(
        self, locator: str | None = None, *, clock: Clock | None = None, tz: str | None = None
    ) -> None:
        self.locator = resolve(locator)
        self.store = parse(self.locator)
        # Record time; by default the module's clock, read at each command (set_clock).
        self.clock: Clock = clock or now
        # The business zone as given (--tz); None: KAMFLOW_TZ, the team's, the machine's.
        self.tz = tz
        self._zone: tzinfo | None = None
        self._loaded: dict[uuid.UUID, Account] | None = None  # see keep_loaded()
        self._locked = False  # whether this Kamflow holds the store's write lock
        self._rehearsing = False  # see rehearse()
        # Events decided but not yet saved, by account (see hold() and rehearse()).
        self._unsaved: dict[uuid.UUID, list[Account.Event]] | None = None
        self._held_order: list[uuid.UUID] = []  # the account of each held event, in order
        # In hold(): the given command ids each account has, stored or held (_given_before).
        self._held_ids: dict[uuid.UUID, set[str]] = {}
        self._snapshots_due: set[uuid.UUID] = set()  # taken by flush(last=True)
        self._held_governance: Governance | None = None
        # In hold(): (actor, command class) -> (the actor as the roster knows them, their
        # signer), checked once (_attempt).
        self._held_checks: dict[tuple[str, type], tuple[str, WriteSigner | None]] = {}
        # What kamflow told the writers (Outcome.notice), for `apply` to show at the end.
        self.notices: list[str] = []
        # Told once per snapshot that cannot be used (one line for the user; stderr).
        self.warn: Callable[[str], None] = _warn_on_stderr
        self._warned: set[tuple[uuid.UUID, int]] = set()
        self._keys: dict[uuid.UUID, str] = {}  # see _aid
        # People's private keys read from their files, by name (_signer, ADR 0025).
        self._personal: dict[str, PersonalKey | None] = {}
        self._held_signer: WriteSigner | None = None  # who signs what flush() saves
        # Keys as typed -> (key, id), where no older kamflow's id can apply (locate):
        # a batch names the same accounts thousands of times.
        self._located: dict[str, tuple[str, uuid.UUID]] = {}
        env = self.store.env()
        wait = lock_timeout()  # refused (exit 2) on either backend if it is not a number
        if self.store.postgres:
            # Connect once ourselves: eventsourcing's pool would wait its whole timeout
            # and then say only that it got no connection, not why (no such role or
            # database, refused, a missing schema). One connection: ~8 ms locally.
            connect_postgres(self.store).close()
        else:
            # eventsourcing's SQLite factory, waiting KAMFLOW_LOCK_TIMEOUT for a lock.
            env["PERSISTENCE_MODULE"] = "kamflow.sqlite_store:SQLiteStoreFactory"
            env["SQLITE_LOCK_SECONDS"] = repr(wait)
        for attempt in range(5):
            try:
                self.app = KamflowApplication(env=env)
                break
            except KamflowError:
                raise
            except Exception as exc:  # psycopg/sqlite errors from connecting or creating tables
                # Processes opening an empty PostgreSQL schema at once race to create its
                # tables (CREATE ... IF NOT EXISTS is not atomic there): the losers see a
                # duplicate type or relation, or a catalog row "concurrently updated",
                # and opening again finds the tables made.
                lost_race = isinstance(exc, IntegrityError) or any(
                    sign in str(exc) for sign in ("already exists", "concurrently updated")
                )
                if lost_race and attempt < 4:
                    time.sleep(random.uniform(0.01, 0.1))
                    continue
                raise failure(exc, self.store) or StorageError(
                    f"cannot open database {describe_locator(self.locator)}: {_first_line(exc)}"
                ) from None
        self.applied = AppliedCommands(self.app, postgres=self.store.postgres)
        repository = self.app.repository
        assert isinstance(repository, SafeRepository)
        repository.on_bad_snapshot = self._bad_snapshot
        if self.store.read_only:
            with self._reading():
                self._check_tables()

    def _check_tables(self) -> None:
        """A read-only store cannot have its tables created: refuse one without them."""
        with self.app.recorder.datastore.transaction(commit=False) as cur:  # type: ignore[attr-defined]
            cur.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'stored_events'")
            if not cur.fetchone()[0]:
                raise StorageError(
                    f"database {self.store.named} is read-only and holds no kamflow events"
                )

    @property
    def read_only(self) -> bool:
        """Whether the store was opened read-only (its file or folder is not writable)."""
        return self.store.read_only

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """Storage failures as StorageError (kamflow.storage.failure), and stored events
        that cannot be read named by account key and log position."""
        try:
            yield
        except UnreadableEvent as exc:
            raise StorageError(self.describe_unreadable(exc)) from None
        except KamflowError:
            raise
        except Exception as exc:
            mapped = failure(exc, self.store)
            if mapped is None:
                raise
            raise mapped from None

    def close(self) -> None:
        self.app.close()
        # The key store's connection (kamflow.personal), if one was opened.
        personal = getattr(self.app.mapper, "personal", None)
        if personal is not None:
            personal.keys.close()

    @property
    def zone(self) -> tzinfo:
        """The business time zone (kamflow.zones.business_zone): which day a record time
        falls on, where an as-of day ends, how times are shown. Read once, and again
        after this Kamflow records a governance change (the team setting may be it)."""
        if self._zone is None:
            from kamflow.zones import SETTING, business_zone

            self._zone = business_zone(self.tz, lambda: self._team_setting(SETTING))
        return self._zone

    def _team_setting(self, name: str) -> str | None:
        """A governance setting as recorded (the last SettingSet of it), read from the
        stored JSON: every write needs the team's time zone, and the governance module
        and aggregate cost a single write more than the few rows this reads. Stored
        events that are not plain JSON (a cipher or compressor) are decoded instead."""
        import json

        topic = "kamflow.domain.governance:Governance.SettingSet"
        value: str | None = None
        with self._reading():
            for stored in self.app.recorder.select_events(GOVERNANCE_ID):
                if stored.topic != topic:
                    continue
                try:
                    state = json.loads(stored.state)
                except ValueError:
                    return self.governance().settings.get(name)
                if not isinstance(state, dict):
                    return self.governance().settings.get(name)
                if state.get("setting") == name and isinstance(state.get("value"), str):
                    value = state["value"]
        return value

    def today(self) -> date:
        """The business date now: this Kamflow's clock, in the business zone."""
        return business_date(self.clock(), self.zone)

    @contextlib.contextmanager
    def using_clock(self, clock: Clock) -> Iterator[None]:
        """Stamp record time with ``clock`` for the length of the block, then put this
        Kamflow's own clock back (the demo lays a year of history this way)."""
        previous, self.clock = self.clock, clock
        try:
            yield
        finally:
            self.clock = previous

    # ------------------------------------------------------------- commands
    def execute(
        self,
        command: Command | GovernanceCommand,
        *,
        actor: str,
        command_id: str | None = None,
        again: bool = False,
        on_behalf_of: str | None = None,
    ) -> Outcome:
        """Load, decide, save; on a concurrent write, reload and decide again.

        A conflict means another writer saved this aggregate since we loaded it; deciding
        again on the new state (not re-sending the old events) is what keeps every
        accepted command exactly once and every rule checked against what is stored.

        A command without a given id that would record what the account recorded
        moments ago (``corrections.repeated``) is refused unless ``again`` says it is
        meant: a shell-history repeat (ADR 0020).
        """
        given = command_id is not None
        cid = command_id if command_id is not None else uuid.uuid4().hex
        # The actor and a given id are stored on every event and printed by history and
        # audit: the text rule of one-line fields (kamflow.domain.text) holds for them.
        check_actor(actor, "--actor", MAX_NAME)
        if given:
            check_text(cid, Field("command_id"))
            # An empty id (`--command-id "$UNSET"`) would make every later command a no-op.
            if not cid.strip():
                raise InvalidInput(Field("command_id"), " must not be empty")
            if len(cid) > MAX_NAME:
                raise InvalidInput(
                    Field("command_id"), f" must be one line of at most {MAX_NAME} characters"
                )
        if self.store.read_only and not self._rehearsing:
            raise ReadOnlyStore(
                f"database {self.store.named} is read-only (the file or its folder is not"
                " writable); nothing was written"
            )
        if on_behalf_of is not None:
            check_actor(on_behalf_of, "--on-behalf-of", MAX_NAME)
        with self._reading():
            return self._decide_and_save(command, actor, cid, given, again, on_behalf_of)

    def _decide_and_save(
        self,
        command: Command | GovernanceCommand,
        actor: str,
        cid: str,
        given: bool,
        again: bool = False,
        behalf: str | None = None,
    ) -> Outcome:
        conflicts = 0
        # The deadline is only read on a conflict: KAMFLOW_LOCK_TIMEOUT is read from the
        # environment then, not at every command of a batch.
        started = time.monotonic()
        first_done = False
        if given and isinstance(command, Command) and self._unsaved is None:
            # A given id is looked up in its index before the account is loaded, and
            # before the write lock is taken: a command already applied costs one read
            # however long the history (kamflow.applied, ADR 0024). Indexing events the
            # index has not taken in yet (a store written before it) writes, so it is
            # done here, outside the lock; under the lock a plain lookup suffices.
            _, aid = self.locate(command.typed_account)
            if self.applied.applied(aid, cid):
                return Outcome(command.account, "", [], cid)
        while True:
            # Load, decide and save with the store's write lock held (ADR 0017): no
            # other kamflow writer can save in between, so the save cannot meet a
            # concurrent write, and writers take turns instead of losing to each other.
            # A conflict is still possible (an account kept in memory by `apply`
            # while another process wrote to it): the attempt is retried, after a wait.
            # Held and rehearsed commands save nothing now (hold(), rehearse()): no lock.
            lock = (
                self._write_lock(*self._lock_ids(command))
                if self._unsaved is None
                else contextlib.nullcontext()
            )
            with lock:
                attempt = self._attempt(command, actor, cid, given, again, first_done, behalf)
            if isinstance(attempt, Outcome):
                return attempt
            if isinstance(attempt, _First):
                # The other account's side first (a merge records the target's side
                # before the duplicate's, ADR 0020), under the same command id, in its
                # own turn of the lock: run again after a failure, it is skipped and
                # this side completes.
                self._decide_and_save(attempt.command, actor, cid, given, True, behalf)
                first_done = True
                continue
            if attempt is _RETRY:
                continue
            if attempt is _CONFLICT:
                conflicts += 1
                if conflicts >= MIN_ATTEMPTS and time.monotonic() >= started + lock_timeout():
                    raise StorageError(
                        f'"{command.name}" kept meeting concurrent writes in {conflicts}'
                        f" attempts over {lock_timeout():.1f} s; try again (or set"
                        f" {LOCK_TIMEOUT_ENV} to wait longer)"
                    )
                time.sleep(random.uniform(0, min(BACKOFF_CAP, BACKOFF_FIRST * 2**conflicts)))
                continue
            assert isinstance(attempt, _Saved)
            # After the lock is released: a snapshot is written by its own transaction.
            if any(e.originator_version % SNAPSHOT_INTERVAL == 0 for e in attempt.pending):
                self._snapshot(attempt.aggregate)
            events = [(type(e).__name__, e.originator_version) for e in attempt.pending]
            if attempt.notice:
                self._zone = None
                self.notices.append(attempt.notice)
            # What an erasure could not do is part of what was done (ADR 0026).
            erased = self._erased(attempt)
            return Outcome(
                attempt.subject,
                "; ".join([attempt.reference, *erased]),
                events,
                cid,
                _ids(attempt.pending),
                attempt.notice,
            )

    def _lock_ids(
        self, command: Command | GovernanceCommand
    ) -> tuple[tuple[uuid.UUID, ...], tuple[uuid.UUID, ...]]:
        """What a command's write locks alone (the aggregate it decides on) and shares
        with other writers (the roster and policies it is checked against): a
        PostgreSQL writer holds only these while it loads and decides, so writers of
        other accounts decide in parallel; a roster change waits for the account
        writes under way and they for it (ADR 0029). SQLite has one writer anyway."""
        if isinstance(command, GovernanceCommand):
            return (GOVERNANCE_ID,), ()
        return (self.locate(command.typed_account)[1],), (GOVERNANCE_ID,)

    def _erased(self, attempt: _Saved) -> list[str]:
        """After a ContactForgotten is saved (its key already destroyed), remove the
        person's values from snapshots and views (kamflow.erasure, ADR 0026); what to
        tell the user."""
        if not isinstance(attempt.aggregate, Account):
            return []
        people = [e.contact_id for e in attempt.pending if isinstance(e, Account.ContactForgotten)]
        if not people:
            return []
        from kamflow.erasure import complete

        return [note for person in people for note in complete(self, attempt.aggregate, person)]

    @contextlib.contextmanager
    def _write_lock(
        self, exclusive: Sequence[uuid.UUID] = (), shared: Sequence[uuid.UUID] = ()
    ) -> Iterator[None]:
        """The store's write lock, held for one load-decide-save, when the recorder
        offers it (kamflow.sealed): on PostgreSQL, locks on the ``exclusive`` and
        ``shared`` aggregates only, the table's lock being taken by the insert (ADR
        0029). A lock not had in KAMFLOW_LOCK_TIMEOUT is StoreLocked, nothing
        written."""
        hold = getattr(self.app.recorder, "write_lock", None)
        if hold is None:
            yield
            return
        self._locked = True
        try:
            lock = hold(lock_timeout(), exclusive=exclusive, shared=shared)
            lock.__enter__()
        except OperationalError as exc:
            raise failure(exc, self.store) or StorageError(
                f"cannot write to database {self.store.named}: {_first_line(exc)}"
            ) from None
        try:
            yield
        except BaseException as exc:
            self._locked = False
            lock.__exit__(type(exc), exc, exc.__traceback__)
            raise
        self._locked = False
        try:
            lock.__exit__(None, None, None)
        except OperationalError as exc:
            raise failure(exc, self.store) or StorageError(
                f"cannot write to database {self.store.named}: {_first_line(exc)}"
            ) from None

    def _attempt(
        self,
        command: Command | GovernanceCommand,
        actor: str,
        cid: str,
        given: bool,
        again: bool = False,
        first_done: bool = False,
        behalf: str | None = None,
    ) -> Outcome | _Saved | _First | object:
        """One load-decide-save: an Outcome when nothing is to be saved (the command id
        was applied already), _RETRY to decide again now, _CONFLICT when the save met a
        concurrent write, else what was saved."""
        recorded_at = self.clock()
        today = business_date(recorded_at, self.zone)
        occurred_on = command.on or today
        # Most account commands need only the roster, read without the aggregate.
        light = isinstance(command, Command) and not command.needs_governance
        governance: Governance | Roster | None = self._roster(light)
        notice: str | None = None
        extra: list[Any] = []
        started_now = False
        if governance is None and self._new_store():
            from kamflow.domain.governance import Governance

            # The first person to write to a new database becomes its admin, before
            # their first command is decided, in the same save (ADR 0023), with their
            # key (made now if they have none) and signatures required (ADR 0025).
            started = Governance.start(Meta(actor, cid, today, recorded_at, given, today=today))
            key, made = self._bootstrap_key(actor)
            notice = started.bootstrap(
                Meta(actor, cid, today, recorded_at, given, today=today),
                key.public if key is not None else None,
            )
            if made and key is not None:
                notice += f" (made now, at {key.path})"
            governance, started_now = started, True
        # In hold() the roster is read once and fixed for the batch (hold, _roster): who
        # the actor is, their right to a kind of command and their signer are the same
        # for every command of that kind, so they are checked once per (actor, kind).
        # A refusal is not kept (it is raised again); a governance command clears them.
        held = (
            (actor, type(command))
            if self._unsaved is not None
            and not started_now
            and behalf is None
            and governance is not None
            and isinstance(command, Command)
            else None
        )
        checked = self._held_checks.get(held) if held is not None else None
        if checked is not None:
            actor, signer = checked
        else:
            if governance is not None and not started_now:
                # One person, one spelling: Li.Wei acts as the li.wei the roster knows.
                actor = governance.person(actor)
            # A command without a name of its own is the other side of one that has one
            # (a merge's target, Command.first), authorized as that command already.
            if governance is not None and hasattr(command, "name") and behalf is None:
                governance.authorize(actor, command.needs_role, command.name)
            # Then the key the write is signed with (ADR 0025): the role refusal first,
            # as it is the one an admin answers with a grant and the key together.
            signer = self._signer(governance, actor, getattr(command, "needs_role", "kam"))
            if held is not None:
                self._held_checks[held] = (actor, signer)
        delegate: str | None = None
        if behalf is not None:
            # A delegate records for a named person (ADR 0025): the events are that
            # person's, who must hold the command's role; the signature is the
            # delegate's own, naming both, and each event names the delegate too.
            delegate = actor
            actor = self._delegated(governance, actor, behalf, command, signer)
        if isinstance(command, GovernanceCommand):
            from kamflow.domain.governance import Governance

            assert governance is None or isinstance(governance, Governance)  # not light
            subject = "governance"
            if given and governance is not None and governance.has_command(cid):
                return Outcome(subject, "", [], cid)
            meta = Meta(actor, cid, occurred_on, recorded_at, given, today=today)
            if governance is None:
                governance = Governance.start(meta)
            self._held_checks.clear()  # the roster may change now
            reference = command.apply_to(governance, meta)
            aggregate: Account | Governance = governance
        else:
            subject = command.account
            _, aid = self.locate(command.typed_account)
            if given and self._given_before(aid, cid):
                return Outcome(subject, "", [], cid)
            kept = self._loaded is not None and aid in self._loaded
            account = self._load_current(aid)
            first = command.first(account) if account is not None and not first_done else None
            if first is not None:
                return _First(first)
            meta = Meta(
                actor,
                cid,
                occurred_on,
                recorded_at,
                given,
                governance=self._full(governance) if command.needs_governance else None,
                today=today,
                history=list(self.app.events.get(aid))
                if command.needs_history and account is not None
                else None,
            )
            if notice and governance is not None and self._unsaved is not None:
                # Held commands are saved later, in batches: the first admin now, on
                # their own (never in a rehearsal, which writes nothing).
                bootstrap = list(self._full(governance).collect_events())
                if not self._rehearsing:
                    with self._signing(signer):
                        self.app.save(*bootstrap)
                self._held_governance = self._full(governance)
            if self._unsaved is not None:
                self._held_signer = signer
                return self._decide_held(command, account, aid, meta, subject, cid)
            try:
                aggregate, reference = command.decide(account, meta)
                if not (given or again) and account is not None:
                    self._refuse_repeat(aid, account, command, recorded_at)
            except KamflowError:
                # decide may have changed the account before refusing; and a kept
                # account may be stale, so a refusal is only final on a fresh load.
                self._forget(aid)
                if kept:
                    return _RETRY
                raise
            except BaseException:
                self._forget(aid)
                raise
            # The first admin's events, saved with the command's or not at all.
            extra = list(self._full(governance).collect_events()) if notice else []
        pending = aggregate.collect_events()
        if delegate is not None:
            from kamflow.domain.envelope import delegated

            delegated(pending, delegate)
        if self._rehearsing:
            # A governance change in a rehearsal: decided, never saved.
            events = [(type(e).__name__, e.originator_version) for e in pending]
            return Outcome(subject, reference, events, cid, _ids(pending))
        try:
            with self._signing(signer):
                self.app.save(*extra, *pending)
        except IntegrityError:
            self._forget(aggregate.id)
            return _CONFLICT
        except OperationalError as exc:
            # Not a conflict: the store itself (locked past KAMFLOW_LOCK_TIMEOUT, whose
            # wait SQLite has already spent, read-only, unreachable). Once is enough.
            self._forget(aggregate.id)
            raise failure(exc, self.store) or StorageError(
                f"cannot write to database {self.store.named}: {_first_line(exc)}"
            ) from None
        if isinstance(aggregate, Account) and self._loaded is not None:
            self._loaded[aggregate.id] = aggregate
        if not isinstance(aggregate, Account):
            self._zone = None  # the team's time zone may have changed
        return _Saved(aggregate, pending, subject, reference, notice)

    def _given_before(self, aid: uuid.UUID, cid: str) -> bool:
        """Whether the account already has command id ``cid``: stored (one read of the
        index, kamflow.applied: what is stored never stops being so), or held in
        memory by hold() and not yet saved.

        In hold() the account's stored ids are read once, at its first command, and the
        held ones added as they are decided (_decide_held) and dropped on roll_back: a
        bulk load gives ~36,000 ids, and one read per id cost more than deciding them.
        The batch assumes no other writer meanwhile (hold)."""
        if self._unsaved is not None:
            known = self._held_ids.get(aid)
            if known is None:
                # No lock held: may index what it reads (kamflow.applied).
                known = self._held_ids[aid] = self.applied.given(aid)
            return cid in known
        return self.applied.lookup(aid, cid).applied

    def _refuse_repeat(
        self, aid: uuid.UUID, account: Account, command: Command, now: datetime
    ) -> None:
        """Refuse what the account recorded moments ago (``corrections.repeated``)."""
        from kamflow.domain.corrections import REPEAT_WINDOW, repeat_hint, repeated

        pending = account.pending_events  # what decide recorded, not yet collected
        if not pending:
            return
        newest = pending[0].originator_version - 1
        stored = self.app.recorder.select_events(aid, lte=newest, desc=True, limit=REPEAT_LOOKBACK)
        recent = [self.app.mapper.to_domain_event(s) for s in reversed(stored)]
        found = repeated(pending, recent, now, REPEAT_WINDOW)
        if found is not None:
            raise repeat_hint(found, command.name.split(" ", 1)[0])

    def record_below_commands(
        self,
        key: str | None,
        actor: str,
        on: date,
        change: Callable[[Any, Meta], None],
    ) -> int:
        """Record events as an older kamflow or an import could have, below every
        command and rule: ``change(aggregate, meta)`` records on the account ``key``
        (governance when None) with ``Recorder.record``; nothing checks the actor, the
        roles or four eyes. For the demo's history of what roles now refuse and the
        tests of the findings on it (ADR 0023), never for users' work. Returns the
        number of events saved."""
        from kamflow.domain.governance import Governance

        recorded_at = self.clock()
        meta = Meta(actor, uuid.uuid4().hex, on, recorded_at, today=self.today())
        if key is None:
            aggregate: Any = self._load_governance() or Governance.start(meta)
        else:
            _, aid = self.locate(key)
            aggregate = self._load_current(aid)
            self._forget(aid)
        change(aggregate, meta)
        pending = aggregate.collect_events()
        governance = self._load_governance()
        # Signed by the named person when their key is at hand (the demo's people),
        # else unsigned: what an import from an older CRM would have been.
        own = self._personal_key(actor) if governance is not None and governance.signing else None
        signer = None
        if own is not None:
            from kamflow.signing import WriteSigner

            signer = WriteSigner(actor, own)
        with self._signing(signer):
            self.app.save(*pending)
        return len(pending)

    # ------------------------------------------------------------------ signatures
    def _delegated(
        self,
        governance: Governance | Roster | None,
        delegate: str,
        behalf: str,
        command: Command | GovernanceCommand,
        signer: WriteSigner | None,
    ) -> str:
        """The person ``delegate`` records for (as the roster knows them); sets
        ``signer.behalf``. Raises RuleViolation unless the roster has ``delegate``
        holding the delegate role and ``behalf`` the command's."""
        from kamflow.domain.errors import RuleViolation

        if governance is None or not governance.enforcing:
            raise RuleViolation(
                "role delegate",
                "--on-behalf-of needs a roster with an admin, who grants the delegate role",
            )
        governance.authorize(delegate, "delegate", "--on-behalf-of")
        role = getattr(command, "needs_role", "kam")
        if isinstance(command, GovernanceCommand) or role != "kam":
            # A delegate records a KAM's account work, nothing else: through roster,
            # policy, key or approval commands one delegate could act as the admin, or
            # as both the requester and the approver of four eyes (ADR 0023, 0025).
            name = getattr(command, "name", "this command")
            raise RuleViolation(
                "role delegate",
                f'--on-behalf-of records account work only; "{name}" needs the {role}'
                " role, which that person exercises themselves, never through a delegate",
            )
        person = governance.person(behalf)
        if hasattr(command, "name"):
            governance.authorize(person, command.needs_role, command.name)
        if signer is not None:
            signer.behalf = person
        return person

    def _personal_key(self, person: str) -> PersonalKey | None:
        """``person``'s private key from their file (kamflow.identity), read once."""
        from kamflow.domain.values import identity as name_identity

        wanted = name_identity(person)
        if wanted not in self._personal:
            from kamflow.identity import load_key

            self._personal[wanted] = load_key(person)
        return self._personal[wanted]

    def use_keys(self, keys: Iterable[PersonalKey]) -> None:
        """Sign the writes of these people with these keys instead of their files (the
        demo's people, whose keys are derived, not kept)."""
        from kamflow.domain.values import identity as name_identity

        for key in keys:
            self._personal[name_identity(key.person)] = key

    def _bootstrap_key(self, actor: str) -> tuple[PersonalKey | None, bool]:
        """The first admin's key, made now if they have none (never in a rehearsal,
        which writes nothing; never on a store without seals, which cannot be signed);
        and whether it was made."""
        if not getattr(self.app.recorder, "sealing", False):
            return None, False
        key = self._personal_key(actor)
        if key is not None or self._rehearsing:
            return key, False
        from kamflow.domain.values import identity as name_identity
        from kamflow.identity import make_key

        key = make_key(actor)
        self._personal[name_identity(actor)] = key
        return key, True

    def _signer(
        self, governance: Governance | Roster | None, actor: str, role: str
    ) -> WriteSigner | None:
        """Who signs this write: None where signatures are off (a store made before
        ADR 0025, until an admin sets ``signatures required``); else ``actor`` with
        their key, which must be the one the roster holds for them. Raises
        RuleViolation ("signatures") saying what to run, by whom, when it is not."""
        if governance is None or not governance.signing:
            return None
        from kamflow.domain.errors import RuleViolation
        from kamflow.identity import key_path

        registered = governance.key_of(actor)
        key = self._personal_key(actor)
        if key is not None and key.public == registered:
            from kamflow.signing import WriteSigner

            return WriteSigner(actor, key)
        if registered is not None:
            from kamflow.identity import demo_key

            demo = demo_key(actor)
            if demo.public == registered:
                # A person of `kamflow demo`, whose key is derived from a public secret
                # (ADR 0025): whoever holds the demo database signs as them, as the demo
                # did, and nothing is written to the user's key folder, where a real
                # person of that name keeps a key of their own.
                from kamflow.signing import WriteSigner

                return WriteSigner(actor, demo)
        path = key_path(actor)  # for the refusals below only
        if registered is None and key is not None and key.public in governance.revoked_keys():
            # Not "register this key": a revoked key is never bound again.
            raise RuleViolation(
                "signatures",
                f"{actor}'s key {key.public} was revoked; {actor} needs a new one: move"
                f" {path} away, run `kamflow id init` (as {actor}), and an admin runs:"
                f" kamflow roster key {actor} --key PUB --reason ...",
            )
        if registered is None:
            pub = key.public if key is not None else "PUB"
            admin = (
                f"kamflow roster grant {actor} {role} --key {pub} --reason ..."
                if actor not in governance.roster
                else f"kamflow roster key {actor} --key {pub} --reason ..."
            )
            mine = (
                f"{actor} runs `kamflow id init` and gives the public key it prints (PUB) to"
                " an admin, who runs"
                if key is None
                else "an admin runs"
            )
            raise RuleViolation(
                "signatures",
                f"every write to this database is signed and {actor} has no key registered;"
                f" {mine}: {admin}",
            )
        if key is None:
            raise RuleViolation(
                "signatures",
                f"{actor}'s registered key {registered} is not on this machine ({path});"
                f" copy it there, or run `kamflow id init` (as {actor}) and an admin runs:"
                f" kamflow roster key {actor} --key PUB --reason ...",
            )
        raise RuleViolation(
            "signatures",
            f"{actor}'s key at {path} ({key.public}) is not the one registered for them"
            f" ({registered}); an admin runs: kamflow roster key {actor} --key"
            f" {key.public} --reason ...",
        )

    @contextlib.contextmanager
    def _signing(self, signer: WriteSigner | None) -> Iterator[None]:
        """The recorder signs what is saved in the block with ``signer`` (none: unsigned)."""
        recorder = self.app.recorder
        if not hasattr(recorder, "signer"):
            yield
            return
        recorder.signer = signer
        try:
            yield
        finally:
            recorder.signer = None

    def _roster(self, light: bool = False) -> Governance | Roster | None:
        """The policies and roster a write is checked against (None: nothing recorded
        yet); read once per hold(), as the batch assumes no other writer meanwhile.
        ``light``: only the roster is needed, read from the stored JSON when it can be
        (``_read_roster``), for a single write (ADR 0029)."""
        if self._unsaved is None:
            if light:
                known, roster = self._read_roster()
                if known:
                    return roster
            return self._load_governance()
        if self._held_governance is None:
            self._held_governance = self._load_governance()
        return self._held_governance

    def _read_roster(self) -> tuple[bool, Roster | None]:
        """The roster from the governance log's stored JSON, without importing or
        building the Governance aggregate: ``(True, roster)``, ``(True, None)`` when
        nothing is recorded, ``(False, None)`` when an event is not plain JSON (a
        cipher) or not one kamflow.domain.roster knows (then read the aggregate)."""
        import json

        from kamflow.domain.roster import NOT_ROSTER, Roster

        roster: Roster | None = None
        for stored in self.app.recorder.select_events(GOVERNANCE_ID):
            roster = roster or Roster()
            if stored.topic in NOT_ROSTER:
                continue
            try:
                state = json.loads(stored.state)
            except ValueError:
                return False, None
            if not isinstance(state, dict) or not roster.apply(stored.topic, state):
                return False, None
        return True, roster

    @staticmethod
    def _full(governance: Governance | Roster | None) -> Governance:
        """The aggregate where a command reads policies (never the light roster: such
        commands ask for the aggregate), or the defaults where nothing is recorded."""
        from kamflow.domain.governance import Governance, empty_governance

        if governance is None:
            return empty_governance()
        assert isinstance(governance, Governance)
        return governance

    def _new_store(self) -> bool:
        """Whether nothing at all is stored yet (the next writer is the first)."""
        return not self.app.recorder.max_notification_id()

    def _load_governance(self) -> Governance | None:
        try:
            governance: Governance = self.app.repository.get(GOVERNANCE_ID)
        except AggregateNotFoundError:
            return None
        return governance

    @_guarded
    def governance(self) -> Governance:
        """Policies and roster as recorded (defaults where nothing was ever set)."""
        from kamflow.domain.governance import empty_governance

        return self._load_governance() or empty_governance()

    @_guarded
    def governance_history(self) -> list[Governance.Event]:
        from kamflow.domain.governance import Governance

        return [e for e in self.app.events.get(GOVERNANCE_ID) if isinstance(e, Governance.Event)]

    def _snapshot(self, aggregate: Account | Governance) -> None:
        """Snapshot the aggregate just saved, from memory (no reload)."""
        # Saved events are durable already; a lost snapshot only costs replay time.
        with contextlib.suppress(IntegrityError, OperationalError):
            assert self.app.snapshots is not None
            self.app.snapshots.put([type(aggregate).Snapshot.take(aggregate)])
            self._prune_snapshots(aggregate.id, aggregate.version)

    def _prune_snapshots(self, aid: uuid.UUID, version: int) -> None:
        """Delete the aggregate's snapshots older than ``version`` except the as-of
        checkpoints (every CHECKPOINT_INTERVAL versions): a snapshot holds the whole
        state, so keeping each one made storage grow with the square of history (ADR
        0024). Snapshots are a cache; the events stay the record."""
        assert self.app.snapshots is not None
        recorder: Any = self.app.snapshots.recorder
        if not self.store.postgres:
            with recorder.datastore.transaction(commit=True) as c:
                # The table name is eventsourcing's constant ("stored_snapshots").
                c.execute(
                    f"DELETE FROM {recorder.events_table_name} WHERE originator_id = ?"
                    " AND originator_version < ? AND originator_version % ? <> 0",
                    (aid.hex, version, CHECKPOINT_INTERVAL),
                )
            return
        from psycopg import sql

        statement = sql.SQL(
            "DELETE FROM {}.{} WHERE originator_id = %s"
            " AND originator_version < %s AND originator_version %% %s <> 0"
        ).format(
            sql.Identifier(recorder.datastore.schema), sql.Identifier(recorder.events_table_name)
        )
        with recorder.datastore.transaction(commit=True) as curs:
            curs.execute(statement, (aid, version, CHECKPOINT_INTERVAL))

    def keep_loaded(self) -> None:
        """Keep accounts in memory between commands (batch mode): most lines of a script
        touch an account a previous line loaded, and reloading it each time would cost
        more than deciding the command. Staleness is caught on save (_load_current)."""
        if self._loaded is None:
            self._loaded = {}

    def rehearse(self) -> None:
        """Decide every later command against the accounts kept in memory and save
        none of them (``hold`` without ``flush``): a rehearsal sees the effect of the
        commands before it, as the real run would, and writes nothing (a governance
        change is decided, then forgotten)."""
        self.hold()
        self._rehearsing = True

    def hold(self) -> None:
        """Batch mode for a bulk load (`kamflow import`): account commands are decided
        against the accounts kept in memory and their events held until ``flush``
        saves them all in one transaction, instead of one transaction per command.
        Command ids keep the load exactly-once when it is run again after a failure.
        The load assumes no other writer changes its accounts meanwhile: one that
        does makes ``flush`` fail (StorageError) with nothing of the batch saved.
        Policies and the roster are read once, at the first command that needs them."""
        self.keep_loaded()
        if self._unsaved is None:
            self._unsaved = {}

    def flush(self, *, last: bool = False) -> int:
        """Save the events held since the last flush in one transaction; how many.
        ``last`` says the load is done: the snapshots it made due are taken then, one
        per account that passed a multiple of SNAPSHOT_INTERVAL, at its last version (a
        snapshot at every batch would be encoded and stored only to be replaced by the
        next: meanwhile the accounts are kept in memory).
        Raises StorageError if another writer changed one of their accounts."""
        if self._unsaved is None or self._rehearsing:
            return 0
        held, self._unsaved = self._unsaved, {}
        self._held_order = []
        events = [e for pending in held.values() for e in pending]
        try:
            with self._reading(), self._signing(self._held_signer):
                if events:
                    # Straight to the recorder: Application.save would only check each
                    # event against eventsourcing's runtime protocol (~30 us an event)
                    # and keep no aggregate (none given, no cache, no snapshot interval),
                    # and EventStore.put only adds a Recording per event, which nothing
                    # reads here; the mapper (encryption) and the recorder (seals, the
                    # signature) see them all the same.
                    to_stored = self.app.mapper.to_stored_event
                    self.app.recorder.insert_events([to_stored(e) for e in events])
        except (IntegrityError, StorageError) as exc:
            for aid in held:
                self._forget(aid)
                self._held_ids.pop(aid, None)
            why = "another writer changed one of its accounts meanwhile"
            if isinstance(exc, StorageError):
                why = str(exc)
            raise StorageError(
                f"{why}; the last {len(events)} events were not saved; run it again: what"
                " was saved is not applied twice"
            ) from None
        assert self._loaded is not None and self.app.snapshots is not None
        for aid, pending in held.items():
            first, newest = pending[0].originator_version, pending[-1].originator_version
            if newest // SNAPSHOT_INTERVAL > (first - 1) // SNAPSHOT_INTERVAL:
                self._snapshots_due.add(aid)
        if last and self._snapshots_due:
            # All in one transaction, of the accounts as saved (nothing is held now).
            # Events are saved: a lost snapshot only costs replay time.
            due, self._snapshots_due = self._snapshots_due, set()
            snapshots = [Account.Snapshot.take(self._loaded[a]) for a in due if a in self._loaded]
            with contextlib.suppress(IntegrityError, OperationalError):
                self.app.snapshots.put(snapshots)
        return len(events)

    def _decide_held(
        self,
        command: Command,
        account: Account | None,
        aid: uuid.UUID,
        meta: Meta,
        subject: str,
        cid: str,
    ) -> Outcome:
        assert self._unsaved is not None and self._loaded is not None
        try:
            aggregate, reference = command.decide(account, meta)
        except BaseException:
            # decide may have changed the account before refusing.
            self._rebuild(aid)
            raise
        pending = aggregate.collect_events()
        held = aggregate.id  # a property: read once
        if meta.command_id_given:
            known = self._held_ids.get(held)
            if known is None:
                known = self._held_ids[held] = self.applied.given(held)
            known.add(cid)
        self._unsaved.setdefault(held, []).extend(pending)  # type: ignore[arg-type]
        self._held_order += [held] * len(pending)
        self._loaded[held] = aggregate
        events = [(type(e).__name__, e.originator_version) for e in pending]
        return Outcome(subject, reference, events, cid, _ids(pending))

    def _rebuild(self, aid: uuid.UUID) -> None:
        """Keep the account the stored events and the held ones make."""
        assert self._unsaved is not None and self._loaded is not None
        rebuilt = self._load_or_none(aid)
        for event in self._unsaved.get(aid, []):
            rebuilt = event.mutate(rebuilt)
        if rebuilt is None:
            self._loaded.pop(aid, None)
        else:
            self._loaded[aid] = rebuilt

    def mark(self) -> int:
        """Where the held events stand now, for ``roll_back`` (hold() mode)."""
        return len(self._held_order)

    def roll_back(self, mark: int) -> None:
        """Forget the events held since ``mark`` (no flush between), so that a group of
        commands (an imported row) is applied whole or not at all."""
        if self._unsaved is None:
            return
        dropped = self._held_order[mark:]
        del self._held_order[mark:]
        for aid in set(dropped):
            events = self._unsaved[aid]
            gone = events[len(events) - dropped.count(aid) :]
            del events[len(events) - len(gone) :]
            known = self._held_ids.get(aid)
            if known is not None:
                # Held ids were not known before they were decided (else skipped).
                known.difference_update(e.command_id for e in gone if e.command_id_given)
            if not events:
                del self._unsaved[aid]
            with self._reading():
                self._rebuild(aid)

    def current(self, key: str) -> Account | None:
        """The account as this process last decided it (batch mode, a rehearsal), else
        as stored; None if it was never opened."""
        _, aid = self.locate(key)
        with self._reading():
            return self._load_current(aid)

    def _forget(self, aid: uuid.UUID) -> None:
        if self._loaded is not None:
            self._loaded.pop(aid, None)

    def _load_current(self, aid: uuid.UUID) -> Account | None:
        """The account as last loaded or saved by this process, or loaded now."""
        if self._loaded is None or aid not in self._loaded:
            account = self._load_or_none(aid)
            if account is not None and self._loaded is not None:
                self._loaded[aid] = account
            return account
        kept = self._loaded[aid]
        if self._locked:
            # With the write lock held nothing can be saved until we are done: one read
            # of what other writers saved since brings the kept account up to date, so
            # the save cannot conflict (a conflict would cost a retry after a wait).
            newer = list(self.app.events.get(aid, gt=kept.version))
            if newer:
                forwarded = project_aggregate(kept, newer)
                assert forwarded is not None  # events only ever add to an account
                kept = self._loaded[aid] = forwarded
        # Without the lock, no read: if another writer has saved since, our save of the
        # next event fails on the version, the account is forgotten, and the command is
        # decided again on a fresh load. Optimistic concurrency already checks staleness.
        return kept

    # -------------------------------------------------------------- queries
    def _load_or_none(self, aid: uuid.UUID, version: int | None = None) -> Account | None:
        try:
            account: Account = self.app.repository.get(aid, version=version)
        except AggregateNotFoundError:
            return None
        return account

    @_guarded
    def load(self, key: str) -> Account:
        key, aid = self.locate(key)
        account = self._load_or_none(aid)
        if account is None:
            raise AccountNotFound(key)
        return account

    @_guarded
    def last_version(self, key: str) -> int:
        key, aid = self.locate(key)
        rows = self.app.recorder.select_events(aid, desc=True, limit=1)
        if not rows:
            raise AccountNotFound(key)
        return rows[0].originator_version

    def _recorded_at(self, aid: uuid.UUID, version: int) -> datetime:
        stored = self.app.recorder.select_events(aid, gt=version - 1, lte=version)
        # The as-of search reads only the record time: taken from the stored JSON where
        # it is plain (eventsourcing writes it first), decoding the whole event only
        # when it is not (a cipher or compressor is set, or an unexpected shape).
        raw = stored[0].state
        found = _TIMESTAMP.match(raw) if isinstance(raw, bytes) else None
        if found is not None:
            with contextlib.suppress(ValueError):
                stamp = datetime.fromisoformat(found.group(1).decode("ascii"))
                if stamp.tzinfo is not None:
                    return stamp
        event = self.app.mapper.to_domain_event(stored[0])
        return event.timestamp  # type: ignore[attr-defined, no-any-return]

    @_guarded
    def version_as_of(self, key: str, as_of: date) -> int:
        """The account's last version recorded by the end of ``as_of`` in the business
        zone (``zone``), or 0.

        Record time never decreases along an account's stream (the aggregate clamps
        it), so a binary search reads about log2(n) single events instead of all n.
        """
        last = self.last_version(key)
        key, aid = self.locate(key)
        cutoff = end_of_day(as_of, self.zone)
        lo, hi = 0, last  # invariant: version lo is known (or 0) before the cutoff
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._recorded_at(aid, mid) < cutoff:
                lo = mid
            else:
                hi = mid - 1
        return lo

    @_guarded
    def account_at(
        self, key: str, *, as_of: date | None = None, version: int | None = None
    ) -> Account:
        """The account now, as it stood after its Nth event, or as the log held it on a date."""
        if as_of is not None and version is not None:
            raise InvalidInput("give --as-of or --version, not both")
        if as_of is None and version is None:
            return self.load(key)
        last = self.last_version(key)
        key, aid = self.locate(key)
        if version is not None:
            if version < 1:
                raise InvalidInput(f"--version must be at least 1 (got {version})")
            if version > last:
                raise NotFound(
                    f'account "{key}" has {last} events; --version {version} is beyond its last'
                )
        else:
            assert as_of is not None
            version = self.version_as_of(key, as_of)
            if version == 0:
                opened = business_date(self._recorded_at(aid, 1), self.zone)
                raise NotFound(
                    f'account "{key}" was not yet recorded on {as_of} (first recorded {opened})'
                )
        account = self._load_or_none(aid, version=version)
        assert account is not None
        return account

    @_guarded
    def history(self, key: str) -> Iterator[EventRecord]:
        """Every event of the account, in order. An event stored before kamflow kept the
        values a change replaced gets them recomputed from the events before it (the
        account is replayed alongside; ``envelope.backfill``)."""
        from kamflow.domain.envelope import backfill

        key, aid = self.locate(key)
        zone = self.zone
        found = False
        replayed: Account | None = None
        replayable = True
        for event in self.app.events.get(aid):
            found = True
            assert isinstance(event, Account.Event)
            backfill(event, replayed if replayable else None)
            if replayable:
                try:
                    replayed = event.mutate(replayed)
                except Exception:  # history is shown as stored, old values as unknown
                    replayable = False
            yield EventRecord(
                version=event.originator_version,
                type=type(event).__name__,
                actor=event.actor,
                delegate=event.delegate,
                occurred_on=event.occurred_on,
                recorded_at=event.timestamp.astimezone(zone),
                command_id=event.command_id,
                summary=event.summary(),
                payload=event.payload(),
                changes=[change.as_json() for change in event.changed()],
            )
        if not found:
            raise AccountNotFound(key)

    @_guarded
    def check_workflows(self, key: str) -> list[str]:
        """Steps in the account's stored history that its workflows would refuse."""
        from kamflow.domain.conformance import check_history

        key, aid = self.locate(key)
        events = [e for e in self.app.events.get(aid) if isinstance(e, Account.Event)]
        if not events:
            raise AccountNotFound(key)
        return check_history(key, events)

    @_guarded
    def conduct(self, key: str | None = None) -> list[str]:
        """Roles and four eyes in stored history (kamflow.domain.conduct), one line per
        finding: ``P4 acme: exception E-1 ...``; only ``key``'s account and governance
        when given. Raises AccountNotFound for a key with no account."""
        from dataclasses import replace

        from kamflow.domain.conduct import GOVERNANCE, Act, actor_problem, findings, shown_actor
        from kamflow.domain.governance import Governance

        acts: list[Act] = []
        lines: list[str] = []

        def actor_line(where: str, event: Event) -> None:
            problem = actor_problem(event.actor)
            if problem:
                lines.append(
                    f"actor {where}: {type(event).__name__} (version"
                    f" {event.originator_version}): {problem} ({shown_actor(event.actor)})"
                )

        for g in self.governance_history():
            actor_line(GOVERNANCE, g)
            v = g.originator_version
            if isinstance(g, Governance.AdminBootstrapped):
                acts.append(Act("bootstrap", GOVERNANCE, v, g.actor, g.person, ",".join(g.roles)))
            elif isinstance(g, Governance.RoleGranted):
                acts.append(Act("grant", GOVERNANCE, v, g.actor, g.person, g.role))
            elif isinstance(g, Governance.RoleRevoked):
                acts.append(Act("revoke", GOVERNANCE, v, g.actor, g.person, g.role))
            elif isinstance(g, Governance.PolicySet):
                acts.append(Act("policy", GOVERNANCE, v, g.actor, subject=g.policy))
            elif isinstance(g, Governance.SettingSet):
                acts.append(Act("policy", GOVERNANCE, v, g.actor, subject=g.setting))
        keys = [self.locate(key)[0]] if key else [a.key for a in self.accounts()]
        for k in keys:
            _, aid = self.locate(k)
            events = [e for e in self.app.events.get(aid) if isinstance(e, Account.Event)]
            if not events:
                raise AccountNotFound(k)
            mine: list[Act] = []
            for e in events:
                actor_line(k, e)
                if isinstance(e, Account.TierChanged):
                    requester: str | None = (
                        e.requested_by if isinstance(e, Account.TierRaiseApproved) else e.actor
                    )
                    mine.append(
                        Act(
                            "tier",
                            k,
                            e.originator_version,
                            e.actor,
                            subject=e.to_tier,
                            requester=requester,
                            approver=e.approved_by,
                        )
                    )
                elif isinstance(e, Account.PolicyExceptionGranted):
                    requester = (
                        e.requested_by if isinstance(e, Account.PolicyExceptionApproved) else None
                    )
                    mine.append(
                        Act(
                            "exception",
                            k,
                            e.originator_version,
                            e.actor,
                            subject=e.exception_id,
                            requester=requester,
                            approver=e.approver,
                        )
                    )
            # P1 or P4 by the account's tier now, as report principles judges it.
            tier = next(
                (e.to_tier for e in reversed(events) if isinstance(e, Account.TierChanged)),
                str(getattr(events[0], "tier", "prospect")),
            )
            acts.extend(replace(a, tier=tier) for a in mine)
        found = [f"{f.principle} {f.key}: {f.finding}" for f in findings(acts)]
        return found + lines

    @_guarded
    def account_ids(self) -> list[uuid.UUID]:
        """Every opened account, in the order they were opened."""
        topic = f"{Account.AccountOpened.__module__}:{Account.AccountOpened.__qualname__}"
        ids: list[uuid.UUID] = []
        start = 0
        while True:
            batch = self.app.recorder.select_notifications(
                start=start, limit=1000, topics=[topic], inclusive_of_start=False
            )
            if not batch:
                return ids
            ids.extend(n.originator_id for n in batch)  # type: ignore[misc]
            start = batch[-1].id

    @_guarded
    def accounts(self) -> list[Account]:
        loaded = [self._load_or_none(aid) for aid in self.account_ids()]
        return sorted((a for a in loaded if a is not None), key=lambda a: a.key)

    @_guarded
    def listing(self) -> list[Listed]:
        """Every account by key, loaded, or with the reason it cannot be read: one
        damaged account must not hide the others."""
        listed: list[Listed] = []
        for aid in self.account_ids():
            try:
                account = self._load_or_none(aid)
            except UnreadableEvent as exc:
                listed.append(Listed(self._key_of(aid), None, self.describe_unreadable(exc)))
                continue
            if account is not None:
                listed.append(Listed(account.key, account))
        return sorted(listed, key=lambda item: item.key)

    @_guarded
    def event_count(self) -> int:
        """How many events the store holds (not the highest position: PostgreSQL
        sequences skip numbers when a conflicting insert rolls back)."""
        recorder: Any = self.app.recorder
        if not self.store.postgres:
            with recorder.datastore.transaction(commit=False) as c:
                # The table name is eventsourcing's constant ("stored_events").
                c.execute(f"SELECT COUNT(*) FROM {recorder.events_table_name}")
                return int(c.fetchone()[0])
        from psycopg import sql

        statement = sql.SQL("SELECT COUNT(*) AS n FROM {}.{}").format(
            sql.Identifier(recorder.datastore.schema), sql.Identifier(recorder.events_table_name)
        )
        with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement)
            return int(curs.fetchone()["n"])

    # ------------------------------------------------------- unreadable data
    def describe_unreadable(self, exc: UnreadableEvent) -> str:
        """``stored event 5 of "tongwei" (position 39) cannot be read: <cause>``."""
        whose = self._whose(exc.originator_id)
        if exc.snapshot:
            return f"snapshot of {whose} at version {exc.version} {exc.cause}"
        position = self._position(exc.originator_id, exc.version)
        at = f" (position {position})" if position is not None else ""
        return f"stored event {exc.version} of {whose}{at} {exc.cause}"

    def _exists(self, aid: uuid.UUID) -> bool:
        return bool(self.app.recorder.select_events(aid, limit=1))

    def locate(self, typed: str) -> tuple[str, uuid.UUID]:
        """The key and aggregate id of the account a user named: the id of the key's
        identity, or, for a key typed in a form an older kamflow kept apart (full-width
        letters), the account that older kamflow opened under it."""
        known = self._located.get(typed)
        if known is not None:
            return known
        key = normalise_key(typed)
        aid = self._aid(key)
        legacy = legacy_account_id(typed)
        if legacy is None:
            self._located[typed] = (key, aid)
        elif not self._exists(aid) and self._exists(legacy):
            self._keys[legacy] = key
            return key, legacy
        return key, aid

    def _aid(self, key: str) -> uuid.UUID:
        """The account id of a key, remembered so a message about its stored events
        can name the key even when its first event cannot be read."""
        aid = account_id(key)
        self._keys[aid] = key
        return aid

    def _bad_snapshot(self, aid: uuid.UUID, version: int, cause: str) -> None:
        if (aid, version) in self._warned:
            return
        self._warned.add((aid, version))
        self.warn(
            f"snapshot of {self._whose(aid)} at version {version} {cause};"
            " ignored it and replayed the account from its events"
        )

    def _whose(self, aid: uuid.UUID) -> str:
        if aid == GOVERNANCE_ID:
            return "the governance log"
        key = self._key_of(aid)
        return f'"{key}"' if not key.startswith("(") else f"account {key}"

    def _key_of(self, aid: uuid.UUID) -> str:
        """An account's key: as given to this Kamflow, else from its first event (the
        event itself, else its raw JSON), else ``(id <uuid>)``."""
        if aid in self._keys:
            return self._keys[aid]
        try:
            stored = self.app.recorder.select_events(aid, lte=1)
        except Exception:
            stored = []
        if stored:
            try:
                opened = self.app.mapper.to_domain_event(stored[0])
                key = getattr(opened, "key", None)
                if isinstance(key, str) and account_id(key) == aid:
                    return key
            except Exception:
                pass
            raw = stored[0].state
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            found = re.search(r'"key"\s*:\s*"([^"\\]{1,200})"', text)
            if found and account_id(found.group(1)) == aid:
                return found.group(1)
        return f"(id {aid})"

    def _position(self, aid: uuid.UUID, version: int) -> int | None:
        """The event's position in the log (SQLite rowid, PostgreSQL notification_id)."""
        recorder: Any = self.app.recorder
        try:
            if not self.store.postgres:
                with recorder.datastore.transaction(commit=False) as c:
                    # The table name is eventsourcing's constant ("stored_events").
                    c.execute(
                        f"SELECT rowid FROM {recorder.events_table_name}"
                        " WHERE originator_id = ? AND originator_version = ?",
                        (aid.hex, version),
                    )
                    row = c.fetchone()
                    return int(row[0]) if row else None
            from psycopg import sql

            statement = sql.SQL(
                "SELECT notification_id AS n FROM {}.{}"
                " WHERE originator_id = %s AND originator_version = %s"
            ).format(
                sql.Identifier(recorder.datastore.schema),
                sql.Identifier(recorder.events_table_name),
            )
            with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
                curs.execute(statement, (aid, version))
                found = curs.fetchone()
                return int(found["n"]) if found else None
        except Exception:  # only a detail of a message about something else
            return None


def _ids(pending: Any) -> dict[str, str | list[str]]:
    ids: dict[str, str | list[str]] = {}
    for event in pending:
        if isinstance(event, Event):
            ids.update(event.ids())
    return ids


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def account_view(account: Account) -> dict[str, Any]:
    """The account as `account show --json` prints it: plain values, stable keys."""
    currencies = sorted(set(account.revenue) | set(account.service_cost) | set(account.received))
    zero = Decimal(0)
    money_rows = {
        cur: {
            "revenue": account.revenue.get(cur, zero),
            "cost_of_sales": account.cost_of_sales.get(cur, zero),
            "gross_margin": account.revenue.get(cur, zero) - account.cost_of_sales.get(cur, zero),
            "service_cost": account.service_cost.get(cur, zero),
            "real_profit": account.revenue.get(cur, zero)
            - account.cost_of_sales.get(cur, zero)
            - account.service_cost.get(cur, zero),
            "received": account.received.get(cur, zero),
            "receivable": account.receivable().get(cur, zero),
        }
        for cur in currencies
    }
    return {
        "key": account.key,
        **{k: account.profile.get(k) for k in ("name", "industry", "owner")},
        "profile": {
            k: v for k, v in account.profile.items() if k not in ("name", "industry", "owner")
        },
        "tier": account.tier,
        "lifecycle": account.lifecycle,
        "currency": account.currency,
        "opened_on": account.opened_on,
        "version": account.version,
        "recorded_at": account.modified_on,
        "last_contact_on": account.last_contact_on,
        "contacts": [{"id": cid, **c} for cid, c in account.contacts.items()],
        "visits": account.visits,
        "last_visit": account.last_visit,
        "open_issues": [{"id": iid, **i} for iid, i in account.open_issues.items()],
        "complaints": [{"id": cid, **c} for cid, c in account.complaints.items()],
        "money": money_rows,
        "invoices": [{"invoice": ref, **inv} for ref, inv in account.invoices.items()],
        "satisfaction": account.satisfaction,
        "competitors": [{"name": n, **d} for n, d in account.competitors.items()],
        "opportunities": [{"id": oid, **o} for oid, o in account.opportunities.items()],
    }
