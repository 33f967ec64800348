"""Business-time arithmetic over a weekly calendar in one time zone.

Business time only runs inside the opening windows; holidays are closed all
day. Windows are local wall-clock times converted to UTC per date with
zoneinfo, so a window on a DST change day is as long as the clock says (an
09:00-18:00 window is always nine local hours; a 00:00-23:59 window on
2026-11-01 in New York is 24h59m). A calendar without any window is 24/7.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ZERO = timedelta(0)
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Calendar:
    zone: ZoneInfo = ZoneInfo("UTC")
    # weekday index (0 = Monday) -> sorted, non-overlapping (start, end) local windows
    hours: dict[int, tuple[tuple[time, time], ...]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()

    @property
    def always_open(self) -> bool:
        return not any(self.hours.values())

    def _windows(self, day: date):
        """The day's opening windows as UTC (start, end) pairs."""
        if day in self.holidays:
            return
        for start, end in self.hours.get(day.weekday(), ()):
            yield (
                datetime.combine(day, start, tzinfo=self.zone).astimezone(UTC),
                datetime.combine(day, end, tzinfo=self.zone).astimezone(UTC),
            )

    def _local_day(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant at which `duration` of business time has passed since `start`.

        A start outside the windows begins counting at the next opening; a
        deadline that lands exactly on a closing time stays there.
        """
        if self.always_open:
            return start + duration
        remaining = duration
        day = self._local_day(start)
        while True:
            for opens, closes in self._windows(day):
                if closes <= start:
                    continue
                begin = max(opens, start)
                if remaining <= closes - begin:
                    return begin + remaining
                remaining -= closes - begin
            day += ONE_DAY

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time between two instants (zero when `end` is not after `start`)."""
        if end <= start:
            return ZERO
        if self.always_open:
            return end - start
        total = ZERO
        day, last = self._local_day(start), self._local_day(end)
        while day <= last:
            for opens, closes in self._windows(day):
                overlap = min(closes, end) - max(opens, start)
                if overlap > ZERO:
                    total += overlap
            day += ONE_DAY
        return total


ALWAYS = Calendar()
