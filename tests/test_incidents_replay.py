"""A replay of real support traffic (../shared/data/twcs_5000.csv: customers' tweets with their
real timestamps, sped up) through the real model and the real worker, with an injected burst of
paraphrased complaints about one outage: one incident, kept updated; unrelated complaints stay out;
the one customer who writes again is escalated and announced once."""

import csv
import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from core.timeutil import utcnow
from ingest.rows import save_mentions
from integrations.platforms.mention import IncomingMention
from store.db import transaction
from store.schema import Incident, IncidentMember, Mention, SlackMessage, Ticket, TicketEvent
from tests.slack_support import jobs, standin, standin_messages  # noqa: F401  (fixtures)
from workers import deliver
from workers.classify import classify_batch

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "twcs_5000.csv"
REPLAYED = 600
SPAN = timedelta(minutes=20)  # the replayed tweets' real time span, squeezed into this
BRAND = "amazonhelp"
BURST = [
    "@AmazonHelp your app won't let me log in, it just says error 503 every time",
    "@AmazonHelp is the amazon app down? can't sign in at all, keeps showing a 503 error",
    "@AmazonHelp login broken?? getting error 503 on the app since this morning",
    "@AmazonHelp cannot access my account, the app throws 'error 503' when I try to log in",
    "@AmazonHelp app login not working, service unavailable 503. Is there an outage?",
    "@AmazonHelp anyone else unable to log into the amazon app? error 503 over and over",
    "@AmazonHelp your login page is down, error 503, I need to get into my account now",
    "@AmazonHelp the app keeps failing at sign in with a 503 error, please fix this",
    "@AmazonHelp been trying to log in for an hour, the app just says 503 service unavailable",
]
AGAIN = "@AmazonHelp hello?? still can't log in, error 503 again and nobody has answered me"
ESCALATIONS = "#support-escalations"


@pytest.fixture
def config_data():
    return {
        "slack": {"default_channel": "#support", "escalation_channel": ESCALATIONS},
        "incidents": {"window": "30m", "min_authors": 5},
    }


def _brand(text: str) -> str | None:
    handle = re.search(r"@([A-Za-z]\w+)", text)
    return handle.group(1).lower() if handle else None


def _traffic(start: datetime) -> tuple[list[IncomingMention], list[IncomingMention]]:
    """(the replayed tweets in posting order, the burst and the repeat contact), on one timeline."""
    with DATA.open(encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["inbound"] == "True"][:REPLAYED]
    posted = [datetime.strptime(row["created_at"], "%a %b %d %H:%M:%S %z %Y") for row in rows]
    # A few of them are years older than the rest (one from 2011): the central 98% sets the pace,
    # the stragglers are left out.
    ordered = sorted(posted)
    first, last = ordered[len(ordered) // 100], ordered[-1 - len(ordered) // 100]
    rows, posted = zip(*[(row, at) for row, at in zip(rows, posted, strict=True) if first <= at <= last], strict=True)
    speed = (last - first) / SPAN
    replay = sorted(
        (IncomingMention(source="x", external_id=row["tweet_id"], author_id=row["author_id"], text=row["text"],
                         created_at=start + (at - first) / speed, brand=_brand(row["text"]))  # fmt: skip
        for row, at in zip(rows, posted, strict=True)
    ), key=lambda m: m.created_at)  # fmt: skip
    middle = start + SPAN / 2
    burst = [IncomingMention(source="x", external_id=f"burst-{n}", author_id=f"burst-author-{n}", text=text,
                             created_at=middle + timedelta(seconds=25 * n), brand=BRAND)
             for n, text in enumerate(BURST)]  # fmt: skip
    burst.append(IncomingMention(source="x", external_id="burst-again", author_id="burst-author-0", text=AGAIN,
                                 created_at=middle + timedelta(minutes=6), brand=BRAND))  # fmt: skip
    return replay, burst


def _store_and_classify(database_url: str, mentions: list[IncomingMention]) -> None:
    with transaction(database_url) as session:
        save_mentions(session.connection(), mentions, utcnow())
    classify_batch()


def _rows(database_url: str, model, *where):
    with transaction(database_url) as session:
        return list(session.scalars(select(model).where(*where)))


def _burst_incidents(database_url: str) -> tuple[dict[int, str], list[Incident]]:
    """(the burst's mention ids -> external ids, the incidents holding any of them)."""
    burst_ids = {m.id: m.external_id for m in _rows(database_url, Mention, Mention.external_id.like("burst-%"))}
    held = {m.incident_id for m in _rows(database_url, IncidentMember, IncidentMember.mention_id.in_(burst_ids))}
    return burst_ids, _rows(database_url, Incident, Incident.id.in_(held))


def test_a_burst_in_real_traffic_is_one_updated_incident(settings, worker_env, jobs, standin):
    """The replayed traffic forms incidents of its own too (Chipotle's Halloween offer, a few late
    Amazon parcels: real tweets about one thing in the same minutes, squeezed as they are here);
    the burst is one incident of its own, and none of them takes in the other's complaints."""
    url = settings.database_url
    replay, burst = _traffic(utcnow() - SPAN - timedelta(minutes=5))
    cut = burst[5].created_at  # the incident forms by the fifth customer; deliver it, then go on
    early = [m for m in replay + burst if m.created_at < cut]
    _store_and_classify(url, sorted(early, key=lambda m: m.created_at))
    deliver.drain([ESCALATIONS])
    _, [formed] = _burst_incidents(url)
    [first_post] = _rows(url, SlackMessage, SlackMessage.incident_id == formed.id, SlackMessage.kind == "incident")
    [posted] = [m for m in standin_messages(standin, ESCALATIONS) if m["ts"] == first_post.slack_ts]
    _store_and_classify(url, sorted((m for m in replay + burst if m.created_at >= cut), key=lambda m: m.created_at))
    deliver.drain([ESCALATIONS])

    burst_ids, ours = _burst_incidents(url)
    assert len(burst_ids) == len(BURST) + 1
    assert len(ours) == 1, "one incident for the burst, not one per mention"
    incident = ours[0]
    assert incident.id == formed.id and incident.brand == BRAND
    members = {m.mention_id for m in _rows(url, IncidentMember, IncidentMember.incident_id == incident.id)}
    assert members <= set(burst_ids), "unrelated complaints in the same window stay out"
    assert len(members) >= len(BURST) - 1 and incident.author_count >= len(BURST) - 1

    [updated] = [m for m in standin_messages(standin, ESCALATIONS) if m["ts"] == posted["ts"]]
    assert "edited" in updated
    assert f"*{incident.mention_count}* complaints from *{incident.author_count}* customers" in json.dumps(
        updated["blocks"]
    )
    kinds = [row.kind for row in _rows(url, SlackMessage, SlackMessage.incident_id == incident.id)]
    assert kinds.count("incident") == 1 and 1 <= kinds.count("incident_update") < len(members)

    # The customer who wrote again while waiting: one ticket, escalated once, announced once.
    [ticket] = _rows(url, Ticket, Ticket.author_id == "burst-author-0")
    assert ticket.repeat_contacts == 1 and ticket.incident_id == incident.id
    raised = _rows(url, TicketEvent, TicketEvent.ticket_id == ticket.id, TicketEvent.type == "urgency_changed")
    assert len([e for e in raised if e.data.get("reason") == "repeat contact while waiting"]) <= 1
    again_id = next(i for i, external in burst_ids.items() if external == "burst-again")
    notes = _rows(url, SlackMessage, SlackMessage.dedupe_key == f"note:follow-up:{again_id}")
    assert len(notes) == 1 and "Repeat contact #1" in notes[0].payload["text"]
