"""The shared intake writer (ingest/loop.py, run by service/intake_server.py): its wire, its loop
against the real databases and Redis, the supervisor that keeps it running,
and gunicorn's web workers using it."""

import http.client
import json
import os
import shutil
import signal
import socket
import stat
import tempfile
import threading
import time

import pytest
from redis import Redis
from sqlalchemy import select, text

from bench.harness import gunicorn_server, scratch_database
from core.settings import DEV_WEBHOOK_SECRET
from core.timeutil import utcnow
from ingest.loop import WriterLoop
from ingest.rows import Delivery, delivery_rows
from ingest.wire import (
    HEADER,
    MAX_FRAME,
    FrameError,
    FrameReader,
    WriterClient,
    WriterUnavailable,
    frame,
    read_frame,
)
from ingest.writer import IntakeWriter
from integrations.platforms.generic import sign
from integrations.platforms.mention import IncomingMention
from service import intake as web_intake
from service import intake_server
from service.intake_server import SOCKET_ENV
from store.db import get_engine, session_for
from store.schema import Mention
from tests.conftest import mention, post_generic
from workers import classify_queue


def _rows(dialect: str, *external_ids: str) -> list[dict]:
    mentions = [IncomingMention(source="x", external_id=e, author_id="u1", text=f"{e} 😀") for e in external_ids]
    return delivery_rows(Delivery(mentions, utcnow()), dialect)


def _stored(database_url: str) -> set[str]:
    with session_for(database_url) as session:
        return set(session.scalars(select(Mention.external_id)))


@pytest.fixture
def socket_dir():
    # A Unix socket's path must stay under 108 bytes: not under pytest's long tmp_path.
    directory = tempfile.mkdtemp(prefix="earshot-test-")
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def clients():
    """WriterClient(path, timeout), each closed after the test."""
    made: list[WriterClient] = []

    def make(path: str, timeout: float = 10) -> WriterClient:
        made.append(WriterClient(path, timeout))
        return made[-1]

    yield make
    for client in made:
        client.close()


@pytest.fixture
def writer_loop(database_url, redis_url, socket_dir):
    """A WriterLoop on a thread of this process, its IntakeWriter's groups recorded."""
    path = os.path.join(socket_dir, "intake.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    intake = IntakeWriter(database_url, lambda ids: classify_queue.request_classification(ids, redis_url))
    groups: list[int] = []
    store = intake.store

    def recording(batches):
        groups.append(len(batches))
        return store(batches)

    intake.store = recording
    loop = WriterLoop(listener, intake, gather_seconds=0.05)
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    yield path, groups, intake
    loop.stopping = True
    thread.join(timeout=5)
    intake.close()
    listener.close()


# --- the wire ---


def test_frames_cut_anywhere_come_out_whole_and_in_order():
    stream = frame([{"text": "é 😀 <b>'; DROP TABLE"}]) + frame({"ids": [1], "duplicates": 0})
    for cut in range(len(stream) + 1):
        reader = FrameReader()
        assert reader.feed(stream[:cut]) + reader.feed(stream[cut:]) == [
            [{"text": "é 😀 <b>'; DROP TABLE"}],
            {"ids": [1], "duplicates": 0},
        ]


NESTED = b"[" * 100_000 + b"]" * 100_000  # within MAX_FRAME, far past the interpreter's recursion limit


@pytest.mark.parametrize(
    "data",
    [HEADER.pack(MAX_FRAME + 1), HEADER.pack(3) + b"{{{", HEADER.pack(len(NESTED)) + NESTED],
    ids=["oversized", "not JSON", "nested 100000 deep"],
)
def test_a_frame_that_is_too_big_or_not_json_is_refused(data):
    with pytest.raises(FrameError):
        FrameReader().feed(data)


# --- the loop, on the real databases ---


def test_concurrent_requests_share_inserts_and_each_gets_its_own_answer(writer_loop, database_url, clients):
    path, groups, intake = writer_loop
    client = clients(path, 10)
    threads = 16
    answers: list = [None] * threads
    start = threading.Barrier(threads)

    def submit(index: int) -> None:
        start.wait()
        answers[index] = client.submit(_rows(intake.dialect, f"p-{index}", "shared"))

    workers = [threading.Thread(target=submit, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)

    assert sum(len(saved.ids) for saved in answers) == threads + 1  # "shared" is accepted once
    assert sum(saved.duplicates for saved in answers) == threads - 1
    assert len(groups) < threads, groups  # requests were written together
    assert _stored(database_url) == {f"p-{index}" for index in range(threads)} | {"shared"}
    with session_for(database_url) as session:
        by_id = dict(session.execute(select(Mention.id, Mention.external_id)).all())
    for index, saved in enumerate(answers):
        assert {by_id[id_] for id_ in saved.ids} <= {f"p-{index}", "shared"}


def test_the_classification_flag_is_set_after_the_answer(writer_loop, redis_url, clients):
    path, _, intake = writer_loop
    redis = Redis.from_url(redis_url)
    redis.delete(classify_queue.FLAG)

    assert len(clients(path, 10).submit(_rows(intake.dialect, "flagged")).ids) == 1

    deadline = time.monotonic() + 5
    while not redis.exists(classify_queue.FLAG) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert redis.exists(classify_queue.FLAG)


def test_a_request_that_is_not_rows_is_answered_with_an_error_and_the_connection_stays(writer_loop, database_url):
    path, _, intake = writer_loop
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(path)
        sock.sendall(frame({"not": "a list of rows"}))
        assert "error" in read_frame(sock)
        sock.sendall(frame(_rows(intake.dialect, "after-bad")))
        assert len(read_frame(sock)["ids"]) == 1
    assert _stored(database_url) == {"after-bad"}


def test_a_nested_frame_drops_only_its_own_connection_and_the_writer_goes_on(writer_loop, database_url, clients):
    path, _, intake = writer_loop
    client = clients(path, 10)
    assert len(client.submit(_rows(intake.dialect, "before-nested")).ids) == 1  # a connection open throughout
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as hostile:
        hostile.settimeout(10)
        hostile.connect(path)
        hostile.sendall(HEADER.pack(len(NESTED)) + NESTED)
        assert hostile.recv(1) == b""  # a bad frame: that connection is closed, as for bytes that are not JSON
    assert len(client.submit(_rows(intake.dialect, "after-nested")).ids) == 1
    assert len(clients(path, 10).submit(_rows(intake.dialect, "new-connection")).ids) == 1
    assert _stored(database_url) == {"before-nested", "after-nested", "new-connection"}


def test_rows_whose_sender_hung_up_are_still_committed(writer_loop, database_url, clients):
    path, _, intake = writer_loop
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path)
        sock.sendall(frame(_rows(intake.dialect, "sender-gone")))
    # The next request is answered, and the one before it was written first.
    assert len(clients(path, 10).submit(_rows(intake.dialect, "next")).ids) == 1
    assert _stored(database_url) == {"sender-gone", "next"}


def test_a_database_that_refuses_gives_writer_unavailable_and_the_writer_recovers(writer_loop, database_url, clients):
    path, _, intake = writer_loop
    client = clients(path, 10)
    client.submit(_rows(intake.dialect, "first"))
    with get_engine(database_url).begin() as connection:
        connection.execute(text("ALTER TABLE mentions RENAME TO mentions_away"))
    try:
        with pytest.raises(WriterUnavailable):
            client.submit(_rows(intake.dialect, "refused"))
    finally:
        with get_engine(database_url).begin() as connection:
            connection.execute(text("ALTER TABLE mentions_away RENAME TO mentions"))

    assert len(client.submit(_rows(intake.dialect, "after")).ids) == 1
    assert _stored(database_url) == {"first", "after"}


def test_a_writer_that_does_not_answer_in_time_gives_writer_unavailable(socket_dir, clients):
    path = os.path.join(socket_dir, "silent.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as silent:
        silent.bind(path)
        silent.listen(1)
        started = time.monotonic()
        with pytest.raises(WriterUnavailable):
            clients(path, 0.3).submit(_rows("sqlite", "unanswered"))
        assert time.monotonic() - started < 2  # asked once: a slow writer is not asked again


# --- the web app's side ---


@pytest.fixture
def shared_writer(writer_loop, monkeypatch):
    """The web app's requests go to writer_loop, as under gunicorn."""
    monkeypatch.setenv(SOCKET_ENV, writer_loop[0])
    yield writer_loop
    web_intake.close_connections()


def test_a_webhook_goes_through_the_shared_writer_and_is_a_503_when_it_is_gone(
    client, settings, shared_writer, monkeypatch, socket_dir
):
    _, groups, _ = shared_writer
    response = post_generic(client, mention("via-writer"))
    assert response.status_code == 202 and response.get_json() == {"accepted": 1, "duplicates": 0}
    assert groups == [1]

    monkeypatch.setenv(SOCKET_ENV, os.path.join(socket_dir, "nobody-listens.sock"))
    response = post_generic(client, mention("nowhere"))
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert "retry" in response.get_json()["error"]
    assert _stored(settings.database_url) == {"via-writer"}


def test_healthz_names_a_shared_writer_that_does_not_answer(client, shared_writer, monkeypatch, socket_dir, caplog):
    caplog.set_level("INFO")
    response = client.get("/healthz?scope=web")
    assert response.status_code == 200 and response.get_json()["intake"] == "ok"
    assert "mentions accepted" not in caplog.text  # a health check's empty request is not an intake

    monkeypatch.setenv(SOCKET_ENV, os.path.join(socket_dir, "nobody-listens.sock"))
    response = client.get("/healthz?scope=web")
    assert response.status_code == 503
    assert response.get_json()["intake"] == "unavailable" and response.get_json()["status"] == "degraded"


def test_healthz_without_gunicorn_has_no_intake_part(client):
    assert "intake" not in client.get("/healthz").get_json()


# --- the supervisor: a real writer process ---


def test_the_supervisor_restarts_a_killed_writer_and_requests_carry_on(database_url, redis_url, monkeypatch, clients):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    dialect = get_engine(database_url).dialect.name
    supervisor = intake_server.new_supervisor()
    path = supervisor.start()
    directory = os.path.dirname(path)
    try:
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700  # only this user may connect
        client = clients(path, 20)
        assert len(client.submit(_rows(dialect, "before-kill")).ids) == 1
        killed = supervisor.pid
        os.kill(killed, signal.SIGKILL)

        # The broken connection is replaced; the new one waits in the socket's backlog
        # until the supervisor's next writer takes it.
        assert len(client.submit(_rows(dialect, "after-kill")).ids) == 1
        assert supervisor.pid != killed and supervisor.restarts == 1
        last = supervisor.pid
    finally:
        supervisor.stop()
    assert not os.path.exists(directory)
    with pytest.raises(ProcessLookupError):
        os.kill(last, 0)
    assert _stored(database_url) == {"before-kill", "after-kill"}


def test_a_supervisor_that_cannot_start_leaves_nothing_behind(monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", "/nonexistent/earshot")
    with pytest.raises(OSError):
        intake_server.start_supervisor()
    assert intake_server._supervisor is None  # gunicorn.conf.py then lets each worker write for itself


# --- under gunicorn ---


def _children(pid: int) -> dict[int, str]:
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as file:
                parent = int(file.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as file:
                command = file.read().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue
        if parent == pid:
            found[int(entry)] = command
    return found


def _post(port: int, external_id: str) -> int:
    body = json.dumps(mention(external_id)).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "X-Earshot-Timestamp": str(timestamp),
        "X-Earshot-Signature": sign(DEV_WEBHOOK_SECRET, timestamp, body),
    }
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", "/webhooks/generic", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _wait_until(condition, timeout: float) -> bool:
    """Poll `condition` until it holds: the short sleeps only pace the polling, they decide nothing."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _writers_of(master_pid: int) -> list[int]:
    return [pid for pid, command in _children(master_pid).items() if "service.intake_server" in command]


@pytest.mark.slow
def test_gunicorn_workers_share_one_writer_that_outlives_a_kill_and_stops_with_the_master(redis_url, tmp_path):
    with scratch_database("sqlite", str(tmp_path)) as url:
        with gunicorn_server("wsgi:app", {"DATABASE_URL": url, "REDIS_URL": redis_url}) as (port, master):
            writers = _writers_of(master.pid)
            assert len(writers) == 1, _children(master.pid)
            statuses: dict[str, int] = {}
            stop = threading.Event()

            def post_until_stopped(prefix: str) -> None:
                n = 0
                while not stop.is_set():
                    statuses[f"{prefix}-{n}"] = _post(port, f"{prefix}-{n}")
                    n += 1

            senders = [threading.Thread(target=post_until_stopped, args=(f"t{t}",)) for t in range(6)]
            for sender in senders:
                sender.start()
            # Requests are answered through the first writer (a worker's first waits for it to load the app).
            assert _wait_until(lambda: len(statuses) >= 6, timeout=30)
            before_kill = len(statuses)
            os.kill(writers[0], signal.SIGKILL)  # mid-run
            assert _wait_until(lambda: _writers_of(master.pid) not in ([], writers), timeout=15)
            restarted_at = len(statuses)
            assert _wait_until(lambda: len(statuses) > restarted_at + 6, timeout=30)  # on through the new writer
            stop.set()
            for sender in senders:
                sender.join(timeout=60)

            restarted = _writers_of(master.pid)
            assert len(restarted) == 1 and restarted != writers
            accepted = {external_id for external_id, status in statuses.items() if status == 202}
            assert before_kill > 0 and len(statuses) > before_kill + 6, (before_kill, len(statuses))
            # Those in flight at the kill too: their rows are sent again to the next writer.
            assert accepted == set(statuses), {k: v for k, v in statuses.items() if v != 202}
            assert accepted <= _stored(url)  # every 202 was committed
        # gunicorn has stopped: its writer is gone too.
        with pytest.raises(ProcessLookupError):
            os.kill(restarted[0], 0)
