"""Storing incoming mentions durably, once per (source, id)."""

import json
from dataclasses import dataclass, fields
from datetime import UTC, datetime

from sqlalchemy import JSON, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from integrations.platforms.mention import IncomingMention
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
    """Insert what is new, in one statement for all deliveries (atomic on its
    own, so autocommit needs no transaction around it); a mention already
    stored, or repeated earlier in these deliveries, counts as a duplicate of
    the delivery it is in. Does not commit."""
    rows = [_row(m, d.received_at) for d in deliveries for m in d.mentions]
    if not rows:
        return [Saved([], 0) for _ in deliveries]
    inserted = {(source, external): id_ for source, external, id_ in _insert(connection, rows)}
    results = []
    for delivery in deliveries:
        ids = []
        for mention in delivery.mentions:
            # pop: the first delivery to name a new mention gets it, any later one a duplicate.
            if (id_ := inserted.pop((mention.source, mention.external_id), None)) is not None:
                ids.append(id_)
        results.append(Saved(ids, len(delivery.mentions) - len(ids)))
    return results


# All rows travel as one JSON parameter and the database unpacks them. The
# statement's text never changes with the number of rows, so the driver parses
# it once and PostgreSQL prepares it once. The ORM's multi-row INSERT (one
# placeholder per value) made every group size a new statement: psycopg parsed
# it again for each group, a third of a web process's time under load, and on
# both databases binding values one by one cost more than the insert itself.
# JSON columns travel as JSON text inside the parameter and are stored as that
# text, exactly as SQLAlchemy's JSON type would have written them.
_JSON_COLUMNS = [name for name in _ROW_COLUMNS if isinstance(Mention.__table__.c[name].type, JSON)]
_RETURNING = "ON CONFLICT (source, external_id) DO NOTHING RETURNING source, external_id, id"


def _postgresql_insert():
    table, record, selected = Mention.__table__, [], []
    for name in _ROW_COLUMNS:
        is_json = name in _JSON_COLUMNS
        record.append(f"{name} {'text' if is_json else table.c[name].type.compile(dialect=postgresql.dialect())}")
        selected.append(f"r.{name}::json" if is_json else f"r.{name}")
    return text(
        f"INSERT INTO mentions ({', '.join(_ROW_COLUMNS)}) SELECT {', '.join(selected)} "
        f"FROM json_to_recordset(:rows) AS r({', '.join(record)}) {_RETURNING}"
    )


def _sqlite_insert():
    # WHERE true: without it SQLite would read ON CONFLICT as part of a join.
    selected = ", ".join(f"json_extract(value, '$.{name}')" for name in _ROW_COLUMNS)
    return text(f"INSERT INTO mentions ({', '.join(_ROW_COLUMNS)}) SELECT {selected} FROM json_each(:rows) WHERE true {_RETURNING}")


_INSERTS = {"postgresql": _postgresql_insert(), "sqlite": _sqlite_insert()}
# How each database's DateTime column holds a UTC time (store.schema.UtcDateTime
# drops the zone; SQLite keeps SQLAlchemy's text form, microseconds always).
_TIME_SEPARATORS = {"postgresql": "T", "sqlite": " "}


def _utc_text(value: datetime, separator: str) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(separator, "microseconds")


def _insert(connection: Connection, rows: list[dict]):
    dialect = connection.dialect.name
    separator = _TIME_SEPARATORS[dialect]
    for row in rows:
        row["created_at"] = _utc_text(row["created_at"], separator)
        row["received_at"] = _utc_text(row["received_at"], separator)
        for name in _JSON_COLUMNS:
            row[name] = json.dumps(row[name], ensure_ascii=False)
    return connection.execute(_INSERTS[dialect], {"rows": json.dumps(rows, ensure_ascii=False)})


def save_mentions(connection: Connection, mentions: list[IncomingMention], received_at: datetime) -> Saved:
    """One delivery's mentions; see save_deliveries. Does not commit."""
    return save_deliveries(connection, [Delivery(mentions, received_at)])[0]
