"""/dashboard over the test client: the login, its cookie and CSRF checks, and the numbers it shows."""

import re
from datetime import timedelta

from core.timeutil import utcnow
from store.db import transaction
from tests.conftest import API_TOKEN, make_settings
from tests.seeding import seed_breach, seed_ticket

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(client, path="/dashboard/login") -> str:
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


def log_in(client):
    response = client.post("/dashboard/login", data={"csrf_token": csrf(client), "token": API_TOKEN})
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard")
    return response


def test_login_sets_a_safe_cookie_and_logout_needs_csrf(client):
    assert client.get("/dashboard").headers["Location"].endswith("/dashboard/login")
    assert client.post("/dashboard/login", data={"token": API_TOKEN}).status_code == 400  # no CSRF token
    wrong = client.post("/dashboard/login", data={"csrf_token": csrf(client), "token": "nope-nope-nope-nope"})
    assert wrong.status_code == 401 and "not valid" in wrong.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302
    cookie = log_in(client).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert API_TOKEN not in cookie
    page = client.get("/dashboard")
    assert page.status_code == 200 and 'http-equiv="refresh"' in page.get_data(as_text=True)
    assert client.post("/dashboard/logout", data={"csrf_token": "forged"}).status_code == 400
    assert client.get("/dashboard").status_code == 200
    token = CSRF.search(page.get_data(as_text=True)).group(1)
    assert client.post("/dashboard/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/dashboard").status_code == 302


def test_cookie_is_secure_when_configured(database_url, redis_url, app_config):
    from service import create_app

    client = create_app(make_settings(database_url, redis_url, secure_cookies=True), app_config).test_client()
    assert "Secure" in log_in(client).headers["Set-Cookie"]


def test_rotating_the_tokens_ends_the_session(database_url, redis_url, app_config):
    from service import create_app

    client = create_app(make_settings(database_url, redis_url), app_config).test_client()
    log_in(client)
    rotated = create_app(make_settings(database_url, redis_url, api_tokens=("another-token-0123456789",)), app_config)
    cookie = client.get_cookie("earshot_session")
    other = rotated.test_client()
    other.set_cookie("earshot_session", cookie.value)
    assert other.get("/dashboard").status_code == 302


def _numbers(html: str, attribute: str) -> dict[str, str]:
    return dict(re.findall(rf'data-label="([^"]+)" data-{attribute}="(\d+)"', html))


def test_page_shows_the_seeded_numbers_and_filters_change_them(client, settings):
    now = utcnow()
    with transaction(settings.database_url) as session:
        for minutes in (5, 50, 200):
            seed_ticket(session, now - timedelta(minutes=minutes), urgency="critical", source="x", slack_ts="1.5")
        late = seed_ticket(session, now - timedelta(hours=30), urgency="high", source="facebook", brand="globex",
                           claimed_by="U0AGENT")  # fmt: skip
        seed_breach(session, late, now - timedelta(hours=2))
        seed_breach(session, late, now - timedelta(days=3), clock="resolution")
        seed_ticket(session, now - timedelta(hours=1), urgency="low", answered_after=timedelta(minutes=6),
                    claimed_by="U0AGENT", status="responded")  # fmt: skip
    log_in(client)
    html = client.get("/dashboard").get_data(as_text=True)
    assert _numbers(html, "total") == {"critical": "3", "high": "1", "normal": "0", "low": "1"}
    assert re.search(r'id="kpi-open"><div class="value">5<', html)
    assert re.search(r'id="kpi-breached-now"><div class="value">1<', html)
    assert re.search(r'id="kpi-breaches-24h"><div class="value">1<', html)
    assert re.search(r'id="kpi-breaches-7d"><div class="value">2<', html)
    assert re.search(r'data-agent="U0AGENT"><td>U0AGENT</td><td class="num claimed">1</td>'
                     r'<td class="num responded">1</td><td class="num breached bad">1</td>', html)  # fmt: skip
    assert 'data-series="low" data-p50="360"' in html
    assert html.count("/archives/C0SUPPORT/p15") == 3  # the critical ones link to their Slack threads
    only_facebook = client.get("/dashboard?source=facebook&window=7d").get_data(as_text=True)
    assert _numbers(only_facebook, "total") == {"critical": "0", "high": "1", "normal": "0", "low": "0"}
    assert re.search(r'id="kpi-breaches-7d"><div class="value">2<', only_facebook)
    globex = client.get("/dashboard?brand=globex").get_data(as_text=True)
    assert re.search(r'id="kpi-open"><div class="value">1<', globex)
    assert client.get("/dashboard?window=1y").status_code == 400
    assert client.get("/dashboard?channel=%00").status_code == 400


def test_only_the_dashboard_reads_or_sets_the_session_cookie(client):
    log_in(client)
    assert client.get("/dashboard").status_code == 200
    for path in ("/api/v1/sla/summary", "/healthz", "/openapi.json"):  # the cookie is ignored: no session here
        response = client.get(path)
        assert "Set-Cookie" not in response.headers, path
    assert client.get("/api/v1/sla/summary").status_code == 401  # the API wants its bearer token, not the login
