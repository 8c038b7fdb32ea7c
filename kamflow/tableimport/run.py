"""Rows of a table become the domain commands `kamflow apply` runs (ADR 0019).

Each row is read through the mapping (columns, defaults, value maps, dates), then
turned into commands: the account's (``account open``, then ``account update`` for the
rest of its file, once per account), a contact's, an opportunity's (``opp open`` and
the steps of the funnel up to the stage the row gives), a sale and a payment. Every
command is built and decided by the same code as a line of `kamflow apply`
(``kamflow.domain.commands.build``, ``Kamflow.execute``), so every rule (P1-P8, dates,
names) holds for an imported row as for a typed command.

Command ids are derived from the source, the row's external ids and what the command
records (``maven-crm:opp:1C1I7A6R:won``, ``maven-crm:sale:1C1I7A6R:1054``), so
importing the same file again applies nothing, and importing a changed file applies
only what changed, once.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from kamflow.domain.commands import all_commands, build
from kamflow.domain.dates import BadDate
from kamflow.domain.errors import InvalidInput, KamflowError
from kamflow.domain.values import identity
from kamflow.tableimport.mapping import SECTIONS, STAGES, Mapping, Section
from kamflow.tableimport.read import Cell, Table, parse_date

if TYPE_CHECKING:
    from kamflow.application import Kamflow, Outcome
    from kamflow.domain.account import Account

OPEN_STAGES = STAGES[:4]
MAX_ID_PART = 40
# Rows whose events are saved in one transaction: few enough that a failed save loses
# little work (a re-run applies it, once), many enough that commits cost nothing.
FLUSH_ROWS = 1000


@dataclass(frozen=True)
class Reject:
    """A row that was not imported: its number (the header is row 1), the column at
    fault (empty when the row as a whole was refused), the value, and why."""

    row: int
    column: str
    value: str
    reason: str

    def line(self) -> str:
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        shown = f" {self.value!r}" if self.column else ""
        return f"{where}{shown}: {self.reason}"


@dataclass
class Summary:
    """What an import did, by row: created (its record is new), updated (a record it
    names changed), unchanged, rejected, skipped (a ``skip_empty`` cell was empty); and
    the accounts opened and updated, the commands applied, the encoding read."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    skipped: int = 0
    accounts_opened: int = 0
    accounts_updated: int = 0
    commands: int = 0
    encoding: str = ""
    rejects: list[Reject] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "skipped": self.skipped,
            "accounts_opened": self.accounts_opened,
            "accounts_updated": self.accounts_updated,
            "commands_applied": self.commands,
            "encoding": self.encoding,
            "rejects": [r.__dict__ for r in self.rejects],
        }


class RowRefused(KamflowError):
    """A row refused under ``strict``: the rows before it stay imported."""

    def __init__(self, reject: Reject, imported: int) -> None:
        super().__init__(
            f"{reject.line()}; stopped there (--strict): {imported} rows before it imported,"
            f" nothing of row {reject.row} or after"
        )
        self.exit_code = 1
        self.line = reject.row


class _Bad(Exception):
    def __init__(self, column: str, value: str, reason: str) -> None:
        self.column, self.value, self.reason = column, value, reason


@dataclass
class _Row:
    number: int
    cells: list[Cell]
    values: dict[str, dict[str, Any]]  # section -> field -> value (None: not given)


@dataclass
class _Account:
    """The account a file describes: the first value each field has in the file's rows
    of that account, and the earliest date among their facts (its opening date)."""

    key: str
    profile: dict[str, Any] = field(default_factory=dict)
    first_fact: date | None = None
    state: str = ""  # "", "ready", or the reason it could not be opened
    failed_column: str = ""


class Importer:
    """One import of one table into one store (``run``)."""

    def __init__(
        self,
        kamflow: Kamflow,
        table: Table,
        mapping: Mapping,
        *,
        actor: str,
        strict: bool = False,
        on_row: Callable[[int], None] | None = None,
    ) -> None:
        self.kamflow = kamflow
        self.table = table
        self.mapping = mapping
        self.actor = actor
        self.strict = strict
        self.on_row = on_row or (lambda n: None)
        self.index = {h: i for i, h in enumerate(table.headers)}
        self.summary = Summary(encoding=table.encoding)
        self.accounts: dict[str, _Account] = {}
        self.opportunities: dict[str, dict[str, str]] = {}  # account key -> ext id -> O-n
        self.commands = all_commands()  # looked up once, not per command
        # How each field of each section is read, worked out once for all the rows.
        self.plan = [
            (
                section.name,
                [
                    _field(section, name, kind, self.index)
                    for name, (_, kind) in SECTIONS[section.name].items()
                ],
            )
            for section in mapping.sections.values()
        ]

    # ------------------------------------------------------------------ reading
    def _cell(self, row: list[Cell], column: str) -> Cell:
        value = row[self.index[column]]
        return value.strip() if isinstance(value, str) else value

    def _read(self, number: int, cells: list[Cell]) -> _Row:
        """The row's values, section by section; _Bad for the first cell that cannot be
        read (a date, a value outside the vocabulary, an account key)."""
        values: dict[str, dict[str, Any]] = {}
        for section, fields in self.plan:
            values[section] = {f.name: self._value(f, cells) for f in fields}
        account = values.get("account")
        if account is not None:
            column = self.mapping.sections["account"].columns.get("key", "")
            account["key"] = _key(account["key"], column)
        return _Row(number, cells, values)

    def _value(self, f: _Field, cells: list[Cell]) -> Any:
        raw = cells[f.index] if f.index is not None else ""
        if isinstance(raw, str):
            raw = raw.strip()
        column = f.column
        if raw == "" and f.default is not None:
            raw, column = f.default, None
        if raw == "":
            return None
        shown = str(raw)
        if f.values and not isinstance(raw, date):
            raw = f.values.get(raw) or f.folded.get(identity(raw), raw)
        where = column or f"[{f.section}.default] {f.name}"
        name, kind = f.name, f.kind
        if kind == "date":
            try:
                return _date(raw, self.mapping.dates)
            except BadDate as exc:
                raise _Bad(where, shown, str(exc)) from None
        if isinstance(raw, date):
            raw = raw.isoformat()
        if kind == "stage" and raw not in STAGES:
            raise _Bad(
                where,
                shown,
                f"not a stage (one of: {', '.join(STAGES)}); map it in [{f.section}.values.{name}]",
            )
        if kind == "tier" and raw not in ("prospect", "target", "key", "strategic"):
            raise _Bad(
                where,
                shown,
                f"not a tier (prospect, target, key, strategic); map it in"
                f" [{f.section}.values.{name}]",
            )
        if kind == "list":
            return [part.strip() for part in re.split(r"[,;，；]", raw) if part.strip()]
        return raw

    def _skipped(self, cells: list[Cell]) -> bool:
        return any(self._cell(cells, c) == "" for c in self.mapping.skip_empty)

    # ------------------------------------------------------------------ running
    def run(self) -> Summary:
        """Import every row, in order; the summary. A row that cannot be read or is
        refused is kept in ``summary.rejects`` (or, with ``strict``, stops the run with
        RowRefused, the rows before it staying imported)."""
        # One transaction per FLUSH_ROWS rows, not per command (Kamflow.hold).
        self.kamflow.hold()
        # Read every row first: an account opens before its earliest fact in the file.
        rows: list[_Row | Reject | None] = []
        for offset, cells in enumerate(self.table.rows):
            number = offset + 2
            if not any(str(c).strip() for c in cells):
                rows.append(None)
                continue
            if self._skipped(cells):
                self.summary.skipped += 1
                rows.append(None)
                continue
            try:
                row = self._read(number, cells)
            except _Bad as bad:
                rows.append(Reject(number, bad.column, bad.value, bad.reason))
                continue
            rows.append(row)
            self._note_account(row)
        for offset, read in enumerate(rows):
            if isinstance(read, Reject):
                self._reject(read)
            elif read is not None:
                self._import(read)
            self.on_row(1)
            if (offset + 1) % FLUSH_ROWS == 0:
                self.kamflow.flush()
        self.kamflow.flush(last=True)
        self.summary.rejects.sort(key=lambda r: r.row)
        self.summary.rows = sum(1 for c in self.table.rows if any(str(x).strip() for x in c))
        return self.summary

    def _reject(self, reject: Reject) -> None:
        if self.strict:
            imported = self.summary.created + self.summary.updated + self.summary.unchanged
            self.kamflow.flush(last=True)
            raise RowRefused(reject, imported)
        self.summary.rejected += 1
        self.summary.rejects.append(reject)

    def _note_account(self, row: _Row) -> None:
        values = row.values.get("account")
        if values is None:
            return
        found = self.accounts.setdefault(values["key"], _Account(values["key"]))
        for name, value in values.items():
            if value is not None and name not in found.profile:
                found.profile[name] = value
        for section in row.values.values():
            for value in section.values():
                if isinstance(value, date) and (
                    found.first_fact is None or value < found.first_fact
                ):
                    found.first_fact = value

    def _import(self, row: _Row) -> None:
        """The row's commands, applied whole or not at all (Kamflow.mark, roll_back)."""
        applied: list[Outcome] = []
        created = False
        mark = self.kamflow.mark()
        counts = (self.summary.accounts_opened, self.summary.accounts_updated)
        key = row.values["account"]["key"] if "account" in row.values else None
        known = dict(self.opportunities.get(key, {})) if key is not None else {}
        try:
            if "account" in row.values:
                created = self._ensure_account(row, applied)
            for section, step in (
                ("contact", self._contact),
                ("opportunity", self._opportunity),
                ("sale", self._sale),
            ):
                if section in row.values:
                    created = step(row, applied) or created
        except _Bad as bad:
            self.kamflow.roll_back(mark)
            self.summary.accounts_opened, self.summary.accounts_updated = counts
            if key is not None:
                self.opportunities[key] = known
                if self.accounts[key].state == "ready" and any(
                    o.applied and o.command_id.startswith(f"{self.mapping.source}:account:")
                    for o in applied
                ):
                    self.accounts[key].state = ""  # opened with this row: the next one opens it
            self._reject(Reject(row.number, bad.column, bad.value, bad.reason))
            return
        self.summary.commands += sum(1 for o in applied if o.applied)
        if created:
            self.summary.created += 1
        elif any(o.applied for o in applied):
            self.summary.updated += 1
        else:
            self.summary.unchanged += 1

    def _execute(
        self,
        name: str,
        fields: dict[str, Any],
        command_id: str,
        column: str,
        shown: str,
        dated: Callable[[], tuple[str, str]] | None = None,
    ) -> Outcome:
        """Build and execute one command; _Bad naming ``column`` and its ``shown``
        value if refused, or the (column, value) the command's date came from (asked
        of ``dated`` only then: _when) when the refusal is about that date."""
        try:
            command = build(self.commands[name], fields, today=self.kamflow.today)
            return self.kamflow.execute(command, actor=self.actor, command_id=command_id)
        except KamflowError as exc:
            why = exc.render("apply")
            on = fields.get("on")
            if dated is not None and isinstance(on, date) and on.isoformat() in why:
                where = dated()
                if where[0]:
                    column, shown = where
            raise _Bad(column, shown, f"{name}: {why}") from None

    def _cid(self, *parts: str) -> str:
        return ":".join((self.mapping.source, *(_part(p) for p in parts)))

    def _column(self, section: str, name: str) -> str:
        return self.mapping.sections[section].columns.get(name, "")

    def _shown(self, row: _Row, section: str, name: str) -> str:
        column = self._column(section, name)
        return str(self._cell(row.cells, column)) if column else ""

    def _dated(self, row: _Row, section: str, name: str) -> tuple[str, str]:
        """The column a command's date is read from, and its cell as written."""
        return self._column(section, name), self._shown(row, section, name)

    def _when(self, row: _Row, section: str, name: str) -> Callable[[], tuple[str, str]]:
        """``_dated``, asked only if a command is refused: ~36,000 commands an import."""
        return lambda: self._dated(row, section, name)

    # ----------------------------------------------------------------- accounts
    def _ensure_account(self, row: _Row, applied: list[Outcome]) -> bool:
        """Open the row's account before its first fact, or bring its file up to what the
        table says (once per import): its opening date is the earliest fact of the
        account in the table (else its own opened_on column, else today). Whether this
        row opened it; what it applied goes to ``applied`` (the row's changes)."""
        key = row.values["account"]["key"]
        found = self.accounts[key]
        if found.state == "ready":
            return False
        if found.state:
            raise _Bad(found.failed_column, key, found.state)
        try:
            opened = self._open_or_update(found, applied)
        except _Bad as bad:
            found.state, found.failed_column = bad.reason, bad.column
            raise
        found.state = "ready"
        return opened

    def _open_or_update(self, found: _Account, applied: list[Outcome]) -> bool:
        profile = found.profile
        current = self.kamflow.current(found.key)
        existed = current is not None
        opened_on: date | None = None
        if current is None:
            opened_on = profile.get("opened_on") or found.first_fact
            if found.first_fact is not None and opened_on is not None:
                opened_on = min(opened_on, found.first_fact)
            fields = {
                "account": found.key,
                "name": profile.get("name"),
                "industry": profile.get("industry"),
                "owner": profile.get("owner"),
                "currency": profile.get("currency") or "CNY",
                "tier": profile.get("tier") or "prospect",
                "on": opened_on,
            }
            opening = self._execute(
                "account open",
                {k: v for k, v in fields.items() if v is not None},
                self._cid("account", found.key, "open"),
                self._column("account", "name"),
                str(profile.get("name") or ""),
            )
            self.summary.accounts_opened += int(opening.applied)
            applied.append(opening)
            current = self.kamflow.current(found.key)
            assert current is not None
            self._load_opportunities(found.key, current)
        else:
            self._load_opportunities(found.key, current)
        wanted = {
            k: profile[k]
            for k in ("name", "industry", "owner", "address", "size", "website", "notes")
            if profile.get(k) is not None
        }
        changed = {k: v for k, v in wanted.items() if current.profile.get(k) != v}
        if changed:
            digest = hashlib.sha1(repr(sorted(changed.items())).encode()).hexdigest()[:12]
            outcome = self._execute(
                "account update",
                # The rest of a new account's file is dated with its opening; a change
                # to an existing one is news of the day of the import.
                {"account": found.key, **changed, "on": None if existed else opened_on},
                self._cid("account", found.key, "update", digest),
                self._column("account", next(iter(changed))),
                str(next(iter(changed.values()))),
            )
            applied.append(outcome)
            if outcome.applied and existed:
                self.summary.accounts_updated += 1
        return not existed

    def _load_opportunities(self, key: str, account: Account) -> None:
        """The opportunities earlier imports of this source opened on the account, by
        their external id (from the command ids of their OpportunityOpened events)."""
        known = self.opportunities.setdefault(key, {})
        if not account.opportunities:
            return
        prefix = f"{self.mapping.source}:opp:"
        for event in self.kamflow.app.events.get(account.id):
            cid = getattr(event, "command_id", "")
            if type(event).__name__ == "OpportunityOpened" and cid.startswith(prefix):
                known[cid[len(prefix) :].rsplit(":", 1)[0]] = event.opportunity_id  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ contacts
    def _contact(self, row: _Row, applied: list[Outcome]) -> bool:
        values = row.values["contact"]
        key = row.values["account"]["key"]
        if values["name"] is None:
            return False
        account = self.kamflow.current(key)
        assert account is not None
        from kamflow.domain.values import same_name

        if any(
            c["current"] and same_name(c["name"], values["name"]) for c in account.contacts.values()
        ):
            return False
        fields = {
            "account": key,
            "contact": values["name"],
            "title": values["title"],
            "department": values["department"],
            "roles": values["role"] or [],
            "on": values["on"],
            # Personal data (encrypted as stored, ADR 0026), when the mapping names it.
            **{f: values.get(f) for f in ("mobile", "email", "wechat", "birthday", "note")},
        }
        outcome = self._execute(
            "contact add",
            {k: v for k, v in fields.items() if v is not None},
            # A person's name is personal data (ADR 0026): the command id, stored in
            # plain text with the event, names them by a digest of the name instead.
            self._cid("contact", key, _digest(values["name"])),
            self._column("contact", "name"),
            values["name"],
            self._when(row, "contact", "on"),
        )
        applied.append(outcome)
        return outcome.applied

    # ------------------------------------------------------------- opportunities
    def _opportunity(self, row: _Row, applied: list[Outcome]) -> bool:
        values = row.values["opportunity"]
        key = row.values["account"]["key"]
        ext = values["id"]
        if ext is None:
            raise _Bad(
                self._column("opportunity", "id"), "", "empty: each opportunity needs its id"
            )
        if values["title"] is None:
            raise _Bad(
                self._column("opportunity", "title"), "", "empty: an opportunity needs a title"
            )
        stage = values["stage"]
        if stage is None:
            raise _Bad(
                self._column("opportunity", "stage"), "", "empty: give the stage or a default"
            )
        known = self.opportunities.setdefault(key, {})
        created = False
        stage_column = self._column("opportunity", "stage")
        stage_shown = self._shown(row, "opportunity", "stage")
        if ext not in known:
            fields = {
                "account": key,
                "title": values["title"],
                "problem": values["problem"],
                "budget": values["budget"],
                "on": values["opened_on"],
            }
            outcome = self._execute(
                "opp open",
                {k: v for k, v in fields.items() if v is not None},
                self._cid("opp", ext, "open"),
                self._column("opportunity", "title"),
                values["title"],
                self._when(row, "opportunity", "opened_on"),
            )
            applied.append(outcome)
            opened = outcome.ids.get("opportunity")
            if not isinstance(opened, str):  # opened by an earlier run: find it
                account = self.kamflow.current(key)
                assert account is not None
                self._load_opportunities(key, account)
                opened = known.get(ext)
                if opened is None:
                    raise _Bad("", ext, "its opportunity cannot be found on the account")
            known[ext] = opened
            created = outcome.applied
        oid = known[ext]
        account = self.kamflow.current(key)
        assert account is not None
        state = account.opportunities.get(oid)
        if state is None:
            raise _Bad("", ext, f"opportunity {oid} is no longer on {key!r}")
        if not created and identity(state["title"]) != identity(values["title"]):
            raise _Bad(
                self._column("opportunity", "title"),
                values["title"],
                f"opportunity {oid} is titled {state['title']!r}; kamflow keeps an"
                " opportunity's title (open a new one for another deal)",
            )
        opened_on = values["opened_on"]
        if not created and opened_on is not None and state["opened_on"] != opened_on:
            column, shown = self._dated(row, "opportunity", "opened_on")
            raise _Bad(
                column,
                shown,
                f"opportunity {oid} was opened on {state['opened_on']}; kamflow keeps the"
                " day a fact happened (no command changes it)",
            )
        current = state["stage"]
        if current == stage:
            return created
        if current in ("won", "lost") or (
            stage in OPEN_STAGES and OPEN_STAGES.index(stage) < OPEN_STAGES.index(current)
        ):
            raise _Bad(
                stage_column,
                stage_shown,
                f"opportunity {oid} is already {current}; the funnel moves forward only",
            )
        target = "negotiation" if stage == "won" else stage
        if stage != "lost":
            for step in OPEN_STAGES[OPEN_STAGES.index(current) + 1 : OPEN_STAGES.index(target) + 1]:
                applied.append(
                    self._execute(
                        "opp advance",
                        {"account": key, "opportunity": oid, "to": step, "on": values["opened_on"]},
                        self._cid("opp", ext, step),
                        stage_column,
                        stage_shown,
                        self._when(row, "opportunity", "opened_on"),
                    )
                )
        if stage == "won":
            applied.append(
                self._execute(
                    "opp win",
                    {"account": key, "opportunity": oid, "on": values["closed_on"]},
                    self._cid("opp", ext, "won"),
                    stage_column,
                    stage_shown,
                    self._when(row, "opportunity", "closed_on"),
                )
            )
        elif stage == "lost":
            applied.append(
                self._execute(
                    "opp lose",
                    {
                        "account": key,
                        "opportunity": oid,
                        "reason": values["lost_reason"] or "lost (the source gives no reason)",
                        "on": values["closed_on"],
                    },
                    self._cid("opp", ext, "lost"),
                    stage_column,
                    stage_shown,
                    self._when(row, "opportunity", "closed_on"),
                )
            )
        return created

    # ------------------------------------------------------------ sales, payments
    def _sale(self, row: _Row, applied: list[Outcome]) -> bool:
        """A sale for the row (with [opportunity], only for a won one), then its
        payment if [payment] is mapped and gives an amount."""
        opportunity = row.values.get("opportunity")
        if opportunity is not None and opportunity["stage"] != "won":
            return False
        values = row.values["sale"]
        key = row.values["account"]["key"]
        invoice = values["invoice"]
        if invoice is None:
            raise _Bad(
                self._column("sale", "invoice"), "", "empty: a sale needs its invoice ref (P2)"
            )
        fields = {
            "account": key,
            "invoice": invoice,
            "product": values["product"],
            "amount": values["amount"],
            "cost": values["cost"],
            "currency": values["currency"],
            "on": values["on"],
        }
        outcome = self._execute(
            "sale record",
            {k: v for k, v in fields.items() if v is not None},
            self._cid("sale", invoice, str(values["amount"])),
            self._column("sale", "amount"),
            self._shown(row, "sale", "amount"),
            self._when(row, "sale", "on"),
        )
        applied.append(outcome)
        payment = row.values.get("payment")
        if payment is not None and payment["amount"] is not None:
            fields = {
                "account": key,
                "invoice": payment["invoice"] or invoice,
                "amount": payment["amount"],
                "on": payment["on"],
            }
            applied.append(
                self._execute(
                    "payment record",
                    {k: v for k, v in fields.items() if v is not None},
                    self._cid("payment", invoice, str(payment["amount"])),
                    self._column("payment", "amount"),
                    self._shown(row, "payment", "amount"),
                    self._when(row, "payment", "on"),
                )
            )
        return outcome.applied and opportunity is None


@dataclass(frozen=True)
class _Field:
    """How one field is read: its column's index (None: not mapped), its default, and
    its value map (as given, and by identity: case, width and spacing aside)."""

    section: str
    name: str
    kind: str
    index: int | None
    column: str | None
    default: str | None
    values: dict[str, str]
    folded: dict[str, str]


def _field(section: Section, name: str, kind: str, index: dict[str, int]) -> _Field:
    column = section.columns.get(name)
    values = section.values.get(name, {})
    return _Field(
        section.name,
        name,
        kind,
        index[column] if column is not None else None,
        column,
        section.defaults.get(name),
        values,
        {identity(k): v for k, v in values.items()},
    )


def _key(raw: Any, column: str) -> str:
    """The account key made from an external id: its identity (NFKC, case-folded), with
    every run of characters a key cannot hold (spaces, ``&``...) made one ``-``:
    ``Gekko & Co`` -> ``gekko-co``, ``客户 001`` -> ``客户-001``."""
    from kamflow.domain.values import normalise_key

    if raw is None:
        raise _Bad(column, "", "empty: each row needs its account's id")
    text = re.sub(r"[^\w.-]+|_", lambda m: "_" if m.group() == "_" else "-", identity(str(raw)))
    text = text.strip("-")
    try:
        return normalise_key(text)
    except InvalidInput as exc:
        raise _Bad(column, str(raw), f"cannot be an account key: {exc.render('apply')}") from None


# A table repeats its dates (8,800 rows of the crm-sample hold ~500): each is read once.
# A cell that is no date raises each time (exceptions are not cached).
_date = functools.lru_cache(maxsize=4096)(parse_date)
_PLAIN = re.compile(r"[\w.@/+-]+")


def _part(text: str) -> str:
    """A piece of a command id: the text if short and plain, else a digest of it."""
    if len(text) <= MAX_ID_PART and _PLAIN.fullmatch(text):
        return text
    return "h" + hashlib.sha1(text.encode()).hexdigest()[:16]


def _digest(name: str) -> str:
    """A name as a command id may hold it: 16 hex digits of the SHA-256 of its identity
    form (the same person however typed), not the name."""
    import hashlib

    from kamflow.domain.values import identity

    return hashlib.sha256(identity(name).encode()).hexdigest()[:16]
