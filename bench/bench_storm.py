"""A breach storm: N tickets breached in one channel, reminders every few seconds, and new
complaints arriving meanwhile. How long does a new ticket's parent message take to reach Slack,
and how big does the channel's outbox backlog get?

The storm's N tickets (`high`) are opened ten minutes late and their parent messages posted
(quickly, in this process) before the workers start; then real io and SLA worker processes
(RQ scheduler included) announce the breaches and a reminder per ticket every 5 s to the Slack
stand-in (one message a second per channel, as Slack), while new `normal` tickets arrive in
the same channel. SQLite by default (BENCH_STORM_DB=postgresql for PostgreSQL). Prints
figures; asserts nothing.

  python -m bench storm                          N = 60 and 240
  BENCH_STORM_N=60 BENCH_STORM_PROBES=6 python -m bench storm
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta

import yaml
from redis import Redis
from rq import Worker
from sqlalchemy import func, select

from bench.bench_slack import _private_redis_url, standin_arrivals
from bench.harness import ROOT, environ, scratch_database, stop_processes
from core.config import parse_config
from core.timeutil import utcnow
from standins.slack import start_standin_in_thread
from store.db import session_for, transaction
from store.schema import Mention, SlackMessage
from tickets import lifecycle
from workers import after_commit

SIGNING_SECRET = "bench-storm-signing-secret"
CHANNEL = "#storm"
REMIND_EVERY = "5s"
POLICY = {"first_response": "30s", "next_response": "30s", "resolution": "2h", "business_hours": False}
CONFIG = {
    "slack": {"default_channel": "#support", "escalation_channel": "#support-escalations"},
    "sla": {"warn_at": 0.5, "remind_every": REMIND_EVERY,
            "policies": {tier: POLICY for tier in ("critical", "high", "normal", "low")}},
}  # fmt: skip


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _open(database_url: str, config, n: int, *, urgency: str, age: timedelta, tag: str) -> list[int]:
    now = utcnow()
    ids = []
    with transaction(database_url) as session:
        for k in range(n):
            mention = Mention(source="x", external_id=f"{tag}-{k}-{time.time_ns()}", author_id=f"{tag}{k}",
                              author_handle=f"@{tag}{k}", author_followers=100,
                              text="charged twice and nobody answers", created_at=now - age, processed_at=now,
                              needs_reply=True, urgency=urgency, signals=["money taken"])  # fmt: skip
            session.add(mention)
            session.flush()
            ids.append(lifecycle.open_ticket(session, mention, CHANNEL, config, now).id)
    return ids


def _backlog(database_url: str) -> tuple[int, int | None]:
    """The channel's undelivered rows, and those in its reminder lane (None before lanes existed)."""
    pending = (
        select(func.count())
        .select_from(SlackMessage)
        .where(SlackMessage.channel == CHANNEL, SlackMessage.sent_at.is_(None), SlackMessage.failed_at.is_(None))
    )
    with session_for(database_url) as session:
        total = session.scalar(pending)
        lane = getattr(SlackMessage, "lane", None)
        return total, (session.scalar(pending.where(lane == 3)) if lane is not None else None)


def _workers(env: dict, log) -> list[subprocess.Popen]:
    processes = [subprocess.Popen([sys.executable, "-m", "workers", role], cwd=ROOT, env={**os.environ, **env},
                                  stdout=log, stderr=log) for role in ("io", "sla")]  # fmt: skip
    connection = Redis.from_url(env["REDIS_URL"])
    deadline = time.time() + 60
    while Worker.count(connection=connection) < len(processes) and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1.5)  # their schedulers start just after they register
    return processes


def post_storm(database_url: str, config, tickets: int) -> None:
    """Open `tickets` breached tickets and post their parents at once (they are old news in Slack)."""
    from workers import deliver

    _open(database_url, config, tickets, urgency="high", age=timedelta(minutes=10), tag="storm")
    interval, deliver.SEND_INTERVAL_SECONDS = deliver.SEND_INTERVAL_SECONDS, 0.0
    try:
        deliver.drain([CHANNEL], timeout=300)
    finally:
        deliver.SEND_INTERVAL_SECONDS = interval


def storm(database_url: str, standin_url: str, *, warmup_s: float, probes: int, probe_every_s: float,
          wait_s: float, config) -> dict:  # fmt: skip
    """With the workers running on a posted storm: wait `warmup_s`, then a new ticket every `probe_every_s`."""
    started = time.time()
    backlog: list[tuple[float, int]] = []
    committed: dict[int, float] = {}
    next_probe = started + warmup_s
    last_sample = 0.0
    while len(committed) < probes:
        now = time.time()
        if now - last_sample >= 2:
            backlog.append((round(now - started), *_backlog(database_url)))
            last_sample = now
        if now >= next_probe:
            [ticket] = _open(database_url, config, 1, urgency="normal", age=timedelta(0), tag="new")
            committed[ticket] = time.time()
            next_probe += probe_every_s
        time.sleep(0.1)
    deadline = time.time() + wait_s
    arrived: dict[int, float] = {}
    while time.time() < deadline:
        arrived = {t: at for t, at in standin_arrivals(standin_url, CHANNEL).items() if t in committed}
        if len(arrived) == len(committed):
            break
        if time.time() - last_sample >= 2:
            backlog.append((round(time.time() - started), *_backlog(database_url)))
            last_sample = time.time()
        time.sleep(0.5)
    backlog.append((round(time.time() - started), *_backlog(database_url)))
    latencies = sorted(arrived[t] - at for t, at in committed.items() if t in arrived)
    missing = len(committed) - len(arrived)
    return {
        "new_tickets": len(committed),
        "arrived": len(arrived),
        "new_ticket_latency_s": {
            "median": round(statistics.median(latencies), 2) if latencies and not missing else None,
            "max": round(latencies[-1], 2) if latencies and not missing else None,
            "all": [round(x, 2) for x in latencies],
            "not_arrived_after_s": round(wait_s) if missing else None,
        },
        "backlog_over_time (s, undelivered, of which reminders)": backlog,
        "backlog_max": max(count for _, count, _ in backlog),
        "reminders_max": max((r for _, _, r in backlog if r is not None), default=None),
    }


def run() -> dict:
    kind = os.environ.get("BENCH_STORM_DB", "sqlite")
    sizes = [int(n) for n in (os.environ.get("BENCH_STORM_N") or "60,240").split(",")]
    probes, every = _env_int("BENCH_STORM_PROBES", 8), float(os.environ.get("BENCH_STORM_PROBE_EVERY") or 5)
    warmup, wait = _env_int("BENCH_STORM_WARMUP", 20), _env_int("BENCH_STORM_WAIT", 60)
    results = {}
    standin_url, server = start_standin_in_thread("http://127.0.0.1:9", SIGNING_SECRET)
    try:
        for size in sizes:
            redis_url, release_redis = _private_redis_url()
            env = {"REDIS_URL": redis_url, "SLACK_STANDIN_PORT": standin_url.rsplit(":", 1)[1],
                   "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_BOT_TOKEN": ""}  # fmt: skip
            try:
                with environ((*env, "DATABASE_URL", "EARSHOT_CONFIG")), tempfile.TemporaryDirectory() as tmpdir, \
                        scratch_database(kind, tmpdir) as url:
                    config_path = os.path.join(tmpdir, "earshot.yaml")
                    with open(config_path, "w") as file:
                        yaml.safe_dump(CONFIG, file)
                    env.update(DATABASE_URL=url, EARSHOT_CONFIG=config_path)
                    os.environ.update(env)
                    after_commit.install(after_commit.AfterCommit(redis_url))  # commits enqueue their jobs
                    from urllib.request import Request, urlopen

                    urlopen(Request(f"{standin_url}/_standin/reset", data=b"{}", method="POST",
                                    headers={"Content-Type": "application/json"}), timeout=5).close()  # fmt: skip
                    from workers import context

                    context.reset()
                    config = parse_config(CONFIG, "<bench>")
                    post_storm(url, config, size)
                    with open(os.environ.get("BENCH_STORM_LOG") or os.path.join(tmpdir, "workers.log"), "w") as log:
                        processes = _workers(env, log)
                        try:
                            result = storm(url, standin_url, config=config, warmup_s=warmup, probes=probes,
                                           probe_every_s=every, wait_s=wait)  # fmt: skip
                            result = {"breached_tickets": size, **result}
                        finally:
                            stop_processes(processes)
            finally:
                release_redis()
            label = f"storm of {size} breached tickets ({kind}, reminders every {REMIND_EVERY})"
            print(f"{label}: {result}", flush=True)
            results[label] = result
    finally:
        server.shutdown()
    return results


if __name__ == "__main__":
    run()
