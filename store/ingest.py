"""Storing incoming mentions durably, once per (source, id)."""

import json
from dataclasses import dataclass, fields
from datetime import UTC, datetime

from sqlalchemy.engine import Connection

from integrations.platforms.mention import IncomingMention


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


_ROW_COLUMNS = (*(f.name for f in fields(IncomingMention)), "received_at", "signals")  # what _row gives


def _row(mention: IncomingMention, received_at: datetime) -> dict:
    row = dict(vars(mention))  # shallow: asdict's deep copy costs more than the insert itself
    row["created_at"] = clock_start(mention.created_at, received_at)
    row["received_at"] = received_at
    row["signals"] = []
    if mention.created_at is not None and mention.created_at != row["created_at"]:
        row["extra"] = {**row["extra"], "_reported_created_at": mention.created_at.isoformat()}
    return row


def save_deliveries(connection: Connection, deliveries: list[Delivery]) -> list[Saved]:
    """insert_rows in a SQLAlchemy connection's transaction (begun by the caller).
    Does not commit."""
    dialect = connection.dialect.name
    batches = [delivery_rows(delivery, dialect) for delivery in deliveries]
    return insert_rows(connection.connection.driver_connection, dialect, batches)


def insert_rows(dbapi_connection, dialect: str, batches: list[list[dict]]) -> list[Saved]:
    """Insert what is new of `batches` (each one delivery's delivery_rows), in one
    statement for all of them (atomic on its own, so autocommit needs no
    transaction around it); a mention already stored, or repeated earlier in
    these batches, counts as a duplicate of the batch it is in. Runs on the
    driver's own connection (sqlite3 or psycopg): the intake writer's path,
    without SQLAlchemy's per-execution work, which was a tenth of a web
    process's time under load."""
    rows = [row for batch in batches for row in batch]
    if not rows:
        return [Saved([], 0) for _ in batches]
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(_INSERTS[dialect], {"rows": json.dumps(rows, ensure_ascii=False)})
        return _saved(batches, cursor.fetchall())
    finally:
        cursor.close()


def _saved(batches: list[list[dict]], returned) -> list[Saved]:
    inserted = {(source, external): id_ for source, external, id_ in returned}
    results = []
    for batch in batches:
        ids = []
        for row in batch:
            # pop: the first batch to name a new mention gets it, any later one a duplicate.
            if (id_ := inserted.pop((row["source"], row["external_id"]), None)) is not None:
                ids.append(id_)
        results.append(Saved(ids, len(batch) - len(ids)))
    return results


# All rows travel as one JSON parameter and the database unpacks them. The
# statement's text never changes with the number of rows, so the driver parses
# it once and PostgreSQL prepares it once. The ORM's multi-row INSERT (one
# placeholder per value) made every group size a new statement: psycopg parsed
# it again for each group, a third of a web process's time under load, and on
# both databases binding values one by one cost more than the insert itself.
# JSON columns travel as JSON text inside the parameter and are stored as that
# text, exactly as SQLAlchemy's JSON type would have written them.
_JSON_COLUMNS = ("extra", "signals")
# Written out whole, in each driver's parameter style (tests/test_group_commit.py checks
# them against _ROW_COLUMNS and the schema).
_INSERT_POSTGRESQL = """
INSERT INTO mentions (source, external_id, author_id, text, direction, author_handle, author_name,
    author_followers, created_at, url, in_reply_to, conversation_id, brand, language, extra,
    received_at, signals)
SELECT r.source, r.external_id, r.author_id, r.text, r.direction, r.author_handle, r.author_name,
    r.author_followers, r.created_at, r.url, r.in_reply_to, r.conversation_id, r.brand, r.language,
    r.extra::json, r.received_at, r.signals::json
FROM json_to_recordset(%(rows)s) AS r(source varchar(32), external_id varchar(255), author_id varchar(255),
    text text, direction varchar(8), author_handle varchar(255), author_name varchar(255),
    author_followers bigint, created_at timestamp, url text, in_reply_to varchar(255),
    conversation_id varchar(255), brand varchar(255), language varchar(16), extra text,
    received_at timestamp, signals text)
WHERE NOT EXISTS (SELECT 1 FROM mention_tombstones t WHERE t.source = r.source AND t.external_id = r.external_id)
ON CONFLICT (source, external_id) DO NOTHING RETURNING source, external_id, id
"""
# A post its author deleted before it reached us (a tombstone, tickets.erasure) is not stored: it
# counts as a duplicate. A WHERE is needed anyway: without one SQLite would read ON CONFLICT as
# part of a join.
_INSERT_SQLITE = """
INSERT INTO mentions (source, external_id, author_id, text, direction, author_handle, author_name,
    author_followers, created_at, url, in_reply_to, conversation_id, brand, language, extra,
    received_at, signals)
SELECT json_extract(value, '$.source'), json_extract(value, '$.external_id'),
    json_extract(value, '$.author_id'), json_extract(value, '$.text'),
    json_extract(value, '$.direction'), json_extract(value, '$.author_handle'),
    json_extract(value, '$.author_name'), json_extract(value, '$.author_followers'),
    json_extract(value, '$.created_at'), json_extract(value, '$.url'),
    json_extract(value, '$.in_reply_to'), json_extract(value, '$.conversation_id'),
    json_extract(value, '$.brand'), json_extract(value, '$.language'),
    json_extract(value, '$.extra'), json_extract(value, '$.received_at'),
    json_extract(value, '$.signals')
FROM json_each(:rows)
WHERE NOT EXISTS (SELECT 1 FROM mention_tombstones t WHERE t.source = json_extract(value, '$.source')
    AND t.external_id = json_extract(value, '$.external_id'))
ON CONFLICT (source, external_id) DO NOTHING RETURNING source, external_id, id
"""
_INSERTS = {"postgresql": _INSERT_POSTGRESQL, "sqlite": _INSERT_SQLITE}
# How each database's DateTime column holds a UTC time (store.schema.UtcDateTime
# drops the zone; SQLite keeps SQLAlchemy's text form, microseconds always).
_TIME_SEPARATORS = {"postgresql": "T", "sqlite": " "}


def _utc_text(value: datetime, separator: str) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(separator, "microseconds")


def delivery_rows(delivery: Delivery, dialect: str) -> list[dict]:
    """One delivery's mentions as the rows insert_rows writes: plain JSON values,
    times as the dialect's column text, JSON columns as their text."""
    separator = _TIME_SEPARATORS[dialect]
    rows = [_row(mention, delivery.received_at) for mention in delivery.mentions]
    for row in rows:
        row["created_at"] = _utc_text(row["created_at"], separator)
        row["received_at"] = _utc_text(row["received_at"], separator)
        for name in _JSON_COLUMNS:
            row[name] = json.dumps(row[name], ensure_ascii=False)
    return rows


def save_mentions(connection: Connection, mentions: list[IncomingMention], received_at: datetime) -> Saved:
    """One delivery's mentions; see save_deliveries. Does not commit."""
    return save_deliveries(connection, [Delivery(mentions, received_at)])[0]
