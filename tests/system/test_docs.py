"""The README is part of the interface: what it documents must exist, and vice versa."""

from __future__ import annotations

import re

from conftest import README as README_PATH

from kamflow.projections.views import VIEWS

README = README_PATH.read_text(encoding="utf-8")


def test_the_readme_documents_every_view_table_and_column() -> None:
    for view in VIEWS.values():
        for table, ddl in view.tables.items():
            row = next((line for line in README.splitlines() if f"`{table}`" in line), None)
            assert row is not None, f"{table} is not documented"
            columns = [
                part.split()[0]
                for part in re.split(r",\s*(?![^()]*\))", " ".join(ddl.split()))
                if not part.strip().upper().startswith("PRIMARY KEY")
            ]
            for column in columns:
                assert re.search(rf"\b{column}\b", row), f"{table}.{column} is not documented"


def test_the_readme_names_every_view_index_with_its_columns() -> None:
    paragraph = README.split("Besides each table's primary key", 1)[1].split("\n\n", 1)[0]
    named = dict(re.findall(r"`(kf_\w+)` on\s+`([^`]+)`", " ".join(paragraph.split())))
    declared = {name: on for view in VIEWS.values() for name, on in view.indexes.items()}
    assert named == declared
