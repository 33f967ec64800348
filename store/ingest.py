"""Storing incoming mentions durably, once per (source, id)."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from integrations.platforms.mention import IncomingMention
from store.db import upsert_insert
from store.schema import Mention


@dataclass(frozen=True)
class Saved:
    ids: list[int]
    duplicates: int


def clock_start(created_at: datetime | None, received_at: datetime) -> datetime:
    """The customer's clock starts when they posted; a missing or future time means now."""
    if created_at is None or created_at > received_at:
        return received_at
    return created_at


def _row(mention: IncomingMention, received_at: datetime) -> dict:
    row = dict(vars(mention))  # shallow: asdict's deep copy costs more than the insert itself
    row["created_at"] = clock_start(mention.created_at, received_at)
    row["received_at"] = received_at
    row["signals"] = []
    if mention.created_at is not None and mention.created_at != row["created_at"]:
        row["extra"] = {**row["extra"], "_reported_created_at": mention.created_at.isoformat()}
    return row


def save_mentions(connection: Connection, mentions: list[IncomingMention], received_at: datetime) -> Saved:
    """Insert what is new; a mention already stored counts as a duplicate. Does not commit."""
    if not mentions:
        return Saved([], 0)
    insert = upsert_insert(connection.dialect.name)
    # One statement shape whatever the batch size, executed with a parameter
    # list, so its compiled form is cached instead of rebuilt per request.
    statement = (
        insert(Mention.__table__)
        .on_conflict_do_nothing(index_elements=["source", "external_id"])
        .returning(Mention.__table__.c.id)
    )
    ids = list(connection.execute(statement, [_row(m, received_at) for m in mentions]).scalars())
    return Saved(ids, len(mentions) - len(ids))
