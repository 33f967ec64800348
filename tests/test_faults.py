"""The short fault-injection run (tools/faults.py --short) inside make test:
gunicorn, private Redis and PostgreSQL, real worker processes and the Slack
and X stand-ins, through SIGKILL/SIGTERM of the model worker, Redis restart and
flush, PostgreSQL restart, Slack 429/500, a 30 s Slack outage, and X answering
replies with 429, 500 before and after posting, and too slowly. The reply check
itself is shown to catch a doubled, lost, stray or misrecorded reply."""

import glob
import os
import re
import shutil
import subprocess
import sys
from collections import Counter

import pytest
from sqlalchemy import delete

from core.timeutil import utcnow
from store.db import transaction
from store.schema import Reply
from tests.seeding import seed_ticket
from tools.faults import SHORT
from tools.faults_replies import XStandin, check

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MISSING = [name for name in ("redis-server", "runuser") if shutil.which(name) is None]
if not glob.glob("/usr/lib/postgresql/*/bin/initdb") and not shutil.which("initdb"):
    MISSING.append("initdb")


def _count(output: str, name: str) -> int:
    match = re.search(rf"^  {re.escape(name)}: (\d+)$", output, re.MULTILINE)
    assert match, f"{name!r} not printed"
    return int(match.group(1))


@pytest.mark.slow
def test_short_fault_run_loses_nothing_and_doubles_nothing():
    assert not MISSING, f"not installed: {', '.join(MISSING)} (the machines CI runs on have them)"
    done = subprocess.run([sys.executable, "-m", "tools.faults", "--short"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    output = done.stdout + done.stderr[-3000:]
    assert done.returncode == 0, output
    accepted = _count(output, "mentions accepted (2xx)")
    assert accepted == SHORT.mentions and _count(output, "accepted and stored") == accepted, output
    assert _count(output, "unprocessed mentions") == 0, output
    tickets = _count(output, "tickets")
    assert tickets > 0 and _count(output, "tickets with exactly one Slack parent") == tickets, output
    breaches = _count(output, "SLA breaches recorded")
    assert breaches > 0, "the short policy produced breaches to check"
    assert _count(output, "breaches announced once in the escalation channel") == breaches, output
    assert "SIGKILL model worker mid-batch" in output and "Slack back" in output, output
    replies = _count(output, "replies queued")
    assert replies > 0 and _count(output, "replies answered 202 by the API") == replies, output
    assert _count(output, "replies posted exactly once") == replies == _count(output, "X stand-in posts"), output
    assert _count(output, "replies left queued or unknown") == 0, output
    assert _count(output, "X faults no request met") == 0, output


def _reply(session, ticket_id: int, tweet: str, status: str = "sent", external_id: str | None = None) -> None:
    session.add(Reply(ticket_id=ticket_id, source="x", in_reply_to=tweet, text=f"answer to {tweet}", actor="U1",
                      status=status, idempotency_key=f"key-{tweet}", external_id=external_id))  # fmt: skip


def test_the_reply_check_finds_doubled_lost_stray_and_misrecorded_replies(database_url):
    with transaction(database_url) as session:
        ticket_id = seed_ticket(session, utcnow()).id
        _reply(session, ticket_id, "11", external_id="p1")  # posted once, recorded: fine
        _reply(session, ticket_id, "12", external_id="p2")  # posted twice
        _reply(session, ticket_id, "13", status="queued")  # never posted
        _reply(session, ticket_id, "14", status="unknown")  # posted, still not recorded as sent
    x_standin = XStandin()
    recorder = x_standin.app.config["RECORDER"]
    recorder.replies = [{"id": post, "in_reply_to": tweet}
                        for post, tweet in (("p1", "11"), ("p2", "12"), ("p3", "12"), ("p4", "14"), ("p5", "99"))]
    counts, violations = check(database_url, x_standin, [ticket_id], Counter({202: 1}))
    assert counts["replies queued"] == 4 and counts["replies posted exactly once"] == 1
    assert counts["replies left queued or unknown"] == 2
    text = "\n".join(violations)
    assert len(violations) == 4, text
    for expected in ("1 replies never posted", "1 replies posted more than once", "1 posts on X that no reply",
                     "1 posted replies not recorded as sent"):  # fmt: skip
        assert expected in text, text

    recorder.replies = [{"id": "p1", "in_reply_to": "11"}]
    with transaction(database_url) as session:
        session.execute(delete(Reply).where(Reply.in_reply_to != "11"))
    assert check(database_url, x_standin, [ticket_id], Counter({202: 1}))[1] == []
    assert "not all queued" in check(database_url, x_standin, [ticket_id], Counter({500: 1}))[1][0]
    x_standin.fault(kind="error_before")
    assert "met no reply" in check(database_url, x_standin, [ticket_id], Counter({202: 1}))[1][0]
