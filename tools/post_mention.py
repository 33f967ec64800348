"""Sign and post one mention to a running Earshot's generic webhook.

    python -m tools.post_mention --text "@acme my booking vanished" [--source x --id tw-1
        --author jane --followers 1200 --reply-to tw-0 --outbound] [--url http://127.0.0.1:8000]

The secret is WEBHOOK_SECRET, or the development default `make run` uses.
"""

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid

from core.settings import DEV_WEBHOOK_SECRET
from integrations.platforms.generic import sign


def post(url: str, secret: str, payload: dict) -> tuple[int, dict]:
    """POST `payload` to `<url>/webhooks/generic`, signed; returns the status and the JSON answer."""
    body = json.dumps(payload).encode()
    timestamp = int(time.time())
    request = urllib.request.Request(
        f"{url.rstrip('/')}/webhooks/generic",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Earshot-Timestamp": str(timestamp),
            "X-Earshot-Signature": sign(secret, timestamp, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        text = error.read().decode("utf-8", "replace")
        try:
            return error.code, json.loads(text)
        except ValueError:  # a proxy's HTML error page, say
            return error.code, {"error": text[:500]}


def build(args) -> dict:
    author = args.author or ("acme" if args.outbound else "jane")
    payload = {
        "id": args.id or str(uuid.uuid4().int % 10**18),  # numeric, as X's ids are: replies to it can go out
        "source": args.source,
        "direction": "outbound" if args.outbound else "inbound",
        "author": {"id": author, "handle": f"@{author.lstrip('@')}"},
        "text": args.text,
    }
    if args.followers is not None:
        payload["author"]["followers"] = args.followers
    if args.reply_to:
        payload["in_reply_to"] = args.reply_to
    return payload


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('PORT', '8000')}")
    parser.add_argument("--text", required=True)
    parser.add_argument("--source", default="x")
    parser.add_argument("--id", help="the mention's id on its platform (default: a new random one)")
    parser.add_argument("--author", help="author id and handle (default: jane, or acme with --outbound)")
    parser.add_argument("--followers", type=int)
    parser.add_argument("--reply-to", help="id of the mention this one answers")
    parser.add_argument("--outbound", action="store_true", help="the brand's own public reply")
    args = parser.parse_args(argv)
    secret = os.environ.get("WEBHOOK_SECRET") or DEV_WEBHOOK_SECRET
    try:
        status, answer = post(args.url, secret, build(args))
    except OSError as error:
        print(f"post_mention: cannot reach Earshot at {args.url} ({error}); start it with `make run`", file=sys.stderr)
        return 1
    print(status, json.dumps(answer))
    return 0 if 200 <= status < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
