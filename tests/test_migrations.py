"""The migrations build exactly the schema the code declares, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from store.db import get_engine
from store.schema import Base


def test_migrated_database_matches_the_schema(database_url):
    with get_engine(database_url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
