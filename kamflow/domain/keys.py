"""Public keys as people type and the roster stores them (ADR 0025): no I/O, no
``cryptography`` (the signing and checking are in ``kamflow.identity``)."""

from __future__ import annotations

import base64
import binascii
import hashlib

from kamflow.domain.errors import InvalidInput

PUBLIC_PREFIX = "ed25519:"


def public_text(raw: bytes) -> str:
    """A public key as people copy it: ``ed25519:<base64 of its 32 bytes>``."""
    return PUBLIC_PREFIX + base64.b64encode(raw).decode("ascii")


def key_id(raw: bytes) -> str:
    """A short name of a public key: the first 16 hex digits of its SHA-256 (the same
    as a checkpoint's ``key_id``)."""
    return hashlib.sha256(raw).hexdigest()[:16]


def parse_public(text: str) -> bytes:
    """The 32 bytes of a public key typed as ``ed25519:<base64>``. Raises InvalidInput."""
    body = text.strip()
    if not body.startswith(PUBLIC_PREFIX):
        raise InvalidInput(
            f'a public key is "ed25519:" and 44 base64 characters (`kamflow id init` prints'
            f' it), not "{text[:60]}"'
        )
    try:
        raw = base64.b64decode(body[len(PUBLIC_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise InvalidInput(
            "a public key is ed25519: and the base64 of 32 bytes (`kamflow id init` prints"
            " it); this one is not"
        )
    return raw


def canonical_public(text: str) -> str:
    """A typed public key in its one stored spelling. Raises InvalidInput."""
    return public_text(parse_public(text))
