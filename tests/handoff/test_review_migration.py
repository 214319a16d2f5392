"""Review's tables under the migrations (revision 0003): made on a new database, and on a database where an
earlier version had created them at start-up, found and kept with their rows."""

from __future__ import annotations

from datetime import datetime, timezone

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, inspect, select

from bot.analytics.review import DecisionStore, review_decisions
from bot.handoff.config import HandoffSettings
from bot.handoff.database import make_engine
from bot.handoff.store import _alembic_config, head_revision, upgrade
from tests.handoff.schema_models import all_tables


def test_a_new_database_gets_reviews_tables_from_the_migrations(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        assert {"review_decisions", "review_questions"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_tables_made_at_start_up_by_an_earlier_version_are_kept(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection=connection), "0002")
            # What the earlier version's start-up did: create_all of Review's two tables, then a decision.
            review_decisions.metadata.create_all(connection)
            connection.execute(
                insert(review_decisions).values(
                    group_id="g1", decision="out_of_scope", note="", decided_by="editor",
                    decided_at=datetime(2026, 12, 1, 10, tzinfo=timezone.utc), questions="[]", changes="{}",
                )
            )
        upgrade(empty_database_url)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert context.get_current_revision() == head_revision()
            assert compare_metadata(context, all_tables()) == []
            assert connection.execute(select(review_decisions.c.group_id)).scalars().all() == ["g1"]
    finally:
        engine.dispose()


def test_reviews_store_migrates_an_empty_database_itself(empty_database_url: str) -> None:
    store = DecisionStore(empty_database_url)
    try:
        assert store.decided_hashes() == set()
    finally:
        store.engine.dispose()


def test_a_rollback_to_the_release_before_keeps_reviews_decisions(empty_database_url: str) -> None:
    from bot.handoff.backoffice import main

    upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(review_decisions).values(
                    group_id="g2", decision="out_of_scope", note="", decided_by="editor",
                    decided_at=datetime(2026, 12, 2, 9, tzinfo=timezone.utc), questions="[]", changes="{}",
                )
            )
        settings = HandoffSettings(database_url=empty_database_url)
        assert main(["downgrade", "0002"], settings) == 0
        with engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == "0002"
            assert connection.execute(select(review_decisions.c.group_id)).scalars().all() == ["g2"]
        assert main(["downgrade", "no-such-revision"], settings) == 2
        upgrade(empty_database_url)  # the upgrade again, after the rollback
        with engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == head_revision()
    finally:
        engine.dispose()
