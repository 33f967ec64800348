"""The short fault-injection run (tools/faults.py --short) inside make test:
gunicorn, private Redis and PostgreSQL, real worker processes and the Slack
stand-in, through SIGKILL/SIGTERM of the model worker, Redis restart and
flush, PostgreSQL restart, Slack 429/500 and a 30 s Slack outage."""

import glob
import os
import re
import shutil
import subprocess
import sys

import pytest

from tools.faults import SHORT

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
                          text=True, timeout=240)  # fmt: skip
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
