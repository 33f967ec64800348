"""Worker entry points.

  python -m workers model       the classification worker (loads the model once)
  python -m workers io          Slack delivery
  python -m workers sla         SLA checks at their deadlines, then maintenance jobs
  python -m workers scheduler   the periodic jobs (one leads at a time; a second one stands by)

Both workers are RQ SimpleWorkers: jobs run in the worker process itself. The
model worker must: PyTorch is not fork-safe once its thread pools start, and a
fork per job would also reload the model for every job.
"""

import importlib
import os
import sys

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from redis.exceptions import RedisError  # noqa: E402
from rq import SimpleWorker  # noqa: E402

from core.logs import configure_logging, mask_url  # noqa: E402
from core.settings import ConfigError  # noqa: E402
from workers import after_commit, queues  # noqa: E402
from workers.context import app_context  # noqa: E402
from workers.periodic import leader_scheduler, register_all  # noqa: E402


def _function(dotted: str):
    module, name = dotted.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


class ModelWorker(SimpleWorker):
    """On SIGTERM the running job stops draining after its current micro-batch,
    so a warm shutdown takes seconds even under a steady stream of mentions."""

    def request_stop(self, signum, frame):
        from workers.classify import stop_draining

        stop_draining()
        super().request_stop(signum, frame)


def _worker(names: tuple[str, ...], worker_class=SimpleWorker) -> SimpleWorker:
    """A worker for the queues `names`, with their jobs' modules already imported."""
    for name in names:
        for module in queues.JOB_MODULES[name]:
            importlib.import_module(module)
    url = app_context()[0].redis_url
    return worker_class([queues.queue(name, url) for name in names], connection=queues.connection(url))


def run_model_worker(burst: bool = False) -> None:
    from models.classifier import load_classifier

    _, config = app_context()
    load_classifier(config.model.threads, config.model.runtime)  # load before taking the first job
    worker = _worker((queues.CLASSIFY,), ModelWorker)
    worker.work(burst=burst, with_scheduler=False, logging_level="WARNING")


def run_io_worker(burst: bool = False) -> None:
    # RQ's scheduler only moves timed jobs of the queues its own worker serves:
    # delivery reschedules itself around Slack's rate limits.
    _worker(queues.IO_QUEUES).work(burst=burst, with_scheduler=True, logging_level="WARNING")


def run_sla_worker(burst: bool = False) -> None:
    # Its own process: a breach is announced within seconds of its deadline
    # even while Slack delivery is busy (or waiting out a rate limit).
    _worker(queues.SLA_QUEUES).work(burst=burst, with_scheduler=True, logging_level="WARNING")


def run_scheduler() -> None:
    # Several may run: one leads (a lease in Redis) and enqueues, the others stand by.
    scheduler = leader_scheduler(queues.connection(app_context()[0].redis_url), logging_level="WARNING")
    register_all(scheduler, _function)
    scheduler.start()


ROLES = {"model": run_model_worker, "io": run_io_worker, "sla": run_sla_worker, "scheduler": run_scheduler}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ROLES:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        settings, _ = app_context()
    except ConfigError as error:
        print(f"earshot: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.secrets())
    after_commit.install(after_commit.AfterCommit(settings.redis_url))  # the jobs' commits enqueue what follows
    try:
        ROLES[argv[0]]()
    except RedisError as error:
        where = mask_url(queues.redis_url(settings.redis_url))
        print(f"earshot: Redis at {where} is unreachable: {type(error).__name__}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
