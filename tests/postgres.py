"""A PostgreSQL database of a test's own on the server at RIS3_TEST_POSTGRES_URL (default: the local server,
user postgres, database test), shared by the handoff, back office and end-to-end tests."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

POSTGRES_URL = os.environ.get("RIS3_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def libpq(url: str) -> str:
    """A SQLAlchemy URL as psycopg takes it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def url_of(name: str) -> str:
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


@contextmanager
def scratch_database(prefix: str = "ris3_test") -> Iterator[tuple[psycopg.Connection, str]]:
    """(an autocommit admin connection, the name of a database made for the caller), dropped afterwards.
    Without a server the test is skipped, or fails under CI, where the server is part of the set-up."""
    try:
        admin = psycopg.connect(libpq(POSTGRES_URL), connect_timeout=3, autocommit=True)
    except psycopg.OperationalError as exc:
        where = make_url(POSTGRES_URL).render_as_string(hide_password=True)
        reason = f"PostgreSQL not reachable at {where} (set RIS3_TEST_POSTGRES_URL): {exc}".strip()
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    name = f"{prefix}_{secrets.token_hex(4)}"
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield admin, name
        finally:
            # FORCE ends connections a failed test may have left open.
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
