"""X (Twitter) Account Activity webhooks: the CRC challenge, signatures, and
`tweet_create_events` normalized into mentions, their text as the customer wrote
it (integrations.platforms.text).

Signatures are `sha256=<base64 HMAC-SHA256(secret, raw body)>`. Apps with an
OAuth 2.0 client secret get `X-Twitter-Webhooks-Signature-OAuth2` keyed by it;
the legacy `X-Twitter-Webhooks-Signature` is keyed by the consumer secret.

The CRC answer is the same HMAC as a signature, so the CRC endpoint is a signing
oracle for whatever token it is given: a token that could be a webhook body would
let anyone forge one. X's tokens are short random strings (base64 or a UUID), so only
those are answered; no JSON object can be spelled in that alphabet.
"""

import re
from datetime import UTC, datetime

from integrations.platforms.mention import (
    IncomingMention,
    PayloadError,
    SignatureError,
    display_name,
    handle,
    platform_id,
)
from integrations.platforms.signing import base64_signature, same
from integrations.platforms.text import expand_links, unescape_x

OAUTH2_HEADER = "X-Twitter-Webhooks-Signature-OAuth2"
LEGACY_HEADER = "X-Twitter-Webhooks-Signature"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# The CRC tokens X sends: up to a few dozen characters of base64 (standard or URL-safe) or a UUID.
CRC_TOKEN = re.compile(r"[A-Za-z0-9+/=_-]{1,128}")
# "Wed Oct 10 20:19:24 +0000 2018"; parsed by hand because strptime's %a/%b follow the locale.
_CREATED_AT = re.compile(r"^[A-Z][a-z]{2} ([A-Z][a-z]{2}) (\d{2}) (\d{2}):(\d{2}):(\d{2}) ([+-]\d{4}) (\d{4})$")
_DIGITS = re.compile(r"[0-9]+")


def signature(secret: str, message: bytes) -> str:
    return "sha256=" + base64_signature(secret, message)


def is_crc_token(value: str) -> bool:
    """Whether ``value`` looks like a token X sends, and so may be signed (never a JSON body)."""
    return CRC_TOKEN.fullmatch(value) is not None


def crc_response_token(crc_token: str, consumer_secret: str | None, oauth2_secret: str | None) -> str:
    """The CRC answer; ``crc_token`` must pass ``is_crc_token`` (ValueError otherwise)."""
    # X's v2 webhook quickstart keys the CRC with the OAuth 2.0 client secret
    # when the app has one; the Account Activity guide (apps with only OAuth
    # 1.0a keys) keys it with the consumer secret. One answer is possible, so
    # the newer secret wins when both are configured.
    if not is_crc_token(crc_token):
        raise ValueError("not a CRC token")
    secret = oauth2_secret or consumer_secret
    if not secret:
        raise ValueError("no X secret configured")
    return signature(secret, crc_token.encode())


def verify(body: bytes, headers, consumer_secret: str | None, oauth2_secret: str | None) -> None:
    oauth2_given = headers.get(OAUTH2_HEADER)
    legacy_given = headers.get(LEGACY_HEADER)
    if oauth2_given and oauth2_secret:
        header, secret, given = OAUTH2_HEADER, oauth2_secret, oauth2_given
    elif legacy_given and consumer_secret:
        header, secret, given = LEGACY_HEADER, consumer_secret, legacy_given
    else:
        raise SignatureError(
            f"missing {OAUTH2_HEADER} (needs X_OAUTH2_CLIENT_SECRET) or {LEGACY_HEADER} (needs X_CONSUMER_SECRET)"
        )
    if not same(signature(secret, body), given.strip()):
        raise SignatureError(f"{header} does not match the body")


def parse_created_at(value: str) -> datetime:
    match = _CREATED_AT.match(value.strip())
    if not match or match.group(1) not in _MONTHS:
        raise ValueError(value)
    month, day, hour, minute, second, offset, year = match.groups()
    parsed = datetime.strptime(
        f"{year}-{_MONTHS.index(month) + 1:02d}-{day} {hour}:{minute}:{second} {offset}", "%Y-%m-%d %H:%M:%S %z"
    )
    return parsed.astimezone(UTC)


def _x_id(value, field: str, required: bool = False) -> str | None:
    found = platform_id(value, field, required, "must be a non-empty string of digits")
    if found is not None and not _DIGITS.fullmatch(found):
        raise PayloadError(field, "must be a non-empty string of digits")
    return found


def _id(item: dict, key: str, where: str, *, required: bool = False) -> str | None:
    """X sends ids as `<key>_str` strings (the numbers overflow JavaScript); accept the number as well."""
    return _x_id(item.get(f"{key}_str", item.get(key)), f"{where}{key}_str", required)


def _text(tweet: dict, where: str) -> str:
    """The tweet's words as the customer wrote them: the full text of a long tweet, X's
    entity escaping undone, and its t.co links expanded."""
    extended = tweet.get("extended_tweet")
    if isinstance(extended, dict) and tweet.get("truncated") and extended.get("full_text") is not None:
        text, entities = extended["full_text"], extended.get("entities")
    else:
        text, entities = tweet.get("text", tweet.get("full_text")), tweet.get("entities")
    if not isinstance(text, str) or not text.strip():
        raise PayloadError(f"{where}text", "is required and must be a non-empty string")
    urls = entities.get("urls") if isinstance(entities, dict) else None
    return expand_links(unescape_x(text), urls)


def _created_at(tweet: dict, where: str) -> datetime | None:
    if tweet.get("created_at") is None:
        return None
    try:
        return parse_created_at(str(tweet["created_at"]))
    except (ValueError, OverflowError):  # OverflowError: a date pushed past year 1 or 9999 by its offset
        raise PayloadError(f"{where}created_at", "must look like 'Wed Oct 10 20:19:24 +0000 2018'") from None


def _tweet(tweet, brand_id: str, where: str, extra: dict) -> IncomingMention | None:
    if not isinstance(tweet, dict):
        raise PayloadError(where.rstrip("."), "must be a tweet object")
    if "retweeted_status" in tweet:
        return None  # a plain retweet adds no words of its own; quotes and replies do
    user = tweet.get("user")
    if not isinstance(user, dict):
        raise PayloadError(f"{where}user", "is required and must be an object")
    tweet_id = _id(tweet, "id", where, required=True)
    author_id = _id(user, "id", f"{where}user.", required=True)
    text = _text(tweet, where)
    created_at = _created_at(tweet, where)
    screen_name = user.get("screen_name")
    author_handle = handle(screen_name, f"{where}user.screen_name")
    name = user.get("name")
    followers = user.get("followers_count")
    if followers is not None and (isinstance(followers, bool) or not isinstance(followers, int) or followers < 0):
        raise PayloadError(f"{where}user.followers_count", "must be a non-negative integer")
    language = tweet.get("lang") if isinstance(tweet.get("lang"), str) else None
    return IncomingMention(
        source="x",
        external_id=tweet_id,
        author_id=author_id,
        text=text,
        direction="outbound" if author_id == brand_id else "inbound",
        author_handle=author_handle,
        author_name=display_name(unescape_x(name) if isinstance(name, str) else None),
        author_followers=followers,
        created_at=created_at,
        url=f"https://x.com/{screen_name if author_handle else 'i/web'}/status/{tweet_id}",
        in_reply_to=_id(tweet, "in_reply_to_status_id", where),
        conversation_id=_id(tweet, "conversation_id", where),
        language=language[:16] if language and language != "und" else None,
        extra=dict(extra),
    )


def parse(payload) -> list[IncomingMention]:
    """Mentions from `tweet_create_events`; every other event type (likes, follows, DMs...) yields none."""
    if not isinstance(payload, dict):
        raise PayloadError("body", "must be an Account Activity JSON object")
    events = payload.get("tweet_create_events")
    if events is None:
        return []
    if not isinstance(events, list):
        raise PayloadError("tweet_create_events", "must be a list")
    brand_id = _x_id(payload.get("for_user_id"), "for_user_id", required=True)
    extra = {"for_user_id": brand_id}
    if isinstance(payload.get("user_has_blocked"), bool):
        extra["user_has_blocked"] = payload["user_has_blocked"]
    parsed = (_tweet(tweet, brand_id, f"tweet_create_events[{i}].", extra) for i, tweet in enumerate(events))
    return [mention for mention in parsed if mention is not None]


def deletions(payload) -> list[tuple[str, str]]:
    """The posts `tweet_delete_events` says their authors deleted, as ("x", tweet id):
    `{"tweet_delete_events": [{"status": {"id": "…", "user_id": "…"}, "timestamp_ms": "…"}]}`.
    An event without a usable id is skipped: a deletion can only ever erase."""
    if not isinstance(payload, dict) or not isinstance(payload.get("tweet_delete_events"), list):
        return []
    found = []
    for event in payload["tweet_delete_events"]:
        status = event.get("status") if isinstance(event, dict) else None
        if not isinstance(status, dict):
            continue
        tweet_id = status.get("id_str", status.get("id"))
        tweet_id = str(tweet_id) if isinstance(tweet_id, str | int) and not isinstance(tweet_id, bool) else ""
        if _DIGITS.fullmatch(tweet_id):
            found.append(("x", tweet_id))
    return found
