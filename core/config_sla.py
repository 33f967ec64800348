"""The `sla:` section of the YAML configuration: time zone, business hours, holidays, and the
targets per urgency tier (triage.sla does the arithmetic)."""

import re
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.config_reader import Reader
from core.tiers import TIERS

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WINDOW = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


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


def _policies(r: Reader, raw: dict) -> dict[str, SlaPolicy]:
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
    return policies


def parse_sla(r: Reader, raw) -> SlaConfig:
    raw = r.mapping(raw, "sla")
    r.unknown(raw, ("timezone", "business_hours", "holidays", "warn_at", "remind_every", "policies"), "sla")
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
    )
