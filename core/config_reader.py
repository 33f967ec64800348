"""The checks every section of the YAML configuration uses: each mistake is one ConfigError naming
the file, the key path and the reason (`earshot.yaml: sla.warn_at: must be ...`)."""

import re
from datetime import timedelta

from core.settings import ConfigError
from core.timeutil import parse_duration

_CHANNEL = re.compile(r"^(#[a-z0-9][a-z0-9_\-]{0,79}|[CG][A-Z0-9]{2,})$")


class Reader:
    """Walks the raw mapping and names the key path in every error."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, reason: str):
        raise ConfigError(f"{self.source}: {key}: {reason}")

    def mapping(self, value, key: str) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(key, f"must be a mapping, got {type(value).__name__}")
        return value

    def strings(self, value, key: str) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(key, "must be a list of non-empty strings")
        return tuple(value)

    def duration(self, value, key: str) -> timedelta:
        try:
            return parse_duration(value)
        except ValueError as error:
            self.fail(key, str(error))

    def channel(self, value, key: str) -> str:
        if not isinstance(value, str) or not _CHANNEL.match(value):
            self.fail(key, f"must be a channel like '#support' or a channel id, got {value!r}")
        return value

    def unknown(self, mapping: dict, allowed, key: str):
        extra = sorted(set(mapping) - set(allowed))
        if extra:
            self.fail(key, f"unknown key(s) {', '.join(map(str, extra))}; allowed: {', '.join(allowed)}")

    def number(self, raw: dict, key: str, default, low: float, high: float, integer: bool = False):
        """`raw[last part of key]` (or `default`), a number from `low` to `high`."""
        value = raw.get(key.rsplit(".", 1)[-1], default)
        kinds = int if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
            self.fail(key, f"must be {'an integer' if integer else 'a number'} from {low} to {high}, got {value!r}")
        return value

    def flag(self, raw: dict, key: str, default: bool) -> bool:
        value = raw.get(key.rsplit(".", 1)[-1], default)
        if not isinstance(value, bool):
            self.fail(key, "must be true or false")
        return value
