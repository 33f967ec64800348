"""`/healthz`: 200 when the database and Redis answer and classification keeps
up; 503 naming what does not.

`classification` is "stalled" when a mention has waited longer than
STALLED_AFTER without being processed: a stuck or missing model worker.
Load balancers that should only judge the web process itself probe
`/healthz?scope=web`, which leaves classification out. Under gunicorn,
`intake` says whether the shared intake writer answers: without it no webhook
can be accepted.

`slack` is "failing" when a Slack message has failed for over a minute or
Slack refuses a channel (integrations.slack.episodes); it is reported but does
not make /healthz answer 503: Slack is an outside service, restarting Earshot
does not fix it, and Earshot keeps every message meanwhile. Alert on the field.
"""

from datetime import timedelta

from flask import Blueprint, current_app, jsonify, request
from redis.exceptions import RedisError
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from core.timeutil import utcnow
from integrations.slack.episodes import delivery_status
from service import intake
from store.db import get_engine, read_session
from store.schema import Mention
from workers import queues

bp = Blueprint("health", __name__)
STALLED_AFTER = timedelta(minutes=5)


def _oldest_unprocessed(url: str):
    """(database answers, received time of the oldest unprocessed mention or None)."""
    try:
        with get_engine(url).connect() as connection:
            oldest = connection.execute(
                select(func.min(Mention.received_at)).where(Mention.processed_at.is_(None))
            ).scalar()
        return True, oldest
    except SQLAlchemyError:
        return False, None


def _slack(settings) -> dict:
    """Slack delivery, reported beside the parts (it never turns /healthz red)."""
    try:
        with read_session(settings.database_url) as session:
            return delivery_status(session, queues.connection(settings.redis_url), utcnow()).as_health()
    except SQLAlchemyError:
        return {"slack": "unknown"}


def _redis_ok(url: str | None) -> bool:
    try:
        return bool(queues.connection(url).ping())
    except RedisError:
        return False


@bp.get("/healthz")
def healthz():
    settings = current_app.config["SETTINGS"]
    database_ok, oldest = _oldest_unprocessed(settings.database_url)
    parts = {
        "db": "ok" if database_ok else "unavailable",
        "redis": "ok" if _redis_ok(settings.redis_url) else "unavailable",
    }
    if (intake_status := intake.shared_writer_status()) is not None:
        parts["intake"] = intake_status
    extra = {}
    if request.args.get("scope") != "web" and database_ok:
        waited = utcnow() - oldest if oldest else timedelta(0)
        parts["classification"] = "stalled" if waited > STALLED_AFTER else "ok"
        extra["oldest_unprocessed_seconds"] = round(waited.total_seconds(), 1)
        extra.update(_slack(settings))
    healthy = all(value == "ok" for value in parts.values())
    return jsonify(status="ok" if healthy else "degraded", **parts, **extra), 200 if healthy else 503
