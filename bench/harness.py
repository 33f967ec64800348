"""Shared benchmark plumbing: scratch databases, servers on free ports, load loops."""

import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager

from sqlalchemy import create_engine, text

PG_ADMIN_URL = os.environ.get("EARSHOT_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_BENCH_URL = os.environ.get("EARSHOT_BENCH_REDIS", "redis://127.0.0.1:6379/15")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@contextmanager
def environ(keys):
    """Restores the environment variables ``keys`` as they were, whatever the block set."""
    saved = {key: os.environ.get(key) for key in keys}
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def scratch_database(kind: str, tmpdir: str):
    """A migrated, empty database of `kind` ("sqlite" or "postgresql"), dropped afterwards."""
    from store import migrate
    from store.db import dispose_all

    if kind == "sqlite":
        url = f"sqlite:///{tmpdir}/bench-{uuid.uuid4().hex[:6]}.db"
        migrate.upgrade(url)
        yield url
        dispose_all()
        return
    name = f"earshot_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        migrate.upgrade(url)
        yield url
    finally:
        dispose_all()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def wait_for_http(port: int, path: str = "/", timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            try:
                connection.request("GET", path)
                connection.getresponse().read()
                return
            finally:
                connection.close()
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered on port {port}")


@contextmanager
def gunicorn(app_spec: str, env: dict):
    """`app_spec` under the project's own gunicorn.conf.py (workers, threads), on a free port."""
    with gunicorn_server(app_spec, env) as (port, _master):
        yield port


@contextmanager
def gunicorn_server(app_spec: str, env: dict):
    """As gunicorn(), yielding (port, the master's Popen)."""
    port = free_port()
    command = [
        os.path.join(os.path.dirname(sys.executable), "gunicorn"), app_spec,
        "-b", f"127.0.0.1:{port}", "--log-level", "error",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stderr=subprocess.DEVNULL)
    try:
        wait_for_http(port)
        yield port, process
    finally:
        stop_processes([process])


def stop_processes(processes: list[subprocess.Popen], grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds: a worker's warm stop waits out its current job
    (the io dispatcher's budget is 45 s), which a benchmark need not."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def load(port: int, path: str, make_request, seconds: float, concurrency: int = 32) -> dict:
    """Keep-alive clients posting for `seconds`; `make_request(n) -> (body, headers)`."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    counter = iter(range(10**9))
    stop_at = time.perf_counter() + seconds

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, codes = [], {}
        while time.perf_counter() < stop_at:
            body, headers = make_request(next(counter))
            started = time.perf_counter()
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            codes[response.status] = codes.get(response.status, 0) + 1
        with lock:
            latencies.extend(mine)
            for code, count in codes.items():
                statuses[code] = statuses.get(code, 0) + count

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "per_second": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else None,
        "statuses": statuses,
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]
