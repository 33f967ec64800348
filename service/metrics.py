"""`GET /metrics`: Prometheus text, computed at scrape time from the database and Redis.

Mentions arrive in gunicorn workers, are classified in RQ workers and
delivered to Slack by others, so an in-process counter would only see its own
process's share (and restart from zero with it). The database already holds
every fact -- when a mention was received and classified, when a Slack
message was queued and sent, every SLA alert -- so a custom collector derives
the counters and histograms from it at each scrape; they are cumulative as
long as rows are kept. Queue depth and age come from RQ's Redis keys. No
multiprocess directory to manage, and every process answers the same.
"""

from datetime import UTC

from flask import Blueprint, Response, current_app
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import case, func, select

from core.timeutil import utcnow
from store import reports
from store.db import read_session
from store.schema import Mention, SlaAlert, SlackMessage, Ticket
from triage.sla import CLOCKS
from workers import queues

bp = Blueprint("metrics", __name__)

CLASSIFY_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900)
DELIVERY_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900)
QUEUE_NAMES = (queues.CLASSIFY, *queues.IO_QUEUES, *queues.SLA_QUEUES)


def _seconds_between(start, end, dialect: str):
    if dialect == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return func.extract("epoch", end - start)


def _histogram(session, name: str, doc: str, start, end, bounds, *where) -> HistogramMetricFamily:
    """Cumulative bucket counts of `end - start` in one aggregate query."""
    seconds = _seconds_between(start, end, session.bind.dialect.name)
    row = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(seconds), 0.0),
            *(func.coalesce(func.sum(case((seconds <= bound, 1), else_=0)), 0) for bound in bounds),
        ).where(*where)
    ).one()
    total, total_seconds, *counts = row
    buckets = [(str(float(bound)), int(count)) for bound, count in zip(bounds, counts, strict=True)]
    return HistogramMetricFamily(name, doc, buckets=[*buckets, ("+Inf", int(total))], sum_value=float(total_seconds))


def _mentions(session):
    received = CounterMetricFamily(
        "earshot_mentions_received", "Mentions stored, by platform and direction.", labels=["source", "direction"]
    )
    rows = session.execute(
        select(Mention.source, Mention.direction, func.count()).group_by(Mention.source, Mention.direction)
    )
    for source, direction, count in rows:
        received.add_metric([source, direction], count)
    yield received
    yield _histogram(
        session, "earshot_classification_latency_seconds", "From a mention's receipt to its classification.",
        Mention.received_at, Mention.processed_at, CLASSIFY_BUCKETS, Mention.processed_at.is_not(None),
    )  # fmt: skip


def _tickets(session):
    tickets = GaugeMetricFamily("earshot_tickets", "Tickets by urgency and status.", labels=["urgency", "status"])
    for urgency, status, count in session.execute(
        select(Ticket.urgency, Ticket.status, func.count()).group_by(Ticket.urgency, Ticket.status)
    ):
        tickets.add_metric([urgency, status], count)
    yield tickets
    now = utcnow()
    past = GaugeMetricFamily(
        "earshot_open_tickets_past_deadline", "Open tickets whose SLA clock is past due and not met.", labels=["clock"]
    )
    for clock in CLOCKS:
        due, met = getattr(Ticket, f"{clock}_due_at"), getattr(Ticket, f"{clock}_met_at")
        count = session.scalar(
            select(func.count(Ticket.id)).where(Ticket.status.in_(reports.OPEN_STATUSES), due < now, met.is_(None))
        )
        past.add_metric([clock], count or 0)
    yield past
    oldest = session.scalar(
        select(func.min(reports.WAITING_SINCE)).where(Ticket.status.in_(reports.OPEN_STATUSES), reports.AWAITING_REPLY)
    )
    wait = GaugeMetricFamily("earshot_oldest_unanswered_seconds", "How long the longest-waiting customer has waited.")
    wait.add_metric([], max(0.0, (now - oldest.replace(tzinfo=UTC)).total_seconds()) if oldest else 0.0)
    yield wait


def _sla(session):
    alerts = CounterMetricFamily(
        "earshot_sla_alerts", "SLA warnings, breaches and reminders raised.", labels=["kind", "clock"]
    )
    for kind, clock, count in session.execute(
        select(SlaAlert.kind, SlaAlert.clock, func.count()).group_by(SlaAlert.kind, SlaAlert.clock)
    ):
        alerts.add_metric([kind, clock], count)
    yield alerts


def _slack(session):
    yield _histogram(
        session, "earshot_slack_delivery_latency_seconds", "From queueing a Slack message to Slack accepting it.",
        SlackMessage.created_at, SlackMessage.sent_at, DELIVERY_BUCKETS, SlackMessage.sent_at.is_not(None),
    )  # fmt: skip
    # Failed attempts: every attempt of a row given up on; all but the last of a row sent or still trying
    # (its last attempt may be in flight). Never decreases as rows move on.
    failed_attempts = case(
        (SlackMessage.failed_at.is_not(None), SlackMessage.attempts),
        (SlackMessage.attempts > 0, SlackMessage.attempts - 1),
        else_=0,
    )
    errors = CounterMetricFamily("earshot_slack_delivery_errors", "Slack delivery attempts that did not succeed.")
    errors.add_metric([], session.scalar(select(func.coalesce(func.sum(failed_attempts), 0))) or 0)
    yield errors
    state = case(
        (SlackMessage.sent_at.is_not(None), "sent"), (SlackMessage.failed_at.is_not(None), "failed"), else_="pending"
    )
    messages = GaugeMetricFamily("earshot_slack_messages", "Slack outbox rows by state.", labels=["state"])
    counts = dict.fromkeys(("sent", "pending", "failed"), 0)
    counts.update(dict(session.execute(select(state, func.count()).group_by(state)).all()))
    for name, count in counts.items():
        messages.add_metric([name], count)
    yield messages


def _queues(redis_url: str | None):
    up = GaugeMetricFamily("earshot_redis_up", "1 when Redis answered this scrape.")
    depth = GaugeMetricFamily("earshot_queue_depth", "Jobs waiting in an RQ queue.", labels=["queue"])
    age = GaugeMetricFamily("earshot_queue_oldest_job_age_seconds", "Age of the oldest waiting job.", labels=["queue"])
    failed = GaugeMetricFamily("earshot_queue_failed_jobs", "Jobs in an RQ queue's failed registry.", labels=["queue"])
    try:
        connection = queues.connection(redis_url)
        now = utcnow()
        for name in QUEUE_NAMES:
            queue = queues.queue(name, redis_url)
            depth.add_metric([name], queue.count)
            failed.add_metric([name], queue.failed_job_registry.count)
            oldest = 0.0
            for job_id in queue.get_job_ids(0, 1):
                try:
                    enqueued = Job.fetch(job_id, connection=connection).enqueued_at
                except NoSuchJobError:
                    continue
                if enqueued is not None:
                    oldest = max(0.0, (now - enqueued.replace(tzinfo=UTC)).total_seconds())
            age.add_metric([name], oldest)
    except RedisError:
        up.add_metric([], 0)
        yield up
        return
    up.add_metric([], 1)
    yield from (up, depth, age, failed)


class EarshotCollector:
    def __init__(self, settings):
        self.settings = settings

    def collect(self):
        with read_session(self.settings.database_url) as session:
            for part in (_mentions, _tickets, _sla, _slack):
                yield from part(session)
        yield from _queues(self.settings.redis_url)


@bp.record_once
def _register(state) -> None:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(EarshotCollector(state.app.config["SETTINGS"]))
    state.app.extensions["earshot_metrics"] = registry


@bp.get("/metrics")
def metrics():
    return Response(generate_latest(current_app.extensions["earshot_metrics"]), mimetype=CONTENT_TYPE_LATEST)
