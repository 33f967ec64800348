"""`/dashboard`: the managers' page, server-rendered, refreshing itself; a token login in front.

The numbers come from store.reports, the charts from service.charts; this
module turns a request's filters into one view model and renders it. Its
pages carry a Content-Security-Policy that allows no inline script or style
(the filters' script is static/dashboard.js), and may not be framed.
"""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from core.tiers import TIERS
from core.timeutil import compact_duration, utcnow
from integrations.slack.client import thread_url
from integrations.slack.episodes import delivery_status
from service import auth, charts
from store import reports, responses
from store.agent_load import agent_load
from store.db import read_session, transaction
from tickets import audit
from tickets.assignment import agents_of
from workers import queues

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

REFRESH_SECONDS = 60
OLDEST_SHOWN = 10
URGENCY_COLOURS = {"critical": "#dc2626", "high": "#ea580c", "normal": "#2563eb", "low": "#64748b"}
SOURCE_COLOURS = ("#7c3aed", "#0891b2", "#db2777", "#65a30d", "#ca8a04", "#0f766e")
AGES = (
    (timedelta(minutes=15), "< 15 min", "#86efac"),
    (timedelta(hours=1), "15 min – 1 h", "#fde047"),
    (timedelta(hours=4), "1 – 4 h", "#fb923c"),
    (timedelta(hours=24), "4 – 24 h", "#ef4444"),
    (None, "> 1 day", "#7f1d1d"),
)
# window -> (bucket size, number of buckets, label format)
WINDOWS = {
    "24h": (timedelta(hours=1), 24, "%H:%M"),
    "7d": (timedelta(days=1), 7, "%a %d"),
    "30d": (timedelta(days=1), 30, "%d %b"),
}
FILTERS = ("channel", "source", "brand")
# Its own stylesheet and script only (no inline code or style: an injected tag runs nothing), posts to itself
# only, in nobody's frame; its address, filters included, is not sent as Referer to Slack or any other site.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "
    "object-src 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


@bp.record_once
def _sessions(state) -> None:
    auth.configure_sessions(state.app)


@bp.after_request
def _security_headers(response):
    response.headers.update(SECURITY_HEADERS)
    return response


@bp.app_context_processor
def _csrf():
    return {"csrf_token": auth.csrf_token}


def _age_index(age: timedelta) -> int:
    for index, (limit, _, _) in enumerate(AGES):
        if limit is None or age < limit:
            return index
    return len(AGES) - 1


def _bucket_start(now: datetime, step: timedelta, count: int) -> datetime:
    """Buckets aligned to whole hours or days (UTC), the last one holding `now`."""
    seconds = step.total_seconds()
    floor = datetime.fromtimestamp(now.timestamp() // seconds * seconds, UTC)
    return floor - (count - 1) * step


def _open_chart(session, filters, now):
    matrix = {tier: [0] * len(AGES) for tier in TIERS}
    for urgency, created in reports.open_ages(session, filters):
        if urgency in matrix:
            matrix[urgency][_age_index(now - created)] += 1
    rows = [(tier, URGENCY_COLOURS[tier], matrix[tier]) for tier in TIERS]
    chart = charts.stacked_bars(rows, [(label, colour) for _, label, colour in AGES])
    return chart, sum(map(sum, matrix.values()))


def _breaches(session, filters, now):
    times = reports.breach_times(session, now - timedelta(days=7), filters)
    start = _bucket_start(now, timedelta(days=1), 7)
    per_day = [0] * 7
    for at in times:
        index = (at - start) // timedelta(days=1)
        if 0 <= index < 7:
            per_day[index] += 1
    days = [((start + timedelta(days=i)).strftime("%a %d"), count) for i, count in enumerate(per_day)]
    return {
        "now": reports.in_breach_now(session, filters),
        "day": sum(1 for at in times if at >= now - timedelta(hours=24)),
        "week": len(times),
        "chart": charts.columns(days),
    }


def _response_panels(rows, window: str, now, config):
    step, count, label_format = WINDOWS[window]
    start = _bucket_start(now, step, count)
    labels = [(start + i * step).strftime(label_format) for i in range(count)]
    by_urgency, by_source = reports.summarize(rows, "urgency"), reports.summarize(rows, "source")
    urgency_series, source_series = reports.series(rows, "urgency", start, step, count), reports.series(
        rows, "source", start, step, count
    )
    empty = [{"start": None, "p50": None, "p90": None, "n": 0}] * count

    def panel(name, colour, stats, buckets, target):
        chart = charts.response_panel(
            name, colour, buckets, labels, target, stats["first_response_p50_seconds"],
            stats["first_response_p90_seconds"],
        )  # fmt: skip
        return {"name": name, "colour": colour, "stats": stats, "chart": chart, "target": target}

    policies = config.sla.policies
    urgency_panels = [
        panel(tier, URGENCY_COLOURS[tier], by_urgency[tier], urgency_series.get(tier, empty),
              policies[tier].first_response.total_seconds())
        for tier in TIERS
    ]  # fmt: skip
    source_panels = [
        panel(source, SOURCE_COLOURS[i % len(SOURCE_COLOURS)], by_source[source],
              source_series.get(source, empty), None)
        for i, source in enumerate(sorted(by_source))
    ]
    return urgency_panels, source_panels, reports.stats(rows)


def _oldest(session, filters, now, settings):
    items = []
    for ticket in reports.oldest_unanswered(session, OLDEST_SHOWN, filters):
        waiting_since = ticket.created_at if ticket.first_response_met_at is None else ticket.next_response_started_at
        inbound = [m for m in ticket.mentions if m.direction == "inbound"]
        text = inbound[-1].text if inbound else ""
        items.append({
            "ticket": ticket,
            "waited": compact_duration((now - waiting_since).total_seconds()),
            "excerpt": text if len(text) <= 140 else text[:139] + "…",
            "slack_url": thread_url(settings, ticket.slack_channel_id, ticket.slack_ts) if ticket.slack_ts else None,
            "overdue": ticket.first_response_breached or ticket.next_response_breached,
        })  # fmt: skip
    return items


def _redis(settings):
    return queues.connection(settings.redis_url)


def _selected() -> tuple[dict[str, str], str]:
    chosen = {name: request.args.get(name, "").strip() for name in FILTERS}
    if any("\x00" in value for value in chosen.values()):  # PostgreSQL refuses NUL in text
        abort(400, description="a filter contains a NUL character")
    window = request.args.get("window", "24h")
    if window not in WINDOWS:
        abort(400, description=f"window must be one of {', '.join(WINDOWS)}")
    return chosen, window


@bp.get("")
def page():
    if not auth.logged_in():
        return redirect(url_for("dashboard.login"))
    chosen, window = _selected()
    filters = reports.TicketFilter(**{name: (value,) for name, value in chosen.items() if value})
    settings, config = current_app.config["SETTINGS"], current_app.config["EARSHOT"]
    now = utcnow()
    step, count, _ = WINDOWS[window]
    with read_session(settings.database_url) as session:
        open_chart, open_total = _open_chart(session, filters, now)
        since = _bucket_start(now, step, count)
        rows = reports.cohort(session, since, filters)
        urgency_panels, source_panels, overall = _response_panels(rows, window, now, config)
        view = {
            "now": now,
            "window": window,
            "windows": list(WINDOWS),
            "chosen": chosen,
            "choices": reports.filter_choices(session),
            "open_chart": open_chart,
            "open_total": open_total,
            "breaches": _breaches(session, filters, now),
            "urgency_panels": urgency_panels,
            "source_panels": source_panels,
            "overall": overall,
            "first_responses": responses.first_responses(session, replace(filters, since=since)),
            "oldest": _oldest(session, filters, now, settings),
            "slack": delivery_status(session, _redis(settings), now),
            "agents": reports.agent_counts(session, now - count * step, filters),
            "load": agent_load(session, agents_of(config), now - count * step),  # the same as GET /api/v1/agents
            "ages": AGES,
            "refresh": REFRESH_SECONDS,
            "duration": compact_duration,
        }
        return render_template("dashboard.html", **view)


@bp.get("/login")
def login():
    if auth.logged_in():
        return redirect(url_for("dashboard.page"))
    return render_template("login.html", error=None)


@bp.post("/login")
def login_submit():
    auth.check_csrf()
    token = request.form.get("token", "").strip()
    success = auth.log_in(token)
    # Audited under the token's name (never the token); a refused login has no name to give.
    with transaction(current_app.config["SETTINGS"].database_url) as session:
        audit.record_login(session, auth.token_name(token) if success else None, utcnow(), success)
    if success:
        return redirect(url_for("dashboard.page"))
    return render_template("login.html", error="That token is not valid."), 401


@bp.post("/logout")
def logout():
    auth.check_csrf()
    auth.log_out()
    return redirect(url_for("dashboard.login"))
