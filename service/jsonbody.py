"""Reading a JSON request body: RFC 8259 JSON that the databases can store, or a 400."""

import json
import math
import re

from service.errors import ApiError

# An escaped UTF-16 surrogate (\ud800-\udfff), or one encoded raw in the bytes
# (which Python's decoder lets through): only these can leave a lone surrogate,
# a string no database accepts, so only then is the parsed value walked.
_SURROGATE_HINT = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
# Deeper than any platform's payload (X's is about 6); every reader of what is stored
# (the databases' JSON, the API, Slack delivery) recurses once per level.
MAX_DEPTH = 32


def _finite(number: str) -> float:
    # NaN, Infinity and 1e400 are not JSON (RFC 8259) and PostgreSQL's json type refuses them.
    value = float(number)
    if not math.isfinite(value):
        raise ValueError(f"{number} is not a finite number")
    return value


def _has_lone_surrogate(value) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _depth(value) -> int:
    """How deeply arrays and objects nest in ``value``; walked without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _too_deep(body: bytes, value) -> bool:
    # Nesting needs an opening bracket per level: most bodies have too few to be walked at all.
    return body.count(b"{") + body.count(b"[") > MAX_DEPTH and _depth(value) > MAX_DEPTH


def load(body: bytes):
    """The parsed body; ApiError(400) for anything that is not storable JSON."""
    try:
        value = json.loads(body, parse_float=_finite, parse_constant=_finite)
    except (ValueError, RecursionError):
        raise ApiError(400, "the body is not valid JSON") from None
    if _SURROGATE_HINT.search(body) and _has_lone_surrogate(value):
        raise ApiError(400, "the body holds an unpaired UTF-16 surrogate (\\ud800-\\udfff), which is not text")
    if _too_deep(body, value):
        raise ApiError(400, f"the body nests arrays and objects more than {MAX_DEPTH} deep")
    return value
