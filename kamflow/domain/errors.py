"""Domain errors. Every refusal the user can see is one of these, with one clear line."""

from __future__ import annotations


class KamflowError(Exception):
    """Base of every error kamflow reports to a user as one line."""

    exit_code = 1


class InvalidInput(KamflowError):
    """The input itself is wrong (bad date, unknown enum, over-long text)."""

    exit_code = 2


class NotFound(KamflowError):
    """An account, contact, complaint, issue or version that does not exist."""

    exit_code = 1


class AccountNotFound(NotFound):
    def __init__(self, key: str) -> None:
        super().__init__(f'account "{key}" not found; list accounts with `kamflow account list`')
        self.key = key


class Conflict(KamflowError):
    """The command contradicts the account's current state (e.g. opening twice)."""

    exit_code = 1


class RuleViolation(KamflowError):
    """A command refused by one of the eight principles (P1-P8)."""

    exit_code = 1

    def __init__(self, principle: str, message: str) -> None:
        super().__init__(f"{principle}: {message}")
        self.principle = principle


class StorageError(KamflowError):
    """The store cannot be reached or used (unreachable PostgreSQL, unwritable file)."""

    exit_code = 1
