"""Group commit: many request threads, one transaction.

A web request that opens its own transaction pays a pool checkout, BEGIN, one
INSERT, COMMIT (PostgreSQL's WAL flush; SQLite's write lock, which the other
threads then queue for) and a Redis round trip, and under load these are most
of the request. Here request threads hand their work to one writer thread per
process, which writes everything waiting in one transaction and wakes each
request with its own result. A lone request is written at once: nothing waits
for a group to fill, a group is simply what arrived while the last one was
being committed, or, while other callers are known to be on their way (they
announced themselves and have not submitted yet), what arrives within a couple
of milliseconds: PostgreSQL's commit_delay and commit_siblings, in spirit.
"""

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
Item = TypeVar("Item")
Result = TypeVar("Result")
# Below the web server's worker timeout: a request gives up (503, the platform
# retries, duplicates are absorbed) before gunicorn would kill its worker.
WAIT_SECONDS = 20.0
GATHER_SECONDS = 0.002


class _Answer:
    """One caller's result, handed over through a bare lock: the lightest wake-up
    there is (a Future's condition variable cost a tenth of the web process's time)."""

    __slots__ = ("_lock", "_result", "_error")

    def __init__(self):
        self._lock = threading.Lock()
        self._lock.acquire()
        self._result = self._error = None

    def set_result(self, result) -> None:
        self._result = result
        self._lock.release()

    def set_exception(self, error: BaseException) -> None:
        self._error = error
        self._lock.release()

    def result(self, timeout: float):
        if not self._lock.acquire(timeout=timeout):
            raise TimeoutError(f"the group commit did not answer within {timeout:.0f} s")
        if self._error is not None:
            raise self._error
        return self._result


class GroupCommit(Generic[Item, Result]):
    """`write(items) -> results` (same order) runs on the writer thread for each group.

    `then(items, results)`, if given, runs on the writer thread after the
    group's callers have their results: work that must follow the commit but
    need not hold the callers (and the next group) back. What it raises is
    logged; the callers have already been answered.

    `submit` blocks until its item's group is written and returns its result,
    or raises what writing it raised (TimeoutError after WAIT_SECONDS). When a
    group of several fails, each item is written again on its own, so one bad
    item cannot fail the others.

    A caller that will submit shortly (a request still checking its signature
    and parsing its body) may `announce()` itself first; the writer then holds
    a group for up to `gather_seconds` while announced callers are still to come.
    """

    def __init__(
        self,
        write: Callable[[list[Item]], list[Result]],
        then: Callable[[list[Item], list[Result]], None] | None = None,
        max_group: int = 256,
        gather_seconds: float = GATHER_SECONDS,
    ):
        self._write = write
        self._then = then
        self._max_group = max_group
        self._gather_seconds = gather_seconds
        lock = threading.Lock()
        self._ready = threading.Condition(lock)  # the writer waits here for work
        self._idle = threading.Condition(lock)  # settle() waits here for the writer to finish
        self._busy = False  # the writer holds a group it has not finished (`then` included)
        self._waiting: deque[tuple[Item, _Answer]] = deque()
        self._coming = 0
        self._gathering = False  # the writer holds a group for announced callers
        self._writer_pid: int | None = None

    def announce(self) -> "Arrival[Item, Result]":
        with self._ready:
            self._coming += 1
        return Arrival(self)

    def submit(self, item: Item, announced: bool = False) -> Result:
        answer = _Answer()
        with self._ready:
            self._start_writer()
            self._coming -= announced
            self._waiting.append((item, answer))
            self._wake_writer()
        return answer.result(timeout=WAIT_SECONDS)

    def _withdraw(self) -> None:
        with self._ready:
            self._coming -= 1
            self._wake_writer()

    def _wake_writer(self) -> None:
        # While gathering, the writer only needs waking once its group is complete: every
        # announced caller has submitted or withdrawn, or the group is full. Waking it for each
        # arrival cost a thread switch per request, only for it to go back to waiting.
        if not self._gathering or self._coming <= 0 or len(self._waiting) >= self._max_group:
            self._ready.notify()

    def _start_writer(self) -> None:
        # Per process: a forked web worker inherits the object but not the thread.
        if self._writer_pid != os.getpid():
            self._writer_pid = os.getpid()
            threading.Thread(target=self._run, name="group-commit", daemon=True).start()

    def settle(self, timeout: float) -> bool:
        """Wait until everything submitted so far is written and its `then` has run.

        For a worker shutting down (and tests): a caller is answered before `then`
        runs, so an answered request does not mean its follow-up work is done.
        False if the writer was still busy after `timeout` seconds.
        """
        with self._idle:
            return self._idle.wait_for(lambda: not self._waiting and not self._busy, timeout)

    def _run(self) -> None:
        while True:
            with self._ready:
                self._busy = False
                self._idle.notify_all()
                while not self._waiting:
                    self._ready.wait()
                deadline = time.monotonic() + self._gather_seconds
                self._gathering = True
                while self._coming > 0 and len(self._waiting) < self._max_group:
                    if (left := deadline - time.monotonic()) <= 0:
                        break
                    self._ready.wait(left)
                self._gathering = False
                self._busy = True
                group = [self._waiting.popleft() for _ in range(min(len(self._waiting), self._max_group))]
            self._write_group(group)

    def _write_group(self, group: list[tuple[Item, _Answer]]) -> None:
        items = [item for item, _ in group]
        outcomes = write_apart(self._write, items)
        for (_, answer), (result, error) in zip(group, outcomes, strict=True):
            if error is None:
                answer.set_result(result)
            else:
                answer.set_exception(error)
        if self._then is not None:
            run_then(self._then, items, outcomes)


def write_apart(write: Callable[[list[Item]], list[Result]], items: list[Item]) -> list[tuple]:
    """`write(items)`, as (result, None) or (None, error) per item, in order. When a
    group of several fails, each item is written again on its own, so one bad
    item cannot fail the others."""
    try:
        results = write(items)
    except BaseException as error:
        if len(items) == 1:
            return [(None, error)]
        log.warning("group write failed; writing its items one by one", extra={"items": len(items)})
        return [outcome for item in items for outcome in write_apart(write, [item])]
    if len(results) != len(items):  # a broken `write`: nobody can be told their result
        error = RuntimeError(f"write returned {len(results)} results for {len(items)} items")
        return [(None, error) for _ in items]
    return [(result, None) for result in results]


def run_then(then: Callable[[list[Item], list[Result]], None], items: list[Item], outcomes: list[tuple]) -> None:
    """`then` for the items that were written, after their callers have been answered;
    what it raises is logged, not passed on."""
    written = [(item, result) for item, (result, error) in zip(items, outcomes, strict=True) if error is None]
    if not written:
        return
    try:
        then([item for item, _ in written], [result for _, result in written])
    except Exception:
        log.exception("work after a group commit failed")


class Arrival(Generic[Item, Result]):
    """An announced caller: it submits once, or withdraws (e.g. its request was refused)."""

    def __init__(self, writer: GroupCommit[Item, Result]):
        self._writer = writer
        self._pending = True

    def submit(self, item: Item) -> Result:
        if not self._pending:
            return self._writer.submit(item)
        self._pending = False
        return self._writer.submit(item, announced=True)

    def withdraw(self) -> None:
        if self._pending:
            self._pending = False
            self._writer._withdraw()
