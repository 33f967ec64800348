"""Mentions as rows, and the one INSERT that stores them durably, once per (source, id)."""

import json
from dataclasses import dataclass, fields
from datetime import UTC, datetime

from sqlalchemy import JSON, Text, bindparam, cast, exists, func, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql import column

from integrations.platforms.mention import IncomingMention
from store.schema import Mention, MentionTombstone


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


ROW_COLUMNS = (*(f.name for f in fields(IncomingMention)), "received_at", "signals")  # what _row gives
# JSON columns travel as JSON text inside the parameter and are stored as that
# text, exactly as SQLAlchemy's JSON type would have written them.
_JSON_COLUMNS = ("extra", "signals")
# How each database's DateTime column holds a UTC time (store.schema.UtcDateTime
# drops the zone; SQLite keeps SQLAlchemy's text form, microseconds always).
_TIME_SEPARATORS = {"postgresql": "T", "sqlite": " "}


def _row(mention: IncomingMention, received_at: datetime) -> dict:
    row = dict(vars(mention))  # shallow: asdict's deep copy costs more than the insert itself
    row["created_at"] = clock_start(mention.created_at, received_at)
    row["received_at"] = received_at
    row["signals"] = []
    if mention.created_at is not None and mention.created_at != row["created_at"]:
        row["extra"] = {**row["extra"], "_reported_created_at": mention.created_at.isoformat()}
    return row


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


# All rows travel as one JSON parameter and the database unpacks them. The
# statement's text never changes with the number of rows, so the driver parses
# it once and PostgreSQL prepares it once. The ORM's multi-row INSERT (one
# placeholder per value) made every group size a new statement: psycopg parsed
# it again for each group, a third of a web process's time under load, and on
# both databases binding values one by one cost more than the insert itself.
# The statement is built from ROW_COLUMNS and the table's own column types, and
# compiled once per database.


def _postgresql_values():
    """json_to_recordset(:rows) AS r(column type, …): each column typed as the table has it,
    the JSON columns as their text, cast back."""
    table = Mention.__table__
    record = (
        func.json_to_recordset(bindparam("rows"))
        .table_valued(*(column(name, Text() if name in _JSON_COLUMNS else table.c[name].type) for name in ROW_COLUMNS))
        .render_derived(name="r", with_types=True)
    )
    return record, [cast(record.c[name], JSON) if name in _JSON_COLUMNS else record.c[name] for name in ROW_COLUMNS]


def _sqlite_values():
    """json_each(:rows), each column json_extract'ed from the row's object."""
    each = func.json_each(bindparam("rows")).table_valued("value").alias("r")
    return each, [func.json_extract(each.c.value, literal_column(f"'$.{name}'")) for name in ROW_COLUMNS]


def _insert_text(dialect, insert, values) -> str:
    table, tombstones = Mention.__table__, MentionTombstone.__table__
    source, columns = values()
    by_name = dict(zip(ROW_COLUMNS, columns, strict=True))
    # A post its author deleted before it reached us (a tombstone, tickets.erasure) is not stored: it
    # counts as a duplicate. A WHERE is needed anyway: without one SQLite would read ON CONFLICT as
    # part of a join.
    tombstoned = exists().where(
        tombstones.c.source == by_name["source"], tombstones.c.external_id == by_name["external_id"]
    )
    statement = (
        insert(table)
        .from_select(list(ROW_COLUMNS), select(*columns).select_from(source).where(~tombstoned))
        .on_conflict_do_nothing(index_elements=[table.c.source, table.c.external_id])
        .returning(table.c.source, table.c.external_id, table.c.id)
    )
    return str(statement.compile(dialect=dialect))


# Each driver's own parameter style, with the one parameter named `rows`.
_INSERTS = {
    "postgresql": _insert_text(postgresql.psycopg.dialect(), postgresql.insert, _postgresql_values),
    "sqlite": _insert_text(sqlite.pysqlite.dialect(paramstyle="named"), sqlite.insert, _sqlite_values),
}


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


def save_deliveries(connection: Connection, deliveries: list[Delivery]) -> list[Saved]:
    """insert_rows in a SQLAlchemy connection's transaction (begun by the caller).
    Does not commit."""
    dialect = connection.dialect.name
    batches = [delivery_rows(delivery, dialect) for delivery in deliveries]
    return insert_rows(connection.connection.driver_connection, dialect, batches)


def save_mentions(connection: Connection, mentions: list[IncomingMention], received_at: datetime) -> Saved:
    """One delivery's mentions; see save_deliveries. Does not commit."""
    return save_deliveries(connection, [Delivery(mentions, received_at)])[0]
