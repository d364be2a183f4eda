"""Database timeouts: the engine options, and the watchdog that cuts a connection gone silent."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from app.config import normalise_database_url
from app.core.database import engine_options, install_deadlines

pytestmark = pytest.mark.postgres_only


def test_engine_options_carry_the_timeouts():
    postgres = engine_options(
        {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://h/db", "DATABASE_CONNECT_TIMEOUT": 5, "DATABASE_STATEMENT_TIMEOUT": 30000}
    )
    assert postgres["connect_args"] == {"connect_timeout": 5, "options": "-c statement_timeout=30000"}
    sqlite = engine_options(
        {"SQLALCHEMY_DATABASE_URI": "sqlite:///x.db", "DATABASE_CONNECT_TIMEOUT": 5, "DATABASE_STATEMENT_TIMEOUT": 30000}
    )
    assert sqlite["connect_args"] == {"timeout": 30.0}


def test_a_statement_past_its_deadline_is_cut_and_the_pool_recovers(postgres_url):
    # No server-side statement_timeout here: only the client-side deadline can end pg_sleep.
    engine = sa.create_engine(normalise_database_url(postgres_url), pool_size=1, max_overflow=0)
    install_deadlines(engine, statement_seconds=1.0, ping_seconds=2.0)
    try:
        connection = engine.connect()
        started = time.monotonic()
        with pytest.raises(sa.exc.OperationalError) as cut:
            connection.execute(sa.text("SELECT pg_sleep(20)"))
        assert time.monotonic() - started < 5
        assert cut.value.connection_invalidated
        connection.rollback()
        connection.close()
        with engine.connect() as connection:
            assert connection.scalar(sa.text("SELECT 1")) == 1
    finally:
        engine.dispose()
