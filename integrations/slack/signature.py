"""Slack request signing: `v0=` + hex HMAC-SHA256(secret, "v0:<timestamp>:<raw body>").

Checked on the raw body, within five minutes of now, in constant time.
"""

from integrations.platforms.mention import SignatureError
from integrations.platforms.signing import hex_signature, same

TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    return "v0=" + hex_signature(secret, f"v0:{timestamp}:".encode() + body)


def verify(secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float) -> None:
    if not timestamp or not signature:
        raise SignatureError("missing X-Slack-Request-Timestamp or X-Slack-Signature header")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise SignatureError("X-Slack-Request-Timestamp must be unix seconds") from None
    if abs(now - sent_at) > TOLERANCE_SECONDS:
        raise SignatureError("X-Slack-Request-Timestamp is more than 5 minutes from now")
    if not same(sign(secret, timestamp, body), signature.strip()):
        raise SignatureError("X-Slack-Signature does not match the body")


def signed_headers(secret: str, body: bytes, timestamp: int) -> dict:
    """The headers Slack sends with a request; used by the stand-in and the tests."""
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": sign(secret, timestamp, body),
    }
