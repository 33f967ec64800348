"""The after-commit handler: what a committed transaction's effects (store.effects) become in Redis.

The domain records effects; this turns them into jobs: the tickets whose clocks
changed get an SLA check at their next deadline (workers.sla.enqueue_checks),
the channels that got Slack messages get a delivery dispatcher
(workers.deliver.request_dispatch), and the public replies queued or put back
get a send job at their next attempt (workers.replies.enqueue_sends), the pages to on-call whose
wish changed get a send job (workers.paging.enqueue_pages), the routes whose pools
have tickets or room get a fill job (workers.assign.enqueue_fill), on the
Redis of the settings the process runs with. The entry points install it: the
app factory, the worker entry point, the tests and the benchmarks. A Redis that
is down fails nothing: the periodic SLA sweep, delivery repair and reply repair
find what was missed.
"""

import logging

from store import effects
from tickets.lifecycle import ASSIGN_FILL
from tickets.outbox import SLACK_CHANNEL, drop_stored
from tickets.pages import PAGE
from tickets.replies import REPLY
from tickets.sla_checks import SLA_CHECK
from workers.assign import enqueue_fill
from workers.deliver import request_dispatch
from workers.paging import enqueue_pages
from workers.replies import enqueue_sends
from workers.sla import enqueue_checks

log = logging.getLogger(__name__)


class AfterCommit:
    """The handler for one Redis."""

    def __init__(self, redis_url: str | None):
        self.redis_url = redis_url

    def __call__(self, found: effects.Effects) -> None:
        due = {ticket_id: deadline for ticket_id, deadline in found.get(SLA_CHECK, {}).items() if deadline is not None}
        if due:
            enqueue_checks(due, self.redis_url)
        if found.get(SLACK_CHANNEL):
            try:
                request_dispatch(self.redis_url)
            except Exception:  # never fail a committed transaction; deliver_pending repairs
                log.warning("could not request Slack delivery", exc_info=True)
        if found.get(REPLY):
            enqueue_sends(found[REPLY], self.redis_url)
        if found.get(PAGE):
            enqueue_pages(found[PAGE], self.redis_url)
        if found.get(ASSIGN_FILL):
            enqueue_fill(found[ASSIGN_FILL], self.redis_url)


def install(handler: AfterCommit) -> None:
    """Hand every commit's effects to `handler` (e.g. `AfterCommit(settings.redis_url)`), and drop
    an outbox row whose key is already stored at each flush. Installing again replaces the handler."""
    effects.install(handler, before_flush=(drop_stored,))
