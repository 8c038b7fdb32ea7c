"""Checkpoints: a small signed statement of the log (its size and head seal) to file away.

A seal chain (``kamflow.seal``) finds any change *inside* the log, but not a log cut
short at its end, nor a whole database swapped for an older backup, nor a log whose
seals were all recomputed after an edit (SHA-256 needs no key): each of these is a
consistent chain. A checkpoint closes that gap, as a signed tree head does in
Certificate Transparency (RFC 9162) or a digest kept by the client in immudb: the
auditor keeps ``{size, last position, head seal}`` signed with an Ed25519 key held
outside the database, and later proves the log still *extends* it: it holds at least
``size`` events and the seal of its ``size``-th event is ``head``. ADR 0018.

The statement (a JSON object, one per file)::

    {"format": "kamflow-checkpoint-v1", "algorithm": "sha256-chain-v1",
     "log": {"size": 1234, "last_position": 1234, "head": "<64 hex>"},
     "made_at": "2026-12-01T02:13:18Z", "signer": "li.wei",
     "key_id": "<16 hex>", "public_key": "ed25519:<base64 of 32 bytes>",
     "account": {"key", "account_id", "events", "last_seal", "seals"}
                                            # only at the end of an --account export
     "signature": "<base64 of 64 bytes>"}   # Ed25519 over every other field

The signature covers the canonical JSON of every field but ``signature`` (keys sorted,
no spaces, ASCII). ``cryptography`` and ``platformdirs`` are imported only by the
functions that need them, never when kamflow starts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kamflow.domain.errors import InvalidInput, KamflowError
from kamflow.seal import ALGORITHM

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

FORMAT = "kamflow-checkpoint-v1"
KEY_FILE = "checkpoint-key.pem"
PUBLIC_PREFIX = "ed25519:"
_FIELDS = ("format", "algorithm", "log", "made_at", "signer", "key_id", "public_key", "signature")


class VerifyFailed(KamflowError):
    """The log (or an export) is not what its seals or a checkpoint say: exit 1. The
    message names the first thing that differs (a position, a line, the signature);
    ``kind`` says what it is (bad signature, wrong key, size smaller, differs, or
    failed), for ``audit verify``'s findings."""

    exit_code = 1

    def __init__(self, message: str, *, kind: str = "failed") -> None:
        super().__init__(message)
        self.kind = kind
        self.detail = message


# ------------------------------------------------------------------ keys
def default_key_path() -> Path:
    """Where the signing key is kept when no ``--key`` is given: ``checkpoint-key.pem``
    in the config folder people's keys are kept under (``kamflow.identity.config_dir``:
    ``KAMFLOW_CONFIG_DIR`` when set, else platformdirs: ``$XDG_CONFIG_HOME/kamflow`` on
    Linux, ``~/Library/Application Support/kamflow`` on macOS, ``%APPDATA%\\kamflow`` on
    Windows). Never in the database: whoever can edit the database must not also hold
    the key that vouches for it."""
    from kamflow.identity import config_dir

    return config_dir() / KEY_FILE


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 private key, where it is kept, and whether it was made just now."""

    private: Ed25519PrivateKey
    path: Path
    made: bool

    @property
    def public_raw(self) -> bytes:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        return self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def public_text(self) -> str:
        return public_text(self.public_raw)

    @property
    def key_id(self) -> str:
        return key_id(self.public_raw)


def public_text(raw: bytes) -> str:
    """A public key as users copy it: ``ed25519:<base64 of its 32 bytes>``."""
    return PUBLIC_PREFIX + base64.b64encode(raw).decode("ascii")


def key_id(raw: bytes) -> str:
    """A short name of a public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(raw).hexdigest()[:16]


def signing_key(given: str | None) -> SigningKey:
    """The key ``--key FILE`` names (a PEM Ed25519 private key; it must exist), or the
    default key (``default_key_path``), made on first use with mode 0600. Raises
    InvalidInput for a missing or unreadable ``--key`` file, one that is not an
    Ed25519 private key, or a default key that cannot be made there."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        load_pem_private_key,
    )

    path = Path(given).expanduser() if given else default_key_path()
    if not path.exists():
        if given:
            raise InvalidInput(
                f'no signing key at "{given}"; give an Ed25519 private key in PEM'
                " (openssl genpkey -algorithm ed25519), or leave --key out to use the"
                " default key"
            )
        private = Ed25519PrivateKey.generate()
        pem = private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # Created 0600 from the first byte (not chmod-ed after): no moment in which
            # another user could read it.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:  # a folder that cannot be made or written
            why = exc.strerror if path.parent.is_dir() else "no such folder"
            raise InvalidInput(f'cannot keep the signing key at "{path}": {why}') from None
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        return SigningKey(private, path, made=True)
    try:
        loaded = load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise InvalidInput(
            f'cannot read the signing key "{path}": {_first_line(exc)}'
            " (an unencrypted PEM Ed25519 private key is needed)"
        ) from None
    if not isinstance(loaded, Ed25519PrivateKey):
        raise InvalidInput(f'the signing key "{path}" is not an Ed25519 key')
    return SigningKey(loaded, path, made=False)


def trusted_key(value: str) -> bytes:
    """The 32 bytes of a public key given as ``--public-key``: the text itself
    (``ed25519:<base64>``, as ``audit checkpoint`` prints it, or bare base64 or hex) or
    a file holding that text, a PEM public key, or a checkpoint's ``public_key``.
    Raises InvalidInput for anything else."""
    text = value.strip()
    path = Path(text).expanduser()
    if text and not text.startswith(PUBLIC_PREFIX) and path.is_file():
        try:
            text = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            why = _first_line(exc)
            raise InvalidInput(f'cannot read the public key "{value}": {why}') from None
    if text.startswith("-----BEGIN PUBLIC KEY-----"):
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
        from cryptography.hazmat.primitives.serialization import (
            Encoding,
            PublicFormat,
            load_pem_public_key,
        )

        try:
            loaded = load_pem_public_key(text.encode("ascii"))
        except ValueError as exc:
            raise InvalidInput(f"cannot read the public key: {_first_line(exc)}") from None
        if not isinstance(loaded, Ed25519PublicKey):
            raise InvalidInput("the public key is not an Ed25519 key")
        return loaded.public_bytes(Encoding.Raw, PublicFormat.Raw)
    body = text.removeprefix(PUBLIC_PREFIX)
    raw: bytes | None = None
    if len(body) == 64:
        try:
            raw = bytes.fromhex(body)
        except ValueError:
            raw = None
    if raw is None:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raw = None
    if raw is None or len(raw) != 32:
        raise InvalidInput(
            "--public-key must be an Ed25519 public key as `audit checkpoint` prints it"
            f" ({PUBLIC_PREFIX}<base64>), or a file holding it: {value[:80]!r}"
        )
    return raw


# ------------------------------------------------------------------ statements
def canonical(body: dict[str, Any]) -> bytes:
    """The bytes a signature covers: the statement without ``signature``, as JSON with
    sorted keys, no spaces, ASCII only (the same bytes on every machine)."""
    rest = {k: v for k, v in body.items() if k != "signature"}
    return json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def utc_text(moment: datetime) -> str:
    """A moment as ``2026-12-01T02:13:18Z`` (UTC, whole seconds)."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def make(
    key: SigningKey,
    *,
    size: int,
    last_position: int,
    head: bytes,
    signer: str,
    made_at: datetime,
    account: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A signed checkpoint of a log of ``size`` events whose last is at
    ``last_position`` with seal ``head`` (32 bytes; ``seal.GENESIS`` for an empty log).
    ``account``: what an ``--account`` export adds (its key, id, events and last seal),
    signed with the rest."""
    body: dict[str, Any] = {
        "format": FORMAT,
        "algorithm": ALGORITHM,
        "log": {"size": size, "last_position": last_position, "head": head.hex()},
        "made_at": utc_text(made_at),
        "signer": signer,
        "key_id": key.key_id,
        "public_key": key.public_text,
    }
    if account is not None:
        body["account"] = account
    signature = key.private.sign(canonical(body))
    return {**body, "signature": base64.b64encode(signature).decode("ascii")}


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint as read (its signature not yet checked): the log's ``size``,
    ``last_position`` and ``head`` (32 bytes), and the whole statement."""

    size: int
    last_position: int
    head: bytes
    statement: dict[str, Any]

    @property
    def key_id(self) -> str:
        return str(self.statement["key_id"])

    @property
    def made_at(self) -> str:
        return str(self.statement["made_at"])

    @property
    def signer(self) -> str:
        return str(self.statement["signer"])


def parse(statement: Any, where: str) -> Checkpoint:
    """A checkpoint from its decoded JSON. Raises InvalidInput (naming ``where``: the
    file, or the export's last line) when it is not a kamflow checkpoint."""
    if not isinstance(statement, dict) or statement.get("format") != FORMAT:
        raise InvalidInput(f"{where} is not a kamflow checkpoint (no {FORMAT!r} format)")
    missing = [name for name in _FIELDS if name not in statement]
    log = statement.get("log")
    if missing or not isinstance(log, dict):
        raise InvalidInput(f"{where}: the checkpoint lacks {', '.join(missing) or 'log'}")
    if statement["algorithm"] != ALGORITHM:
        raise InvalidInput(
            f"{where}: the checkpoint's seals are {statement['algorithm']!r}; this kamflow"
            f" checks {ALGORITHM!r}"
        )
    size, last, head = log.get("size"), log.get("last_position"), log.get("head")
    if (
        not isinstance(size, int)
        or not isinstance(last, int)
        or size < 0
        or last < 0
        or not isinstance(head, str)
        or len(head) != 64
    ):
        raise InvalidInput(f"{where}: the checkpoint's log size, position or head is malformed")
    try:
        head_bytes = bytes.fromhex(head)
    except ValueError:
        raise InvalidInput(f"{where}: the checkpoint's head is not hexadecimal") from None
    return Checkpoint(size, last, head_bytes, statement)


def read(path: str) -> Checkpoint:
    """The checkpoint in a file (as ``audit checkpoint --out`` writes it). Raises
    InvalidInput for a file that cannot be read or holds no checkpoint."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f'cannot read checkpoint "{path}": {_first_line(exc)}') from None
    try:
        statement = json.loads(text)
    except ValueError:
        raise InvalidInput(f'checkpoint "{path}" is not JSON') from None
    return parse(statement, f'"{path}"')


def check_signature(checkpoint: Checkpoint, trusted: bytes | None, where: str) -> bool:
    """Check the signature, with the ``trusted`` public key (32 bytes) when given, else
    with the key the checkpoint itself names. Returns whether a trusted key was used.
    Raises VerifyFailed for a signature that does not verify ("bad signature") or a
    checkpoint signed with another key than the trusted one ("wrong key")."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    statement = checkpoint.statement
    try:
        named = trusted_key(str(statement["public_key"]))
    except InvalidInput:
        raise VerifyFailed(
            f"{where}: bad signature: its public key is malformed", kind="bad signature"
        ) from None
    if trusted is not None and named != trusted:
        raise VerifyFailed(
            f"{where}: wrong key: signed with key {key_id(named)}, not with the trusted key"
            f" {key_id(trusted)} given by --public-key",
            kind="wrong key",
        )
    if statement["key_id"] != key_id(named):
        raise VerifyFailed(
            f"{where}: bad signature: its key id does not match its public key",
            kind="bad signature",
        )
    try:
        signature = base64.b64decode(str(statement["signature"]), validate=True)
        Ed25519PublicKey.from_public_bytes(named).verify(signature, canonical(statement))
    except (InvalidSignature, binascii.Error, ValueError):
        raise VerifyFailed(
            f"{where}: bad signature: the checkpoint was changed after it was signed, or"
            " signed by another key",
            kind="bad signature",
        ) from None
    return trusted is not None


def check_extends(checkpoint: Checkpoint, chain: Iterable[tuple[int, int, bytes]]) -> None:
    """Check that a log extends ``checkpoint``. ``chain``: for each event in log order,
    (its count from 1, its position, its seal), already checked to chain (``seal.walk``
    or an export's verifier). Raises VerifyFailed naming what differs: fewer events than
    the checkpoint (the tail deleted, or an older backup), or another seal (or
    position) at the checkpoint's last event (the log before it was changed and
    resealed, or replaced)."""
    size = checkpoint.size
    if size == 0:
        return
    seen = 0
    for count, position, seal in chain:
        seen = count
        if count < size:
            continue
        if position != checkpoint.last_position or seal != checkpoint.head:
            what = (
                f"the checkpoint's last event was at position {checkpoint.last_position}, "
                f"the log's event {size} is at position {position}"
                if position != checkpoint.last_position
                else f"the seal at position {position} differs from the checkpoint's head"
            )
            raise _not_extended(
                checkpoint,
                f"{what} (events before the checkpoint were changed, or the log was replaced)",
                "differs",
            )
        return
    raise _not_extended(
        checkpoint,
        f"it holds {seen} events, the checkpoint {size} (the last events were deleted, or"
        " the database was replaced by an older backup)",
        "size smaller",
    )


def _not_extended(checkpoint: Checkpoint, detail: str, kind: str) -> VerifyFailed:
    said = f"{kind}: {detail}" if kind == "size smaller" else detail
    failed = VerifyFailed(
        f"the log does not extend the checkpoint of {checkpoint.made_at}: {said}", kind=kind
    )
    failed.detail = f"does not extend the checkpoint of {checkpoint.made_at}: {detail}"
    return failed


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
