"""Alembic environment for the handoff database. bot.handoff.store.upgrade() passes an open connection
in config.attributes; run by hand, the URL comes from RIS3_HANDOFF_DATABASE_URL (see config.py)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from bot.handoff.config import HandoffSettings
from bot.handoff.database import make_engine
from bot.handoff.models import Base

config = context.config
target_metadata = Base.metadata


def _migrate(connection: Connection) -> None:
    # render_as_batch lets later migrations alter columns on SQLite, which has almost no ALTER TABLE.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    url = config.attributes.get("database_url") or HandoffSettings().database_url
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = make_engine(config.attributes.get("database_url") or HandoffSettings().database_url)
    try:
        with engine.connect() as connection:
            _migrate(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
