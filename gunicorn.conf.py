"""gunicorn settings for the web process (read automatically from the working directory)."""

import os

bind = f"{os.environ.get('BIND_HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
# A webhook request spends most of its time waiting for the shared intake writer's
# commit (service/intake_server.py), holding no CPU: with 16 threads rather than 8
# a worker keeps its core busy meanwhile and the writer gets bigger groups.
# Measured on 2 cores: ingest +8% on PostgreSQL, +3% on SQLite.
threads = int(os.environ.get("WEB_THREADS", "16"))
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = None
errorlog = "-"
loglevel = "warning"


def on_starting(server):
    """Refuse to start on a bad configuration, with one line, before any worker forks."""
    import sys

    from core.config import load_config
    from core.settings import ConfigError, load_settings

    try:
        load_config(load_settings().config_path)
    except ConfigError as error:
        print(f"earshot: {error}", file=sys.stderr)
        sys.exit(2)


def when_ready(server):
    """Start the shared intake writer (service/intake_server.py) before any worker forks,
    so every worker finds its socket in the environment."""
    import os

    from service import intake_server
    from service.intake_server import SOCKET_ENV

    try:
        supervisor = intake_server.start_supervisor(log_error=server.log.error)
    except OSError as error:  # no socket directory, no process: each worker writes for itself instead
        server.log.error(f"intake writer not started ({error}); each web worker commits its own webhooks")
        return
    os.environ[SOCKET_ENV] = supervisor.path


def post_fork(server, worker):
    from service import intake_server

    intake_server.forget_supervisor()


def on_exit(server):
    """After the workers have finished their requests: the writer answers what it holds and stops."""
    from service import intake_server

    intake_server.stop_supervisor()


def post_worker_init(worker):
    """Structured JSON logs, secrets redacted, in every web worker."""
    from core.logs import configure_logging
    from core.settings import load_settings

    configure_logging(load_settings().secrets())


def worker_exit(server, worker):
    """Let an in-process intake writer send the classification requests of the groups
    it has already answered, rather than leave them to reconciliation."""
    from service import intake

    if not intake.settle(timeout=5.0):
        server.log.warning("intake writer still busy at exit; reconciliation will queue what it held")
    intake.close_connections()
