"""What outranks what in a Slack channel, as pure functions: the kinds of outbox rows, their
lanes and priorities, and how SLA reminders coalesce. No database, no clock, no Slack.

The outbox (tickets.outbox) gives every row its lane and priority from here; delivery
(integrations.slack) sends each channel's rows in `order_key` order.
"""

from core.tiers import TIERS

# Kinds of outbox rows.
PARENT, UPDATE, NOTE, ESCALATION = "parent", "update", "note", "escalation"
INCIDENT, INCIDENT_UPDATE = "incident", "incident_update"
CHANNEL = "channel"  # a message tied to no ticket (the managers' digest)
REMINDERS = "reminders"  # one message listing a channel's overdue tickets, instead of a reminder each
NOTICE = "notice"  # Earshot telling people that Slack delivery fails, or works again
NOTE_UPDATE = "note_update"  # a sent message rewritten in place (chat.update): customer text erased from it
REPLY_FAILED = "reply_failed"  # a thread message: the public reply was not posted, with a Retry button

# Lanes: per channel, a lower lane always goes first; within a lane the ticket's tier, then age.
NEW = 0  # what nobody has seen yet: a ticket's parent message, an incident, a delivery notice
CONVERSATION = 1  # what people said (a follow-up, a public reply) and the parent's new state
ALERT = 2  # SLA warnings and breaches, and the breach in the escalation channel
REMINDER = 3  # SLA reminders about tickets people were already told about
BACKGROUND = 4  # the managers' digest
LANE_NAMES = {NEW: "new", CONVERSATION: "conversation", ALERT: "alert", REMINDER: "reminder",
              BACKGROUND: "background"}  # fmt: skip
NOTE_LANES = {"conversation": CONVERSATION, "alert": ALERT, "reminder": REMINDER}

PRIORITY = {tier: rank for rank, tier in enumerate(TIERS)}  # lower is sooner, within a lane


def lane(kind: str, note: str = "conversation") -> int:
    """The lane of a row of `kind`; a thread note says which of its kinds it is."""
    if kind in (PARENT, INCIDENT, NOTICE):
        return NEW
    if kind in (UPDATE, INCIDENT_UPDATE, NOTE_UPDATE, REPLY_FAILED):
        return CONVERSATION
    if kind == NOTE:
        return NOTE_LANES[note]
    if kind == ESCALATION:
        return ALERT
    if kind == REMINDERS:
        return REMINDER
    return BACKGROUND


def priority(urgency: str | None) -> int:
    """A ticket's rank within its lane: its tier (a ticket without one ranks as normal)."""
    return PRIORITY.get(urgency, PRIORITY["normal"])


def order_key(lane_: int, rank: int, row_id: int) -> tuple[int, int, int]:
    """The order rows of one channel are sent in (what the outbox query sorts by): lane, priority, age."""
    return lane_, rank, row_id


# Reminder coalescing, per channel.
REMINDER_SUMMARY_AT = 5  # waiting reminders in a channel before the next ones are summed up in one message
REPLACE, JOIN_SUMMARY, QUEUE_NOTE, START_SUMMARY = "replace", "join_summary", "queue_note", "start_summary"


def reminder_action(ticket_waiting: bool, summary_waiting: bool, notes_waiting: int,
                    threshold: int = REMINDER_SUMMARY_AT) -> str:  # fmt: skip
    """What a due reminder becomes, given what waits unsent in its channel's reminder lane:
    the ticket's own waiting reminder is replaced by it (one outstanding per ticket); else it
    joins the channel's waiting summary; else it is queued in the ticket's thread while few
    wait; else a summary starts, absorbing the waiting reminders. So a channel never holds more
    than `threshold` reminders and one summary, however many tickets breach."""
    if ticket_waiting:
        return REPLACE
    if summary_waiting:
        return JOIN_SUMMARY
    if notes_waiting < threshold:
        return QUEUE_NOTE
    return START_SUMMARY
