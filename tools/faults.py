"""The fault-injection run: the whole system under the failures production meets.

    python -m tools.faults [--mentions 3000] [--short] [--keep-logs]

gunicorn, a private redis-server, a private PostgreSQL cluster, the real model,
io, SLA and scheduler processes, the Slack stand-in and the X stand-in. A stream of signed
mentions is posted (retried on connection errors and 503, as platforms do;
only a 2xx counts as accepted) while the run SIGKILLs the model worker
mid-batch, stops it with SIGTERM mid-batch, has Slack answer 429 and 500 (some
after the post took effect), takes Slack away for a minute (30 s with --short)
and, while it is away, restarts Redis, flushes Redis and restarts PostgreSQL.
Public replies to a few X tickets are queued through the API as the X stand-in
starts answering 429, 500 (some after the post took effect) and too slowly
(tools.faults_replies).

Afterwards it checks: every accepted mention is stored and processed; every
ticket has exactly one parent message in Slack; every SLA breach (a policy in
seconds for critical) is announced exactly once, in the thread and
in the escalation channel, and none is missed; no RQ job is left started or
queued; every queued reply is posted exactly once and recorded as sent. It prints
the counts and exits 1 on any violation.
"""

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

import yaml
from redis import Redis
from sqlalchemy import func, select

from bench.harness import ROOT, free_port, wait_for_http
from core.timeutil import iso, utcnow
from integrations.platforms.generic import sign
from standins.slack import _QuietHandler, create_standin_app
from store import migrate
from store.db import dispose_all, session_for
from store.schema import Mention, SlaAlert, SlackMessage, Ticket
from tools import faults_replies
from tools.private_services import PrivatePostgres, PrivateRedis
from workers import queues

WEBHOOK_SECRET = "faults-webhook-secret-0123456789"
SLACK_SIGNING_SECRET = "faults-slack-signing-secret-0123"
API_TOKEN = "faults-api-token-0123456789abcdef"
SOURCES = [f"s{n:02d}" for n in range(24)]  # one Slack channel each: pacing is per channel
SHORT_SLA_SECONDS = 12
ESCALATION_CHANNEL = "#support-escalations"  # one channel, paced at 1 message/s like any other
RETRYABLE = {502, 503, 504}


@dataclass(frozen=True)
class Profile:
    mentions: int
    send_seconds: float  # the stream is spread over this long, so that every fault meets traffic
    slack_down_seconds: float
    stale_claim_seconds: float | None  # None: the code's own STALE_CLAIM
    settle_seconds: float


FULL = Profile(mentions=3000, send_seconds=150, slack_down_seconds=60, stale_claim_seconds=None, settle_seconds=900)
SHORT = Profile(mentions=100, send_seconds=25, slack_down_seconds=30, stale_claim_seconds=10, settle_seconds=240)

COMPLAINTS = [
    "@acme I was charged twice for order {n} and nobody answers. Refund me now",
    "@acme my flight {n} was cancelled and your app crashes when I rebook",
    "@acme package {n} never arrived, third time this month, this is unacceptable",
    "@acme your support line hung up on me again about ticket {n}. Furious",
    "@acme the app logged me out and my account {n} shows a balance of zero!!",
    "@acme still waiting on the refund for booking {n}, you took my money",
]
PRAISE = [
    "@acme thanks for the quick delivery of order {n}, lovely service",
    "@acme great flight today, crew on {n} were wonderful",
    "@acme just tried the new app version {n}, looks nice",
]


def config_for(profile: Profile) -> dict:
    short = {"first_response": f"{SHORT_SLA_SECONDS}s", "next_response": f"{SHORT_SLA_SECONDS}s",
             "resolution": "1h", "business_hours": False}  # fmt: skip
    long = {"first_response": "4h", "next_response": "8h", "resolution": "3d", "business_hours": False}
    return {
        "slack": {"default_channel": "#support", "escalation_channel": ESCALATION_CHANNEL,
                  "escalation_mentions": ["<!subteam^S0ONCALL>"]},  # fmt: skip
        "routes": [{"match": {"source": [source]}, "channel": f"#faults-{source}"} for source in SOURCES],
        "sla": {"warn_at": 0.5, "remind_every": "1h",
                "policies": {"critical": short, "high": long, "normal": long, "low": long}},  # fmt: skip
        "incidents": {"enabled": False, "volume": {"enabled": False}},
    }


def mention_stream(count: int, run: str, seed: int = 7) -> list[dict]:
    """Signed-webhook payloads: complaints, praise, follow-ups by the same author, and brand replies."""
    rng = random.Random(seed)
    payloads, complaints = [], []
    for n in range(count):
        source = SOURCES[n % len(SOURCES)]
        payload = {"id": f"{run}-{n}", "source": source}
        roll = rng.random()
        if roll < 0.1 and complaints:
            answered = rng.choice(complaints)
            payload.update(direction="outbound", in_reply_to=answered["id"], source=answered["source"],
                           author={"id": "acme-brand"},
                           text=f"@{answered['author']['id']} so sorry, DM us please")  # fmt: skip
        elif roll < 0.2 and complaints:
            earlier = rng.choice(complaints)
            payload.update(source=earlier["source"], author=dict(earlier["author"]),
                           text=f"@acme hello?? still nothing about {n}")  # fmt: skip
        else:
            pool = COMPLAINTS if roll < 0.75 else PRAISE
            payload.update(author={"id": f"u{n}", "handle": f"@user{n}", "followers": rng.randrange(10, 50_000)},
                           text=rng.choice(pool).format(n=n))  # fmt: skip
            if pool is COMPLAINTS:
                complaints.append(payload)
        payloads.append(payload)
    return payloads


class Standin:
    """The Slack stand-in in this process, on a fixed port, so that it can go away and come back with its messages."""

    def __init__(self, app_url: str):
        self.app = create_standin_app(app_url, SLACK_SIGNING_SECRET)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = None

    def start(self) -> None:
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True, request_handler=_QuietHandler)
        threading.Thread(target=self.server.serve_forever, name="standin", daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fault(self, **spec) -> None:
        self.app.test_client().post("/_standin/faults", json=spec)

    def messages(self) -> list[dict]:
        workspace = self.app.config["WORKSPACE"]
        with workspace.lock:
            return [{**m, "channel": workspace.names.get(cid, cid)} for cid, ms in workspace.messages.items()
                    for m in ms]  # fmt: skip


class Supervisor:
    """Runs the processes and restarts one that exits, as a process manager would."""

    def __init__(self, env: dict, logdir: str, profile: Profile):
        self.env, self.logdir = env, logdir
        python = sys.executable
        stale = ["--stale-claim", str(profile.stale_claim_seconds)] if profile.stale_claim_seconds else []
        self.commands = {
            "web": [os.path.join(os.path.dirname(python), "gunicorn"), "wsgi:app", "-b", f"127.0.0.1:{env['PORT']}",
                    "-w", "2", "-k", "gthread", "--threads", "4", "--graceful-timeout", "10"],
            **{role: [python, "-m", "tools.faults", "--worker", role, *stale]
               for role in ("model", "io", "sla", "scheduler")},
        }  # fmt: skip
        self.processes: dict[str, subprocess.Popen] = {}
        self.restarts: Counter = Counter()
        self.held: set[str] = set()  # roles the run stopped on purpose and restarts itself
        self.stopping = False
        self.lock = threading.Lock()

    def start(self, role: str) -> None:
        log = open(os.path.join(self.logdir, f"{role}.log"), "a")
        self.processes[role] = subprocess.Popen(self.commands[role], cwd=ROOT, env=self.env, stdout=log, stderr=log)

    def start_all(self) -> None:
        for role in self.commands:
            self.start(role)
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        while not self.stopping:
            time.sleep(0.5)
            with self.lock:
                for role, process in list(self.processes.items()):
                    if process.poll() is not None and role not in self.held and not self.stopping:
                        self.restarts[role] += 1
                        time.sleep(1)
                        self.start(role)

    def signal(self, role: str, signum: int, hold: bool = False) -> subprocess.Popen:
        with self.lock:
            if hold:
                self.held.add(role)
            process = self.processes[role]
            process.send_signal(signum)
        return process

    def release(self, role: str) -> None:
        with self.lock:
            self.held.discard(role)
            self.start(role)

    def stop(self, roles=None) -> None:
        roles = list(roles or self.processes)
        with self.lock:
            if set(roles) == set(self.processes):
                self.stopping = True
            self.held.update(roles)
            for role in roles:
                if self.processes[role].poll() is None:
                    self.processes[role].terminate()
        for role in roles:
            try:
                self.processes[role].wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.processes[role].kill()


@dataclass
class SendResult:
    accepted: set = field(default_factory=set)
    refused: Counter = field(default_factory=Counter)
    retries: int = 0


def send_stream(port: int, payloads: list[dict], seconds: float, result: SendResult, concurrency: int = 4) -> None:
    """Post each payload at its turn; retry connection errors and 503 with a fresh signature."""
    start = time.monotonic()
    interval = seconds / max(len(payloads), 1)
    lock = threading.Lock()
    turns = iter(range(len(payloads)))

    def post(connection, body: bytes):
        timestamp = int(time.time())
        headers = {"Content-Type": "application/json", "X-Earshot-Timestamp": str(timestamp),
                   "X-Earshot-Signature": sign(WEBHOOK_SECRET, timestamp, body)}  # fmt: skip
        connection.request("POST", "/webhooks/generic", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        while True:
            with lock:
                index = next(turns, None)
            if index is None:
                return
            time.sleep(max(0.0, start + index * interval - time.monotonic()))
            body = json.dumps({**payloads[index], "created_at": iso(utcnow())}).encode()  # clocks start now
            give_up = time.monotonic() + 300
            while True:
                try:
                    status = post(connection, body)
                except (OSError, http.client.HTTPException):
                    status = None
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
                if status is not None and status not in RETRYABLE:
                    break
                if time.monotonic() > give_up:
                    break
                with lock:
                    result.retries += 1
                time.sleep(0.5)
            with lock:
                if status is not None and 200 <= status < 300:
                    result.accepted.add(payloads[index]["id"])
                else:
                    result.refused[status] += 1

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _claimed_unprocessed(database_url: str, since=None) -> int:
    with session_for(database_url) as session:
        return session.scalar(select(func.count()).select_from(Mention)
                              .where(Mention.claimed_at > (since or utcnow() - timedelta(days=1)),
                                     Mention.processed_at.is_(None)))  # fmt: skip


def _wait_mid_batch(database_url: str, timeout: float = 60) -> bool:
    """Until a worker holds a fresh claim (not one a killed worker left behind)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if _claimed_unprocessed(database_url, since=utcnow() - timedelta(seconds=1)):
                return True
        except Exception:  # the database may be restarting
            pass
        time.sleep(0.02)
    return False


def inject_faults(stack, profile: Profile, journal: list[str]) -> None:
    """The faults, spread over the sending window."""
    began = time.monotonic()

    def at(share: float) -> None:
        time.sleep(max(0.0, began + share * profile.send_seconds - time.monotonic()))

    def note(text: str) -> None:
        journal.append(f"{time.monotonic() - began:6.1f}s  {text}")
        print(f"  fault: {journal[-1]}", flush=True)

    at(0.1)
    if _wait_mid_batch(stack.database_url):
        stack.supervisor.signal("model", signal.SIGKILL)
        note(f"SIGKILL model worker mid-batch ({_claimed_unprocessed(stack.database_url)} mentions left claimed)")
    at(0.2)
    if _wait_mid_batch(stack.database_url):
        since = utcnow() - timedelta(seconds=1)
        process = stack.supervisor.signal("model", signal.SIGTERM, hold=True)
        started = time.monotonic()
        code = process.wait(timeout=120)
        left = _claimed_unprocessed(stack.database_url, since)
        stack.graceful_left_claimed = left
        note(f"SIGTERM model worker mid-batch: exited {code} after {time.monotonic() - started:.1f}s, "
             f"{left} of its claimed mentions left unprocessed")  # fmt: skip
        stack.supervisor.release("model")
    at(0.3)
    for spec in ({"status": 429, "retry_after": 2, "count": 6}, {"status": 500, "count": 6},
                 {"status": 500, "count": 4, "apply": True}):  # fmt: skip
        stack.standin.fault(method="chat.postMessage", **spec)
    stack.standin.fault(method="chat.update", status=500, count=4)
    note("Slack answers 429 x6, 500 x6, 500-after-posting x4 (chat.postMessage), 500 x4 (chat.update)")
    stack.reply_answers = faults_replies.inject(stack.x_standin, stack.port, API_TOKEN, stack.reply_tickets)
    note(f"X answers 429 x2, 500 x2, 500-after-posting x2, slow x1; replies queued: {dict(stack.reply_answers)}")
    at(0.4)
    stack.standin.stop()
    note(f"Slack gone for {profile.slack_down_seconds:.0f}s")
    slack_back = threading.Timer(profile.slack_down_seconds, lambda: (stack.standin.start(), note("Slack back")))
    slack_back.start()
    at(0.5)
    stack.redis.stop()
    note("Redis stopped")
    time.sleep(3)
    stack.redis.start()
    note("Redis restarted, empty")
    at(0.65)
    Redis.from_url(stack.redis.url).flushall()
    note("Redis flushed")
    at(0.8)
    stack.postgres.restart()
    note("PostgreSQL restarted (fast shutdown)")
    slack_back.join()


class Stack:
    def __init__(self, profile: Profile, workdir: str):
        self.profile, self.workdir = profile, workdir
        self.postgres = PrivatePostgres(os.path.join(workdir, "pg"))
        self.redis = PrivateRedis()
        self.port = free_port()
        self.standin = Standin(f"http://127.0.0.1:{self.port}")
        self.x_standin = faults_replies.XStandin()
        self.reply_tickets, self.reply_answers = [], Counter()
        self.graceful_left_claimed = None

    @property
    def database_url(self) -> str:
        return self.postgres.url

    def __enter__(self):
        os.makedirs(self.postgres.directory, exist_ok=True)
        self.postgres.init()
        self.postgres.start()
        migrate.upgrade(self.database_url)
        self.redis.start()
        self.standin.start()
        self.x_standin.start()
        config_path = os.path.join(self.workdir, "earshot.yaml")
        with open(config_path, "w") as handle:
            yaml.safe_dump(config_for(self.profile), handle)
        env = {**os.environ, "DATABASE_URL": self.database_url, "REDIS_URL": self.redis.url, "PORT": str(self.port),
               "WEBHOOK_SECRET": WEBHOOK_SECRET, "SLACK_SIGNING_SECRET": SLACK_SIGNING_SECRET,
               "SLACK_STANDIN_PORT": str(self.standin.port), "EARSHOT_CONFIG": config_path,
               "EARSHOT_API_TOKENS": API_TOKEN, "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false",
               "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}  # fmt: skip
        env.pop("SLACK_BOT_TOKEN", None)
        env = faults_replies.environment(env, self.x_standin)
        os.environ["REDIS_URL"] = self.redis.url  # queues.connection() in this process
        self.supervisor = Supervisor(env, self.workdir, self.profile)
        self.supervisor.start_all()
        wait_for_http(self.port, "/healthz", timeout=60)
        return self

    def __exit__(self, *exc):
        self.supervisor.stop()
        self.standin.stop()
        self.x_standin.stop()
        self.redis.stop()
        dispose_all()
        self.postgres.stop()


def _warm_up(stack: Stack) -> None:
    """One mention through the model worker, so the run measures faults, not the model's start."""
    send_stream(stack.port, [{"id": "warm-up", "source": "s00", "author": {"id": "w"}, "text": "@acme hi there"}],
                0, SendResult())  # fmt: skip
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        with session_for(stack.database_url) as session:
            if session.scalar(select(Mention.processed_at).where(Mention.external_id == "warm-up")):
                return
        time.sleep(0.5)
    raise RuntimeError("the model worker did not classify the warm-up mention within 180 s")


def _open_reply_tickets(stack: Stack, profile: Profile) -> None:
    """X complaints, classified into the tickets whose replies the faults meet."""
    complaints = faults_replies.complaints(max(8, profile.mentions // 100))
    send_stream(stack.port, complaints, 0, SendResult())
    stack.reply_tickets = faults_replies.tickets_of(stack.database_url, complaints)


def _settled(database_url: str, last_sent: float) -> dict:
    now = utcnow()
    with session_for(database_url) as session:
        count = lambda q: session.scalar(select(func.count()).select_from(q.subquery()))  # noqa: E731
        return {
            "unprocessed": count(select(Mention.id).where(Mention.processed_at.is_(None))),
            "outbox pending": count(select(SlackMessage.id).where(SlackMessage.sent_at.is_(None),
                                                                   SlackMessage.failed_at.is_(None))),  # fmt: skip
            "SLA checks overdue": count(select(Ticket.id).where(Ticket.next_deadline_at < now - timedelta(seconds=2))),
            "replies pending": faults_replies.pending(database_url),
            # a mention posted last breaches SHORT_SLA_SECONDS after it was sent; the sweep runs every 5 s
            "short clocks still running": max(0, int(last_sent + SHORT_SLA_SECONDS + 6 - time.time())),
        }


_BREACH = re.compile(r"SLA breached: (first response|next response|resolution) was due at \S+ \(\w+ ticket #(\d+)\)")


def _read_database(database_url: str, accepted: set) -> dict:
    with session_for(database_url) as session:
        return {
            "stored": set(session.scalars(select(Mention.external_id).where(Mention.external_id.in_(accepted)))),
            "unprocessed": session.scalar(select(func.count()).select_from(Mention)
                                          .where(Mention.processed_at.is_(None))),
            "tickets": session.execute(select(Ticket.id, Ticket.urgency, Ticket.slack_ts)).all(),
            "failed_outbox": session.execute(select(SlackMessage.kind, SlackMessage.last_error)
                                             .where(SlackMessage.failed_at.is_not(None))).all(),
            "breaches": Counter(session.execute(select(SlaAlert.ticket_id, SlaAlert.clock)
                                                .where(SlaAlert.kind == "breach")).all()),
            "missed": session.scalar(
                select(func.count()).select_from(Ticket).where(
                    Ticket.first_response_due_at < utcnow() - timedelta(seconds=10),
                    Ticket.first_response_breached.is_(False),
                    Ticket.first_response_met_at.is_(None)
                    | (Ticket.first_response_met_at > Ticket.first_response_due_at),
                )
            ),
        }  # fmt: skip


def _read_slack(messages: list[dict]) -> tuple[Counter, dict[str, Counter]]:
    """Parent messages per ticket, and breach announcements per (ticket, clock) by where they were posted."""
    parents = Counter(
        int(m["metadata"]["event_payload"]["ticket_id"]) for m in messages
        if (m.get("metadata") or {}).get("event_type") == "earshot_ticket" and m.get("thread_ts") in (None, m["ts"])
    )  # fmt: skip
    announced = {"escalation": Counter(), "thread": Counter()}
    for message in messages:
        for clock, ticket_id in _BREACH.findall(message.get("text") or ""):
            where = "escalation" if message["channel"] == ESCALATION_CHANNEL.lstrip("#") else "thread"
            announced[where][(int(ticket_id), clock.replace(" ", "_"))] += 1
    return parents, announced


def check(stack: Stack, accepted: set) -> tuple[dict, list[str]]:
    """The counts, and a line per violation."""
    db = _read_database(stack.database_url, accepted)
    messages = stack.standin.messages()
    parents, announced = _read_slack(messages)
    tickets, breaches = db["tickets"], db["breaches"]
    ticket_ids = {ticket_id for ticket_id, _, _ in tickets}
    not_one_parent = {t: parents.get(t, 0) for t in ticket_ids if parents.get(t, 0) != 1}
    wrong_announcements = {
        where: {key: n for key, n in counts.items() if n != 1 or key not in breaches} |
               {key: 0 for key in breaches if key not in counts}
        for where, counts in announced.items()
    }  # fmt: skip
    jobs = job_registries(stack.redis.url)
    counts = {
        "mentions accepted (2xx)": len(accepted),
        "accepted and stored": len(db["stored"]),
        "unprocessed mentions": db["unprocessed"],
        "tickets": len(tickets),
        "tickets by urgency": dict(Counter(urgency for _, urgency, _ in tickets)),
        "tickets with exactly one Slack parent": len(ticket_ids) - len(not_one_parent),
        "Slack messages": len(messages),
        "SLA breaches recorded": len(breaches),
        "breaches announced once in the escalation channel": sum(
            1 for key in breaches if announced["escalation"].get(key) == 1),
        "breaches announced once in the ticket's thread": sum(
            1 for key in breaches if announced["thread"].get(key) == 1),
        "outbox messages given up": len(db["failed_outbox"]),
        "RQ jobs": jobs,
    }  # fmt: skip
    stray_parents = set(parents) - ticket_ids
    violations = _violations(stack, accepted, db, not_one_parent, stray_parents, wrong_announcements, jobs)
    reply_counts, reply_violations = faults_replies.check(stack.database_url, stack.x_standin, stack.reply_tickets,
                                                          stack.reply_answers)  # fmt: skip
    return {**counts, **reply_counts}, violations + reply_violations


def _violations(stack, accepted, db, not_one_parent, stray_parents, wrong_announcements, jobs) -> list[str]:
    violations = []
    stored, unprocessed, failed_outbox = db["stored"], db["unprocessed"], db["failed_outbox"]
    if stored != accepted:
        violations.append(f"{len(accepted - stored)} accepted mentions are not stored: {sorted(accepted - stored)[:5]}")
    if unprocessed:
        violations.append(f"{unprocessed} mentions never processed")
    if not_one_parent:
        examples = dict(list(not_one_parent.items())[:5])
        violations.append(f"{len(not_one_parent)} tickets without exactly one parent: {examples}")
    if stray_parents:
        violations.append(f"parent messages for unknown tickets {sorted(stray_parents)[:5]}")
    for where, wrong in wrong_announcements.items():
        if wrong:
            violations.append(f"breaches not announced exactly once ({where}): {dict(list(wrong.items())[:5])}")
    if db["missed"]:
        violations.append(f"{db['missed']} tickets past their first-response deadline without a recorded breach")
    if failed_outbox:
        violations.append(f"{len(failed_outbox)} Slack messages given up: {Counter(failed_outbox).most_common(3)}")
    stuck = {name: info for name, info in jobs.items() if info["started"] or info["queued"]}
    if stuck:
        violations.append(f"RQ jobs left started or queued: {stuck}")
    if stack.graceful_left_claimed:
        left = stack.graceful_left_claimed
        violations.append(f"SIGTERM left {left} mentions claimed (warm shutdown should finish them)")
    return violations


def job_registries(redis_url: str) -> dict:
    from rq.registry import FailedJobRegistry, StartedJobRegistry

    found = {}
    for name in (queues.CLASSIFY, queues.SLACK, queues.REPLIES, queues.SLA, queues.MAINTENANCE):
        queue = queues.queue(name, redis_url)
        failed = [queue.fetch_job(job_id) for job_id in FailedJobRegistry(queue=queue).get_job_ids()]
        found[name] = {
            "queued": queue.count,
            "started": len(StartedJobRegistry(queue=queue).get_job_ids()),
            "failed": dict(Counter(
                f"{job.func_name}: {(job.exc_info or '').strip().splitlines()[-1:] or ['?']}"[:160]
                for job in failed if job
            )),
        }  # fmt: skip
    return found


def run(profile: Profile) -> int:
    workdir = tempfile.mkdtemp(prefix="earshot-faults-")
    run_id = f"f{int(time.time())}"
    payloads = mention_stream(profile.mentions, run_id)
    result, journal = SendResult(), []
    print(f"fault run: {profile.mentions} mentions over {profile.send_seconds:.0f}s; logs in {workdir}", flush=True)
    started = time.monotonic()
    with Stack(profile, workdir) as stack:
        _warm_up(stack)
        _open_reply_tickets(stack, profile)
        faults = threading.Thread(target=inject_faults, args=(stack, profile, journal))
        faults.start()
        send_stream(stack.port, payloads, profile.send_seconds, result)
        last_sent = time.time()
        faults.join()
        print(f"  sent, faults over at {time.monotonic() - started:.0f}s; waiting for it to settle", flush=True)
        deadline = time.monotonic() + profile.settle_seconds
        while time.monotonic() < deadline:
            state = _settled(stack.database_url, last_sent)
            if not any(state.values()):
                break
            if int(time.monotonic() - started) % 10 < 2:
                print(f"  {time.monotonic() - started:4.0f}s waiting on {state}", flush=True)
            time.sleep(2)
        else:
            print(f"  did not settle within {profile.settle_seconds:.0f}s: {state}", flush=True)
        # Stop the scheduler, then the workers (warm shutdown): whatever is still started afterwards is stuck.
        stack.supervisor.stop(["scheduler"])
        time.sleep(2)
        stack.supervisor.stop(["io", "sla", "model"])
        settled_at = time.monotonic()
        counts, violations = check(stack, result.accepted)
        counts["requests refused (not 2xx after retries)"] = dict(result.refused)
        counts["requests retried (connection error or 503)"] = result.retries
        counts["process restarts after a crash"] = dict(stack.supervisor.restarts)
    counts["seconds (settled at)"] = f"{time.monotonic() - started:.0f} ({settled_at - started:.0f})"
    print("faults:\n  " + "\n  ".join(journal))
    print("counts:")
    for name, value in counts.items():
        print(f"  {name}: {value}")
    if result.refused:
        violations.append(f"valid mentions refused: {dict(result.refused)}")
    if violations:
        print(f"VIOLATIONS (logs kept in {workdir}):\n  " + "\n  ".join(violations))
        return 1
    print("OK: no mention lost, no ticket doubled, every breach announced once, every reply posted once, "
          "no job stuck")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


def run_worker(role: str, stale_claim: float | None) -> int:
    """A worker process; the short run shortens STALE_CLAIM so a killed worker's claims expire within it."""
    if stale_claim:
        from workers import classify

        classify.STALE_CLAIM = timedelta(seconds=stale_claim)
    from workers.__main__ import main as worker_main

    return worker_main([role])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mentions", type=int, help="how many mentions to send (3000; 100 with --short)")
    parser.add_argument("--short", action="store_true", help="the version make test runs")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--stale-claim", type=float, help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.worker:
        return run_worker(options.worker, options.stale_claim)
    profile = SHORT if options.short else FULL
    if options.mentions:
        profile = Profile(options.mentions, profile.send_seconds, profile.slack_down_seconds,
                          profile.stale_claim_seconds, profile.settle_seconds)  # fmt: skip
    return run(profile)


if __name__ == "__main__":
    sys.exit(main())
