"""The generic signed webhook: one mention object, or {"mentions": [...]}.

Signature: `X-Earshot-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>`
with `X-Earshot-Timestamp` within 300 s of now.
"""

import json
import re

from core.timeutil import parse_instant
from integrations.platforms.mention import IncomingMention, PayloadError, SignatureError
from integrations.platforms.signing import check_fresh, hex_signature, same

MAX_BATCH = 1000
TOLERANCE_SECONDS = 300
MAX_FOLLOWERS = 2**63 - 1  # the column is a signed 64-bit integer
_SOURCE = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,31}$")
_KNOWN = {"id", "source", "direction", "author", "text", "created_at", "url", "in_reply_to",
          "conversation_id", "brand", "language"}  # fmt: skip


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    return "v1=" + hex_signature(secret, f"{timestamp}.".encode() + body)


def signed_post(secret: str, payload: dict, now: float) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a JSON POST Earshot sends signed as this webhook is (replies, pages)."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    timestamp = str(int(now))
    headers = {"Content-Type": "application/json", "X-Earshot-Timestamp": timestamp,
               "X-Earshot-Signature": sign(secret, timestamp, body)}  # fmt: skip
    return body, headers


def verify(secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float) -> None:
    headers = ("X-Earshot-Timestamp", "X-Earshot-Signature")
    check_fresh(timestamp, signature, now, TOLERANCE_SECONDS, headers, "300 seconds")
    if not same(sign(secret, timestamp, body), signature.strip()):
        raise SignatureError("X-Earshot-Signature does not match the body")


def _text(item: dict, key: str, where: str, *, required=False, limit=255) -> str | None:
    value = item.get(key)
    if value is None:
        if required:
            raise PayloadError(f"{where}{key}", "is required")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PayloadError(f"{where}{key}", "must be a string")
    value = str(value)
    if "\x00" in value:
        raise PayloadError(f"{where}{key}", "must not contain NUL characters")
    if required and not value.strip():
        raise PayloadError(f"{where}{key}", "must not be empty")
    if limit and len(value) > limit:
        raise PayloadError(f"{where}{key}", f"must be at most {limit} characters")
    return value


def parse_one(item, where: str = "") -> IncomingMention:
    if not isinstance(item, dict):
        raise PayloadError(where.rstrip(".") or "body", "must be a JSON object")
    source = _text(item, "source", where, required=True, limit=32).lower()
    if not _SOURCE.match(source):
        raise PayloadError(f"{where}source", "must be a short lowercase name such as x, facebook, instagram")
    direction = item.get("direction", "inbound")
    if direction not in ("inbound", "outbound"):
        raise PayloadError(f"{where}direction", "must be inbound or outbound")
    author = item.get("author")
    if not isinstance(author, dict):
        raise PayloadError(f"{where}author", "is required and must be an object with an id")
    followers = author.get("followers")
    if followers is not None and (
        isinstance(followers, bool) or not isinstance(followers, int) or not 0 <= followers <= MAX_FOLLOWERS
    ):
        raise PayloadError(f"{where}author.followers", "must be a non-negative integer")
    text = item.get("text")
    if not isinstance(text, str):
        raise PayloadError(f"{where}text", "is required and must be a string")
    if not text.strip():
        raise PayloadError(f"{where}text", "must not be empty")
    if "\x00" in text:  # PostgreSQL text columns cannot hold NUL
        raise PayloadError(f"{where}text", "must not contain NUL characters")
    created = item.get("created_at")
    created_at = None
    if created is not None:
        try:
            created_at = parse_instant(str(created))
        except (ValueError, OverflowError):  # OverflowError: a date pushed past year 1 or 9999 by its offset
            raise PayloadError(f"{where}created_at", "must be an ISO 8601 time such as 2026-11-21T14:03:00Z") from None
    return IncomingMention(
        source=source,
        external_id=_text(item, "id", where, required=True),
        direction=direction,
        author_id=_text(author, "id", f"{where}author.", required=True),
        author_handle=_text(author, "handle", f"{where}author."),
        author_name=_text(author, "name", f"{where}author."),
        author_followers=followers,
        text=text,
        created_at=created_at,
        url=_text(item, "url", where, limit=2048),
        in_reply_to=_text(item, "in_reply_to", where),
        conversation_id=_text(item, "conversation_id", where),
        brand=_text(item, "brand", where),
        language=_text(item, "language", where, limit=16),
        extra={key: value for key, value in item.items() if key not in _KNOWN},
    )


def parse(payload) -> list[IncomingMention]:
    if isinstance(payload, dict) and "mentions" in payload:
        items = payload["mentions"]
        if not isinstance(items, list):
            raise PayloadError("mentions", "must be a list")
        if not items:
            raise PayloadError("mentions", "must not be empty")
        if len(items) > MAX_BATCH:
            raise PayloadError("mentions", f"at most {MAX_BATCH} mentions per request")
        return [parse_one(item, f"mentions[{index}].") for index, item in enumerate(items)]
    return [parse_one(payload)]
