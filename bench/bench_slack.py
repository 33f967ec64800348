"""Slack delivery: latency from a committed ticket to chat.postMessage at the stand-in.

A real IO worker (`python -m workers io`, RQ scheduler included) delivers the
outbox to the stand-in, which allows one message per second per channel as
Slack does (the delivery paces itself). Two loads: steady (below the limit)
and a burst (a backlog per channel). Prints p50/p99; asserts nothing.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlencode
from urllib.request import urlopen

from redis import Redis
from rq import Worker

from bench.harness import REDIS_BENCH_URL, ROOT, environ, scratch_database, stop_processes
from core.config import load_config
from core.timeutil import utcnow
from standins.slack import start_standin_in_thread
from store.db import transaction
from store.schema import Mention
from tickets import lifecycle
from workers import after_commit

SIGNING_SECRET = "bench-slack-signing-secret"


def standin_arrivals(standin_url: str, channel: str) -> dict[int, float]:
    """Ticket id -> the time its parent message reached the stand-in (time.time() clock)."""
    with urlopen(f"{standin_url}/_standin/messages?{urlencode({'channel': channel})}", timeout=10) as answer:
        messages = json.loads(answer.read())["messages"]
    arrivals = {}
    for message in messages:
        metadata = message.get("metadata") or {}
        if metadata.get("event_type") == "earshot_ticket":
            arrivals[int(metadata["event_payload"]["ticket_id"])] = message["received_at"]
    return arrivals


def _open_ticket(database_url: str, config, channel: str, n: int) -> int:
    now = utcnow()
    with transaction(database_url) as session:
        mention = Mention(source="x", external_id=f"bench-{channel}-{n}-{time.time_ns()}", author_id=f"u{n}",
                          author_handle=f"@user{n}", author_followers=100, text="my order never arrived & no reply",
                          created_at=now, processed_at=now, needs_reply=True, urgency="normal",
                          signals=["no reply"])  # fmt: skip
        session.add(mention)
        session.flush()
        return lifecycle.open_ticket(session, mention, channel, config, now).id


def _percentiles(values: list[float]) -> dict:
    ordered = sorted(values)
    if not ordered:
        return {"count": 0}
    return {
        "count": len(ordered),
        "p50_s": round(statistics.median(ordered), 3),
        "p99_s": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 3),
        "max_s": round(ordered[-1], 3),
    }


def measure_delivery(
    database_url: str,
    standin_url: str,
    *,
    channels: int = 4,
    interval_s: float = 1.5,
    messages_per_channel: int = 10,
    timeout_s: float = 120,
) -> dict:
    """Open `messages_per_channel` tickets in each of `channels` channels, one per channel every
    `interval_s` (0 = all at once), and time each from commit to its arrival at the stand-in.
    Needs an IO worker running against the same database, Redis ($REDIS_URL) and stand-in."""
    config = load_config(None)
    names = [f"#bench-{index}" for index in range(channels)]
    committed: dict[int, float] = {}
    for n in range(messages_per_channel):
        started = time.time()
        for name in names:
            committed[_open_ticket(database_url, config, name, n)] = time.time()
        if interval_s:
            time.sleep(max(0.0, interval_s - (time.time() - started)))
    deadline = time.time() + timeout_s
    arrived: dict[int, float] = {}
    while time.time() < deadline and len(arrived) < len(committed):
        time.sleep(0.5)
        arrived = {ticket: at for name in names for ticket, at in standin_arrivals(standin_url, name).items()
                   if ticket in committed}  # fmt: skip
    latencies = [arrived[ticket] - at for ticket, at in committed.items() if ticket in arrived]
    result = _percentiles(latencies)
    result.update(channels=channels, sent=len(committed), missing=len(committed) - len(arrived))
    return result


def _worker(env: dict) -> subprocess.Popen:
    """An IO worker, started and listening (its start-up is not delivery latency)."""
    process = subprocess.Popen([sys.executable, "-m", "workers", "io"], cwd=ROOT, env={**os.environ, **env},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    connection = Redis.from_url(env["REDIS_URL"])
    deadline = time.time() + 60
    while not Worker.count(connection=connection) and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1)  # its scheduler starts just after it registers
    return process


def _private_redis_url() -> tuple[str, callable]:
    """A Redis database of our own (the tests' lock scheme), so no other worker takes our jobs."""
    host = REDIS_BENCH_URL.rsplit("/", 1)[0]
    locks = Redis.from_url(host + "/0")
    for number in range(14, 0, -1):  # 15 is the shared bench database (REDIS_BENCH_URL)
        if locks.set(f"earshot:test-lock:{number}", f"bench-{os.getpid()}", nx=True, ex=3600):
            url = f"{host}/{number}"
            Redis.from_url(url).flushdb()

            def release():
                Redis.from_url(url).flushdb()
                locks.delete(f"earshot:test-lock:{number}")

            return url, release
    raise RuntimeError("no free Redis database for the Slack benchmark")


def run() -> dict:
    results = {}
    redis_url, release_redis = _private_redis_url()
    standin_url, server = start_standin_in_thread("http://127.0.0.1:9", SIGNING_SECRET)
    env = {"REDIS_URL": redis_url, "SLACK_STANDIN_PORT": standin_url.rsplit(":", 1)[1],
           "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_BOT_TOKEN": "", "EARSHOT_CONFIG": ""}  # fmt: skip
    try:
        with environ((*env, "DATABASE_URL")), tempfile.TemporaryDirectory() as tmpdir, \
                scratch_database("sqlite", tmpdir) as url:
            os.environ.update(env, DATABASE_URL=url)
            after_commit.install(after_commit.AfterCommit(redis_url))  # a committed ticket asks for delivery
            worker = _worker({**env, "DATABASE_URL": url})
            try:
                for label, interval, count in (("steady, 1 msg per 1.5 s per channel", 1.5, 12),
                                               ("burst, 10 at once per channel", 0.0, 10)):  # fmt: skip
                    result = measure_delivery(url, standin_url, interval_s=interval,
                                              messages_per_channel=count)  # fmt: skip
                    print(f"slack delivery, {label}: {result}", flush=True)
                    results[label] = result
            finally:
                stop_processes([worker])
    finally:
        server.shutdown()
        release_redis()
    return results


if __name__ == "__main__":
    run()
