"""SLA: the sweep's cost with 100,000 open tickets on PostgreSQL, and how late breaches are
recorded by the real io worker (RQ scheduler) and periodic sweep."""

import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta

import yaml
from redis import Redis
from sqlalchemy import delete, insert, select, update

from bench.harness import REDIS_BENCH_URL, ROOT, percentile, scratch_database, stop_processes
from core.config import parse_config
from core.settings import DEV_SLACK_SIGNING_SECRET
from core.timeutil import utcnow
from standins.slack import start_standin_in_thread
from store.db import get_engine, transaction
from store.schema import SlaAlert, SlackMessage, Ticket, TicketEvent
from tickets import sla_checks
from triage import sla as rules
from workers import after_commit
from workers import sla as jobs

OPEN_TICKETS = 100_000
DUE = 50
RUNS = 15
LATE_TICKETS = 30  # one breach a second: Slack allows about one message a second per channel
LATE_SPREAD_S = 30
CONFIG = {"sla": {"policies": {"critical": {"first_response": "20s", "next_response": "1m", "resolution": "1h"}}}}


def _fill(url: str, count: int) -> None:
    """Open tickets whose next alerts lie ahead (minutes to a week), bulk-inserted with Core."""
    now = utcnow()
    rows = [
        {
            "status": "open", "urgency": random.choice(("high", "normal", "low")), "source": "x",
            "author_id": f"u{n}", "channel": "#support", "created_at": now, "updated_at": now,
            "first_response_due_at": now + timedelta(hours=4), "resolution_due_at": now + timedelta(days=3),
            "next_deadline_at": now + timedelta(seconds=random.randint(60, 7 * 86400)),
        }  # fmt: skip
        for n in range(count)
    ]
    with get_engine(url).begin() as connection:
        for start in range(0, count, 10_000):
            connection.execute(insert(Ticket), rows[start : start + 10_000])
        connection.exec_driver_sql("ANALYZE tickets")


def _breached_tickets(url: str, sla, count: int) -> list[int]:
    """Critical tickets 25 s past their 20 s first-response deadline: each check records and escalates a breach."""
    created = utcnow() - timedelta(seconds=45)
    with transaction(url) as session:
        tickets = [
            Ticket(status="open", urgency="critical", source="x", author_id=f"due{n}", channel="#support",
                   created_at=created, updated_at=created)
            for n in range(count)
        ]  # fmt: skip
        session.add_all(tickets)
        for ticket in tickets:
            rules.start(ticket, sla)
        session.flush()
        return [ticket.id for ticket in tickets]


def _make_due_again(url: str, ids: list[int]) -> None:
    with transaction(url) as session:
        for model in (SlaAlert, SlackMessage, TicketEvent):
            session.execute(delete(model).where(model.ticket_id.in_(ids)))
        overdue = utcnow() - timedelta(seconds=30)
        session.execute(update(Ticket).where(Ticket.id.in_(ids)).values(next_deadline_at=overdue))


def _time_sweeps(url: str, sla, runs: int, before_each=None) -> tuple[float, int]:
    timings, announced = [], 0
    for _ in range(runs):
        if before_each:
            before_each()
        started = time.perf_counter()
        announced = jobs.sweep_due(url, sla, utcnow())
        timings.append(1000 * (time.perf_counter() - started))
    return statistics.median(timings), announced


def _lateness(url: str, sla, config_path: str) -> tuple[list[float], list[float]]:
    """Breaches due one a second over the next 30 s, checked by `python -m workers io` (scheduled jobs, the 5 s sweep)
    and posted to the Slack stand-in: seconds from deadline to record, and to the escalation's delivery."""
    _, standin = start_standin_in_thread("http://127.0.0.1:9", DEV_SLACK_SIGNING_SECRET)
    env = {key: value for key, value in os.environ.items() if key != "SLACK_BOT_TOKEN"}
    env.update(DATABASE_URL=url, REDIS_URL=REDIS_BENCH_URL, EARSHOT_CONFIG=config_path,
               SLACK_STANDIN_PORT=str(standin.server_port))  # fmt: skip
    workers = [
        subprocess.Popen([sys.executable, "-m", "workers", role], cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
        for role in ("io", "sla", "scheduler")
    ]
    try:
        time.sleep(3)  # let both start
        now = utcnow()
        with transaction(url) as session:
            for n in range(LATE_TICKETS):
                # first-response deadline (created + 20 s) from 5 s ahead, one a second
                created = now - timedelta(seconds=15) + timedelta(seconds=LATE_SPREAD_S * n / LATE_TICKETS)
                ticket = Ticket(status="open", urgency="critical", source="x", author_id=f"late{n}",
                                channel="#support", created_at=created, updated_at=created)  # fmt: skip
                session.add(ticket)
                rules.start(ticket, sla)
                sla_checks.schedule_checks(session, ticket)
        time.sleep(LATE_SPREAD_S + 15)
        with transaction(url) as session:
            late = (
                select(SlaAlert.at, SlaAlert.deadline_at, SlackMessage.sent_at)
                .join(Ticket, Ticket.id == SlaAlert.ticket_id)
                .outerjoin(SlackMessage, (SlackMessage.ticket_id == Ticket.id) & (SlackMessage.kind == "escalation"))
                .where(SlaAlert.kind == "breach", Ticket.author_id.like("late%"))
            )
            rows = session.execute(late).all()
        recorded = [(at - deadline).total_seconds() for at, deadline, _ in rows]
        posted = [(sent - deadline).total_seconds() for _, deadline, sent in rows if sent is not None]
        return recorded, posted
    finally:
        stop_processes(workers)
        standin.shutdown()
        Redis.from_url(REDIS_BENCH_URL).flushdb()


def run() -> dict:
    os.environ["REDIS_URL"] = REDIS_BENCH_URL  # for the workers' jobs
    after_commit.install(after_commit.AfterCommit(REDIS_BENCH_URL))  # the Slack outbox and the checks enqueue jobs
    with tempfile.TemporaryDirectory() as tmpdir:
        config_path = os.path.join(tmpdir, "earshot.yml")
        with open(config_path, "w", encoding="utf-8") as handle:
            yaml.safe_dump(CONFIG, handle)
        os.environ["EARSHOT_CONFIG"] = config_path
        sla = parse_config(CONFIG).sla
        with scratch_database("postgresql", tmpdir) as url:
            _fill(url, OPEN_TICKETS)
            idle_ms, _ = _time_sweeps(url, sla, RUNS)
            due_ids = _breached_tickets(url, sla, DUE)
            busy_ms, announced = _time_sweeps(url, sla, RUNS, lambda: _make_due_again(url, due_ids))
            print(f"sla     sweep over {OPEN_TICKETS:,} open tickets on PostgreSQL: {idle_ms:.1f} ms with none due, "
                  f"{busy_ms:.1f} ms with {DUE} due ({announced} alerts; median of {RUNS}; target < 50 ms)")
            with transaction(url) as session:  # the sweeps' own Slack rows would queue ahead of the ones timed
                session.execute(delete(SlackMessage))
            recorded, posted = _lateness(url, sla, config_path)
        Redis.from_url(REDIS_BENCH_URL).flushdb()
    for what, late in (("recorded", recorded), ("posted to Slack (escalation)", posted)):
        if late:
            print(f"sla     breach {what} after its deadline: p50 {statistics.median(late):.2f} s, "
                  f"p99 {percentile(late, 0.99):.2f} s, max {max(late):.2f} s "
                  f"({len(late)}/{LATE_TICKETS} breaches; target p99 < 5 s)")
        else:
            print(f"sla     no breach {what} for {LATE_TICKETS} tickets: did the workers start?")
    return {"sweep_idle_ms": idle_ms, "sweep_due_ms": busy_ms,
            "posted_p99_s": percentile(posted, 0.99) if posted else None}  # fmt: skip


if __name__ == "__main__":
    run()
