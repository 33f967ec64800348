"""Business-time arithmetic: windows, nights, weekends, holidays, DST days, 24/7."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triage.business_time import ALWAYS, Calendar

NY = ZoneInfo("America/New_York")
NINE_TO_SIX = ((time(9), time(18)),)
WEEKDAYS = {day: NINE_TO_SIX for day in range(5)}
OFFICE = Calendar(zone=NY, hours=WEEKDAYS, holidays=frozenset({date(2026, 12, 25)}))


def ny(*args) -> datetime:
    return datetime(*args, tzinfo=NY).astimezone(UTC)


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        (ny(2026, 11, 17, 10, 0), timedelta(hours=1), ny(2026, 11, 17, 11, 0)),  # inside one window
        (ny(2026, 11, 17, 17, 30), timedelta(hours=1), ny(2026, 11, 18, 9, 30)),  # across the night
        (ny(2026, 11, 17, 7, 0), timedelta(hours=1), ny(2026, 11, 17, 10, 0)),  # before opening
        (ny(2026, 11, 17, 22, 0), timedelta(minutes=15), ny(2026, 11, 18, 9, 15)),  # after closing
        (ny(2026, 11, 17, 17, 0), timedelta(hours=1), ny(2026, 11, 17, 18, 0)),  # lands on closing time
        (ny(2026, 11, 20, 17, 0), timedelta(hours=4), ny(2026, 11, 23, 12, 0)),  # Friday evening to Monday
        (ny(2026, 11, 21, 12, 0), timedelta(hours=1), ny(2026, 11, 23, 10, 0)),  # posted on Saturday
        (ny(2026, 12, 24, 17, 0), timedelta(hours=2), ny(2026, 12, 28, 10, 0)),  # Christmas is closed
        (ny(2026, 11, 17, 10, 0), timedelta(hours=24), ny(2026, 11, 19, 16, 0)),  # 24 business hours
    ],
)
def test_add_business_time(start, duration, expected):
    assert OFFICE.add(start, duration) == expected
    assert OFFICE.elapsed(start, expected) == duration


def test_split_windows_skip_lunch():
    lunch = Calendar(zone=NY, hours={1: ((time(9), time(12)), (time(13), time(17)))})
    assert lunch.add(ny(2026, 11, 17, 11, 30), timedelta(hours=1)) == ny(2026, 11, 17, 13, 30)
    assert lunch.elapsed(ny(2026, 11, 17, 8, 0), ny(2026, 11, 17, 20, 0)) == timedelta(hours=7)


@pytest.mark.parametrize(
    ("day", "expected_hours"),
    [(date(2026, 3, 8), 2), (date(2026, 11, 1), 4), (date(2026, 3, 15), 3)],
)
def test_window_across_a_dst_change_is_as_long_as_the_clock_says(day, expected_hours):
    night = Calendar(zone=NY, hours={6: ((time(1), time(4)),)})  # Sundays 01:00-04:00 local
    whole_day = (datetime.combine(day, time(0), tzinfo=NY), datetime.combine(day, time(23), tzinfo=NY))
    assert night.elapsed(*whole_day) == timedelta(hours=expected_hours)


def test_deadline_on_the_morning_after_spring_forward():
    weekend = Calendar(zone=NY, hours={5: NINE_TO_SIX, 6: NINE_TO_SIX})
    # Saturday 17:00 EST (22:00Z) + 2h: one hour on Saturday, then Sunday 10:00 EDT, which is 14:00Z, not 15:00Z.
    due = weekend.add(ny(2026, 3, 7, 17, 0), timedelta(hours=2))
    assert due == datetime(2026, 3, 8, 14, 0, tzinfo=UTC)
    assert due.astimezone(NY).hour == 10


def test_deadline_on_the_morning_after_fall_back():
    weekend = Calendar(zone=NY, hours={5: NINE_TO_SIX, 6: NINE_TO_SIX})
    due = weekend.add(ny(2026, 10, 31, 17, 30), timedelta(hours=1))
    assert due == datetime(2026, 11, 1, 14, 30, tzinfo=UTC)  # 09:30 EST
    assert due.astimezone(NY).hour == 9


def test_always_open_and_calendar_without_windows():
    start = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)
    assert ALWAYS.add(start, timedelta(minutes=15)) == start + timedelta(minutes=15)
    closed_days = Calendar(zone=NY, hours={0: (), 6: ()})
    assert closed_days.always_open
    assert closed_days.elapsed(start, start + timedelta(days=2)) == timedelta(days=2)


def test_elapsed_is_zero_backwards_and_on_closed_days():
    assert OFFICE.elapsed(ny(2026, 11, 18, 10, 0), ny(2026, 11, 17, 10, 0)) == timedelta(0)
    assert OFFICE.elapsed(ny(2026, 11, 21, 0, 0), ny(2026, 11, 23, 0, 0)) == timedelta(0)
    assert OFFICE.elapsed(ny(2026, 12, 25, 0, 0), ny(2026, 12, 26, 0, 0)) == timedelta(0)


instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)
)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=10))
later = st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=10))


@given(start=instants, first=durations, second=later)
def test_add_and_elapsed_agree(start, first, second):
    due = OFFICE.add(start, first)
    assert due >= start
    assert OFFICE.elapsed(start, due) == first
    # Adding in two steps lands where adding at once does: pauses can be folded into one offset.
    assert OFFICE.add(due, second) == OFFICE.add(start, first + second)
