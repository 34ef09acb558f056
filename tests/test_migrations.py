"""Specification of the schema migrations (Flask-Migrate / alembic).

The schema exists only through migrations: they upgrade a fresh database, downgrade it to
nothing and upgrade it again, and the models never drift from them (autogenerate finds no
difference) — on SQLite and, with TEST_DATABASE_URL, on PostgreSQL.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from app import create_app
from config import TestingConfig
from enforcement.extensions import db

# Downgrades and upgrades change the schema: on PostgreSQL, a database of their own.
pytestmark = pytest.mark.own_database

APP_TABLES = {"audit_events", "audit_head", "bodies", "case_counters", "case_officers", "cases", "certificates",
              "matters", "user_roles", "users", "api_tokens"}


def _tables() -> set[str]:
    return set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}


def _schema_diff() -> list:
    """What autogenerate would write into a new migration (empty: models and migrations agree)."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False,
                                                         "render_as_batch": True})
        return compare_metadata(context, db.metadata)


@pytest.fixture
def migration_app(database_url, tmp_path):
    """An app on a fresh migrated database (per backend), outside the usual `app` fixture."""
    app = create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.mark.sqlite_only
def test_upgrade_creates_the_schema_on_an_empty_sqlite_database(tmp_path):
    app = create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'fresh.sqlite3'}"})
    with app.app_context():
        assert _tables() == set()
        upgrade()
        assert APP_TABLES <= _tables()
        head = db.session.execute(sa.text("SELECT seq, last_hash FROM audit_head WHERE id = 1")).one()
        assert head == (0, "0" * 64)
        db.session.remove()
        db.engine.dispose()


def test_downgrade_to_nothing_and_upgrade_again(migration_app):
    assert APP_TABLES <= _tables()
    downgrade(revision="base")
    assert _tables() == set()
    upgrade()
    assert APP_TABLES <= _tables()
    assert _schema_diff() == []


def test_models_match_the_migrations(migration_app):
    diff = _schema_diff()
    assert diff == [], f"the models differ from the migrations; run `flask db migrate`: {diff}"


def test_audit_events_stay_append_only_after_a_round_trip(migration_app):
    """The triggers are part of the migration: they come back with the upgrade."""
    downgrade(revision="base")
    upgrade()
    with db.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO audit_events (id, at, actor_name, action, object_type, object_id, object_label, "
            "prev_hash, hash) VALUES (1, CURRENT_TIMESTAMP, 'system', 'test', 'test', '', '', :p, :h)"),
            {"p": "0" * 64, "h": "1" * 64})
    with pytest.raises(sa.exc.DatabaseError):
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE audit_events SET action = 'forged' WHERE id = 1"))
    with pytest.raises(sa.exc.DatabaseError):
        with db.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM audit_events WHERE id = 1"))
