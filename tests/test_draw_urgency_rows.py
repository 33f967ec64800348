"""Drawing unlabelled real tweets for an urgency pair: each key once, and a clear refusal when too few are left."""

import csv
import sys

import pytest

from tools import draw_urgency_rows


def write_airline(folder, ids):
    with open(folder / "airline_tweets.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["tweet_id", "text"])
        writer.writerows((tweet_id, f"@airline tweet {tweet_id}") for tweet_id in ids)


def draw(monkeypatch, folder, count):
    out = folder / "rows.csv"
    argv = ["draw", "--data", str(folder), "--seed", "1", "--airline", str(count), "--out", str(out)]
    monkeypatch.setattr(sys, "argv", argv)
    draw_urgency_rows.main()
    with open(out, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_a_tweet_the_source_holds_twice_is_drawn_once(tmp_path, monkeypatch):
    twice = "900000000000000001"
    write_airline(tmp_path, [twice, twice, twice, "900000000000000002"])  # seed 1 drew it twice before
    rows = draw(monkeypatch, tmp_path, 2)
    assert sorted(row["key"] for row in rows) == ["900000000000000001", "900000000000000002"]


def test_asking_for_more_than_are_left_is_refused_with_the_count(tmp_path, monkeypatch, capsys):
    write_airline(tmp_path, ["900000000000000001", "900000000000000002", "900000000000000001"])
    with pytest.raises(SystemExit) as raised:
        draw(monkeypatch, tmp_path, 3)
    assert raised.value.code == 2
    assert "airline_tweets.csv: 3 asked for, only 2 not yet labelled" in capsys.readouterr().err
    assert not (tmp_path / "rows.csv").exists()
