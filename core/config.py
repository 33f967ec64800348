"""The YAML configuration (`EARSHOT_CONFIG`): Slack channels, routes, SLA policies.

`load_config(path)` validates the whole file up front; a mistake raises
ConfigError with the path, the key and the reason.
"""

import re
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from core.settings import ConfigError
from core.timeutil import parse_duration

TIERS = ("critical", "high", "normal", "low")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WINDOW = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_CHANNEL = re.compile(r"^(#[a-z0-9][a-z0-9_\-]{0,79}|[CG][A-Z0-9]{2,})$")
ROUTE_KEYS = ("urgency", "source", "keywords", "brand", "language", "min_followers")


@dataclass(frozen=True)
class Route:
    channel: str
    urgency: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    brand: tuple[str, ...] = ()
    language: tuple[str, ...] = ()
    min_followers: int | None = None


@dataclass(frozen=True)
class SlaPolicy:
    first_response: timedelta
    next_response: timedelta
    resolution: timedelta
    business_hours: bool = True


@dataclass(frozen=True)
class SlaConfig:
    timezone: str = "UTC"
    # weekday index (0 = Monday) -> sorted (start, end) windows; empty mapping = 24/7
    business_hours: dict[int, tuple[tuple[time, time], ...]] = field(default_factory=dict)
    holidays: frozenset = frozenset()
    warn_at: float = 0.75
    remind_every: timedelta = timedelta(minutes=15)
    policies: dict[str, SlaPolicy] = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class SlackConfig:
    default_channel: str = "#support"
    escalation_channel: str = "#support-escalations"
    escalation_mentions: tuple[str, ...] = ()
    managers_channel: str | None = None


@dataclass(frozen=True)
class ModelConfig:
    threads: int = 2
    batch_size: int = 16  # texts per forward pass, measured best on 2 cores, see models/EVALUATION.md
    # Mentions one worker claims at a time, at most: what is waiting, up to this. The model sorts
    # them by length into batches of `batch_size`, so a burst wastes less work on padding.
    claim: int = 64


@dataclass(frozen=True)
class VolumeConfig:
    enabled: bool = True
    factor: float = 3.0  # the window's complaints against the usual count for that hour of the week
    min_count: int = 10  # fewer complaints than this is never a rise
    baseline_days: int = 28  # history looked at, in whole weeks; less history stored means no alert


@dataclass(frozen=True)
class IncidentConfig:
    enabled: bool = True
    window: timedelta = timedelta(minutes=30)
    min_authors: int = 5
    # Cosine to a cluster's centre at which a complaint joins it without neighbours of its own
    # (triage.incidents: clusters themselves grow from complaints with neighbours from at least 3
    # other customers at cosine 0.45). Of 14,343 same-brand pairs of real complaints (twcs, first
    # 2,000 customer tweets) 0.20% reach 0.70 and 0.09% reach 0.75.
    similarity: float = 0.70
    volume: VolumeConfig = field(default_factory=VolumeConfig)


@dataclass(frozen=True)
class RetentionConfig:
    """How long personal data is kept (tickets.erasure purges it, keeping the counts); None: forever."""

    resolved: timedelta | None = None  # after a ticket is resolved
    not_complaint: timedelta | None = None  # after a mention that opened no ticket, or a ticket closed as one


@dataclass(frozen=True)
class AppConfig:
    slack: SlackConfig
    routes: tuple[Route, ...]
    sla: SlaConfig
    model: ModelConfig
    urgency: object  # models.urgency.UrgencyPolicy
    raw: dict
    incidents: IncidentConfig = field(default_factory=IncidentConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)


DEFAULT_POLICIES = {
    "critical": {"first_response": "15m", "next_response": "30m", "resolution": "8h", "business_hours": False},
    "high": {"first_response": "1h", "next_response": "2h", "resolution": "24h"},
    "normal": {"first_response": "4h", "next_response": "8h", "resolution": "3d"},
    "low": {"first_response": "24h", "next_response": "2d", "resolution": "7d"},
}


class _Reader:
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


def _slack(r: _Reader, raw) -> SlackConfig:
    raw = r.mapping(raw, "slack")
    r.unknown(raw, ("default_channel", "escalation_channel", "escalation_mentions", "managers_channel"), "slack")
    defaults = SlackConfig()
    managers = raw.get("managers_channel")
    return SlackConfig(
        default_channel=r.channel(raw.get("default_channel", defaults.default_channel), "slack.default_channel"),
        escalation_channel=r.channel(
            raw.get("escalation_channel", defaults.escalation_channel), "slack.escalation_channel"
        ),
        escalation_mentions=r.strings(raw.get("escalation_mentions", []), "slack.escalation_mentions"),
        managers_channel=r.channel(managers, "slack.managers_channel") if managers else None,
    )


def _routes(r: _Reader, raw) -> tuple[Route, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        r.fail("routes", "must be a list of {match: ..., channel: ...}")
    routes = []
    for index, entry in enumerate(raw):
        key = f"routes[{index}]"
        entry = r.mapping(entry, key)
        r.unknown(entry, ("match", "channel"), key)
        match = r.mapping(entry.get("match"), f"{key}.match")
        r.unknown(match, ROUTE_KEYS, f"{key}.match")
        fields = {name: r.strings(match[name], f"{key}.match.{name}") for name in ROUTE_KEYS[:-1] if name in match}
        bad = set(fields.get("urgency", ())) - set(TIERS)
        if bad:
            r.fail(f"{key}.match.urgency", f"unknown tier(s) {', '.join(sorted(bad))}; tiers: {', '.join(TIERS)}")
        fields = {name: tuple(v.lower() for v in values) for name, values in fields.items()}
        min_followers = match.get("min_followers")
        if min_followers is not None and (
            isinstance(min_followers, bool) or not isinstance(min_followers, int) or min_followers < 0
        ):
            r.fail(f"{key}.match.min_followers", "must be a non-negative integer")
        routes.append(
            Route(
                channel=r.channel(entry.get("channel"), f"{key}.channel"),
                min_followers=min_followers,
                **fields,
            )
        )
    return tuple(routes)


def _business_hours(r: _Reader, raw) -> dict[int, tuple[tuple[time, time], ...]]:
    raw = r.mapping(raw, "sla.business_hours")
    r.unknown(raw, WEEKDAYS, "sla.business_hours")
    hours = {}
    for day, windows in raw.items():
        key = f"sla.business_hours.{day}"
        parsed = []
        for window in r.strings(windows, key) if windows else ():
            match = _WINDOW.match(window)
            if not match:
                r.fail(key, f"window {window!r} must look like 09:00-18:00")
            h1, m1, h2, m2 = map(int, match.groups())
            if h2 == 24 and m2 == 0:
                h2, m2 = 23, 59
            if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59 or (h1, m1) >= (h2, m2):
                r.fail(key, f"window {window!r} must start before it ends, within one day")
            parsed.append((time(h1, m1), time(h2, m2)))
        parsed.sort()
        for (_, end), (start, _) in zip(parsed, parsed[1:], strict=False):
            if start < end:
                r.fail(key, "windows overlap")
        hours[WEEKDAYS.index(day)] = tuple(parsed)
    return hours


def _sla(r: _Reader, raw) -> SlaConfig:
    raw = r.mapping(raw, "sla")
    r.unknown(raw, ("timezone", "business_hours", "holidays", "warn_at", "remind_every", "policies"), "sla")
    zone = raw.get("timezone", "UTC")
    try:
        ZoneInfo(str(zone))
    except (ZoneInfoNotFoundError, ValueError):
        r.fail("sla.timezone", f"unknown time zone {zone!r}")
    holidays = set()
    listed = raw.get("holidays") or []
    if not isinstance(listed, list):
        r.fail("sla.holidays", "must be a list of dates like 2026-12-25")
    for value in listed:
        try:
            holidays.add(value if isinstance(value, date) else date.fromisoformat(str(value)))
        except ValueError:
            r.fail("sla.holidays", f"{value!r} is not a date like 2026-12-25")
    warn_at = raw.get("warn_at", 0.75)
    if isinstance(warn_at, bool) or not isinstance(warn_at, int | float) or not 0 < warn_at < 1:
        r.fail("sla.warn_at", f"must be a number between 0 and 1 (exclusive), got {warn_at!r}")
    policies_raw = r.mapping(raw.get("policies"), "sla.policies")
    r.unknown(policies_raw, TIERS, "sla.policies")
    policies = {}
    for tier in TIERS:
        merged = {**DEFAULT_POLICIES[tier], **r.mapping(policies_raw.get(tier), f"sla.policies.{tier}")}
        key = f"sla.policies.{tier}"
        r.unknown(merged, ("first_response", "next_response", "resolution", "business_hours"), key)
        uses_hours = merged.get("business_hours", True)
        if not isinstance(uses_hours, bool):
            r.fail(f"{key}.business_hours", "must be true or false")
        policies[tier] = SlaPolicy(
            first_response=r.duration(merged["first_response"], f"{key}.first_response"),
            next_response=r.duration(merged["next_response"], f"{key}.next_response"),
            resolution=r.duration(merged["resolution"], f"{key}.resolution"),
            business_hours=uses_hours,
        )
    return SlaConfig(
        timezone=str(zone),
        business_hours=_business_hours(r, raw.get("business_hours")),
        holidays=frozenset(holidays),
        warn_at=float(warn_at),
        remind_every=r.duration(raw.get("remind_every", "15m"), "sla.remind_every"),
        policies=policies,
    )


def _model(r: _Reader, raw) -> ModelConfig:
    raw = r.mapping(raw, "model")
    r.unknown(raw, ("threads", "batch_size", "claim"), "model")
    values = {}
    for key, low, high in (("threads", 1, 64), ("batch_size", 1, 1024), ("claim", 1, 4096)):
        if key in raw:
            value = raw[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                r.fail(f"model.{key}", f"must be an integer from {low} to {high}")
            values[key] = value
    return ModelConfig(**values)


def _number(r: _Reader, raw: dict, key: str, default, low: float, high: float, integer: bool = False):
    value = raw.get(key.rsplit(".", 1)[-1], default)
    kinds = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
        r.fail(key, f"must be {'an integer' if integer else 'a number'} from {low} to {high}, got {value!r}")
    return value


def _flag(r: _Reader, raw: dict, key: str, default: bool) -> bool:
    value = raw.get(key.rsplit(".", 1)[-1], default)
    if not isinstance(value, bool):
        r.fail(key, "must be true or false")
    return value


def _incidents(r: _Reader, raw) -> IncidentConfig:
    raw = r.mapping(raw, "incidents")
    r.unknown(raw, ("enabled", "window", "min_authors", "similarity", "volume"), "incidents")
    volume = r.mapping(raw.get("volume"), "incidents.volume")
    r.unknown(volume, ("enabled", "factor", "min_count", "baseline_days"), "incidents.volume")
    defaults, usual = IncidentConfig(), VolumeConfig()
    window = r.duration(raw.get("window", "30m"), "incidents.window")
    if not timedelta(minutes=1) <= window <= timedelta(days=1):
        r.fail("incidents.window", "must be from 1m to 1d")
    return IncidentConfig(
        enabled=_flag(r, raw, "incidents.enabled", True),
        window=window,
        min_authors=_number(r, raw, "incidents.min_authors", defaults.min_authors, 2, 10_000, integer=True),
        similarity=float(_number(r, raw, "incidents.similarity", defaults.similarity, 0.3, 0.999)),
        volume=VolumeConfig(
            enabled=_flag(r, volume, "incidents.volume.enabled", True),
            factor=float(_number(r, volume, "incidents.volume.factor", usual.factor, 1.1, 1000)),
            min_count=_number(r, volume, "incidents.volume.min_count", usual.min_count, 1, 10**6, integer=True),
            baseline_days=_number(r, volume, "incidents.volume.baseline_days", usual.baseline_days, 7, 364,
                                  integer=True),  # fmt: skip
        ),
    )


def _retention(r: _Reader, raw) -> RetentionConfig:
    raw = r.mapping(raw, "retention")
    r.unknown(raw, ("resolved", "not_complaint"), "retention")
    kept = {}
    for key in ("resolved", "not_complaint"):
        if raw.get(key) is not None:
            kept[key] = r.duration(raw[key], f"retention.{key}")
            if kept[key] < timedelta(days=1):
                r.fail(f"retention.{key}", "must be at least 1d")
    return RetentionConfig(**kept)


SECTIONS = ("slack", "routes", "sla", "model", "urgency", "incidents", "digest", "retention")


def parse_config(raw, source: str = "<config>") -> AppConfig:
    from models.urgency import UrgencyPolicy

    r = _Reader(source)
    raw = r.mapping(raw, "(top level)")
    r.unknown(raw, SECTIONS, "(top level)")
    try:
        urgency = UrgencyPolicy.from_config(raw.get("urgency"))
    except ValueError as error:
        raise ConfigError(f"{source}: {error}") from None
    return AppConfig(
        slack=_slack(r, raw.get("slack")),
        routes=_routes(r, raw.get("routes")),
        sla=_sla(r, raw.get("sla")),
        model=_model(r, raw.get("model")),
        urgency=urgency,
        raw=raw,
        incidents=_incidents(r, raw.get("incidents")),
        retention=_retention(r, raw.get("retention")),
    )


class _Loader(yaml.SafeLoader):
    """Safe YAML that leaves dates as strings: PyYAML would raise a bare ValueError
    on `2026-13-45`; as a string it is checked, and named, like any other value."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_config(path: str | None) -> AppConfig:
    if path is None:
        return parse_config({}, "<built-in defaults>")
    try:
        with open(path, encoding="utf-8") as handle:
            raw = yaml.load(handle, Loader=_Loader)  # _Loader is a SafeLoader
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}") from None
    return parse_config(raw, path)
