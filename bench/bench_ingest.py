"""Ingest: signed generic-webhook requests per second under gunicorn, against a
bare Flask endpoint that only parses JSON, same server settings, same run.

The load comes from 32 keep-alive Python client threads in this process, on the
same 2 cores as the servers: the figures are relative, not a server's ceiling."""

import json
import statistics
import tempfile
import time
from contextlib import ExitStack

from redis import Redis

from bench.harness import REDIS_BENCH_URL, gunicorn, load, scratch_database
from core.settings import DEV_WEBHOOK_SECRET
from integrations.platforms.generic import sign

SECONDS = 4
ROUNDS = 5


def _mention(n: int) -> bytes:
    return json.dumps(
        {
            "id": f"bench-{n}-{time.time_ns()}",
            "source": "x",
            "author": {"id": f"u{n % 500}", "handle": f"@user{n % 500}", "followers": 120},
            "text": f"@acme my booking {n} vanished and your phone line is down",
            "created_at": "2026-11-21T14:03:00Z",
            "brand": "acme",
        }
    ).encode()


def _signed(n: int):
    body = _mention(n)
    timestamp = int(time.time())
    return body, {
        "Content-Type": "application/json",
        "X-Earshot-Timestamp": str(timestamp),
        "X-Earshot-Signature": sign(DEV_WEBHOOK_SECRET, timestamp, body),
    }


def _plain(n: int):
    return _mention(n), {"Content-Type": "application/json"}


BARE = ("/bare", _plain)
OURS = ("/webhooks/generic", _signed)


def run(seconds: float = SECONDS, rounds: int = ROUNDS) -> dict:
    """All three servers stay up; each round loads bare, SQLite and PostgreSQL in
    turn, so a slow spell of the machine hits one round, not one contender.
    The ratio reported is the median of the per-round ratios."""
    per_round: dict[str, list[float]] = {"sqlite": [], "postgresql": []}
    with tempfile.TemporaryDirectory() as tmpdir, ExitStack() as stack:
        ports = {"bare": stack.enter_context(gunicorn("bench.bare_app:app", {}))}
        for kind in per_round:
            url = stack.enter_context(scratch_database(kind, tmpdir))
            ports[kind] = stack.enter_context(gunicorn("wsgi:app", {"DATABASE_URL": url, "REDIS_URL": REDIS_BENCH_URL}))
        stack.callback(lambda: Redis.from_url(REDIS_BENCH_URL).flushdb())
        for kind, port in ports.items():  # warm up: imports, connections, caches
            load(port, *(BARE if kind == "bare" else OURS), 1)
        for number in range(1, rounds + 1):
            bare = load(ports["bare"], *BARE, seconds)
            line = f"ingest  round {number}: bare {bare['per_second']:.0f} req/s (p50 {bare['p50_ms']:.1f} ms)"
            for kind, ratios in per_round.items():
                ours = load(ports[kind], *OURS, seconds)
                if set(ours["statuses"]) != {202}:
                    line += f"; {kind} statuses {ours['statuses']}"
                ratios.append(ours["per_second"] / bare["per_second"])
                line += f"; {kind} {ours['per_second']:.0f} req/s (p50 {ours['p50_ms']:.1f} ms) ratio {ratios[-1]:.2f}"
            print(line, flush=True)
    results = {kind: statistics.median(ratios) for kind, ratios in per_round.items()}
    for kind, ratio in results.items():
        spread = ", ".join(f"{r:.2f}" for r in per_round[kind])
        print(f"ingest  /webhooks/generic on {kind}: median ratio to bare {ratio:.2f} over {rounds} rounds ({spread}) (target >= 0.5)")
    return results


if __name__ == "__main__":
    run()
