"""Draw customers' twcs tweets not yet labelled for complaints, to given industries, for hand-labelling by key.

``python -m tools.draw_complaint_rows --data ../shared/data --industry food --industry entertainment \\
    --out /tmp/rows.csv``

Writes ``tweet_id,brand,industry,text`` (the texts stay outside the repository: they are read from
``--data``), in tweet_id order: every inbound tweet of ``twcs_5000.csv`` that neither
``models/data/twcs_complaints.csv`` nor ``twcs_labels.csv`` holds, whose thread's brand (the support
account that answers in it) is one ``twcs_complaints.csv`` files under an industry asked for.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from models.complaint_heads import TWCS_COMPLAINTS, TWCS_FILE
from models.evaluate import TWCS_LABELS

MAX_HOPS = 50  # a thread is a chain of replies; a cycle in the data must not loop forever


def _tweet_id(value: str) -> str:
    """The file writes some ids as floats ("64.0")."""
    value = (value or "").strip()
    return value[:-2] if value.endswith(".0") else value


def thread_brands(tweets: dict[str, dict]) -> dict[str, str]:
    """tweet_id -> the author of the first brand (not inbound) tweet found by walking its thread."""
    brands = {}
    for tweet_id in tweets:
        seen, queue = {tweet_id}, [tweet_id]
        while queue and len(seen) <= MAX_HOPS and tweet_id not in brands:
            row = tweets[queue.pop(0)]
            ids = (row["response_tweet_id"] or "").split(",") + [row["in_response_to_tweet_id"]]
            linked = [_tweet_id(t) for t in ids]
            for other in (t for t in linked if t in tweets and t not in seen):
                if tweets[other]["inbound"] == "False":
                    brands[tweet_id] = tweets[other]["author_id"]
                    break
                seen.add(other)
                queue.append(other)
    return brands


def draw(data: Path, industries: set[str]) -> list[tuple[str, str, str, str]]:
    with open(TWCS_COMPLAINTS, newline="", encoding="utf-8") as fh:
        labelled = list(csv.DictReader(fh))
    industry_of = {row["brand"]: row["industry"] for row in labelled}
    with open(TWCS_LABELS, newline="", encoding="utf-8") as fh:
        taken = {row["tweet_id"] for row in labelled} | {row["tweet_id"] for row in csv.DictReader(fh)}
    with open(data / TWCS_FILE, newline="", encoding="utf-8") as fh:
        tweets = {row["tweet_id"]: row for row in csv.DictReader(fh)}
    brands = thread_brands(tweets)
    rows = []
    for tweet_id, row in tweets.items():
        brand = brands.get(tweet_id, "")
        if row["inbound"] == "True" and tweet_id not in taken and industry_of.get(brand) in industries:
            rows.append((tweet_id, brand, industry_of[brand], row["text"]))
    return sorted(rows, key=lambda r: int(r[0]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--industry", action="append", required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    with open(args.out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["tweet_id", "brand", "industry", "text"])
        writer.writerows(draw(args.data, set(args.industry)))


if __name__ == "__main__":
    main()
