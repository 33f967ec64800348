"""Draw real tweets not yet labelled for urgency, seeded, for hand-labelling by key.

``python -m tools.draw_urgency_rows --data ../shared/data --seed 45 --airline 300 --out /tmp/rows.csv``
(since pair 29 only airline tweets are left unlabelled; ``--twcs`` and ``--xfincorp`` drew the earlier pairs)

Writes ``file,key,text`` (the texts stay outside the repository: they are read from ``--data``).
Only customers' tweets count: twcs rows that are inbound; every airline and xfincorp row, each key
once. Rows already in ``models/data/urgency_real.csv``, or in the ``--exclude`` file, are skipped;
asking for more than are left is refused with how many are.
"""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

from models.urgency_data import REAL


def _candidates(data: Path, file: str) -> list[tuple[str, str]]:
    with open(data / file, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if file == "xfincorp.csv":
        return [(str(n), row["text"]) for n, row in enumerate(rows)]
    if file == "twcs_5000.csv":
        rows = [row for row in rows if row["inbound"] == "True"]
    return [(row["tweet_id"], row["text"]) for row in rows]


def _taken(paths: list[Path]) -> set[tuple[str, str]]:
    taken = set()
    for path in paths:
        with open(path, newline="", encoding="utf-8") as fh:
            taken |= {(row["file"], row["key"]) for row in csv.DictReader(fh)}
    return taken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--exclude", type=Path, action="append", default=[])
    for name in ("twcs", "airline", "xfincorp"):
        parser.add_argument(f"--{name}", type=int, default=0)
    args = parser.parse_args()
    taken = _taken([REAL, *args.exclude])
    rng = random.Random(args.seed)
    drawn = []
    for file, count in (("twcs_5000.csv", args.twcs), ("airline_tweets.csv", args.airline),
                        ("xfincorp.csv", args.xfincorp)):  # fmt: skip
        if not count:
            continue
        # One entry per key: a source file that holds a tweet twice must not yield it twice.
        unlabelled = {key: (key, text) for key, text in _candidates(args.data, file) if (file, key) not in taken}
        pool = list(unlabelled.values())
        if count > len(pool):
            parser.error(f"{file}: {count} asked for, only {len(pool)} not yet labelled")
        drawn += [(file, key, text) for key, text in rng.sample(pool, count)]
    with open(args.out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "key", "text"])
        writer.writerows(drawn)


if __name__ == "__main__":
    main()
