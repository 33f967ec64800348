"""The clock rules over a ticket's fields: no database, no clock."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.config import parse_config
from store.schema import Ticket
from triage import sla

NY = ZoneInfo("America/New_York")
WEEKDAY = ["09:00-18:00"]
CONFIG = parse_config(
    {
        "sla": {
            "timezone": "America/New_York",
            "business_hours": {day: WEEKDAY for day in ("mon", "tue", "wed", "thu", "fri")},
            "holidays": ["2026-12-25"],
            "warn_at": 0.75,
            "remind_every": "15m",
        }
    }
).sla
TWENTY_FOUR_SEVEN = parse_config({"sla": {"timezone": "America/New_York"}}).sla


def ny(*args) -> datetime:
    return datetime(*args, tzinfo=NY).astimezone(UTC)


def ticket(created_at: datetime, urgency: str = "high", config=CONFIG) -> Ticket:
    new = Ticket(status="open", urgency=urgency, source="x", author_id="u42", channel="#support", created_at=created_at)
    sla.start(new, config)
    return new


def kinds(alerts) -> list[tuple[str, str, int]]:
    return [(a.clock, a.kind, a.sequence) for a in alerts]


def test_start_sets_deadlines_in_business_time():
    opened = ticket(ny(2026, 11, 17, 10, 0))  # Tuesday 10:00, high: 1h / 24h
    assert opened.first_response_due_at == ny(2026, 11, 17, 11, 0)
    assert opened.resolution_due_at == ny(2026, 11, 19, 16, 0)
    assert opened.next_response_due_at is None
    assert opened.next_deadline_at == ny(2026, 11, 17, 10, 45)  # the first-response warning


def test_posted_friday_evening_counts_from_monday_opening():
    opened = ticket(ny(2026, 11, 20, 19, 30))
    assert opened.first_response_due_at == ny(2026, 11, 23, 10, 0)
    assert sla.due_alerts(opened, CONFIG, ny(2026, 11, 22, 12, 0)) == []


def test_holiday_is_skipped():
    opened = ticket(ny(2026, 12, 24, 17, 30), urgency="normal")  # 4h: 30 min Thursday, Friday is Christmas
    assert opened.first_response_due_at == ny(2026, 12, 28, 12, 30)


def test_critical_policy_runs_24_7():
    opened = ticket(ny(2026, 11, 21, 3, 0), urgency="critical")  # Saturday night
    assert opened.first_response_due_at == ny(2026, 11, 21, 3, 15)
    assert opened.resolution_due_at == ny(2026, 11, 21, 11, 0)


def test_config_without_business_hours_is_24_7():
    opened = ticket(ny(2026, 11, 21, 3, 0), config=TWENTY_FOUR_SEVEN)
    assert opened.first_response_due_at == ny(2026, 11, 21, 4, 0)


def test_dst_day_deadline_uses_local_opening_hours():
    weekend_shop = parse_config(
        {"sla": {"timezone": "America/New_York", "business_hours": {"sat": WEEKDAY, "sun": WEEKDAY}}}
    ).sla
    opened = ticket(ny(2026, 3, 7, 17, 30), config=weekend_shop)  # Saturday before spring forward, high: 1h
    assert opened.first_response_due_at == datetime(2026, 3, 8, 13, 30, tzinfo=UTC)  # Sunday 09:30 EDT


def test_warning_breach_and_reminders_until_answered():
    opened = ticket(ny(2026, 11, 17, 10, 0))
    assert sla.due_alerts(opened, CONFIG, ny(2026, 11, 17, 10, 44)) == []
    assert sla.next_alert(opened, CONFIG, ny(2026, 11, 17, 10, 44)) == (
        ny(2026, 11, 17, 10, 45), "first_response", "warning", 0
    )
    assert kinds(sla.due_alerts(opened, CONFIG, ny(2026, 11, 17, 10, 45))) == [("first_response", "warning", 0)]
    assert sla.next_alert(opened, CONFIG, ny(2026, 11, 17, 10, 45)).at == ny(2026, 11, 17, 11, 0)
    assert kinds(sla.due_alerts(opened, CONFIG, ny(2026, 11, 17, 11, 0))) == [("first_response", "breach", 0)]
    at_1135 = sla.due_alerts(opened, CONFIG, ny(2026, 11, 17, 11, 35))
    assert kinds(at_1135) == [("first_response", "breach", 0), ("first_response", "reminder", 2)]
    assert sla.next_alert(opened, CONFIG, ny(2026, 11, 17, 11, 35)) == (
        ny(2026, 11, 17, 11, 45), "first_response", "reminder", 3
    )
    sla.brand_replied(opened, ny(2026, 11, 17, 11, 40), CONFIG)
    assert opened.first_response_breached is True
    assert [a.clock for a in sla.due_alerts(opened, CONFIG, ny(2026, 11, 17, 12, 0))] == []
    assert sla.next_alert(opened, CONFIG, ny(2026, 11, 17, 12, 0)).clock == "resolution"


def test_reminders_wait_for_business_hours():
    opened = ticket(ny(2026, 11, 17, 16, 50))  # due 17:50
    assert sla.next_alert(opened, CONFIG, ny(2026, 11, 17, 17, 55)) == (
        ny(2026, 11, 18, 9, 5), "first_response", "reminder", 1
    )


def test_resolution_breach_has_no_reminders():
    opened = ticket(ny(2026, 11, 17, 10, 0), urgency="critical")  # resolution 8h, 24/7
    sla.brand_replied(opened, ny(2026, 11, 17, 10, 5), CONFIG)
    late = ny(2026, 11, 17, 19, 0)
    assert kinds(sla.due_alerts(opened, CONFIG, late)) == [("resolution", "breach", 0)]
    assert sla.next_alert(opened, CONFIG, late) is None


def test_reply_before_the_deadline_is_no_breach():
    opened = ticket(ny(2026, 11, 17, 10, 0))
    sla.brand_replied(opened, ny(2026, 11, 17, 10, 30), CONFIG)
    assert opened.first_response_met_at == ny(2026, 11, 17, 10, 30)
    assert not opened.first_response_breached
    assert sla.due_alerts(opened, CONFIG, ny(2026, 11, 17, 12, 0)) == []
    assert opened.next_deadline_at == sla.next_alert(opened, CONFIG, ny(2026, 11, 17, 10, 30)).at


def test_next_response_starts_on_the_first_follow_up_after_a_reply():
    opened = ticket(ny(2026, 11, 17, 10, 0))
    sla.customer_wrote(opened, ny(2026, 11, 17, 10, 10), CONFIG)  # before any reply: still the first response
    assert opened.next_response_started_at is None
    sla.brand_replied(opened, ny(2026, 11, 17, 10, 30), CONFIG)
    sla.customer_wrote(opened, ny(2026, 11, 17, 11, 0), CONFIG)
    assert opened.next_response_started_at == ny(2026, 11, 17, 11, 0)
    assert opened.next_response_due_at == ny(2026, 11, 17, 13, 0)
    sla.customer_wrote(opened, ny(2026, 11, 17, 12, 0), CONFIG)  # a further follow-up does not move it
    assert opened.next_response_due_at == ny(2026, 11, 17, 13, 0)
    assert opened.next_deadline_at == ny(2026, 11, 17, 12, 30)  # its warning
    sla.brand_replied(opened, ny(2026, 11, 17, 12, 45), CONFIG)
    assert opened.next_response_met_at == ny(2026, 11, 17, 12, 45)
    assert not opened.next_response_breached
    assert opened.first_response_met_at == ny(2026, 11, 17, 10, 30)  # untouched by later replies
    sla.customer_wrote(opened, ny(2026, 11, 17, 17, 0), CONFIG)  # a new cycle, across the night
    assert opened.next_response_met_at is None
    assert opened.next_response_due_at == ny(2026, 11, 18, 10, 0)


def test_late_follow_up_reply_stays_breached():
    opened = ticket(ny(2026, 11, 17, 10, 0))
    sla.brand_replied(opened, ny(2026, 11, 17, 10, 30), CONFIG)
    sla.customer_wrote(opened, ny(2026, 11, 17, 11, 0), CONFIG)
    sla.brand_replied(opened, ny(2026, 11, 17, 14, 0), CONFIG)
    assert opened.next_response_breached is True
    sla.customer_wrote(opened, ny(2026, 11, 17, 14, 30), CONFIG)
    assert opened.next_response_breached is True


def test_pause_stops_alerts_and_resume_pushes_by_paused_business_time():
    opened = ticket(ny(2026, 11, 17, 10, 0))
    sla.brand_replied(opened, ny(2026, 11, 17, 10, 30), CONFIG)
    sla.paused(opened, ny(2026, 11, 17, 10, 30))
    assert opened.next_deadline_at is None
    assert sla.due_alerts(opened, CONFIG, ny(2026, 11, 20, 12, 0)) == []
    sla.resumed(opened, ny(2026, 11, 18, 10, 30), CONFIG)  # 7.5h Tuesday + 1.5h Wednesday
    assert opened.paused_seconds == 9 * 3600
    assert opened.resolution_due_at == ny(2026, 11, 20, 16, 0)  # Thursday 16:00 + 9 business hours
    assert opened.paused_at is None


def test_follow_up_while_paused_resumes():
    opened = ticket(ny(2026, 11, 17, 10, 0))
    sla.brand_replied(opened, ny(2026, 11, 17, 10, 30), CONFIG)
    sla.paused(opened, ny(2026, 11, 17, 10, 30))
    sla.customer_wrote(opened, ny(2026, 11, 17, 11, 30), CONFIG)
    assert opened.paused_at is None
    assert opened.paused_seconds == 3600
    assert opened.resolution_due_at == ny(2026, 11, 19, 17, 0)
    assert opened.next_response_due_at == ny(2026, 11, 17, 13, 30)


def test_pause_during_a_running_follow_up_pushes_it():
    opened = ticket(ny(2026, 11, 17, 10, 0))
    sla.brand_replied(opened, ny(2026, 11, 17, 10, 30), CONFIG)
    sla.customer_wrote(opened, ny(2026, 11, 17, 11, 0), CONFIG)
    sla.paused(opened, ny(2026, 11, 17, 12, 0))
    sla.resumed(opened, ny(2026, 11, 17, 15, 0), CONFIG)
    assert opened.next_response_due_at == ny(2026, 11, 17, 16, 0)
    sla.urgency_changed(opened, CONFIG)  # recomputing keeps the push
    assert opened.next_response_due_at == ny(2026, 11, 17, 16, 0)


@pytest.mark.parametrize("answered", [True, False])
def test_reopened_old_ticket_does_not_breach_at_once(answered):
    opened = ticket(ny(2026, 11, 17, 10, 0))
    if answered:
        sla.brand_replied(opened, ny(2026, 11, 17, 10, 15), CONFIG)
    sla.resolved(opened, ny(2026, 11, 17, 10, 20))
    assert opened.next_deadline_at is None
    months_later = ny(2027, 2, 2, 10, 0)
    opened.status = "open"  # the lifecycle may already have reopened it
    sla.customer_wrote(opened, months_later, CONFIG)
    assert opened.status == "open"
    assert opened.resolution_met_at is None
    assert sla.due_alerts(opened, CONFIG, months_later) == []
    assert opened.resolution_due_at > months_later
    assert opened.next_deadline_at > months_later
    assert (opened.next_response_started_at == months_later) is answered
    if not answered:  # 40 of its 60 minutes were left when it was closed
        assert opened.first_response_due_at == months_later + timedelta(minutes=40)


def test_reopen_while_paused_charges_neither_pause_nor_closed_time():
    opened = ticket(ny(2026, 11, 17, 10, 0))
    sla.brand_replied(opened, ny(2026, 11, 17, 10, 30), CONFIG)
    sla.paused(opened, ny(2026, 11, 17, 11, 0))
    sla.resolved(opened, ny(2026, 11, 18, 11, 0))
    sla.customer_wrote(opened, ny(2026, 11, 19, 11, 0), CONFIG)
    assert opened.paused_seconds == 18 * 3600
    # 1h charged on the 17th; the other 23h from Thursday 11:00: 7h, Friday 9h, Monday 7h.
    assert opened.resolution_due_at == ny(2026, 11, 23, 16, 0)


def test_resolving_late_records_the_resolution_breach():
    opened = ticket(ny(2026, 11, 17, 10, 0), urgency="critical")
    sla.resolved(opened, ny(2026, 11, 17, 19, 0))
    assert opened.resolution_breached is True
    assert opened.next_deadline_at is None


def test_urgency_change_recomputes_unmet_deadlines_from_the_start():
    opened = ticket(ny(2026, 11, 17, 10, 0), urgency="normal")
    assert opened.first_response_due_at == ny(2026, 11, 17, 14, 0)
    opened.urgency = "high"
    sla.urgency_changed(opened, CONFIG)
    assert opened.first_response_due_at == ny(2026, 11, 17, 11, 0)
    assert opened.resolution_due_at == ny(2026, 11, 19, 16, 0)
    sla.brand_replied(opened, ny(2026, 11, 17, 10, 50), CONFIG)
    opened.urgency = "critical"
    sla.urgency_changed(opened, CONFIG)
    assert opened.first_response_due_at == ny(2026, 11, 17, 11, 0)  # met: kept
    assert opened.resolution_due_at == ny(2026, 11, 17, 18, 0)


def test_urgency_raised_past_the_new_deadline_is_checked_at_once():
    opened = ticket(ny(2026, 11, 17, 10, 0), urgency="low")
    opened.urgency = "critical"
    sla.urgency_changed(opened, CONFIG)
    later = ny(2026, 11, 17, 10, 30)
    assert kinds(sla.due_alerts(opened, CONFIG, later))[0] == ("first_response", "breach", 0)
    assert opened.next_deadline_at <= later


def test_warning_position_follows_warn_at():
    config = parse_config({"sla": {"warn_at": 0.5}}).sla
    opened = ticket(datetime(2026, 11, 17, 10, 0, tzinfo=UTC), config=config)
    assert opened.next_deadline_at == datetime(2026, 11, 17, 10, 30, tzinfo=UTC)
    assert sla.awaiting_reply(opened)
    sla.brand_replied(opened, datetime(2026, 11, 17, 10, 1, tzinfo=UTC), config)
    assert not sla.awaiting_reply(opened)
    assert opened.next_deadline_at == opened.created_at + timedelta(hours=12)  # 0.5 of the 24h resolution
