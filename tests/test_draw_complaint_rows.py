"""Drawing unlabelled twcs tweets for the complaint splits: the brand of a thread, and which tweets are drawn."""

import csv

from tools.draw_complaint_rows import MAX_HOPS, draw, thread_brands


def tweet(tweet_id, inbound=True, author="cust", replies="", parent=""):
    row = {"tweet_id": tweet_id, "author_id": author, "inbound": str(inbound), "response_tweet_id": replies,
           "in_response_to_tweet_id": parent, "text": f"text {tweet_id}"}  # fmt: skip
    return tweet_id, row


def test_a_tweet_takes_the_brand_that_answers_anywhere_in_its_thread():
    tweets = dict([
        tweet("1", replies="2"),  # the opening, answered by the brand
        tweet("2", inbound=False, author="ChipotleTweets", replies="3", parent="1"),
        tweet("3", replies="4", parent="2"),  # a follow-up
        tweet("4", parent="3"),  # two hops from the brand
        tweet("9"),  # never answered
    ])  # fmt: skip
    assert thread_brands(tweets) == {"1": "ChipotleTweets", "3": "ChipotleTweets", "4": "ChipotleTweets"}


def test_a_cycle_or_a_long_chain_of_customers_ends_without_a_brand():
    cycle = dict([tweet("1", replies="2"), tweet("2", replies="1", parent="1")])
    assert thread_brands(cycle) == {}
    n = MAX_HOPS + 5
    chain = dict(tweet(str(i), replies=str(i + 1), parent=str(i - 1)) for i in range(n))
    chain.update([tweet(str(n), inbound=False, author="Brand", parent=str(n - 1))])
    brands = thread_brands(chain)
    assert brands[str(n - 1)] == "Brand" and "0" not in brands


def test_only_unlabelled_customer_tweets_to_the_industries_asked_for_are_drawn(tmp_path):
    rows = [
        tweet("65", replies="66"),  # labelled already in twcs_complaints.csv (food, test)
        tweet("66", inbound=False, author="ChipotleTweets", parent="65"),
        tweet("900001", replies="900002"),
        tweet("900002", inbound=False, author="ChipotleTweets", parent="900001"),
        tweet("900003", replies="900004"),
        tweet("900004", inbound=False, author="AmazonHelp", parent="900003"),  # retail
    ]  # fmt: skip
    with open(tmp_path / "twcs_5000.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0][1]))
        writer.writeheader()
        writer.writerows(row for _, row in rows)
    assert draw(tmp_path, {"food"}) == [("900001", "ChipotleTweets", "food", "text 900001")]
    assert [r[0] for r in draw(tmp_path, {"food", "retail"})] == ["900001", "900003"]


def test_ids_written_as_floats_still_link_a_thread():
    tweets = dict([tweet("64", inbound=False, author="ChipotleTweets", replies="65"), tweet("65", parent="64.0")])
    assert thread_brands(tweets) == {"65": "ChipotleTweets"}
