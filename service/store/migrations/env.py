"""Alembic environment: runs on the connection handed over in config.attributes, inside its
transaction and under its migration lock (db.upgrade), else on the engine in one transaction."""

from alembic import context
from sqlalchemy import Connection

from service.store.tables import metadata

config = context.config


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()


if config.attributes.get("connection") is not None:
    run(config.attributes["connection"])
else:
    with config.attributes["engine"].begin() as connection:
        run(connection)
