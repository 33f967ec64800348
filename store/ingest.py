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


@dataclass(frozen=True)
class Delivery:
    """The mentions of one webhook request, and when it arrived."""

    mentions: list[IncomingMention]
    received_at: datetime


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


def save_deliveries(connection: Connection, deliveries: list[Delivery]) -> list[Saved]:
    """Insert what is new, in one statement for all deliveries; a mention
    already stored, or repeated earlier in these deliveries, counts as a
    duplicate of the delivery it is in. Does not commit."""
    rows = [_row(m, d.received_at) for d in deliveries for m in d.mentions]
    if not rows:
        return [Saved([], 0) for _ in deliveries]
    table = Mention.__table__
    # One statement shape whatever the number of rows, executed with a
    # parameter list, so its compiled form is cached instead of rebuilt.
    statement = (
        upsert_insert(connection.dialect.name)(table)
        .on_conflict_do_nothing(index_elements=["source", "external_id"])
        .returning(table.c.source, table.c.external_id, table.c.id)
    )
    inserted = {(source, external): id_ for source, external, id_ in connection.execute(statement, rows)}
    results = []
    for delivery in deliveries:
        ids = []
        for mention in delivery.mentions:
            # pop: the first delivery to name a new mention gets it, any later one a duplicate.
            if (id_ := inserted.pop((mention.source, mention.external_id), None)) is not None:
                ids.append(id_)
        results.append(Saved(ids, len(delivery.mentions) - len(ids)))
    return results


def save_mentions(connection: Connection, mentions: list[IncomingMention], received_at: datetime) -> Saved:
    """One delivery's mentions; see save_deliveries. Does not commit."""
    return save_deliveries(connection, [Delivery(mentions, received_at)])[0]
