"""The dashboard in headless Chromium against the app served over HTTP, with seeded tickets:
login, the charts carry the seeded numbers, filters change them, the oldest tickets link to Slack,
and the page's Content-Security-Policy refuses nothing the page itself needs.

Needs Debian's `chromium` and `chromium-driver` (installed by `make test`).
"""

import math
import shutil
from datetime import timedelta

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from core.tiers import TIERS
from core.timeutil import utcnow
from store.db import transaction
from tests.conftest import API_TOKEN
from tests.seeding import seed_breach, seed_ticket

SCREENSHOT_COPY = "/tmp/earshot-dashboard.png"
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1440,2300",
)  # fmt: skip
SOURCES = ("x", "facebook", "instagram")
AGENTS = ("U0ALICE", "U0BOB", "U0CAROL")
TEXTS = (
    "@acme my card was charged twice and nobody answers the phone",
    "@acme the app logs me out every time I open my bookings",
    "@acme still waiting on the refund you promised last week",
    "@acme your driver never showed up, I missed my flight",
)


def nearest_rank(values, share):
    ordered = sorted(values)
    return ordered[math.ceil(len(ordered) * share) - 1]


@pytest.fixture
def database_url(sqlite_url):
    """One database is enough here: the queries behind the page are tested on both elsewhere."""
    return sqlite_url


@pytest.fixture
def server(live_app):
    return live_app


@pytest.fixture
def browser(tmp_path):
    if not shutil.which("chromium") or not shutil.which("chromedriver"):
        pytest.fail("chromium and chromedriver are required: apt-get install -y chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # CSP refusals are console errors
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=shutil.which("chromedriver")))
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


def seed(database_url):
    """A day of work: answered tickets in every tier and source, some still waiting, some breached."""
    now = utcnow()
    expected = {"open": dict.fromkeys(TIERS, 0), "waits": {tier: [] for tier in TIERS}, "facebook_open": 0,
                "facebook_waiting": 0}  # fmt: skip
    with transaction(database_url) as session:
        for i in range(36):
            urgency, source = TIERS[i % 4], SOURCES[i % 3]
            created = now - timedelta(minutes=20 + 37 * i)
            answered = None if i % 5 == 0 else timedelta(minutes=(3 + 7 * i) % 95 + (i % 4) * 20)
            status = "open" if answered is None else ("resolved" if i % 3 == 0 else "responded")
            ticket = seed_ticket(session, created, urgency=urgency, source=source, status=status,
                                 answered_after=answered, claimed_by=AGENTS[i % 3], text=TEXTS[i % 4],
                                 slack_ts=f"17637{i:05d}.000100", author=f"@customer{i}")  # fmt: skip
            if status != "resolved":
                expected["open"][urgency] += 1
                expected["facebook_open"] += source == "facebook"
            if answered is None:
                expected["facebook_waiting"] += source == "facebook"
                if i % 10 == 0:
                    seed_breach(session, ticket, created + timedelta(minutes=15))
            else:
                expected["waits"][urgency].append(answered.total_seconds())
    return expected


def test_dashboard_in_chromium(server, browser, settings, tmp_path):
    expected = seed(settings.database_url)
    wait = WebDriverWait(browser, 10)
    browser.get(f"{server}/dashboard")
    assert browser.current_url.endswith("/dashboard/login")
    browser.find_element(By.ID, "token").send_keys(API_TOKEN)
    browser.find_element(By.CSS_SELECTOR, "form.login button[type=submit]").click()
    wait.until(lambda d: d.find_elements(By.ID, "kpi-open"))

    bars = {
        bar.get_attribute("data-label"): int(bar.get_attribute("data-total"))
        for bar in browser.find_elements(By.CSS_SELECTOR, "#open-by-urgency g.bar")
    }
    assert bars == expected["open"]
    assert browser.find_element(By.CSS_SELECTOR, "#kpi-open .value").text == str(sum(expected["open"].values()))
    chart = browser.find_element(By.CSS_SELECTOR, "#open-by-urgency svg")
    assert chart.size["width"] > 300 and chart.size["height"] > 100, "the chart did not render"
    for tier in TIERS:
        panel = browser.find_element(By.CSS_SELECTOR, f'#frt-by-urgency svg[data-series="{tier}"]')
        assert int(panel.get_attribute("data-p50")) == round(nearest_rank(expected["waits"][tier], 0.5))
        assert int(panel.get_attribute("data-p90")) == round(nearest_rank(expected["waits"][tier], 0.9))
        assert panel.find_elements(By.CSS_SELECTOR, "polyline.p50"), f"no p50 line for {tier}"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#frt-by-source figure.panel")) == len(SOURCES)

    links = browser.find_elements(By.CSS_SELECTOR, "#oldest-unanswered a.slack")
    assert links, "no link to Slack in the oldest-unanswered list"
    assert links[0].get_attribute("href").startswith("http://127.0.0.1:")
    assert "/archives/C0SUPPORT/p17637" in links[0].get_attribute("href")
    agents = {row.get_attribute("data-agent") for row in browser.find_elements(By.CSS_SELECTOR, "#agents tbody tr")}
    assert agents == set(AGENTS)

    screenshot = tmp_path / "dashboard.png"
    browser.find_element(By.TAG_NAME, "body").screenshot(str(screenshot))
    shutil.copy(screenshot, SCREENSHOT_COPY)

    Select(browser.find_element(By.ID, "filter-source")).select_by_value("facebook")
    wait.until(lambda d: "source=facebook" in d.current_url)
    wait.until(lambda d: d.find_elements(By.ID, "kpi-open"))
    filtered = browser.find_element(By.CSS_SELECTOR, "#kpi-open .value").text
    assert filtered == str(expected["facebook_open"]) != str(sum(expected["open"].values()))
    panels = browser.find_elements(By.CSS_SELECTOR, "#frt-by-source figure.panel")
    assert [p.get_attribute("data-name") for p in panels] == ["facebook"]
    rows = browser.find_elements(By.CSS_SELECTOR, "#oldest-unanswered tbody tr")
    assert len(rows) == min(expected["facebook_waiting"], 10)
    assert all(" facebook" in row.text for row in rows)

    console = [entry["message"] for entry in browser.get_log("browser")]
    refused = [message for message in console if "Content Security Policy" in message]
    assert not refused, f"the dashboard's policy refused part of the page: {refused}"
