"""`/api/v1`: tickets, SLA breaches (JSON or CSV) and the SLA summary, behind bearer tokens.

Every parameter is checked here and a bad one is a 400 naming it; the
queries live in store.reports and the ticket's shape in tickets.serialize.
"""

import base64
import binascii
import csv
import io
import json
from datetime import datetime, timedelta

from flask import Blueprint, Response, current_app, jsonify, request

from core.config import TIERS
from core.timeutil import iso, parse_duration, parse_instant, utcnow
from integrations.slack.client import thread_url
from service import jsonbody
from service.auth import api_actor, bearer_refusal
from service.errors import ApiError
from store import reports
from store.db import read_session, session_for
from store.schema import Incident
from tickets import audit, authors, erasure, incidents
from tickets.serialize import ticket_json

bp = Blueprint("api", __name__, url_prefix="/api/v1")

STATUSES = ("open", "claimed", "responded", "resolved")
MAX_LIMIT = 200
DEFAULT_LIMIT = 50
DEFAULT_BREACH_WINDOW = timedelta(days=7)
MAX_WINDOW = timedelta(days=90)
MAX_ID = 2**63 - 1
CSV_COLUMNS = (
    "breached_at", "ticket_id", "clock", "deadline_at", "urgency", "source", "brand", "channel", "status",
    "claimed_by", "slack_url",
)  # fmt: skip


def _bad(name: str, reason: str) -> ApiError:
    return ApiError(400, f"{name}: {reason}", parameter=name)


def _list(name: str, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """A repeatable, comma-separated parameter: `?urgency=critical,high` or `?urgency=critical&urgency=high`."""
    values = tuple(v.strip() for raw in request.args.getlist(name) for v in raw.split(",") if v.strip())
    if allowed is not None:
        unknown = sorted(set(values) - set(allowed))
        if unknown:
            raise _bad(name, f"unknown value(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")
    return values


def _instant(name: str) -> datetime | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        return parse_instant(raw)
    except (ValueError, OverflowError):
        raise _bad(name, f"{raw!r} is not an ISO 8601 time like 2026-11-21T14:03:00Z") from None


def _boolean(name: str) -> bool | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if raw.lower() not in ("true", "false"):
        raise _bad(name, "must be true or false")
    return raw.lower() == "true"


def _limit(default: int = DEFAULT_LIMIT) -> int:
    raw = request.args.get("limit")
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise _bad("limit", f"must be an integer from 1 to {MAX_LIMIT}")
    return int(raw)


def _filters(**extra) -> reports.TicketFilter:
    return reports.TicketFilter(
        urgency=_list("urgency", TIERS), channel=_list("channel"), source=_list("source"), brand=_list("brand"),
        **extra,
    )  # fmt: skip


def encode_cursor(at: datetime, row_id: int) -> str:
    # Microseconds matter: two rows a microsecond apart must not share a page boundary.
    raw = json.dumps([at.isoformat(), row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor() -> tuple[datetime, int] | None:
    raw = request.args.get("cursor")
    if not raw:
        return None
    try:
        at, row_id = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        if type(row_id) is not int or not 0 <= row_id <= MAX_ID or not isinstance(at, str):
            raise ValueError
        return parse_instant(at), row_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, OverflowError):
        raise _bad("cursor", "not a cursor this API gave out; start again without it") from None


def _page(rows: list, limit: int, key) -> tuple[list, str | None]:
    """One row more than the page was fetched, so the last page has no dangling cursor."""
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(*key(rows[-1]))


@bp.before_request
def _guard():
    refusal = bearer_refusal()
    if refusal is not None:
        return refusal
    # PostgreSQL refuses NUL in text parameters; refuse it here as a bad parameter, not a failed query.
    for name, value in request.args.items(multi=True):
        if "\x00" in value:
            raise _bad(name, "contains a NUL character")
    return None


def _reading():
    return read_session(current_app.config["SETTINGS"].database_url)


@bp.get("/tickets")
def list_tickets():
    filters = _filters(status=_list("status", STATUSES), breached=_boolean("breached"), since=_instant("since"))
    limit, after = _limit(), _cursor()
    with _reading() as session:
        rows = reports.ticket_page(session, filters, after, limit + 1)
        rows, next_cursor = _page(rows, limit, lambda ticket: (ticket.created_at, ticket.id))
        return jsonify(tickets=[ticket_json(ticket) for ticket in rows], next_cursor=next_cursor)


@bp.get("/audit")
def audit_log():
    """Who did what, newest first: every ticket event, dashboard logins, erasures on request (tickets.audit)."""
    limit, after = _limit(), _cursor()
    with _reading() as session:
        rows = audit.page(session, after, limit + 1)
        rows, next_cursor = _page(rows, limit, lambda row: (row[0], row[1]))
        return jsonify(events=[entry for _, _, entry in rows], next_cursor=next_cursor)


@bp.get("/tickets/<ticket_id>")
def get_ticket(ticket_id: str):
    if not (ticket_id.isascii() and ticket_id.isdigit()):
        raise _bad("id", "a ticket id is a number")
    with _reading() as session:
        ticket = reports.ticket_detail(session, int(ticket_id)) if int(ticket_id) <= MAX_ID else None
        if ticket is None:
            raise ApiError(404, f"no ticket {ticket_id}")
        return jsonify(ticket_json(ticket))


def _breach_json(alert, ticket, settings) -> dict:
    link = thread_url(settings, ticket.slack_channel_id, ticket.slack_ts) if ticket.slack_ts else None
    return {
        "ticket_id": str(ticket.id),
        "clock": alert.clock,
        "deadline_at": iso(alert.deadline_at),
        "breached_at": iso(alert.at),
        "urgency": ticket.urgency,
        "source": ticket.source,
        "brand": ticket.brand,
        "channel": ticket.channel,
        "status": ticket.status,
        "claimed_by": ticket.claimed_by,
        "slack": {"channel": ticket.slack_channel_id, "ts": ticket.slack_ts, "url": link},
    }


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
PADDING = "".join(map(chr, range(33))) + "\x7f\xa0\u3000"  # spaces and control characters a spreadsheet skips


def _csv_cell(value) -> str:
    """The value as a spreadsheet shows it as text, never runs it (OWASP's CSV injection guidance).

    A cell starting with = + - @, TAB, CR or LF can run as a formula; so can one that starts with spaces or
    other control characters before those, which spreadsheets skip. Such a cell gets a leading `'`.
    Customer-set values (the brand, the source) reach this file.
    """
    text = "" if value is None else str(value)
    formula = text.startswith(FORMULA_STARTS) or text.lstrip(PADDING).startswith(FORMULA_STARTS)
    return "'" + text if formula else text


def _breaches_csv(items: list[dict]) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for item in items:
        flat = {**item, "slack_url": item["slack"]["url"]}
        writer.writerow([_csv_cell(flat[column]) for column in CSV_COLUMNS])
    filename = f"earshot-breaches-{utcnow():%Y%m%dT%H%M%SZ}.csv"
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _breaches(as_csv: bool):
    since = _instant("since") or utcnow() - DEFAULT_BREACH_WINDOW
    filters = _filters()
    settings = current_app.config["SETTINGS"]
    with _reading() as session:
        if as_csv:  # the export is everything since `since`, not one page
            rows = reports.breach_page(session, since, None, None, filters)
            return _breaches_csv([_breach_json(alert, ticket, settings) for alert, ticket in rows])
        limit, after = _limit(), _cursor()
        rows = reports.breach_page(session, since, after, limit + 1, filters)
        rows, next_cursor = _page(rows, limit, lambda row: (row[0].at, row[0].id))
        return jsonify(
            since=iso(since),
            breaches=[_breach_json(alert, ticket, settings) for alert, ticket in rows],
            next_cursor=next_cursor,
        )


@bp.get("/sla/breaches")
def breaches():
    wanted = request.args.get("format", "json")
    if wanted not in ("json", "csv"):
        raise _bad("format", "must be json or csv")
    return _breaches(wanted == "csv")


@bp.get("/sla/breaches.csv")
def breaches_csv():
    return _breaches(True)


def window_parameter(raw: str) -> timedelta:
    try:
        window = parse_duration(raw)
    except (ValueError, OverflowError) as error:
        raise _bad("window", str(error)) from None
    if window > MAX_WINDOW:
        raise _bad("window", "at most 90d")
    return window


@bp.get("/sla/summary")
def summary():
    raw = request.args.get("window", "24h")
    window = window_parameter(raw)
    filters = _filters()
    until = utcnow()
    with _reading() as session:
        rows = reports.cohort(session, until - window, filters)
    return jsonify(
        window=raw,
        since=iso(until - window),
        until=iso(until),
        overall=reports.stats(rows),
        by_urgency=reports.summarize(rows, "urgency"),
        by_source=reports.summarize(rows, "source"),
    )


@bp.post("/incidents/<incident_id>/resolve")
def resolve_incident(incident_id: str):
    """One public answer recorded on every member ticket of the incident, which is resolved with them."""
    if not (incident_id.isascii() and incident_id.isdigit()) or int(incident_id) > MAX_ID:
        raise _bad("id", "an incident id is a number")
    body = jsonbody.load(request.get_data(cache=True)) if request.is_json else None
    answer = body.get("answer") if isinstance(body, dict) else None
    if not isinstance(answer, str) or not answer.strip() or len(answer) > 10_000:
        raise ApiError(400, "answer: a JSON body {\"answer\": \"...\"} with the text sent to customers", field="answer")
    with session_for(current_app.config["SETTINGS"].database_url) as session:
        incident = session.get(Incident, int(incident_id), with_for_update=True)
        if incident is None:
            raise ApiError(404, f"no incident {incident_id}")
        if incident.status == "resolved":
            raise ApiError(409, f"incident {incident_id} is already resolved")
        answered = incidents.resolve(session, incident, answer.strip(), api_actor(), utcnow(),
                                     current_app.config["EARSHOT"])  # fmt: skip
        session.commit()
        return jsonify(id=str(incident.id), status=incident.status, answered_tickets=answered)


@bp.delete("/customers/<source>/<path:author_id>")
def erase_customer(source: str, author_id: str):
    """Erase every mention of a customer and of their linked handles (tickets.erasure); 202 with counts.
    Running it again erases nothing more and answers zeros."""
    handle = authors.parse_handle(f"{source}:{author_id}")
    if handle is None or any(ord(c) < 32 for c in source + author_id):
        raise _bad("author_id", "a source (at most 32 characters) and an author id (at most 255)")
    with session_for(current_app.config["SETTINGS"].database_url) as session:
        erased = erasure.erase_customer(session, handle, api_actor(), utcnow())
        session.commit()
    return jsonify(mentions=erased.mentions, tickets=erased.tickets), 202
