"""Declared links between one customer's handles, on one platform or across platforms.

An agent links two handles (`/earshot link x:u42 facebook:9001`); a mention
from either then continues the other's waiting ticket. Links are transitive
up to MAX_HANDLES handles, so a wrong link cannot make one customer of everybody.
"""

from sqlalchemy import or_, select, tuple_
from sqlalchemy.orm import Session

from core.timeutil import utcnow
from store.schema import AuthorLink

Handle = tuple[str, str]  # (source, author id)
MAX_HANDLES = 20


def link(session: Session, a: Handle, b: Handle, actor: str | None) -> bool:
    """Record that `a` and `b` are one customer; False when they already were."""
    if a == b or b in handles(session, a):
        return False
    first, second = sorted((a, b))
    session.add(AuthorLink(source_a=first[0], author_a=first[1], source_b=second[0], author_b=second[1],
                           actor=actor, created_at=utcnow()))  # fmt: skip
    session.flush()
    return True


def _links(session: Session, of: list[Handle]):
    """The links that have one of `of` on either side, as (source_a, author_a, source_b, author_b)."""
    side_a = tuple_(AuthorLink.source_a, AuthorLink.author_a)
    side_b = tuple_(AuthorLink.source_b, AuthorLink.author_b)
    rows = select(AuthorLink.source_a, AuthorLink.author_a, AuthorLink.source_b, AuthorLink.author_b)
    return session.execute(rows.where(or_(side_a.in_(of), side_b.in_(of))))


def handles(session: Session, handle: Handle) -> set[Handle]:
    """`handle` and every handle linked to it, directly or through others."""
    found, frontier = {handle}, [handle]
    while frontier and len(found) < MAX_HANDLES:
        rows = _links(session, frontier)
        frontier = []
        for source_a, author_a, source_b, author_b in rows:
            for other in ((source_a, author_a), (source_b, author_b)):
                if other not in found and len(found) < MAX_HANDLES:
                    found.add(other)
                    frontier.append(other)
    return found


def handles_of(session: Session, wanted: set[Handle]) -> dict[Handle, set[Handle]]:
    """`handles` for each of `wanted`: one query when none of them is linked, the usual case."""
    if not wanted:
        return {}
    linked = {handle for row in _links(session, list(wanted)) for handle in ((row[0], row[1]), (row[2], row[3]))}
    return {handle: handles(session, handle) if handle in linked else {handle} for handle in wanted}


def parse_handle(raw: str) -> Handle | None:
    """`source:author_id` as an agent types it, or None."""
    source, sep, author = raw.strip().partition(":")
    if not sep or not source or not author or len(source) > 32 or len(author) > 255:
        return None
    return source.lower(), author
