"""`/api/v1`: tickets, SLA breaches (JSON or CSV) and the SLA summary, behind bearer tokens;
replies to customers and incident answers.

Every parameter is checked (service.api_params) and a bad one is a 400 naming it; the
queries live in store.pages, store.reports and store.responses, the ticket's shape in
tickets.serialize. A ticket list embeds each ticket's replies, read in one query per page.
"""

import csv
import io
from dataclasses import replace
from datetime import timedelta

from flask import Blueprint, Response, current_app, jsonify, request

from core.timeutil import iso, utcnow
from integrations.platforms import replies as platform_replies
from integrations.slack.client import thread_url
from service import api_params as params
from service import jsonbody
from service.auth import api_actor, bearer_refusal
from service.errors import ApiError
from store import pages, reports, responses
from store.db import read_session, session_for
from store.schema import Incident, Ticket
from tickets import audit, authors, erasure, incidents, replies
from tickets.serialize import reply_json, ticket_json

bp = Blueprint("api", __name__, url_prefix="/api/v1")

STATUSES = ("open", "claimed", "responded", "resolved")
DEFAULT_BREACH_WINDOW = timedelta(days=7)
CSV_COLUMNS = (
    "breached_at", "ticket_id", "clock", "deadline_at", "urgency", "source", "brand", "channel", "status",
    "claimed_by", "slack_url",
)  # fmt: skip


@bp.before_request
def _guard():
    refusal = bearer_refusal()
    if refusal is not None:
        return refusal
    # PostgreSQL refuses NUL in text parameters; refuse it here as a bad parameter, not a failed query.
    for name, value in request.args.items(multi=True):
        if "\x00" in value:
            raise params.bad(name, "contains a NUL character")
    return None


def _reading():
    return read_session(current_app.config["SETTINGS"].database_url)


@bp.get("/tickets")
def list_tickets():
    filters = params.filters(
        status=params.values("status", STATUSES), breached=params.boolean("breached"), since=params.instant("since")
    )
    limit, after = params.limit(), params.cursor()
    with _reading() as session:
        rows = pages.ticket_page(session, filters, after, limit + 1)
        rows, next_cursor = params.page(rows, limit, lambda ticket: (ticket.created_at, ticket.id))
        answers = responses.replies_by_ticket(session, [ticket.id for ticket in rows])
        return jsonify(tickets=[ticket_json(ticket, answers.get(ticket.id, ())) for ticket in rows],
                       next_cursor=next_cursor)  # fmt: skip


@bp.get("/audit")
def audit_log():
    """Who did what, newest first: every ticket event, dashboard logins, erasures on request (tickets.audit)."""
    limit, after = params.limit(), params.cursor()
    with _reading() as session:
        rows = audit.page(session, after, limit + 1)
        rows, next_cursor = params.page(rows, limit, lambda row: (row[0], row[1]))
        return jsonify(events=[entry for _, _, entry in rows], next_cursor=next_cursor)


@bp.get("/tickets/<ticket_id>")
def get_ticket(ticket_id: str):
    if not (ticket_id.isascii() and ticket_id.isdigit()):
        raise params.bad("id", "a ticket id is a number")
    with _reading() as session:
        ticket = pages.ticket_detail(session, int(ticket_id)) if int(ticket_id) <= params.MAX_ID else None
        if ticket is None:
            raise ApiError(404, f"no ticket {ticket_id}")
        return jsonify(ticket_json(ticket, responses.replies_by_ticket(session, [ticket.id]).get(ticket.id, ())))


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
    since = params.instant("since") or utcnow() - DEFAULT_BREACH_WINDOW
    filters = params.filters()
    settings = current_app.config["SETTINGS"]
    with _reading() as session:
        if as_csv:  # the export is everything since `since`, not one page
            rows = pages.breach_page(session, since, None, None, filters)
            return _breaches_csv([_breach_json(alert, ticket, settings) for alert, ticket in rows])
        limit, after = params.limit(), params.cursor()
        rows = pages.breach_page(session, since, after, limit + 1, filters)
        rows, next_cursor = params.page(rows, limit, lambda row: (row[0].at, row[0].id))
        return jsonify(
            since=iso(since),
            breaches=[_breach_json(alert, ticket, settings) for alert, ticket in rows],
            next_cursor=next_cursor,
        )


@bp.get("/sla/breaches")
def breaches():
    wanted = request.args.get("format", "json")
    if wanted not in ("json", "csv"):
        raise params.bad("format", "must be json or csv")
    return _breaches(wanted == "csv")


@bp.get("/sla/breaches.csv")
def breaches_csv():
    return _breaches(True)


@bp.get("/sla/summary")
def summary():
    raw = request.args.get("window", "24h")
    window = params.window(raw)
    filters = params.filters()
    until = utcnow()
    with _reading() as session:
        rows = reports.cohort(session, until - window, filters)
        # The same tickets: verified + marked is at most overall.responded.
        met = responses.first_responses(session, replace(filters, since=until - window))
    return jsonify(
        window=raw,
        since=iso(until - window),
        until=iso(until),
        overall=reports.stats(rows),
        by_urgency=reports.summarize(rows, "urgency"),
        by_source=reports.summarize(rows, "source"),
        first_responses=met,
    )


@bp.post("/incidents/<incident_id>/resolve")
def resolve_incident(incident_id: str):
    """One public answer recorded on every member ticket of the incident, which is resolved with them."""
    if not (incident_id.isascii() and incident_id.isdigit()) or int(incident_id) > params.MAX_ID:
        raise params.bad("id", "an incident id is a number")
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
        raise params.bad("author_id", "a source (at most 32 characters) and an author id (at most 255)")
    with session_for(current_app.config["SETTINGS"].database_url) as session:
        erased = erasure.erase_customer(session, handle, api_actor(), utcnow())
        session.commit()
    return jsonify(mentions=erased.mentions, tickets=erased.tickets), 202


def _reply_body() -> tuple[str, bool]:
    body = jsonbody.load(request.get_data(cache=True)) if request.is_json else None
    if not isinstance(body, dict) or not isinstance(body.get("text"), str):
        raise ApiError(400, 'text: a JSON body {"text": "..."} with the reply to post', field="text")
    resolve = body.get("resolve", False)
    if not isinstance(resolve, bool):
        raise ApiError(400, "resolve: true or false", field="resolve")
    return body["text"], resolve


@bp.post("/tickets/<ticket_id>/replies")
def reply(ticket_id: str):
    """Queue the brand's public reply to the ticket's latest customer post (tickets.replies); a worker
    posts it once. 202 with the reply; the ticket's `replies` show it until it is sent or failed."""
    if not (ticket_id.isascii() and ticket_id.isdigit()) or int(ticket_id) > params.MAX_ID:
        raise params.bad("id", "a ticket id is a number")
    text, resolve = _reply_body()
    with session_for(current_app.config["SETTINGS"].database_url) as session:
        ticket = session.get(Ticket, int(ticket_id), with_for_update=True)
        if ticket is None:
            raise ApiError(404, f"no ticket {ticket_id}")
        try:
            queued = replies.queue_reply(session, ticket, text, api_actor(), utcnow(), resolve_after=resolve)
        except replies.ReplyRefused as error:
            raise ApiError(409, str(error)) from None
        # Checked on the post answered (its platform counts and limits the text); leaving without a
        # commit forgets the queued reply.
        problem = platform_replies.validate(queued.source, text)
        if problem:
            raise ApiError(400, f"text: {problem}", field="text")
        unreachable = platform_replies.refusal(queued.source, current_app.config["REPLIES"])
        if unreachable:
            raise ApiError(422, unreachable)
        session.commit()
        return jsonify(reply_json(queued)), 202
