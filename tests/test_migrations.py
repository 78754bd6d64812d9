"""The Alembic chain builds exactly the schema the models describe, on SQLite and PostgreSQL."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import server.models  # noqa: F401  (every table on the metadata)


def _diff(connection):
    context = MigrationContext.configure(connection, opts={"compare_type": True, "render_as_batch": True})
    return compare_metadata(context, SQLModel.metadata)


async def test_it_has_no_drift_between_the_models_and_the_migrations(engine):
    async with engine.connect() as conn:
        differences = await conn.run_sync(_diff)
    assert differences == [], "models and migrations differ (autogenerate a migration):\n" + "\n".join(map(str, differences))
