"""The whole pipeline under gunicorn, real workers, Redis and the Slack stand-in.

1. Classification throughput: mentions per second from webhook to classified
   ticket, against the raw model (same texts, batch size and threads),
   printed as a ratio (target >= 0.7). The machine's speed drifts by a fifth
   from one minute to the next, so each of ROUNDS bursts is set against the
   raw model measured just before and just after it, and the median of those
   ratios is reported.
2. Latency from webhook to chat.postMessage at a steady load the model and
   Slack's one-message-per-second-per-channel can carry (target p99 < 2 s).
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml
from redis import Redis
from sqlalchemy import func, select

from bench.bench_model import DEFAULT_DATA, customer_texts, raw_throughput
from bench.harness import REDIS_BENCH_URL, ROOT, free_port, percentile, scratch_database, stop_processes, wait_for_http
from core.config_sections import ModelConfig
from core.settings import DEV_SLACK_SIGNING_SECRET, DEV_WEBHOOK_SECRET
from store.db import session_for
from store.schema import Mention, Ticket
from tools.post_mention import post

THREADS = 2
# What runs the model, in the workers and the raw-model rounds (the YAML model.runtime): to compare
# ONNX Runtime with torch on one machine, run once with BENCH_MODEL_RUNTIME=torch. With "auto" on a
# CPU with native bfloat16 each process times both ways itself, and near the margin the workers and
# the raw rounds may choose differently; BENCH_MODEL_RUNTIME=onnx or torch pins both.
RUNTIME = os.environ.get("BENCH_MODEL_RUNTIME", "auto")
BURST = 320
ROUNDS = 3
CHANNELS = 4
STEADY_RATE = 2.0  # mentions per second, spread over CHANNELS channels: 0.5 a second each
STEADY_SECONDS = 40


def _config(path: str) -> None:
    # Bursts go to channels of their own: their Slack backlog (one message a second per
    # channel) drains while the steady load is measured, and does not stand in its way.
    routes = [{"match": {"brand": [f"brand{n}"]}, "channel": f"#bench-{n}"} for n in range(CHANNELS)]
    routes += [{"match": {"brand": [f"burst{n}"]}, "channel": f"#burst-{n}"} for n in range(CHANNELS)]
    with open(path, "w") as handle:
        yaml.safe_dump({"routes": routes, "model": {"threads": THREADS, "runtime": RUNTIME}}, handle)


def _start(env: dict, web_port: int, standin_port: int) -> list[subprocess.Popen]:
    python = sys.executable
    commands = [
        [os.path.join(os.path.dirname(python), "gunicorn"), "wsgi:app", "-b", f"127.0.0.1:{web_port}"],
        [python, "-m", "workers", "model"],
        [python, "-m", "workers", "io"],
        [python, "-m", "standins.slack", "--port", str(standin_port),
         "--app-url", f"http://127.0.0.1:{web_port}"],
    ]  # fmt: skip
    return [subprocess.Popen(c, cwd=ROOT, env=env, stderr=subprocess.DEVNULL) for c in commands]


def _mention(n: int, text: str, tag: str, brand: str = "brand") -> dict:
    return {
        "id": f"{tag}-{n}-{time.time_ns()}",
        "source": "x",
        "author": {"id": f"{tag}-author-{n}", "handle": f"@customer{n}", "followers": 50},
        "text": text,
        "brand": f"{brand}{n % CHANNELS}",
    }


def _processed(url: str) -> int:
    with session_for(url) as session:
        return session.scalar(select(func.count()).select_from(Mention).where(Mention.processed_at.is_not(None)))


def _wait_processed(url: str, count: int, timeout: float) -> float:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if _processed(url) >= count:
            return time.time()
        time.sleep(0.05)
    raise RuntimeError(f"only {_processed(url)} of {count} mentions processed in {timeout:.0f} s")


def _posted_at(standin: str) -> dict[str, float]:
    """ticket id -> when the stand-in received its parent message."""
    posted = {}
    for n in range(CHANNELS):
        with urllib.request.urlopen(f"{standin}/_standin/messages?channel=%23bench-{n}", timeout=10) as response:
            for message in json.loads(response.read())["messages"]:
                metadata = message.get("metadata") or {}
                ticket_id = (metadata.get("event_payload") or {}).get("ticket_id")
                if ticket_id and "thread_ts" not in message:
                    posted[str(ticket_id)] = message["received_at"]
    return posted


def _latencies(url: str, standin: str, sent: dict[str, float]) -> list[float]:
    posted = _posted_at(standin)
    with session_for(url) as session:
        rows = session.execute(select(Mention.external_id, Ticket.id).join(Ticket, Mention.ticket_id == Ticket.id))
        return [posted[str(ticket_id)] - sent[external] for external, ticket_id in rows
                if external in sent and str(ticket_id) in posted]  # fmt: skip


def _burst(url: str, web: str, texts: list[str], tag: str, processed_after: int) -> float:
    """BURST mentions posted 40 to a request; mentions per second until all are classified."""
    started = time.time()
    for first in range(0, BURST, 40):
        batch = [_mention(first + i, texts[first + i], tag, brand="burst") for i in range(40)]
        post(web, DEV_WEBHOOK_SECRET, {"mentions": batch})
    return BURST / (_wait_processed(url, processed_after, 600) - started)


def run() -> dict:
    texts = customer_texts(DEFAULT_DATA, BURST)
    batch_size = ModelConfig().batch_size
    print(f"pipeline  raw model: batch {batch_size}, {THREADS} threads, runtime {RUNTIME}, the burst's {BURST} texts")
    Redis.from_url(REDIS_BENCH_URL).flushdb()
    with tempfile.TemporaryDirectory() as tmpdir, scratch_database("sqlite", tmpdir) as url:
        config_path = os.path.join(tmpdir, "earshot.yaml")
        _config(config_path)
        web_port, standin_port = free_port(), free_port()
        env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": REDIS_BENCH_URL, "EARSHOT_CONFIG": config_path,
               "SLACK_STANDIN_PORT": str(standin_port), "SLACK_SIGNING_SECRET": DEV_SLACK_SIGNING_SECRET}  # fmt: skip
        processes = _start(env, web_port, standin_port)
        web = f"http://127.0.0.1:{web_port}"
        standin = f"http://127.0.0.1:{standin_port}"
        try:
            wait_for_http(web_port, "/healthz")
            wait_for_http(standin_port, "/_standin/version")
            post(web, DEV_WEBHOOK_SECRET, {"mentions": [_mention(0, "warm-up: my order never arrived", "warm")]})
            _wait_processed(url, 1, 120)

            ratios = []
            for number in range(ROUNDS):
                before = raw_throughput(texts, batch_size, THREADS, RUNTIME)  # the worker is idle meanwhile
                pipeline = _burst(url, web, texts, f"burst{number}", (number + 1) * BURST + 1)
                after = raw_throughput(texts, batch_size, THREADS, RUNTIME)
                raw = (before + after) / 2
                ratios.append(pipeline / raw)
                print(f"pipeline  round {number + 1}: webhook -> classified ticket {pipeline:.1f} mentions/s; raw model "
                      f"{before:.1f} before, {after:.1f} after; ratio {ratios[-1]:.2f}", flush=True)  # fmt: skip
            ratio = statistics.median(ratios)
            print(f"pipeline  webhook -> classified ticket: median ratio to the raw model {ratio:.2f} over {ROUNDS} "
                  f"rounds ({', '.join(f'{r:.2f}' for r in ratios)}) (target >= 0.7)")  # fmt: skip

            time.sleep(5.0)
            sent: dict[str, float] = {}
            steady = [_mention(n, texts[n % len(texts)], "steady") for n in range(int(STEADY_RATE * STEADY_SECONDS))]
            started_steady = time.time()
            for n, payload in enumerate(steady):
                time.sleep(max(0.0, started_steady + n / STEADY_RATE - time.time()))
                sent[payload["id"]] = time.time()
                post(web, DEV_WEBHOOK_SECRET, payload)
            time.sleep(10)
            latencies = _latencies(url, standin, sent)
            tickets = len(latencies)
            if latencies:
                print(f"pipeline  webhook -> chat.postMessage at {STEADY_RATE:.1f} mentions/s over {CHANNELS} "
                      f"channels: p50 {percentile(latencies, 0.5):.2f} s, p99 {percentile(latencies, 0.99):.2f} s "
                      f"({tickets} tickets; target p99 < 2 s)")  # fmt: skip
            return {"ratio": ratio, "latencies": latencies}
        finally:
            stop_processes(processes)
            Redis.from_url(REDIS_BENCH_URL).flushdb()


if __name__ == "__main__":
    run()
