"""The pure delivery rules (integrations.slack.rules, triage.lanes): lanes, error classes, fallbacks, backoff,
giving up, reminder coalescing and failure notices."""

import pytest

from integrations.slack import rules
from triage import lanes
from triage.lanes import PRIORITY


def _key(kind: str, tier: str, row_id: int, note: str = "conversation"):
    return lanes.order_key(lanes.lane(kind, note), PRIORITY[tier], row_id)


def test_a_new_ticket_outranks_every_reminder_warning_and_breach_whatever_the_tiers():
    new_low_ticket = _key("parent", "low", 999)
    for tier in PRIORITY:
        assert new_low_ticket < _key("note", tier, 1, "reminder")
        assert new_low_ticket < _key("note", tier, 1, "alert")
        assert new_low_ticket < _key("escalation", tier, 1)
        assert new_low_ticket < _key("reminders", tier, 1)


def test_lane_order_then_tier_then_age():
    rows = {
        "digest": lanes.order_key(lanes.lane("channel"), 4, 1),
        "critical reminder": _key("note", "critical", 2, "reminder"),
        "reminder summary": _key("reminders", "high", 3),
        "critical breach": _key("note", "critical", 4, "alert"),
        "customer follow-up": _key("note", "low", 5),
        "state update": _key("update", "normal", 6),
        "old normal parent": _key("parent", "normal", 7),
        "new critical parent": _key("parent", "critical", 8),
        "delivery notice": lanes.order_key(lanes.lane("notice"), 0, 9),
    }
    assert sorted(rows, key=rows.get) == [
        "new critical parent", "delivery notice", "old normal parent", "state update", "customer follow-up",
        "critical breach", "critical reminder", "reminder summary", "digest",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("channel_not_found", 200, "channel"),
        ("not_in_channel", 200, "channel"),
        ("is_archived", 200, "channel"),
        ("invalid_blocks", 200, "content"),
        ("msg_too_long", 200, "content"),
        ("thread_not_found", 200, "gone"),
        ("invalid_auth", 200, "workspace"),
        ("internal_error", 200, "transient"),
        (None, 503, "transient"),
        ("ratelimited", 429, "transient"),
        ("something_new", 200, "unknown"),
    ],
)
def test_error_classes(code, status, expected):
    assert rules.error_class(code, status) == expected


def test_ladder_routed_then_default_then_escalation_without_repeats():
    assert rules.ladder("parent", "#billing", "#support", "#esc") == ("#billing", "#support", "#esc")
    assert rules.ladder("parent", "#support", "#support", "#esc") == ("#support", "#esc")
    assert rules.ladder("escalation", "#esc", "#support", "#esc") == ("#esc", "#support")
    assert rules.ladder("note", "#billing", "#support", "#esc") == ("#billing",)


def test_a_refused_channel_walks_the_ladder_and_a_refused_message_gets_simpler():
    route = rules.Route()
    assert rules.after_refusal(route, "channel", 3) == rules.Route(1, "full")
    assert rules.after_refusal(rules.Route(2, "full"), "channel", 3) is None
    assert rules.after_refusal(route, "content", 3) == rules.Route(0, "plain")
    assert rules.after_refusal(rules.Route(0, "plain"), "content", 3) == rules.Route(0, "text")
    assert rules.after_refusal(rules.Route(0, "text"), "content", 3) is None
    assert rules.after_refusal(route, "unknown", 3) == rules.Route(0, "plain"), "the message first"
    assert rules.after_refusal(rules.Route(0, "text"), "unknown", 3) == rules.Route(1, "text"), "then the channel"
    assert rules.after_refusal(route, "gone", 3) is None


def test_backoff_doubles_from_one_second_and_is_capped_at_five_minutes():
    assert [rules.backoff_seconds(n) for n in (1, 2, 3, 4, 9, 10, 50, 10_000)] == [1, 2, 4, 8, 256, 300, 300, 300]


def test_an_open_tickets_messages_are_never_given_up_after_transient_failures():
    for kind in ("parent", "note", "escalation"):
        persistent = rules.keeps_trying(kind, ticket_open=True)
        assert persistent and not rules.give_up(10_000, persistent)
        resolved = rules.keeps_trying(kind, ticket_open=False)
        assert not rules.give_up(rules.MAX_ATTEMPTS - 1, resolved) and rules.give_up(rules.MAX_ATTEMPTS, resolved)
    assert rules.keeps_trying("incident", ticket_open=False, incident_open=True)
    assert rules.keeps_trying("notice", ticket_open=False)
    assert not rules.keeps_trying("update", ticket_open=True), "the next update supersedes it"
    assert not rules.keeps_trying("channel", ticket_open=False)


def test_exhausted_refusals_start_over_for_open_tickets_unless_no_form_will_ever_take():
    assert rules.when_exhausted("channel", persistent=True) == "start_over"
    assert rules.when_exhausted("unknown", persistent=True) == "start_over"
    assert rules.when_exhausted("content", persistent=True) == "give_up"
    assert rules.when_exhausted("gone", persistent=True) == "give_up"
    assert rules.when_exhausted("channel", persistent=False) == "give_up"


def test_the_refusal_note_says_where_it_was_meant_to_go_and_why():
    refused = [{"channel": "#billing", "error": "channel_not_found"}]
    assert rules.refusal_note(refused, "#support") == "Routed to #billing, which Slack refused: channel_not_found."
    refused.append({"channel": "#support", "error": "not_in_channel"})
    assert rules.refusal_note(refused, "#esc") == (
        "Routed to #billing, which Slack refused: channel_not_found, then #support (not_in_channel)."
    )
    plain = rules.refusal_note([{"channel": "#support", "error": "invalid_blocks"}], "#support")
    assert plain == "Shown in a simpler form: Slack refused the full message (invalid_blocks)."
    assert rules.refusal_note([], "#support") is None


def test_reminder_decisions():
    assert lanes.reminder_action(True, True, 99) == lanes.REPLACE, "one outstanding per ticket"
    assert lanes.reminder_action(False, True, 0) == lanes.JOIN_SUMMARY
    assert lanes.reminder_action(False, False, lanes.REMINDER_SUMMARY_AT - 1) == lanes.QUEUE_NOTE
    assert lanes.reminder_action(False, False, lanes.REMINDER_SUMMARY_AT) == lanes.START_SUMMARY


@pytest.mark.parametrize("tickets", [1, 5, 60, 1000])
def test_reminders_waiting_in_a_channel_stay_bounded_however_many_tickets_breach(tickets):
    """A model of the outbox's reminder lane: every ticket's reminder comes due ten times over
    and nothing is delivered meanwhile; the lane never holds more than threshold + 1 rows."""
    notes: set[int] = set()
    summary: set[int] | None = None
    for _ in range(10):
        for ticket in range(tickets):
            action = lanes.reminder_action(ticket in notes, summary is not None, len(notes))
            if action == lanes.QUEUE_NOTE:
                notes.add(ticket)
            elif action == lanes.START_SUMMARY:
                summary, notes = {*notes, ticket}, set()
            elif action == lanes.JOIN_SUMMARY:
                summary.add(ticket)
            assert len(notes) + (summary is not None) <= lanes.REMINDER_SUMMARY_AT + 1
    told = notes | (summary or set())
    assert told == set(range(tickets)), "no overdue ticket is left out"


def test_a_notice_once_per_episode_at_once_for_a_refused_channel_after_a_minute_otherwise():
    assert rules.should_notice(0, refused=True, noticed=False)
    assert not rules.should_notice(59, refused=False, noticed=False)
    assert rules.should_notice(60, refused=False, noticed=False)
    assert not rules.should_notice(3600, refused=True, noticed=True)
    assert rules.notice_channel("#billing", "#support", "#esc") == "#esc"
    assert rules.notice_channel("#esc", "#support", "#esc") == "#support"
