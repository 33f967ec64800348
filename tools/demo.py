"""`make demo`: replay real-looking mentions into a running Earshot.

Clocks start when the customer posted, so the demo back-dates some mentions:
a critical complaint posted 13 minutes ago (15-minute target) is warned about
at once and breaches about two minutes later; a high one posted 50 minutes ago
breaches within ten. Customer tweets from ../shared/data/twcs_5000.csv are
replayed as well when that file is present (it is read, never copied).
"""

import argparse
import csv
import os
import sys
import time
from datetime import UTC, datetime, timedelta

from core.settings import DEV_WEBHOOK_SECRET
from tools.post_mention import post

TWCS = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "twcs_5000.csv")

SCENES = [
    # (minutes ago, id, author, followers, text)
    (13, "demo-critical", "maria_r", 2300,
     "@acme I was charged twice for my flight change and the money is gone from my account. "
     "My flight leaves in 3 hours and your phone line is down. Fix this NOW"),
    (50, "demo-high", "dan_k", 410,
     "@acme your app logs me out every time I try to change my ticket. Third day in a row."),
    (5, "demo-normal", "lee.travels", 90,
     "@acme still waiting on the refund you promised two weeks ago, any update?"),
    (2, "demo-praise", "happyflyer", 35,
     "@acme shoutout to the crew on AC123 today, best flight I've had all year!"),
    (1, "demo-legal", "p_okafor", 15800,
     "@acme you cancelled my booking without notice and kept the payment. My lawyer will hear about this."),
]  # fmt: skip


def _tweet_id(at: datetime, sequence: int) -> str:
    """An id shaped like X's (a snowflake: milliseconds since X's epoch, then a sequence), so that replies to
    the demo's tickets go out to the X stand-in as they would to X."""
    return str((int(at.timestamp() * 1000) - 1288834974657) << 22 | sequence)


def _mention(external_id, handle, followers, text, posted_at, **extra):
    return {
        "id": external_id,
        "source": "x",
        "author": {"id": handle, "handle": f"@{handle}", "name": handle, "followers": followers},
        "text": text,
        "created_at": posted_at.isoformat().replace("+00:00", "Z"),
        "url": f"https://x.com/{handle}/status/{external_id}",
        "brand": "acme",
        **extra,
    }


def _twcs(limit: int, now: datetime) -> list[dict]:
    if not os.path.exists(TWCS):
        return []
    mentions = []
    with open(TWCS, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["inbound"] == "True" and not row["in_response_to_tweet_id"]:
                minutes_ago = 1 + len(mentions) % 20
                mentions.append(
                    _mention(row["tweet_id"], f"customer{row['author_id']}", 100, row["text"],
                             now - timedelta(minutes=minutes_ago))  # fmt: skip
                )
            if len(mentions) >= limit:
                break
    return mentions


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('PORT', '8000')}")
    parser.add_argument("--replay", type=int, default=12, help="customer tweets to replay from twcs_5000.csv")
    args = parser.parse_args(argv)
    secret = os.environ.get("WEBHOOK_SECRET") or DEV_WEBHOOK_SECRET
    now = datetime.now(UTC)
    ids = {scene: _tweet_id(now, n) for n, (_, scene, *_) in enumerate(SCENES)}
    mentions = [
        _mention(ids[scene], handle, followers, text, now - timedelta(minutes=minutes))
        for minutes, scene, handle, followers, text in SCENES
    ]
    mentions += _twcs(args.replay, now)
    try:
        status, answer = post(args.url, secret, {"mentions": mentions})
    except OSError as error:
        print(f"demo: cannot reach Earshot at {args.url} ({error}); start it with `make run` first", file=sys.stderr)
        return 1
    print(f"demo: posted {len(mentions)} mentions -> {status} {answer}")
    time.sleep(20)
    later = datetime.now(UTC)
    follow_up = _mention(_tweet_id(later, 0), "lee.travels", 90,
                         "@acme hello?? nobody has answered me about my refund", datetime.now(UTC))  # fmt: skip
    print("demo: the refund customer writes again while waiting ->", post(args.url, secret, follow_up))
    reply = _mention(_tweet_id(later, 1), "acme", 50000, "@dan_k sorry about that! DM us your booking ref.",
                     later, direction="outbound", in_reply_to=ids["demo-high"])  # fmt: skip
    print("demo: the brand answers the app complaint in public ->", post(args.url, secret, reply))
    print("demo: watch the Slack stand-in: a warning now, a breach on the critical ticket within ~2 minutes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
