"""Group commit: concurrent webhook requests share one transaction, and each
still gets exactly its own answer."""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from core.timeutil import utcnow
from ingest.group_commit import GroupCommit
from ingest.rows import ROW_COLUMNS, Delivery, delivery_rows, save_deliveries
from ingest.writer import IntakeWriter
from integrations.platforms.mention import IncomingMention
from store.db import get_engine, session_for
from store.schema import Mention, MentionTombstone
from tests.conftest import mention, post_generic
from workers import classify_queue

THREADS = 24


def _mention(external_id: str) -> IncomingMention:
    return IncomingMention(source="x", external_id=external_id, author_id="u1", text=f"text of {external_id}")


def _rows(intake: IntakeWriter, external_id: str) -> list[dict]:
    return delivery_rows(Delivery([_mention(external_id)], utcnow()), intake.dialect)


def _intake_writer(database_url: str, redis_url: str) -> IntakeWriter:
    return IntakeWriter(database_url, lambda ids: classify_queue.request_classification(ids, redis_url))


def _wait_until(condition, timeout: float = 5.0) -> bool:
    """Poll `condition` until it holds: the short sleeps only pace the polling, they decide nothing."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


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
        if len(groups) == 1:
            # A slow first commit, held until every other caller is waiting: they form the next group.
            assert _wait_until(lambda: len(writer._waiting) == 40 - len(items))
        return [item * 10 for item in items]

    writer = GroupCommit(write)
    outcomes = _submit_together(writer, list(range(40)))

    assert outcomes == [item * 10 for item in range(40)]
    assert sorted(item for group in groups for item in group) == list(range(40))
    assert len(groups) <= 2  # the first group, then everything that arrived while it was written


def test_a_failing_item_fails_alone():
    def write(items: list[int]) -> list[int]:
        if 13 in items:
            raise ValueError("thirteen is refused")
        return items

    # The sleep only simulates a slow commit, so that groups form; however the items are
    # grouped, 13 fails alone and the others succeed, so the outcome does not depend on it.
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
    assert _wait_until(lambda: writer._gathering)  # the writer has "early" and waits for the announced caller

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
    assert _wait_until(lambda: writer._gathering)  # the writer holds "alone" for the announced caller
    refused.withdraw()  # e.g. its signature was wrong
    submitter.join(timeout=5)

    assert result == ["alone"]
    assert time.perf_counter() - started < 2.0


def test_work_after_the_commit_runs_once_the_callers_are_answered():
    answered = threading.Event()
    ran = threading.Event()
    seen: list = []

    def then(items: list[int], results: list[int]) -> None:
        seen.append((items, results, answered.wait(timeout=5)))
        ran.set()
        raise RuntimeError("Redis is down")  # logged; nobody waits on it

    writer = GroupCommit(lambda items: [item + 1 for item in items], then=then)
    assert writer.submit(41) == 42
    answered.set()
    assert ran.wait(timeout=5)
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
    intake = _intake_writer(database_url, redis_url)
    [first] = intake.store([_rows(intake, "before")])
    _kill_connection(intake)

    [second] = intake.store([_rows(intake, "after")])
    intake.close()

    assert len(first.ids) == 1 and len(second.ids) == 1
    with session_for(database_url) as session:
        assert set(session.scalars(select(Mention.external_id))) == {"before", "after"}


def test_every_column_of_a_mention_is_stored_as_given(database_url, redis_url):
    received_at = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
    full = IncomingMention(
        source="facebook", external_id="every-column", author_id="a-1", text="é 😀 <b>'; DROP TABLE\n%(rows)s",
        direction="outbound", author_handle="@h", author_name="Ünïcode Name", author_followers=2**40,
        created_at=received_at - timedelta(minutes=5), url="https://example.com/p?q=1&r=2", in_reply_to="r-1",
        conversation_id="c-1", brand="acme", language="fr", extra={"nested": {"list": [1, 2.5, None, "x"]}},
    )  # fmt: skip
    future = IncomingMention(source="x", external_id="from-the-future", author_id="a-2", text="early",
                             created_at=received_at + timedelta(hours=1))  # fmt: skip
    with session_for(database_url) as session:
        session.add(MentionTombstone(source="x", external_id="deleted-first"))
        session.commit()
    deleted = IncomingMention(source="x", external_id="deleted-first", author_id="a-3", text="gone")
    intake = _intake_writer(database_url, redis_url)
    try:
        [saved] = intake.store([delivery_rows(Delivery([full, future, deleted], received_at), intake.dialect)])
    finally:
        intake.close()

    assert len(saved.ids) == 2 and saved.duplicates == 1  # a tombstoned post is refused as a duplicate
    with session_for(database_url) as session:
        stored = {row.external_id: row for row in session.scalars(select(Mention))}
    assert set(stored) == {"every-column", "from-the-future"}
    expected = {**vars(full), "received_at": received_at, "signals": []}
    assert {name: getattr(stored["every-column"], name) for name in ROW_COLUMNS} == expected
    assert stored["from-the-future"].created_at == received_at  # a future time starts the clock on arrival
    assert stored["from-the-future"].extra == {"_reported_created_at": future.created_at.isoformat()}


def test_a_failing_statement_leaves_as_sqlalchemys_error_and_the_writer_recovers(database_url, redis_url):
    from sqlalchemy.exc import DBAPIError

    intake = _intake_writer(database_url, redis_url)
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
