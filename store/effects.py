"""After-commit effects: work the domain records in a transaction, done once that transaction commits.

The domain never enqueues a job. It records an effect on its session instead
(`record(session, "sla_check", ticket.id, read=...)`), and once the outermost
transaction commits, the one handler the process installed gets every effect of
that commit (`install`): entry points (the app factory, the worker entry point,
the tests, the benchmarks) install theirs explicitly; importing a module installs
nothing. A rollback forgets the effects; a savepoint changes nothing, its effects
wait for the outer commit (an effect of a savepoint rolled back is kept: effects
are hints, and a job finds the database as it is).

`install` also takes the hooks the domain needs before every flush (the outbox
drops a message whose key is already stored: one query for all the new rows).

Effects of one kind are keyed, the last one recorded for a key wins: a ticket
whose clocks change three times in a transaction gets one check.
"""

import logging
from collections.abc import Callable, Hashable, Iterable

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger(__name__)

Effects = dict[str, dict[Hashable, object]]  # kind -> key -> value (what `read` returned before the commit)
Handler = Callable[[Effects], None]
FlushHook = Callable[[Session], None]

_PENDING = "earshot.effects.pending"  # kind -> key -> read (a callable, or None)
_DUE = "earshot.effects.due"  # kind -> key -> value, read before the commit
_installed: dict[str, object] = {"handler": None, "before_flush": (), "warned": False}


def record(session: Session, kind: str, key: Hashable, read: Callable[[], object] | None = None) -> None:
    """Do `kind` for `key` once this session commits. `read` is called just before the commit
    and its answer handed to the handler: once committed, the session's objects are expired
    and cannot be loaded any more."""
    if _installed["handler"] is None:
        if not _installed["warned"]:
            _installed["warned"] = True
            log.warning("after-commit effects are dropped: no handler is installed (store.effects.install)")
        return
    session.info.setdefault(_PENDING, {}).setdefault(kind, {})[key] = read


def install(handler: Handler, before_flush: Iterable[FlushHook] = ()) -> None:
    """Hand every commit's effects to `handler`, and call `before_flush` before every flush.

    One handler per process: installing again replaces it (the listeners are registered once).
    """
    _installed["handler"], _installed["before_flush"] = handler, tuple(before_flush)
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "before_commit", _snapshot)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_transaction_end", _forget)


def _before_flush(session: Session, _flush_context, _instances) -> None:
    for hook in _installed["before_flush"]:
        hook(session)


def _read(kind: str, key: Hashable, read: Callable[[], object] | None) -> tuple[bool, object]:
    if read is None:
        return True, None
    try:
        return True, read()
    except Exception:  # a broken effect must not fail the commit: the periodic repairs cover it
        log.warning("could not read an after-commit effect", extra={"kind": kind, "key": str(key)}, exc_info=True)
        return False, None


def _snapshot(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: its effects wait for the outer commit
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    due = session.info.setdefault(_DUE, {})
    for kind, entries in pending.items():
        for key, read in entries.items():
            ok, value = _read(kind, key, read)
            if ok:
                due.setdefault(kind, {})[key] = value


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    due = session.info.pop(_DUE, None)
    handler = _installed["handler"]
    if not due or handler is None:
        return
    try:
        handler(due)
    except Exception:  # never fail a committed transaction; the periodic jobs repair what was missed
        log.warning("after-commit effects failed", extra={"kinds": sorted(due)}, exc_info=True)


def _forget(session: Session, transaction: SessionTransaction) -> None:
    # The outermost transaction ended: what it did not commit never happened. (After a commit
    # nothing is left here; a savepoint's end changes nothing.)
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_DUE, None)
