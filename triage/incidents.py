"""Incident rules, pure: when a cluster of complaints (triage.clustering) is an incident, and when
a brand's volume is a rise."""

from datetime import datetime, timedelta

from triage.clustering import Cluster


def forms_incident(cluster: Cluster, min_authors: int) -> bool:
    return cluster.incident_id is None and cluster.author_count >= min_authors


def volume_rise(recent: int, usual: list[int], factor: float, min_count: int) -> float | None:
    """The usual count when `recent` is a rise over it, else None.

    `usual` holds the counts of the same window in earlier weeks (same hour of
    the week); an empty list means too little history to judge.
    """
    if not usual or recent < min_count:
        return None
    expected = sum(usual) / len(usual)
    return expected if recent >= factor * max(expected, 1.0) else None


def growth(times: list[datetime], now: datetime, span: timedelta) -> int:
    """How many of `times` fall in the last `span` before `now`."""
    return sum(1 for at in times if now - span < at <= now)
