"""Group commit: concurrent webhook requests share one transaction, and each
still gets exactly its own answer."""

import re
import threading
import time

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.dialects import postgresql

from core.timeutil import utcnow
from integrations.platforms.mention import IncomingMention
from service.intake_writer import IntakeWriter
from store import ingest
from store.db import get_engine, session_for
from store.group_commit import GroupCommit
from store.ingest import Delivery, delivery_rows, save_deliveries
from store.schema import Mention
from tests.conftest import mention, post_generic

THREADS = 24


def _mention(external_id: str) -> IncomingMention:
    return IncomingMention(source="x", external_id=external_id, author_id="u1", text=f"text of {external_id}")


def _rows(intake: IntakeWriter, external_id: str) -> list[dict]:
    return delivery_rows(Delivery([_mention(external_id)], utcnow()), intake.dialect)


def _submit_together(writer: GroupCommit, items: list) -> list:
    """Submit from one thread per item, all at once; each thread's outcome in item order."""
    outcomes: list = [None] * len(items)
    start = threading.Barrier(len(items))

    def submit(index: int) -> None:
        start.wait()
        try:
            outcomes[index] = writer.submit(items[index])
        except Exception as error:
            outcomes[index] = error

    threads = [threading.Thread(target=submit, args=(index,)) for index in range(len(items))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_each_submitter_gets_its_own_result_and_groups_form_under_load():
    groups: list[list[int]] = []

    def write(items: list[int]) -> list[int]:
        groups.append(items)
        time.sleep(0.05)  # a slow commit: what arrives meanwhile forms the next group
        return [item * 10 for item in items]

    outcomes = _submit_together(GroupCommit(write), list(range(40)))

    assert outcomes == [item * 10 for item in range(40)]
    assert sorted(item for group in groups for item in group) == list(range(40))
    assert len(groups) < 40


def test_a_failing_item_fails_alone():
    def write(items: list[int]) -> list[int]:
        if 13 in items:
            raise ValueError("thirteen is refused")
        return items

    writer = GroupCommit(lambda items: (time.sleep(0.02), write(items))[1])
    outcomes = _submit_together(writer, list(range(20)))

    assert isinstance(outcomes[13], ValueError)
    assert [outcome for index, outcome in enumerate(outcomes) if index != 13] == [n for n in range(20) if n != 13]


def test_a_lone_item_is_written_at_once():
    writer = GroupCommit(lambda items: items)
    started = time.perf_counter()
    assert writer.submit("alone") == "alone"
    assert time.perf_counter() - started < 1.0


def test_deliveries_in_one_statement_keep_their_own_counts(database_url):
    with get_engine(database_url).begin() as connection:
        save_deliveries(connection, [Delivery([_mention("old")], utcnow())])
    deliveries = [
        Delivery([_mention("a"), _mention("old")], utcnow()),
        Delivery([_mention("b"), _mention("a")], utcnow()),  # "a" is new, but the first delivery has it
        Delivery([_mention("c"), _mention("c")], utcnow()),  # repeated within one delivery
        Delivery([], utcnow()),
    ]

    with get_engine(database_url).begin() as connection:
        saved = save_deliveries(connection, deliveries)

    assert [(len(s.ids), s.duplicates) for s in saved] == [(1, 1), (1, 1), (1, 1), (0, 0)]
    with session_for(database_url) as session:
        stored = dict(session.execute(select(Mention.external_id, Mention.id)).all())
        assert session.scalar(select(func.count()).select_from(Mention)) == 4
    assert [s.ids for s in saved[:3]] == [[stored["a"]], [stored["b"]], [stored["c"]]]


def test_concurrent_webhooks_share_commits_and_lose_nothing(client, settings):
    threads = THREADS
    # Flask's test client is not thread-safe per instance: one per thread.
    clients = [client.application.test_client() for _ in range(threads)]
    answers: list = [None] * threads
    start = threading.Barrier(threads)

    def post(index: int) -> None:
        start.wait()
        payload = {"mentions": [mention(f"c-{index}"), mention("shared")]}
        answers[index] = post_generic(clients[index], payload).get_json()

    workers = [threading.Thread(target=post, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)

    assert sum(answer["accepted"] for answer in answers) == threads + 1  # "shared" is accepted once
    assert sum(answer["duplicates"] for answer in answers) == threads - 1
    with session_for(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Mention)) == threads + 1


def test_the_writer_waits_briefly_for_announced_callers():
    groups: list[list[str]] = []
    writer = GroupCommit(lambda items: groups.append(list(items)) or items, gather_seconds=5.0)
    late = writer.announce()
    early = threading.Thread(target=writer.submit, args=("early",))
    early.start()
    time.sleep(0.2)  # the writer has "early" and waits for the announced caller

    assert late.submit("late") == "late"
    early.join(timeout=5)
    assert groups == [["early", "late"]]


def test_a_withdrawn_caller_does_not_hold_the_group_back():
    writer = GroupCommit(lambda items: items, gather_seconds=5.0)
    refused = writer.announce()
    result: list[str] = []
    submitter = threading.Thread(target=lambda: result.append(writer.submit("alone")))
    started = time.perf_counter()
    submitter.start()
    time.sleep(0.1)
    refused.withdraw()  # e.g. its signature was wrong
    submitter.join(timeout=5)

    assert result == ["alone"]
    assert time.perf_counter() - started < 2.0


def test_work_after_the_commit_runs_once_the_callers_are_answered():
    answered = threading.Event()
    seen: list = []

    def then(items: list[int], results: list[int]) -> None:
        seen.append((items, results, answered.wait(timeout=5)))
        raise RuntimeError("Redis is down")  # logged; nobody waits on it

    writer = GroupCommit(lambda items: [item + 1 for item in items], then=then)
    assert writer.submit(41) == 42
    answered.set()
    deadline = time.monotonic() + 5
    while not seen and time.monotonic() < deadline:
        time.sleep(0.01)
    assert seen == [([41], [42], True)]
    assert writer.submit(1) == 2  # the writer survived its `then` failing


def test_settle_waits_for_the_work_after_the_commit():
    release = threading.Event()
    done: list[int] = []

    def then(items: list[int], results: list[int]) -> None:
        release.wait(timeout=5)
        done.extend(items)

    writer = GroupCommit(lambda items: items, then=then)
    assert writer.settle(timeout=0.01)  # nothing submitted: settled at once
    assert writer.submit(7) == 7
    assert not writer.settle(timeout=0.05)  # answered, but its `then` is still running
    release.set()
    assert writer.settle(timeout=5)
    assert done == [7]


def _kill_connection(intake: IntakeWriter) -> None:
    driver = intake._driver
    if intake._dialect.name == "postgresql":
        backend = driver.execute("SELECT pg_backend_pid()").fetchone()[0]
        with get_engine(intake.database_url).connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
    else:
        driver.close()


def test_a_dead_kept_connection_is_replaced_without_failing_the_group(database_url, redis_url):
    intake = IntakeWriter(database_url, redis_url)
    [first] = intake.store([_rows(intake, "before")])
    _kill_connection(intake)

    [second] = intake.store([_rows(intake, "after")])
    intake.close()

    assert len(first.ids) == 1 and len(second.ids) == 1
    with session_for(database_url) as session:
        assert set(session.scalars(select(Mention.external_id))) == {"before", "after"}


def _listed(sql: str, before: str, after: str) -> list[str]:
    inner = sql.split(before, 1)[1].split(after, 1)[0]
    return [" ".join(part.split()) for part in inner.split(",")]


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_the_written_out_inserts_name_every_column_in_order(dialect):
    sql = ingest._INSERTS[dialect]
    assert _listed(sql, "INSERT INTO mentions (", ")") == list(ingest._ROW_COLUMNS)
    selected = sql.split("SELECT ", 1)[1].split("\nFROM", 1)[0]
    assert re.findall(r"(?:\br\.|\$\.)(\w+)", selected) == list(ingest._ROW_COLUMNS)


def test_the_postgresql_record_has_each_columns_type():
    record = _listed(ingest._INSERT_POSTGRESQL, "AS r(", ")\nWHERE NOT EXISTS")
    table = Mention.__table__
    for name, (column, kind) in zip(ingest._ROW_COLUMNS, (term.split(" ", 1) for term in record), strict=True):
        assert column == name
        expected = "text" if name in ingest._JSON_COLUMNS else table.c[name].type.compile(dialect=postgresql.dialect())
        assert kind.lower() == expected.lower().replace(" without time zone", ""), name


def test_a_failing_statement_leaves_as_sqlalchemys_error_and_the_writer_recovers(database_url, redis_url):
    from sqlalchemy.exc import DBAPIError

    intake = IntakeWriter(database_url, redis_url)
    intake.store([_rows(intake, "first")])
    with get_engine(database_url).begin() as connection:
        connection.execute(text("ALTER TABLE mentions RENAME TO mentions_away"))
    try:
        with pytest.raises(DBAPIError) as raised:
            intake.store([_rows(intake, "lost")])
        assert not raised.value.connection_invalidated  # the database refused it; nothing died
    finally:
        with get_engine(database_url).begin() as connection:
            connection.execute(text("ALTER TABLE mentions_away RENAME TO mentions"))

    [saved] = intake.store([_rows(intake, "after")])
    intake.close()
    assert len(saved.ids) == 1
    with session_for(database_url) as session:
        assert set(session.scalars(select(Mention.external_id))) == {"first", "after"}
