"""Which Slack channel a ticket goes to: the first route whose every key matches."""

import re
from dataclasses import dataclass

from core.config_sections import Route


@dataclass(frozen=True)
class TicketFacts:
    urgency: str
    source: str
    text: str
    brand: str | None = None
    language: str | None = None
    followers: int | None = None


def _has_keyword(text: str, keywords: tuple[str, ...]) -> bool:
    lowered = text.lower()
    return any(re.search(rf"(?<!\w){re.escape(keyword)}(?!\w)", lowered) for keyword in keywords)


def matches(route: Route, facts: TicketFacts) -> bool:
    checks = (
        not route.urgency or facts.urgency in route.urgency,
        not route.source or facts.source.lower() in route.source,
        not route.brand or (facts.brand or "").lower() in route.brand,
        not route.language or (facts.language or "").lower() in route.language,
        not route.keywords or _has_keyword(facts.text, route.keywords),
        route.min_followers is None or (facts.followers or 0) >= route.min_followers,
    )
    return all(checks)


def choose_route(routes: tuple[Route, ...], facts: TicketFacts) -> tuple[int, Route] | None:
    """The first route that matches, with its index; None: the default channel."""
    for index, route in enumerate(routes):
        if matches(route, facts):
            return index, route
    return None


def choose_channel(routes: tuple[Route, ...], default_channel: str, facts: TicketFacts) -> str:
    chosen = choose_route(routes, facts)
    return chosen[1].channel if chosen else default_channel
