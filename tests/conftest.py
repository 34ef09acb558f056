"""Shared fixtures: an app on a fresh, migrated database per test, a client, a CLI runner,
factories for master data and a login helper.

Databases: every test starts on a database just as migrated, and views commit for real. On
SQLite that is a file copy of a database migrated once per session. On PostgreSQL each test
process keeps one database made from the migrated template and empties it before each test: every
table's rows deleted (triggers off) and the migration's own rows and sequence positions put back
from a copy kept in the schema `test_seed` — a few milliseconds, where `CREATE DATABASE … TEMPLATE`
costs 0.2–0.5 s (the deletes switch the triggers off with `session_replication_role`, which needs the
superuser that TEST_DATABASE_URL names anyway to create databases). Tests that change the schema or replace the database (`@pytest.mark.own_database`:
migrations, the demo snapshots) still get a database of their own. When TEST_DATABASE_URL is set,
the `app` fixture runs each test on SQLite and on PostgreSQL.
"""
from __future__ import annotations

import itertools
import os
import re
import shutil
import uuid
from pathlib import Path

import pytest

os.environ.setdefault("APP_ENV", "testing")

from app import create_app  # noqa: E402
from config import TestingConfig  # noqa: E402

CI = os.environ.get("CI") == "true"
PG_URL = os.environ.get("TEST_DATABASE_URL")


def require_component(available: bool, what: str) -> None:
    """Skip a test for lack of a component — except in CI, where nothing may be skipped."""
    if available:
        return
    if CI:
        pytest.fail(f"{what} is required in CI (CI=true) but is not available")
    pytest.skip(f"{what} not available")


def _migrate(url: str, instance: Path) -> None:
    from flask_migrate import upgrade

    app = create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(instance)})
    with app.app_context():
        upgrade()
        from enforcement.extensions import db
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.sqlite3"
    _migrate(f"sqlite:///{path}", folder)
    return path


def _pg_admin_url(url: str) -> tuple[str, str]:
    """The server URL without its database name, and that name."""
    match = re.match(r"^(.*/)([^/?]+)(\?.*)?$", url)
    if not match:
        raise RuntimeError(f"TEST_DATABASE_URL has no database name: {url}")
    return match.group(1), match.group(2)


def _pg_url(url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _pg_exec(sql: str) -> None:
    import sqlalchemy as sa

    base, dbname = _pg_admin_url(_pg_url(PG_URL))
    engine = sa.create_engine(base + dbname, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


SEED_SCHEMA = "test_seed"


def _keep_seed(url: str) -> None:
    """Copy every table's rows as migrated, and each sequence's position, into `test_seed`."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {SEED_SCHEMA}")
            for (table,) in conn.exec_driver_sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"):
                conn.exec_driver_sql(f'CREATE TABLE {SEED_SCHEMA}."{table}" AS TABLE public."{table}"')
            conn.exec_driver_sql(f"CREATE TABLE {SEED_SCHEMA}._sequences AS SELECT sequencename, last_value "
                                 "FROM pg_sequences WHERE schemaname = 'public'")
    finally:
        engine.dispose()


def _reset_script(conn) -> str:
    """The SQL that brings a database made from the template back to the state just after migration."""
    tables = [t for (t,) in conn.exec_driver_sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
              if t != "alembic_version"]
    seeded = [t for t in tables
              if conn.exec_driver_sql(f'SELECT EXISTS (SELECT 1 FROM {SEED_SCHEMA}."{t}")').scalar()]
    # session_replication_role = replica turns off the triggers: the foreign keys (so the order of
    # the deletes does not matter) and the append-only guards on the audit trail and the records.
    lines = ["SET LOCAL session_replication_role = replica"]
    lines += [f'DELETE FROM public."{t}"' for t in tables]
    lines += [f'INSERT INTO public."{t}" OVERRIDING SYSTEM VALUE SELECT * FROM {SEED_SCHEMA}."{t}"' for t in seeded]
    for name, last in conn.exec_driver_sql(f"SELECT sequencename, last_value FROM {SEED_SCHEMA}._sequences"):
        lines.append(f'ALTER SEQUENCE public."{name}" RESTART' if last is None
                     else f"SELECT setval('public.\"{name}\"', {int(last)}, true)")
    return ";\n".join(lines)


@pytest.fixture(scope="session")
def pg_template(tmp_path_factory):
    require_component(bool(PG_URL), "PostgreSQL (TEST_DATABASE_URL)")
    name = f"enf_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    _pg_exec(f'CREATE DATABASE "{name}"')
    base, _db = _pg_admin_url(_pg_url(PG_URL))
    _migrate(base + name, tmp_path_factory.mktemp("pg-template"))
    _keep_seed(base + name)
    yield name
    _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# The shape of the schema: tables and columns (type, NOT NULL, default), indexes, constraints with their
# definitions, triggers and the functions they call (a test that drops a trigger to tamper with the audit
# trail changes it, and the next test must not inherit that).
_SCHEMA_FINGERPRINT = """
SELECT md5(concat_ws('|',
  (SELECT string_agg(c.relname || '.' || a.attname || ':' || a.atttypid::text || ':' || a.attnotnull::text || ':'
                     || coalesce(pg_get_expr(d.adbin, d.adrelid), ''), ',' ORDER BY c.relname, a.attnum)
     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
     LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped),
  (SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class
    WHERE relnamespace = 'public'::regnamespace AND relkind = 'i'),
  (SELECT string_agg(conname || ':' || pg_get_constraintdef(oid), ',' ORDER BY conname) FROM pg_constraint
    WHERE connamespace = 'public'::regnamespace),
  (SELECT string_agg(tgname || ':' || tgenabled::text, ',' ORDER BY tgname) FROM pg_trigger WHERE NOT tgisinternal),
  (SELECT string_agg(pg_get_functiondef(oid), ',' ORDER BY proname) FROM pg_proc
    WHERE pronamespace = 'public'::regnamespace AND prokind = 'f')))
"""


class _ReusedDatabase:
    """This test process's PostgreSQL database, emptied back to the migrated state before each test.

    If a test changed the schema (dropped a trigger, say), the database is made again from the template.
    """

    def __init__(self, template: str):
        self.template = template
        self.base, _db = _pg_admin_url(_pg_url(PG_URL))
        self.engine = None
        self._create()
        with self.engine.connect() as conn:
            self.script = _reset_script(conn)
            self.fingerprint = conn.exec_driver_sql(_SCHEMA_FINGERPRINT).scalar()

    def _create(self) -> None:
        import sqlalchemy as sa

        self.name = f"enf_w_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        _pg_exec(f'CREATE DATABASE "{self.name}" TEMPLATE "{self.template}"')
        self.url = self.base + self.name
        self.engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)

    def reset(self) -> None:
        with self.engine.begin() as conn:
            # A connection left by the previous test (a thread of a race test, say) must not hold a lock.
            conn.exec_driver_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            if conn.exec_driver_sql(_SCHEMA_FINGERPRINT).scalar() == self.fingerprint:
                conn.exec_driver_sql(self.script)
                return
        self.drop()
        self._create()

    def drop(self) -> None:
        self.engine.dispose()
        _pg_exec(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_reused(pg_template):
    database = _ReusedDatabase(pg_template)
    yield database
    database.drop()


_counter = itertools.count()


def _backends():
    return ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


@pytest.fixture
def database_url(request, tmp_path, sqlite_template):
    """A fresh migrated database for one test; the backend comes from the `app` parametrisation."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    if not request.node.get_closest_marker("own_database"):
        reused = request.getfixturevalue("pg_reused")
        reused.reset()
        yield reused.url
        return
    template = request.getfixturevalue("pg_template")
    name = f"enf_t_{os.getpid()}_{next(_counter)}"
    _pg_exec(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    base, _db = _pg_admin_url(_pg_url(PG_URL))
    yield base + name
    _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pytest_generate_tests(metafunc):
    # Parametrise the database of every test that (indirectly) uses `database_url`,
    # unless it asks for SQLite only with @pytest.mark.sqlite_only.
    if "database_url" in metafunc.fixturenames and not metafunc.definition.get_closest_marker("sqlite_only"):
        metafunc.parametrize("database_url", _backends(), indirect=True)


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only: run this test on SQLite only (e.g. browser tests)")
    config.addinivalue_line("markers", "own_database: on PostgreSQL, a database of its own made from the template "
                                       "(for tests that change the schema or replace the database)")
    config.addinivalue_line("markers", "browser: drives the real pages in Chromium")
    config.addinivalue_line("markers", "s3: needs the SeaweedFS server")
    config.addinivalue_line("markers", "real_pdf(*names): render the Chinese PDF documents with fpdf2 (about 1.5 s each); with names, only those renderers")


def make_app(database_url: str, tmp_path: Path, **overrides):
    from storage import store_from_url

    settings = {"SQLALCHEMY_DATABASE_URI": database_url, "WTF_CSRF_ENABLED": True, **overrides}
    app = create_app(TestingConfig, settings)
    objects = tmp_path / "objects"
    objects.mkdir(exist_ok=True)
    app.extensions["object_store"] = store_from_url(f"file://{objects}")
    return app


@pytest.fixture
def app(database_url, tmp_path):
    from flask import g, request_started

    from enforcement.extensions import db, limiter

    app = make_app(database_url, tmp_path)

    def forget(_sender, **_extra):
        # The test's app context outlives each request, so `g` would carry Flask-Login's user,
        # Flask-WTF's CSRF token and the locale from one client's request to the next: start each
        # request with an empty `g`, as a real server does.
        g.__dict__.clear()

    request_started.connect(forget, app)
    with app.app_context():
        limiter.reset()
        yield app
        db.session.remove()
        db.engine.dispose()
    request_started.disconnect(forget, app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make(app):
    from tests.factories import Factory

    return Factory()


@pytest.fixture
def team(make):
    """A body with two certified officers, a head, a reviewer, an auditor and an admin."""
    return make.team()


@pytest.fixture
def as_user(app):
    """as_user(user) -> a test client logged in as that user (through the real login form)."""
    from tests.factories import PASSWORD

    def login(user):
        client = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        response = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                               "csrf_token": csrf_token(client, "/login")})
        assert response.status_code == 302, response.status_code
        return client
    return login


@pytest.fixture
def login(client):
    """login(user) logs the test client in through the real form (CSRF token included)."""
    from tests.factories import PASSWORD

    def do(user, password: str = PASSWORD, follow: bool = False):
        token = csrf_token(client, "/login")
        return client.post("/login", data={"username": user.username, "password": password, "csrf_token": token},
                           follow_redirects=follow)
    return do


def csrf_token(client, path: str) -> str:
    """Fetch a page and read the CSRF token of its first form."""
    page = client.get(path)
    match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page.data) or re.search(
        rb'value="([^"]+)"[^>]*name="csrf_token"', page.data)
    assert match, f"no CSRF token on {path} (status {page.status_code})"
    return match.group(1).decode()


@pytest.fixture
def without_record_rules(app):
    """An empty rules table: for tests of other gates, which would otherwise need every record first.

    The completeness rules are data (record_requirements); tests/test_records.py tests them.
    """
    from sqlalchemy import text

    from enforcement.extensions import db

    db.session.execute(text("DELETE FROM record_requirements"))
    db.session.commit()


@pytest.fixture(autouse=True)
def quick_pdf(request, monkeypatch):
    """The opinion and decision PDFs take about 1.5 s each with the CJK font: most tests only need
    a PDF that names the document, so they get a small one. Tests marked `real_pdf` (and
    tests/test_documents.py, which tests the renderer itself) get the real renderer.
    """
    marker = request.node.get_closest_marker("real_pdf")
    if (marker is not None and not marker.args) or request.node.path.name == "test_documents.py":
        yield
        return
    # `real_pdf("statistics_pdf")`: only the named renderers are real (a report's own PDF, say, while
    # the decisions of its test data stay quick).
    real = set(marker.args) if marker is not None else set()
    from enforcement.services import documents

    def small(kind):
        def render(doc) -> bytes:
            text = f"{kind} {getattr(doc, 'case_number', '') or getattr(doc, 'document_number', '')} {doc.digest}"
            body = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
            return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
                    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
                    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R>>endobj\n"
                    b"4 0 obj<</Length " + str(len(body)).encode() + b">>stream\n" + body +
                    b"\nendstream endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
        return render

    for name, kind in (("review_opinion_pdf", "review-opinion"), ("decision_pdf", "decision")):
        if name not in real:
            monkeypatch.setattr(documents, name, small(kind))
    yield
