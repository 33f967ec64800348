"""One-off repair (issue 23): X mentions stored before the X adapter decoded X's HTML
escaping hold `&lt;3` where the customer wrote `<3`, and were escaped again for Slack.

`python -m ingest decode-x-entities --before ISO [--dry-run]` decodes `&lt;`, `&gt;` and
`&amp;` once in the text and author name of mentions that came through the X webhook
(source `x`, `for_user_id` in `extra`) and were received before the cut-off: the time the
fixed version started receiving. Each row it changes is marked in `extra`, so a second
run, or one resumed after a failure, never decodes a row twice. Batches of 500, each
committed on its own.
"""

import argparse
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from core.timeutil import parse_instant
from integrations.platforms.text import unescape_x
from store.db import transaction
from store.schema import Mention

BATCH_SIZE = 500
MARKER = "x_entities_decoded"


@dataclass
class Outcome:
    scanned: int = 0
    decoded: int = 0


def decoded_values(text: str | None, author_name: str | None, extra) -> dict | None:
    """The new column values of one stored row, or None when it needs no change."""
    if not isinstance(extra, dict) or "for_user_id" not in extra or extra.get(MARKER):
        return None  # not from the X webhook, or already decoded
    new_text = unescape_x(text) if text else text
    new_name = unescape_x(author_name) if author_name else author_name
    if (new_text, new_name) == (text, author_name):
        return None
    return {"text": new_text, "author_name": new_name, "extra": {**extra, MARKER: True}}


def _batch(database_url: str, before: datetime, after_id: int, size: int, dry_run: bool) -> tuple[int, Outcome]:
    """Decodes the next `size` X rows after `after_id`; the last id read (or -1 when none were left)."""
    outcome = Outcome()
    with transaction(database_url) as session:
        rows = session.execute(
            select(Mention.id, Mention.text, Mention.author_name, Mention.extra)
            .where(Mention.source == "x", Mention.received_at < before, Mention.id > after_id)
            .order_by(Mention.id)
            .limit(size)
        ).all()
        for row in rows:
            values = decoded_values(row.text, row.author_name, row.extra)
            outcome.scanned += 1
            if values is None:
                continue
            outcome.decoded += 1
            if not dry_run:
                session.execute(update(Mention).where(Mention.id == row.id).values(**values))
    return (rows[-1].id if rows else -1), outcome


def decode_x_entities(database_url: str, before: datetime, *, dry_run: bool = False, size: int = BATCH_SIZE) -> Outcome:
    total, last_id = Outcome(), 0
    while True:
        last_id, outcome = _batch(database_url, before, last_id, size, dry_run)
        if last_id < 0:
            return total
        total.scanned += outcome.scanned
        total.decoded += outcome.decoded


def _instant(value: str) -> datetime:
    try:
        return parse_instant(value)
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r}") from None


def main(argv: list[str], database_url: str) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest decode-x-entities", description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=_instant, required=True, metavar="ISO",
                        help="decode X mentions received before this time (ISO 8601): when the fix was deployed")
    parser.add_argument("--dry-run", action="store_true", help="count the rows it would change; write nothing")
    args = parser.parse_args(argv)
    outcome = decode_x_entities(database_url, args.before, dry_run=args.dry_run)
    verb = "would decode" if args.dry_run else "decoded"
    print(f"earshot: read {outcome.scanned} X mentions received before {args.before.isoformat()}; "
          f"{verb} {outcome.decoded}")  # fmt: skip
    return 0
