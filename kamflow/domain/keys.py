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
    """A typed public key in its one stored spelling. Raises InvalidInput, also for 32
    bytes that are no usable key (``usable``): what the roster binds must be one."""
    raw = parse_public(text)
    if not usable(raw):
        raise InvalidInput(
            f"{public_text(raw)} is not a usable Ed25519 public key (not a point of the"
            " curve, or one of small order, for which signatures can be made without a"
            " private key); `kamflow id init` prints a real one"
        )
    return public_text(raw)


# Curve25519 in Edwards form (RFC 8032 5.1): the field's prime and the curve's d.
_P = 2**255 - 19
_D = -121665 * pow(121666, _P - 2, _P) % _P


def usable(raw: bytes) -> bool:
    """Whether 32 bytes are an Ed25519 public key that only its private key can sign
    for: the canonical encoding of a point of the curve (RFC 8032 5.1.3) whose order is
    not small (8 times it is not the identity). A small-order "key" (the identity, or
    any of the 8 points of order 1, 2, 4 or 8) verifies signatures nobody made: with
    the identity, (R = identity, S = 0) verifies over every message."""
    y = int.from_bytes(raw, "little") & ((1 << 255) - 1)
    if len(raw) != 32 or y >= _P:
        return False
    u, v = (y * y - 1) % _P, (_D * y * y + 1) % _P
    x = u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P) % _P
    if (v * x * x - u) % _P != 0:
        x = x * pow(2, (_P - 1) // 4, _P) % _P
        if (v * x * x - u) % _P != 0:
            return False  # not on the curve
    if x == 0 and raw[31] >> 7:
        return False
    point = (x, y)
    for _ in range(3):  # times 8, the cofactor
        (x1, y1) = point
        t = _D * x1 * x1 * y1 * y1 % _P
        point = (
            2 * x1 * y1 * pow(1 + t, _P - 2, _P) % _P,
            (y1 * y1 + x1 * x1) * pow(1 - t, _P - 2, _P) % _P,
        )
    return point != (0, 1)
