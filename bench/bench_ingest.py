"""Ingest: signed generic-webhook requests per second under gunicorn, against a
bare Flask endpoint that only parses JSON, same server settings, same run."""

import json
import tempfile
import time

from redis import Redis

from bench.harness import REDIS_BENCH_URL, gunicorn, load, scratch_database
from core.settings import DEV_WEBHOOK_SECRET
from integrations.platforms.generic import sign

SECONDS = 6


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


def run(seconds: float = SECONDS) -> dict:
    results = {}
    with gunicorn("bench.bare_app:app", {}) as port:
        load(port, "/bare", _plain, 1)  # warm up
        bare = load(port, "/bare", _plain, seconds)
    print(f"ingest  bare Flask JSON endpoint: {bare['per_second']:.0f} req/s (p50 {bare['p50_ms']:.1f} ms)")
    with tempfile.TemporaryDirectory() as tmpdir:
        for kind in ("sqlite", "postgresql"):
            with scratch_database(kind, tmpdir) as url:
                env = {"DATABASE_URL": url, "REDIS_URL": REDIS_BENCH_URL}
                with gunicorn("wsgi:app", env) as port:
                    load(port, "/webhooks/generic", _signed, 1)
                    ours = load(port, "/webhooks/generic", _signed, seconds)
                Redis.from_url(REDIS_BENCH_URL).flushdb()
            ratio = ours["per_second"] / bare["per_second"]
            results[kind] = ratio
            print(
                f"ingest  /webhooks/generic on {kind}: {ours['per_second']:.0f} req/s "
                f"(p50 {ours['p50_ms']:.1f} ms, statuses {ours['statuses']}) "
                f"ratio to bare {ratio:.2f} (target >= 0.5)"
            )
    return results


if __name__ == "__main__":
    run()
