"""The fault run's platform replies (tools.faults): public replies queued through the API while the X
stand-in fails, then checked to have been posted exactly once.

Before the stream, a few X complaints are posted and classified into tickets. When the Slack faults
begin, the X stand-in is told to answer 429 (with a reset a few seconds out), 500 before posting, 500
after posting (the reply took effect, the answer was lost) and one answer slower than the client's read
timeout; then one reply per ticket is queued with `POST /api/v1/tickets/{id}/replies`. The Redis restart
and flush that follow wipe the jobs and scheduled retries of those replies, so the periodic repair must
pick them up. At the end every queued reply must be `sent`, with exactly one post on the stand-in
answering its customer's tweet (X has no idempotency key: the post's `in_reply_to` is the reply's
identity here), and the stand-in must hold no post that no reply asked for.
"""

import http.client
import json
import time
from collections import Counter

from sqlalchemy import func, select

from bench.harness import free_port
from standins.faults import start_in_thread
from standins.x_api import create_app as create_x_app
from store.db import session_for
from store.schema import Mention, Reply

FIRST_TWEET_ID = 1_790_000_000_000_000_000
# The client reads for 15 s (ReplyConfig.read_timeout): a slower answer leaves the send ambiguous.
SLOW_SECONDS = 16
X_FAULTS = (
    {"kind": "rate_limit", "retry_after": 8, "count": 2},
    {"kind": "error_before", "count": 2},
    {"kind": "error_after", "count": 2},
    {"kind": "slow", "delay": SLOW_SECONDS, "count": 1},
)
# Environment variables that would send replies to the real X and Meta instead of the stand-ins.
PLATFORM_CREDENTIALS = ("X_USER_ACCESS_TOKEN", "X_CONSUMER_KEY", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET",
                        "META_PAGE_ACCESS_TOKEN", "REPLY_WEBHOOK_URL")  # fmt: skip
PENDING = ("queued", "sending", "unknown")


class XStandin:
    """The X API stand-in in this process, on a port fixed before the workers start."""

    def __init__(self):
        self.app = create_x_app()
        self.port = free_port()
        self.server = None

    def start(self) -> None:
        _, self.server = start_in_thread(self.app, "x-standin", self.port)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fault(self, **spec) -> None:
        assert self.app.test_client().post("/_standin/faults", json=spec).status_code == 200, spec

    def faults_left(self) -> int:
        """Injected failures no request has met yet."""
        recorder = self.app.config["RECORDER"]
        with recorder.lock:
            return sum(fault.count for fault in recorder.faults)

    def posted(self) -> list[dict]:
        recorder = self.app.config["RECORDER"]
        with recorder.lock:
            return [dict(reply) for reply in recorder.replies]


def environment(env: dict, x_standin: XStandin) -> dict:
    """The workers' environment: replies to X go to this run's stand-in."""
    env = {name: value for name, value in env.items() if name not in PLATFORM_CREDENTIALS}
    return {**env, "X_STANDIN_PORT": str(x_standin.port)}


def complaints(count: int) -> list[dict]:
    """X complaints (numeric tweet ids, as the stand-in wants to answer them) from distinct customers."""
    return [
        {"id": str(FIRST_TWEET_ID + n), "source": "x", "author": {"id": f"rx{n}", "handle": f"@replyme{n}"},
         "text": f"@acme you charged my card twice for order {n} and nobody answers. Refund me now!!"}  # fmt: skip
        for n in range(count)
    ]


def tickets_of(database_url: str, payloads: list[dict], timeout: float = 120) -> list[int]:
    """The tickets the complaints opened, once every one of them is classified."""
    ids = [payload["id"] for payload in payloads]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_for(database_url) as session:
            rows = session.execute(select(Mention.processed_at, Mention.ticket_id)
                                   .where(Mention.source == "x", Mention.external_id.in_(ids))).all()  # fmt: skip
        if len(rows) == len(ids) and all(processed for processed, _ in rows):
            return sorted({ticket_id for _, ticket_id in rows if ticket_id is not None})
        time.sleep(0.5)
    raise RuntimeError(f"the reply run's {len(ids)} X complaints were not classified within {timeout:.0f} s")


def _post_reply(port: int, token: str, ticket_id: int) -> int | None:
    """One attempt, never repeated: a POST whose answer was lost may have queued the reply."""
    body = json.dumps({"text": f"Sorry about that, we are refunding the double charge now (ref {ticket_id})."})
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        connection.request("POST", f"/api/v1/tickets/{ticket_id}/replies", body=body,
                           headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def inject(x_standin: XStandin, port: int, token: str, ticket_ids: list[int]) -> Counter:
    """Queue the X faults, then one reply per ticket through the API; the answers' statuses."""
    for spec in X_FAULTS:
        x_standin.fault(**spec)
    return Counter(_post_reply(port, token, ticket_id) for ticket_id in ticket_ids)


def pending(database_url: str) -> int:
    """Replies not yet sent or failed (the run waits for them to settle)."""
    with session_for(database_url) as session:
        return session.scalar(select(func.count()).select_from(Reply).where(Reply.status.in_(PENDING)))


def check(database_url: str, x_standin: XStandin, ticket_ids: list[int], answers: Counter) -> tuple[dict, list[str]]:
    """The reply counts, and a line per reply lost, doubled or stuck (`answers`: the API's statuses
    when the replies to `ticket_ids` were queued)."""
    with session_for(database_url) as session:
        queued = session.execute(select(Reply.id, Reply.in_reply_to, Reply.status, Reply.external_id)).all()
    posted = x_standin.posted()
    posts = Counter(post["in_reply_to"] for post in posted)
    post_ids = {post["in_reply_to"]: post["id"] for post in posted}
    once = [row for row in queued if posts[row.in_reply_to] == 1 and row.status == "sent"
            and row.external_id == post_ids[row.in_reply_to]]  # fmt: skip
    statuses = Counter(row.status for row in queued)
    counts = {
        "replies answered 202 by the API": answers[202],
        "replies queued": len(queued),
        "replies posted exactly once": len(once),
        "replies left queued or unknown": sum(statuses[status] for status in PENDING),
        "replies by status": dict(statuses),
        "X stand-in posts": len(posted),
        "X faults no request met": x_standin.faults_left(),
    }
    lost = [row.id for row in queued if posts[row.in_reply_to] == 0]
    doubled = [(row.id, posts[row.in_reply_to]) for row in queued if posts[row.in_reply_to] > 1]
    stray = sorted(set(posts) - {row.in_reply_to for row in queued})
    wrong = [(row.id, row.status, row.external_id) for row in queued if posts[row.in_reply_to] == 1
             and (row.status != "sent" or row.external_id != post_ids[row.in_reply_to])]  # fmt: skip
    found = {"replies never posted": lost, "replies posted more than once (reply, posts)": doubled,
             "posts on X that no reply asked for": stray,
             "posted replies not recorded as sent with the post's id": wrong}  # fmt: skip
    violations = [f"{len(items)} {problem}: {items[:5]}" for problem, items in found.items() if items]
    if not ticket_ids or answers[202] != len(ticket_ids):
        violations.append(f"replies to {len(ticket_ids)} tickets were not all queued: API answers {dict(answers)}")
    if counts["X faults no request met"]:
        violations.append(f"{counts['X faults no request met']} injected X failures met no reply: nothing tested them")
    return counts, violations
