"""gunicorn settings for the web process (read automatically from the working directory)."""

import os

bind = f"{os.environ.get('BIND_HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
# Requests mostly wait on the shared commit (store/group_commit.py); more threads
# in flight make bigger commit groups, which is what makes ingest cheap.
threads = int(os.environ.get("WEB_THREADS", "8"))
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


def post_worker_init(worker):
    """Structured JSON logs, secrets redacted, in every web worker."""
    from core.logs import configure_logging
    from core.settings import load_settings

    configure_logging(load_settings().secrets())


def worker_exit(server, worker):
    """Let the intake writer send the classification requests of the groups it has
    already answered, rather than leave them to reconciliation."""
    from service import intake

    if not intake.settle(timeout=5.0):
        server.log.warning("intake writer still busy at exit; reconciliation will queue what it held")
