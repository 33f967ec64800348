"""`GET /api/v1/agents`: each agent's load for managers (store.agent_load), behind the API's bearer
tokens like the rest of `/api/v1`."""

from flask import Blueprint, current_app, jsonify, request

from core.timeutil import iso, utcnow
from service import api_params as params
from service.api import _guard
from store.agent_load import agent_load
from store.db import read_session
from tickets.assignment import agents_of

bp = Blueprint("api_agents", __name__, url_prefix="/api/v1")
bp.before_request(_guard)


def agent_json(row) -> dict:
    return {
        "id": row.agent,
        "away": row.away,
        "away_since": iso(row.away_since) if row.away_since else None,
        "open_tickets": row.open_tickets,
        "assigned": row.assigned,
        "first_response": {"met": row.first_response_met, "breached": row.first_response_breached,
                           "met_rate": row.met_rate},  # fmt: skip
    }


@bp.get("/agents")
def agents():
    raw = request.args.get("window", "24h")
    window = params.window(raw)
    until = utcnow()
    with read_session(current_app.config["SETTINGS"].database_url) as session:
        rows = agent_load(session, agents_of(current_app.config["EARSHOT"]), until - window)
    return jsonify(window=raw, since=iso(until - window), until=iso(until), agents=[agent_json(row) for row in rows])
