"""Slack request signing: `v0=` + hex HMAC-SHA256(secret, "v0:<timestamp>:<raw body>").

Checked on the raw body, within five minutes of now, in constant time.
"""

from integrations.platforms.mention import SignatureError
from integrations.platforms.signing import check_fresh, hex_signature, same

TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    return "v0=" + hex_signature(secret, f"v0:{timestamp}:".encode() + body)


def verify(secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float) -> None:
    headers = ("X-Slack-Request-Timestamp", "X-Slack-Signature")
    check_fresh(timestamp, signature, now, TOLERANCE_SECONDS, headers, "5 minutes")
    if not same(sign(secret, timestamp, body), signature.strip()):
        raise SignatureError("X-Slack-Signature does not match the body")


def signed_headers(secret: str, body: bytes, timestamp: int) -> dict:
    """The headers Slack sends with a request; used by the stand-in and the tests."""
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": sign(secret, timestamp, body),
    }
