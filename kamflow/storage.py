"""Where the store is: a SQLite file path (the default) or a postgresql:// URL.

Cheap to import (no eventsourcing), so read paths can resolve the store quickly.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from kamflow.domain.errors import InvalidInput

DEFAULT_DB = "kamflow.db"


def resolve(locator: str | None) -> str:
    """The locator given, else KAMFLOW_DB, else ./kamflow.db."""
    return locator or os.environ.get("KAMFLOW_DB") or DEFAULT_DB


def is_postgres(locator: str) -> bool:
    return locator.startswith(("postgresql://", "postgres://"))


def storage_env(locator: str) -> dict[str, str]:
    """eventsourcing settings for a SQLite path or a postgresql:// URL."""
    if is_postgres(locator):
        url = urlparse(locator)
        query = parse_qs(url.query)
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": unquote(url.path.lstrip("/")) or "postgres",
            "POSTGRES_HOST": url.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": unquote(url.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(url.password or ""),
            "POSTGRES_CONNECT_TIMEOUT": query.get("connect_timeout", ["5"])[0],
            "POSTGRES_POOL_SIZE": "2",
            "POSTGRES_MAX_OVERFLOW": "4",
        }
        if "schema" in query:
            env["POSTGRES_SCHEMA"] = query["schema"][0]
        return env
    if "://" in locator:
        raise InvalidInput(
            f'cannot use database "{locator}": give a SQLite file path or a postgresql:// URL'
        )
    path = Path(locator)
    if path.is_dir():
        raise InvalidInput(f'database path "{locator}" is a directory; give a file name')
    if not path.parent.exists():
        raise InvalidInput(
            f'cannot create database "{locator}": folder "{path.parent}" does not exist'
        )
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}


def describe_locator(locator: str) -> str:
    """The locator without its password, for messages."""
    if "://" not in locator:
        return locator
    url = urlparse(locator)
    return (
        f"{url.scheme}://{url.username or 'postgres'}@{url.hostname}:{url.port or 5432}{url.path}"
    )
