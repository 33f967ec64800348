"""HMAC helpers shared by every platform adapter. Comparisons are constant-time."""

import base64
import hashlib
import hmac


def hmac_sha256(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def hex_signature(secret: str, message: bytes) -> str:
    return hmac_sha256(secret, message).hex()


def base64_signature(secret: str, message: bytes) -> str:
    return base64.b64encode(hmac_sha256(secret, message)).decode()


def same(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())
