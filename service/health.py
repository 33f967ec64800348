"""`/healthz`: 200 when the database and Redis answer, 503 naming what does not."""

from flask import Blueprint, current_app, jsonify
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from store.db import get_engine
from workers import queues

bp = Blueprint("health", __name__)


def _database_ok(url: str) -> bool:
    try:
        with get_engine(url).connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError:
        return False


def _redis_ok(url: str | None) -> bool:
    try:
        return bool(queues.connection(url).ping())
    except RedisError:
        return False


@bp.get("/healthz")
def healthz():
    settings = current_app.config["SETTINGS"]
    parts = {
        "db": "ok" if _database_ok(settings.database_url) else "unavailable",
        "redis": "ok" if _redis_ok(settings.redis_url) else "unavailable",
    }
    healthy = all(value == "ok" for value in parts.values())
    return jsonify(status="ok" if healthy else "degraded", **parts), 200 if healthy else 503
