"""The query parameters of `/api/v1` (service.api): each is checked here and a bad one is a 400
naming it; the cursors of its keyset pages."""

import base64
import binascii
import json
from datetime import datetime, timedelta

from flask import request

from core.tiers import TIERS
from core.timeutil import parse_duration, parse_instant
from service.errors import ApiError
from store import reports

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
MAX_WINDOW = timedelta(days=90)
MAX_ID = 2**63 - 1


def bad(name: str, reason: str) -> ApiError:
    return ApiError(400, f"{name}: {reason}", parameter=name)


def values(name: str, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """A repeatable, comma-separated parameter: `?urgency=critical,high` or `?urgency=critical&urgency=high`."""
    found = tuple(v.strip() for raw in request.args.getlist(name) for v in raw.split(",") if v.strip())
    if allowed is not None:
        unknown = sorted(set(found) - set(allowed))
        if unknown:
            raise bad(name, f"unknown value(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")
    return found


def instant(name: str) -> datetime | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        return parse_instant(raw)
    except (ValueError, OverflowError):
        raise bad(name, f"{raw!r} is not an ISO 8601 time like 2026-11-21T14:03:00Z") from None


def boolean(name: str) -> bool | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if raw.lower() not in ("true", "false"):
        raise bad(name, "must be true or false")
    return raw.lower() == "true"


def limit(default: int = DEFAULT_LIMIT) -> int:
    raw = request.args.get("limit")
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise bad("limit", f"must be an integer from 1 to {MAX_LIMIT}")
    return int(raw)


def filters(**extra) -> reports.TicketFilter:
    return reports.TicketFilter(
        urgency=values("urgency", TIERS), channel=values("channel"), source=values("source"), brand=values("brand"),
        **extra,
    )  # fmt: skip


def window(raw: str) -> timedelta:
    try:
        parsed = parse_duration(raw)
    except (ValueError, OverflowError) as error:
        raise bad("window", str(error)) from None
    if parsed > MAX_WINDOW:
        raise bad("window", "at most 90d")
    return parsed


def encode_cursor(at: datetime, row_id: int) -> str:
    # Microseconds matter: two rows a microsecond apart must not share a page boundary.
    raw = json.dumps([at.isoformat(), row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor() -> tuple[datetime, int] | None:
    raw = request.args.get("cursor")
    if not raw:
        return None
    try:
        at, row_id = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        if type(row_id) is not int or not 0 <= row_id <= MAX_ID or not isinstance(at, str):
            raise ValueError
        return parse_instant(at), row_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, OverflowError):
        raise bad("cursor", "not a cursor this API gave out; start again without it") from None


def page(rows: list, limit: int, key) -> tuple[list, str | None]:
    """One row more than the page was fetched, so the last page has no dangling cursor."""
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(*key(rows[-1]))
