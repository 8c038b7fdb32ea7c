"""No SQL text is built from a value that could come from outside (issue 8, item 3).

Every f-string, ``%`` or ``.format`` whose text looks like SQL, and every ``+`` that adds
something to such text, is found by walking the syntax tree of kamflow/**/*.py. Each
piece put into SQL text that way must be listed in ALLOWED for its module, with the
reason it is safe: a name of ours (a table, a column, an index), never user input.
Values reach SQL only as bound parameters (``?`` / ``%s``); identifiers that come from
a locator go through psycopg.sql.Identifier.

A new piece of interpolated SQL fails here until it is reviewed and listed; an entry
whose code is gone fails too, so the list stays the review it claims to be.
"""

from __future__ import annotations

import ast
import re

from conftest import ROOT

PACKAGE = ROOT / "kamflow"
# Upper-case SQL words as kamflow writes its statements (prose is lower case).
SQL = re.compile(
    r"\b(SELECT|INSERT INTO|UPDATE|DELETE FROM|CREATE|DROP|ALTER|PRAGMA|SET|WHERE|VALUES|"
    r"ON CONFLICT|ORDER BY|INDEX)\b"
)

# (module, the interpolated expression as ast.unparse writes it) -> why it is safe.
ALLOWED: dict[tuple[str, str], str] = {
    # --- loading an export (ADR 0018)
    ("log_import.py", "db.events_table"): "eventsourcing's table name ('stored_events')",
    ("log_import.py", "db.position_column"): "'id' on SQLite, 'notification_id' on PostgreSQL",
    ("log_import.py", "SEALS"): "the seal table's name, a constant of kamflow.sealed",
    ("log_import.py", "META"): "the seal meta table's name, a constant of kamflow.sealed",
    ("log_import.py", "marks"): "'?, ?, ...', one placeholder per name; the names are bound",
    # --- the application: eventsourcing's own table name
    ("application.py", "recorder.events_table_name"): (
        "eventsourcing's table name, a constant of the recorder ('stored_events')"
    ),
    # --- erasure of a forgotten person's snapshots (ADR 0026)
    ("erasure.py", "recorder.events_table_name"): (
        "eventsourcing's snapshot table name, a constant of the recorder ('stored_snapshots')"
    ),
    # --- the sealed recorders and `audit verify` (ADR 0017)
    ("sealed.py", "SEALS"): "the seal table's name, a constant of the module",
    ("signing.py", "SIGNATURES"): "the signatures table's name, a constant of the module",
    ("signing.py", "columns"): "the signatures table's column names, a constant string",
    ("signing.py", "raw"): "CAST(<column> AS BLOB) for each of those constant column names",
    ("sealed.py", "META"): "the seal meta table's name, a constant of the module",
    ("sealed.py", "self.events_table_name"): (
        "eventsourcing's table name, a constant of the recorder ('stored_events')"
    ),
    ("sealed.py", "recorder.events_table_name"): (
        "eventsourcing's table name, a constant of the recorder ('stored_events')"
    ),
    ("sealed.py", "table"): "the recorder's events_table_name ('stored_events')",
    ("sealed.py", "join"): "a LEFT JOIN of the seal table (SEALS) or nothing",
    ("sealed.py", "seal"): "'s.seal' or 'NULL'",
    ("sealed.py", "events"): "the recorder's events_table_name ('stored_events')",
    ("sealed.py", "snapshots"): (
        "the snapshot recorder's events_table_name ('stored_snapshots'), given by verify.py"
    ),
    ("verify.py", "table"): "a view table's name, from kamflow/projections/views.py",
    ("verify.py", "', '.join(names)"): (
        "the view table's columns, read from the catalog of the scratch rebuild kamflow made"
    ),
    ("verify.py", "', '.join(key or names)"): (
        "the view table's primary key columns from views.py (or its catalog columns)"
    ),
    ("verify.py", "where"): "'column = ?' for each key column of a view table, values bound",
    # --- the index of applied command ids
    ("applied.py", "TABLE"): "the module's literal table name ('kamflow_command_ids')",
    ("applied.py", "TRIGGER"): "the module's literal trigger name",
    # --- the views' connection
    ("projections/db.py", "CACHE_KIB"): "an int constant of the module",
    ("projections/db.py", "SORTER_KIB"): "an int constant of the module",
    ("projections/db.py", "marks"): "'?, ?, ...', one placeholder per index name",
    ("projections/db.py", "self.position_column"): "'rowid' or 'notification_id', set in __init__",
    ("projections/db.py", "self.events_table"): (
        "'stored_events' or 'kamflow_events', set in __init__ (the search_path, from the"
        " locator, is set with psycopg.sql.Identifier)"
    ),
    # --- the views' reader of the event log
    ("projections/log.py", "log.position_column"): "ViewDB constant ('rowid'/'notification_id')",
    ("projections/log.py", "log.events_table"): "ViewDB constant (the events table's name)",
    # --- the catch-up engine: names from the view definitions in views.py
    ("projections/engine.py", "table"): "a key of View.tables: a literal table name in views.py",
    ("projections/engine.py", "self.db.ddl(columns)"): (
        "a value of View.tables: literal column definitions in views.py"
    ),
    ("projections/engine.py", "self.db.options(columns)"): (
        "'' or the literal ' WITHOUT ROWID' (ViewDB.options)"
    ),
    ("projections/engine.py", "name"): "a key of View.indexes: a literal index name in views.py",
    ("projections/engine.py", "on"): "a value of View.indexes: a literal 'table (columns)'",
    ("projections/engine.py", "QUARANTINE_COLUMNS"): "a literal column list of kf_quarantine",
    ("projections/engine.py", "', '.join(('?' for _ in names))"): (
        "'?, ?, ...', one placeholder per view name; the names are bound parameters"
    ),
    ("projections/engine.py", "sql"): "the quarantine query built above from literals",
    ("projections/engine.py", "self.db.name(table)"): (
        "a literal table name of views.py with its prefix (kf_ or kfr_, ViewDB.aside)"
    ),
    ("projections/engine.py", "self.db.name(name)"): (
        "a literal index name of views.py with its prefix (kf_ or kfr_, ViewDB.aside)"
    ),
    ("projections/engine.py", "aside.name(table)"): (
        "a literal table name of views.py with the aside prefix (kfr_)"
    ),
    ("projections/engine.py", "aside.name('kf_tracking')"): "the literal kf_tracking, as kfr_",
    ("projections/engine.py", "aside.name('kf_quarantine')"): "the literal kf_quarantine, as kfr_",
    ("projections/engine.py", "identifier(final)"): (
        "an index name read from the catalog, checked against a plain-identifier pattern"
        " by db.identifier before use"
    ),
    ("projections/engine.py", "identifier(index)"): (
        "an index name read from the catalog, checked by db.identifier before use"
    ),
    # --- view handlers: column names are keyword names or literal tuples in handlers.py
    ("projections/handlers.py", "names"): (
        "'col=?, ...' from keyword argument names of _set's callers, a literal tuple of"
        " contact columns, or the literal complaint columns; values are bound parameters"
    ),
    ("projections/handlers.py", "', '.join(('?' for _ in _ACTIVATE.source))"): (
        "'?, ...', one placeholder per source state of the lifecycle's activate row; the"
        " states are bound parameters"
    ),
    ("projections/handlers.py", "table"): (
        "a view table of ours: a literal name in a correction's handler, or a key of a"
        " View's tables dict (a closed account's rows, ADR 0020); the key is bound"
    ),
    ("projections/handlers.py", "_PREFIXED_LIST.format('influenced_by')"): (
        "a literal CASE expression over the literal column influenced_by; the prefix is bound"
    ),
    ("projections/handlers.py", "_PREFIXED_LIST.format('contacts')"): (
        "a literal CASE expression over the literal column contacts; the prefix is bound"
    ),
    # --- reports: literal fragments and literal table names
    ("projections/reports/audit.py", "', '.join(_with_delegate(COLUMNS))"): (
        "COLUMNS, a literal list, with the literal column name DELEGATE put after actor"
    ),
    ("projections/reports/audit.py", "' AND '.join(where)"): (
        "literal conditions with ? placeholders; the values are bound parameters"
    ),
    ("projections/reports/audit.py", "sql"): "the statement built above from literals",
    ("projections/reports/file.py", "only"): "'' or the literal ' AND key=?' (key is bound)",
    ("projections/reports/file.py", "table"): "keys_in's argument, a literal table name",
    ("projections/reports/portfolio.py", "_MONTH.format('m.first_profit_month')"): (
        "a literal SQL expression over a literal column"
    ),
    ("projections/reports/portfolio.py", "_MONTH.format('a.opened_on')"): (
        "a literal SQL expression over a literal column"
    ),
    ("projections/reports/money.py", "when"): (
        "'' or the literal ' AND occurred_on BETWEEN ? AND ?' (the dates are bound)"
    ),
    # --- messages, not statements
    ("storage.py", "store.schema"): (
        "an error message suggesting CREATE SCHEMA, never executed; the schema has"
        " already matched storage.SCHEMA_NAME"
    ),
    ("storage.py", "store.named"): "the same error message: the store's URL without password",
}


def looks_like_sql(text: str) -> bool:
    return bool(SQL.search(text))


def module_strings(tree: ast.Module) -> dict[str, str]:
    """Module-level names bound to a string literal (``_MONTH = "..."``)."""
    found: dict[str, str] = {}
    for node in tree.body:
        if not isinstance(node, ast.Assign):
            continue
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node.value.value
    return found


def literal_text(node: ast.AST, strings: dict[str, str]) -> str | None:
    """The text of a string literal (or the literal parts of an f-string), or of a
    module-level name bound to one; None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
        )
    if isinstance(node, ast.Name):
        return strings.get(node.id)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = literal_text(node.left, strings), literal_text(node.right, strings)
        return (left or "") + (right or "") if left is not None or right is not None else None
    return None


def interpolated(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, expression) for every piece put into SQL-looking text by formatting."""
    strings = module_strings(tree)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and looks_like_sql(literal_text(node, strings) or ""):
            for value in node.values:
                if isinstance(value, ast.FormattedValue):
                    found.append((node.lineno, ast.unparse(value.value)))
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
            text = literal_text(node.left, strings)
            if text is not None and looks_like_sql(text):
                found.append((node.lineno, ast.unparse(node.right)))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format"
        ):
            text = literal_text(node.func.value, strings)
            if text is not None and looks_like_sql(text):
                found += [(node.lineno, ast.unparse(arg)) for arg in node.args]
                found += [(node.lineno, ast.unparse(kw.value)) for kw in node.keywords]
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            for side, other in ((node.left, node.right), (node.right, node.left)):
                text = literal_text(side, strings)
                if (
                    text is not None
                    and looks_like_sql(text)
                    and literal_text(other, strings) is None
                ):
                    found.append((node.lineno, ast.unparse(other)))
    return found


def scan() -> dict[tuple[str, str], list[int]]:
    uses: dict[tuple[str, str], list[int]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, expression in interpolated(tree):
            uses.setdefault((module, expression), []).append(line)
    return uses


def test_every_value_formatted_into_sql_text_is_a_reviewed_name_of_ours() -> None:
    unreviewed = {
        f"kamflow/{module}:{lines[0]}: {expression}"
        for (module, expression), lines in scan().items()
        if (module, expression) not in ALLOWED
    }

    assert not unreviewed, (
        "SQL text built from these; bind values as parameters, quote identifiers with"
        " psycopg.sql.Identifier, or (for names of ours) add them to ALLOWED with why:\n"
        + "\n".join(sorted(unreviewed))
    )


def test_every_allowed_entry_is_still_in_the_code() -> None:
    stale = set(ALLOWED) - set(scan())

    assert not stale, f"no longer in the code, remove from ALLOWED: {sorted(stale)}"


def test_the_scan_finds_sql_built_from_a_value() -> None:
    # The fault of issue 8, and its kin: each must be found.
    tree = ast.parse(
        "conn.execute(f'SET search_path TO \"{schema}\"')\n"
        "conn.execute('SELECT * FROM t WHERE k = %s' % key)\n"
        "conn.execute('DELETE FROM t WHERE k = {}'.format(key))\n"
        "conn.execute('SELECT * FROM t WHERE k = ' + key)\n"
        "conn.execute('SELECT * FROM t WHERE k = ?', (key,))\n"
    )

    assert [expression for _, expression in interpolated(tree)] == [
        "schema",
        "key",
        "key",
        "key",
    ]
