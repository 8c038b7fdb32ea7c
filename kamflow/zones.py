"""Which time zone is the business zone (ADR 0015): ``--tz`` > ``KAMFLOW_TZ`` > the team
setting recorded in governance (``kamflow policy set timezone ...``) > this machine's
zone, read from ``TZ`` or ``/etc/localtime`` (UTC when neither names one).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kamflow.domain.dates import BadZone, zone_named
from kamflow.domain.errors import InvalidInput

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

ENV = "KAMFLOW_TZ"
# The governance setting holding the team's zone (kamflow.domain.policies.SETTINGS).
SETTING = "timezone"
LOCALTIME = Path("/etc/localtime")
TIMEZONE_FILE = Path("/etc/timezone")


def business_zone(option: str | None, team: Callable[[], str | None]) -> ZoneInfo:
    """The business zone: ``option`` (``--tz``), else ``KAMFLOW_TZ``, else what ``team()``
    returns (the recorded setting, read only when needed), else the machine's zone.
    Raises InvalidInput (exit 2) naming where an unknown zone came from."""
    for name, source in ((option, "--tz"), (os.environ.get(ENV), ENV)):
        if name:
            return named(name, source)
    name = team()
    if name:
        return named(name, "the team setting `timezone`")
    return local_zone()


def named(name: str, source: str) -> ZoneInfo:
    try:
        return zone_named(name)
    except BadZone as exc:
        raise InvalidInput(f"{exc} ({source})") from None


def local_zone() -> ZoneInfo:
    """This machine's zone by its IANA name: ``TZ`` (``Asia/Shanghai``, ``:Asia/Shanghai``
    or a path into the zone database), else the zone ``/etc/localtime`` links to, else
    ``/etc/timezone``; UTC when none names a zone (a POSIX rule such as ``CST-8`` names
    none: set KAMFLOW_TZ)."""
    from zoneinfo import ZoneInfo

    tz = os.environ.get("TZ", "").removeprefix(":")
    candidates = [_database_name(tz) if tz.startswith("/") else tz] if tz else []
    with contextlib.suppress(OSError):
        candidates.append(_database_name(os.path.realpath(LOCALTIME)))
    with contextlib.suppress(OSError, UnicodeDecodeError):
        candidates.append(TIMEZONE_FILE.read_text(encoding="utf-8").strip())
    for name in candidates:
        if name:
            try:
                return zone_named(name)
            except BadZone:
                continue
    return ZoneInfo("UTC")


def _database_name(path: str) -> str:
    """``Asia/Shanghai`` from ``/usr/share/zoneinfo/Asia/Shanghai``; "" for other paths."""
    _, found, name = path.partition("zoneinfo/")
    return name.removeprefix("posix/").removeprefix("right/") if found else ""
