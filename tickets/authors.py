"""Declared links between one customer's handles, on one platform or across platforms.

An agent links two handles (`/earshot link x:u42 facebook:9001`); a mention
from either then continues the other's waiting ticket. Links are transitive
up to MAX_HANDLES handles, so a wrong link cannot make one customer of everybody.
"""

from sqlalchemy import and_, or_, select
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


def handles(session: Session, handle: Handle) -> set[Handle]:
    """`handle` and every handle linked to it, directly or through others."""
    found, frontier = {handle}, [handle]
    while frontier and len(found) < MAX_HANDLES:
        rows = session.execute(
            select(AuthorLink.source_a, AuthorLink.author_a, AuthorLink.source_b, AuthorLink.author_b).where(
                or_(
                    *[and_(AuthorLink.source_a == s, AuthorLink.author_a == a) for s, a in frontier],
                    *[and_(AuthorLink.source_b == s, AuthorLink.author_b == a) for s, a in frontier],
                )
            )
        )
        frontier = []
        for source_a, author_a, source_b, author_b in rows:
            for other in ((source_a, author_a), (source_b, author_b)):
                if other not in found and len(found) < MAX_HANDLES:
                    found.add(other)
                    frontier.append(other)
    return found


def parse_handle(raw: str) -> Handle | None:
    """`source:author_id` as an agent types it, or None."""
    source, sep, author = raw.strip().partition(":")
    if not sep or not source or not author or len(source) > 32 or len(author) > 255:
        return None
    return source.lower(), author
