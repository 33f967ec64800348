"""HMAC helpers shared by every platform adapter. Comparisons are constant-time."""

import base64
import hashlib
import hmac

from integrations.platforms.mention import SignatureError


def hmac_sha256(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def hex_signature(secret: str, message: bytes) -> str:
    return hmac_sha256(secret, message).hex()


def base64_signature(secret: str, message: bytes) -> str:
    return base64.b64encode(hmac_sha256(secret, message)).decode()


def same(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def check_fresh(timestamp: str | None, signature: str | None, now: float, tolerance: int,
                headers: tuple[str, str], window: str) -> None:  # fmt: skip
    """Both headers present and the timestamp within `tolerance` seconds of now: a replay is refused."""
    timestamp_header, signature_header = headers
    if not timestamp or not signature:
        raise SignatureError(f"missing {timestamp_header} or {signature_header} header")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise SignatureError(f"{timestamp_header} must be unix seconds") from None
    if abs(now - sent_at) > tolerance:
        raise SignatureError(f"{timestamp_header} is more than {window} from now")
