"""`python -m service.intake_server`: the shared intake writer process (ingest/loop.py),
and gunicorn's master's supervisor of it (ingest/supervisor.py; gunicorn.conf.py).

The process commits what every web worker of its master accepts and then sets
the classification flag (workers.classify_queue), which is why it starts here,
among the entry points.
"""

import argparse
import logging
import os
import signal
import socket
import sys

from ingest.loop import WriterLoop
from ingest.supervisor import Supervisor
from ingest.writer import IntakeWriter
from workers import classify_queue

log = logging.getLogger(__name__)
SOCKET_ENV = "EARSHOT_INTAKE_SOCKET"  # set by gunicorn.conf.py for its web workers; not a setting
COMMAND = [sys.executable, "-m", "service.intake_server"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service.intake_server")
    parser.add_argument("--listen-fd", type=int, required=True, help="a listening Unix socket, inherited")
    parser.add_argument("--parent", type=int, help="stop when this process is gone")
    args = parser.parse_args(argv)

    from core.logs import configure_logging
    from core.settings import load_settings

    settings = load_settings()
    configure_logging(settings.secrets())
    writer = IntakeWriter(
        settings.database_url, lambda ids: classify_queue.request_classification(ids, settings.redis_url)
    )
    loop = WriterLoop(socket.socket(fileno=args.listen_fd), writer)

    def stop(_signum, _frame):
        loop.stopping = True

    signal.signal(signal.SIGTERM, stop)
    # Ctrl-C reaches the whole process group; the web workers still finishing their
    # requests need the writer, so it stops when gunicorn's master tells it to.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    log.info("intake writer started", extra={"pid": os.getpid()})
    try:
        loop.run(parent_pid=args.parent)
    finally:
        loop.writer.close()
    return 0


def new_supervisor(log_error=None) -> Supervisor:
    """A supervisor (not started) of this module's writer process."""
    return Supervisor(COMMAND, log_error)


_supervisor: Supervisor | None = None  # the master's, kept here so that a config reload keeps it too


def start_supervisor(log_error=None) -> Supervisor:
    global _supervisor
    if _supervisor is None:
        supervisor = new_supervisor(log_error)
        try:
            supervisor.start()
        except BaseException:
            supervisor.stop()  # what was made of the socket and its directory
            raise
        _supervisor = supervisor
    return _supervisor


def forget_supervisor() -> None:
    if _supervisor is not None:
        _supervisor.forget()


def stop_supervisor() -> None:
    global _supervisor
    if _supervisor is not None:
        _supervisor.stop()
        _supervisor = None


if __name__ == "__main__":
    sys.exit(main())
