"""X (Twitter) Account Activity webhooks: the CRC challenge, signatures, and
`tweet_create_events` normalized into mentions.

Signatures are `sha256=<base64 HMAC-SHA256(secret, raw body)>`. Apps with an
OAuth 2.0 client secret get `X-Twitter-Webhooks-Signature-OAuth2` keyed by it;
the legacy `X-Twitter-Webhooks-Signature` is keyed by the consumer secret.
"""

import re
from datetime import UTC, datetime

from integrations.platforms.mention import IncomingMention, PayloadError, SignatureError, platform_id
from integrations.platforms.signing import base64_signature, same

OAUTH2_HEADER = "X-Twitter-Webhooks-Signature-OAuth2"
LEGACY_HEADER = "X-Twitter-Webhooks-Signature"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# "Wed Oct 10 20:19:24 +0000 2018"; parsed by hand because strptime's %a/%b follow the locale.
_CREATED_AT = re.compile(r"^[A-Z][a-z]{2} ([A-Z][a-z]{2}) (\d{2}) (\d{2}):(\d{2}):(\d{2}) ([+-]\d{4}) (\d{4})$")


def signature(secret: str, message: bytes) -> str:
    return "sha256=" + base64_signature(secret, message)


def crc_response_token(crc_token: str, consumer_secret: str | None, oauth2_secret: str | None) -> str:
    # X's v2 webhook quickstart keys the CRC with the OAuth 2.0 client secret
    # when the app has one; the Account Activity guide (apps with only OAuth
    # 1.0a keys) keys it with the consumer secret. One answer is possible, so
    # the newer secret wins when both are configured.
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


def _id(item: dict, key: str, where: str, *, required: bool = False) -> str | None:
    """X sends ids as `<key>_str` strings (the numbers overflow JavaScript); accept the number as well."""
    value = item.get(f"{key}_str", item.get(key))
    return platform_id(value, f"{where}{key}_str", required, "must be a non-empty string of digits")


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
    extended = tweet.get("extended_tweet")
    text = extended.get("full_text") if isinstance(extended, dict) and tweet.get("truncated") else None
    text = text if text is not None else tweet.get("text", tweet.get("full_text"))
    if not isinstance(text, str) or not text.strip():
        raise PayloadError(f"{where}text", "is required and must be a non-empty string")
    created_at = None
    if tweet.get("created_at") is not None:
        try:
            created_at = parse_created_at(str(tweet["created_at"]))
        except ValueError:
            raise PayloadError(f"{where}created_at", "must look like 'Wed Oct 10 20:19:24 +0000 2018'") from None
    handle = user.get("screen_name") if isinstance(user.get("screen_name"), str) else None
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
        author_handle=f"@{handle}" if handle else None,
        author_name=user.get("name") if isinstance(user.get("name"), str) else None,
        author_followers=followers,
        created_at=created_at,
        url=f"https://x.com/{handle or 'i/web'}/status/{tweet_id}",
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
    brand_id = payload.get("for_user_id")
    if isinstance(brand_id, bool) or not isinstance(brand_id, str | int) or not str(brand_id).strip():
        raise PayloadError("for_user_id", "is required with tweet_create_events")
    extra = {"for_user_id": str(brand_id)}
    if isinstance(payload.get("user_has_blocked"), bool):
        extra["user_has_blocked"] = payload["user_has_blocked"]
    parsed = (_tweet(tweet, str(brand_id), f"tweet_create_events[{i}].", extra) for i, tweet in enumerate(events))
    return [mention for mention in parsed if mention is not None]
