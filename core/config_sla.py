"""The `sla:` section of the YAML configuration: time zone, business hours, holidays, the
targets per urgency tier (triage.sla does the arithmetic), and the escalation ladder and the
policy rules (`sla.escalation`, `sla.rules`: read and documented in core.config_ownership)."""

import re
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.config_ownership import EscalationLevel, SlaRule, parse_escalation, parse_rules
from core.config_reader import Reader
from core.tiers import TIERS

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WINDOW = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
POLICY_KEYS = ("first_response", "next_response", "resolution", "business_hours")
SLA_KEYS = ("timezone", "business_hours", "holidays", "warn_at", "remind_every", "policies", "escalation", "rules")


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
    escalation: tuple[EscalationLevel, ...] = ()  # empty: core.config_ownership.default_ladder
    rules: tuple[SlaRule, ...] = ()  # first match wins; no match: `policies`

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


DEFAULT_POLICIES = {
    "critical": {"first_response": "15m", "next_response": "30m", "resolution": "8h", "business_hours": False},
    "high": {"first_response": "1h", "next_response": "2h", "resolution": "24h"},
    "normal": {"first_response": "4h", "next_response": "8h", "resolution": "3d"},
    "low": {"first_response": "24h", "next_response": "2d", "resolution": "7d"},
}


def _business_hours(r: Reader, raw) -> dict[int, tuple[tuple[time, time], ...]]:
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


def _holidays(r: Reader, raw: dict) -> frozenset:
    holidays = set()
    listed = raw.get("holidays") or []
    if not isinstance(listed, list):
        r.fail("sla.holidays", "must be a list of dates like 2026-12-25")
    for value in listed:
        try:
            holidays.add(value if isinstance(value, date) else date.fromisoformat(str(value)))
        except ValueError:
            r.fail("sla.holidays", f"{value!r} is not a date like 2026-12-25")
    return frozenset(holidays)


def read_policy(r: Reader, raw: dict, key: str, base: SlaPolicy | None = None) -> SlaPolicy:
    """One tier's targets: `raw`'s keys over `base` (None: `raw` must name every clock)."""
    r.unknown(raw, POLICY_KEYS, key)
    uses_hours = raw.get("business_hours", base.business_hours if base else True)
    if not isinstance(uses_hours, bool):
        r.fail(f"{key}.business_hours", "must be true or false")
    clocks = {clock: r.duration(raw[clock], f"{key}.{clock}") if clock in raw or base is None
              else getattr(base, clock) for clock in POLICY_KEYS[:3]}  # fmt: skip
    return SlaPolicy(**clocks, business_hours=uses_hours)


def _policies(r: Reader, raw: dict) -> dict[str, SlaPolicy]:
    policies_raw = r.mapping(raw.get("policies"), "sla.policies")
    r.unknown(policies_raw, TIERS, "sla.policies")
    policies = {}
    for tier in TIERS:
        merged = {**DEFAULT_POLICIES[tier], **r.mapping(policies_raw.get(tier), f"sla.policies.{tier}")}
        policies[tier] = read_policy(r, merged, f"sla.policies.{tier}")
    return policies


def parse_sla(r: Reader, raw) -> SlaConfig:
    raw = r.mapping(raw, "sla")
    r.unknown(raw, SLA_KEYS, "sla")
    zone = raw.get("timezone", "UTC")
    try:
        ZoneInfo(str(zone))
    except (ZoneInfoNotFoundError, ValueError):
        r.fail("sla.timezone", f"unknown time zone {zone!r}")
    holidays = _holidays(r, raw)
    warn_at = raw.get("warn_at", 0.75)
    if isinstance(warn_at, bool) or not isinstance(warn_at, int | float) or not 0 < warn_at < 1:
        r.fail("sla.warn_at", f"must be a number between 0 and 1 (exclusive), got {warn_at!r}")
    policies = _policies(r, raw)
    return SlaConfig(
        timezone=str(zone),
        business_hours=_business_hours(r, raw.get("business_hours")),
        holidays=holidays,
        warn_at=float(warn_at),
        remind_every=r.duration(raw.get("remind_every", "15m"), "sla.remind_every"),
        policies=policies,
        escalation=parse_escalation(r, raw.get("escalation")),
        rules=parse_rules(r, raw.get("rules"), lambda targets, key, base: read_policy(r, targets, key, base), policies),
    )
