"""People's signing keys: one Ed25519 key pair per person, kept in the user's config
folder, found by the person's actor name (ADR 0025).

A person is their actor name (``--actor``, ``KAMFLOW_ACTOR``, default the OS user).
``kamflow id init`` makes their key pair; the private key is one file per person,
``<config>/keys/<name>.pem`` (PKCS#8 PEM, unencrypted, mode 0600 from its first byte),
where ``<config>`` is ``KAMFLOW_CONFIG_DIR`` when set, else the user config folder
(platformdirs: ``$XDG_CONFIG_HOME/kamflow`` on Linux). The public key is what an admin
registers on the roster (``roster grant NAME ROLE --key``, ``roster key NAME --key``):
``ed25519:<base64 of 32 bytes>``, as checkpoints print theirs.

Cheap to import: ``cryptography``'s ed25519 module (about 17 ms) is imported by the
functions that sign or check, never when kamflow starts; the PEM is read and written
here by hand (an Ed25519 PKCS#8 key is a fixed 16-byte header and the 32-byte seed), so
a write never imports ``cryptography``'s serialization modules (about 120 ms).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from kamflow.domain.errors import InvalidInput
from kamflow.domain.keys import key_id, public_text

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

CONFIG_ENV = "KAMFLOW_CONFIG_DIR"
# PKCS#8 (RFC 8410) DER of an Ed25519 private key, before its 32-byte seed.
_PKCS8_HEAD = bytes.fromhex("302e020100300506032b657004220420")
_PEM = re.compile(r"-----BEGIN PRIVATE KEY-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END PRIVATE KEY-----")


def config_dir() -> Path:
    """The folder holding people's keys: ``KAMFLOW_CONFIG_DIR`` when set (tests, several
    identities on one machine), else the user config folder of platformdirs."""
    given = os.environ.get(CONFIG_ENV, "").strip()
    if given:
        return Path(given).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("kamflow", appauthor=False))


def key_path(person: str) -> Path:
    """Where ``person``'s private key is kept: ``<config>/keys/<identity>.pem``, the
    name as the identity rule gives it (NFKC, case-folded: ``Li.Wei`` and ``li.wei``
    are one file), anything but letters, digits and ``._-@`` percent-encoded."""
    from kamflow.domain.values import identity

    return config_dir() / "keys" / f"{quote(identity(person), safe='._-@')}.pem"


@dataclass(frozen=True)
class PersonalKey:
    """A person's private key (its 32-byte seed), where it is kept, and its public key."""

    person: str
    path: Path
    seed: bytes
    public_raw: bytes

    # Cached: a batch signs each of its writes with the same key (functools'
    # cached_property writes the instance's __dict__, which a frozen dataclass allows).
    @functools.cached_property
    def public(self) -> str:
        return public_text(self.public_raw)

    @functools.cached_property
    def key_id(self) -> str:
        return key_id(self.public_raw)

    @functools.cached_property
    def _private(self) -> Ed25519PrivateKey:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return Ed25519PrivateKey.from_private_bytes(self.seed)

    def private(self) -> Ed25519PrivateKey:
        return self._private


def _public_of(seed: bytes) -> bytes:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()


def load_key(person: str) -> PersonalKey | None:
    """``person``'s private key from their file; None when there is none. Raises
    InvalidInput for a file that is not an unencrypted Ed25519 PKCS#8 PEM key."""
    path = key_path(person)
    try:
        # Bytes that are not ASCII are no PEM: named below as not a key.
        text = path.read_bytes().decode("ascii", "replace")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InvalidInput(f'cannot read the key "{path}": {exc}') from None
    found = _PEM.search(text)
    der = b""
    if found is not None:
        try:
            der = base64.b64decode("".join(found.group(1).split()), validate=True)
        except (binascii.Error, ValueError):
            der = b""  # named below
    if len(der) != 48 or not der.startswith(_PKCS8_HEAD):
        raise InvalidInput(
            f'the key "{path}" is not an unencrypted Ed25519 private key in PEM'
            " (`kamflow id init` makes one)"
        )
    seed = der[16:]
    return PersonalKey(person, path, seed, _public_of(seed))


def make_key(person: str) -> PersonalKey:
    """Make ``person`` a new key pair and keep the private key in their file, created
    with mode 0600 (never readable by others, not even for a moment). Raises
    InvalidInput if the file exists already (a key is never overwritten: it may be
    the one the roster knows)."""
    seed = os.urandom(32)
    path = keep_seed(person, seed)
    return PersonalKey(person, path, seed, _public_of(seed))


def keep_seed(person: str, seed: bytes) -> Path:
    """Write ``person``'s key file (PKCS#8 PEM of the 32-byte ``seed``), mode 0600 from
    its first byte; where. Raises InvalidInput if they have one already."""
    path = key_path(person)
    body = base64.b64encode(_PKCS8_HEAD + seed).decode("ascii")
    pem = f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if not path.parent.is_dir():  # the folder is a file or a link to nowhere
            raise InvalidInput(f'cannot keep the key at "{path}": no such folder') from None
        raise InvalidInput(f'{person} has a key already, at "{path}"; it is kept') from None
    except OSError as exc:  # a folder that cannot be made or written (KAMFLOW_CONFIG_DIR)
        raise InvalidInput(f'cannot keep the key at "{path}": {exc.strerror}') from None
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(pem)
    return path


def derived_key(person: str, secret: bytes) -> PersonalKey:
    """A key made from ``secret`` and the person's name alone, never kept in a file:
    the demo's people (the same keys on every run, so the demo is deterministic).
    Anyone who knows ``secret`` can sign as them: never for real people."""
    seed = derived_seed(person, secret)
    return PersonalKey(person, Path("(derived, not kept)"), seed, _public_of(seed))


# The demo's people sign with keys derived from their names and this (ADR 0025): the
# same keys on every run, kept in no file. Anyone can sign as a demo person. Here, not
# in the demo package, because a write by a demo person signs with it (Kamflow._signer)
# and must not import the demo's planner to do so.
DEMO_SECRET = b"kamflow demo: not a secret"


def demo_key(person: str) -> PersonalKey:
    """The demo person's signing key."""
    return derived_key(person, DEMO_SECRET)


def derived_seed(person: str, secret: bytes) -> bytes:
    """The 32-byte seed of ``derived_key`` (no ``cryptography`` needed)."""
    from kamflow.domain.values import identity

    return hashlib.sha256(b"kamflow-derived-key\0" + secret + identity(person).encode()).digest()


def sign(key: PersonalKey, message: bytes) -> bytes:
    """The 64-byte Ed25519 signature of ``message`` by ``key``."""
    return key.private().sign(message)


def valid(public_raw: bytes, signature: bytes, message: bytes) -> bool:
    """Whether ``signature`` is ``public_raw``'s Ed25519 signature of ``message``."""
    from cryptography.exceptions import InvalidSignature

    try:
        _public_key(public_raw).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


@functools.lru_cache(maxsize=256)
def _public_key(raw: bytes) -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    return Ed25519PublicKey.from_public_bytes(raw)
