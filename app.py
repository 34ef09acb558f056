"""Application factory: `flask --app app run` finds create_app()."""
from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from flask import Flask

import config as config_module
from werkzeug.routing import IntegerConverter

log = logging.getLogger(__name__)


def create_app(config_class: type | None = None, overrides: dict | None = None) -> Flask:
    config_class = config_class or config_module.config_from_env()
    app = Flask(__name__, instance_path=str(config_module.INSTANCE_DIR), template_folder="templates",
                static_folder="enforcement/static")
    app.config.from_object(config_class)
    if overrides:
        app.config.update(overrides)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    _configure_secret(app)
    _configure_database(app)
    if app.config.get("PROXY_COUNT"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    register_extensions(app)
    register_storage(app)
    app.url_map.converters["int"] = DatabaseInteger
    register_blueprints(app)
    register_cli(app)

    from enforcement.web import register_web
    register_web(app)
    return app


def _configure_secret(app: Flask) -> None:
    """Production refuses to start without SECRET_KEY; development keeps one in instance/."""
    if app.config.get("SECRET_KEY"):
        return
    if app.config["ENV_NAME"] == "production":
        raise RuntimeError("SECRET_KEY must be set in production (see README.md, Configuration).")
    key_file = Path(app.instance_path) / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        os.chmod(key_file, 0o600)
    app.config["SECRET_KEY"] = key_file.read_text().strip()


def _configure_database(app: Flask) -> None:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgres://"):
        uri = "postgresql://" + uri[len("postgres://"):]
    if uri.startswith("postgresql://"):
        uri = "postgresql+psycopg://" + uri[len("postgresql://"):]
    app.config["SQLALCHEMY_DATABASE_URI"] = uri
    if uri.startswith("sqlite"):
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options.setdefault("connect_args", {"timeout": 30})
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


class DatabaseInteger(IntegerConverter):
    """`<int:…>` in URLs, bounded to what an id column holds: a larger number is 404, not a database error."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def _runs_migrations(app: Flask) -> bool:
    """Flask-Migrate (and Alembic) for the `flask` command, tests and tools, not in served workers.

    Importing them costs a gunicorn worker some 11 MB it never uses; the `flask` command sets
    FLASK_RUN_FROM_CLI, and a script that migrates in-process sets MIGRATIONS_IN_PROCESS=1.
    """
    return (os.environ.get("FLASK_RUN_FROM_CLI") == "true" or os.environ.get("MIGRATIONS_IN_PROCESS") == "1"
            or app.testing)


def register_extensions(app: Flask) -> None:
    from enforcement import models  # noqa: F401  (registers the tables)
    from enforcement.extensions import babel, csrf, db, limiter, login_manager
    from enforcement.i18n import select_locale, select_timezone

    db.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        from sqlalchemy import event

        with app.app_context():
            @event.listens_for(db.engine, "connect")
            def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA foreign_keys=ON")
                if ":memory:" not in str(db.engine.url) and str(db.engine.url) != "sqlite://":
                    cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA busy_timeout=30000")
                cur.close()
    if _runs_migrations(app):
        from flask_migrate import Migrate

        Migrate(app, db, render_as_batch=True, directory=str(Path(__file__).parent / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    limiter.init_app(app)
    login_manager.init_app(app)
    from enforcement import auth  # noqa: F401  (user loader, request loader)


def register_storage(app: Flask) -> None:
    url = app.config["STORAGE_URL"]
    if url == "memory-tmp":  # tests replace this before use
        return
    from storage import store_from_url

    if url.startswith("file://") and app.config["ENV_NAME"] == "production":
        log.warning("STORAGE_URL is a local folder: fine for one server, not for several (see README.md).")
    store = store_from_url(url)
    if app.config.get("STORAGE_CHECK_ON_START", True):
        check_store(store)
    app.extensions["object_store"] = store


def check_store(store) -> None:
    """Refuse to start on a bucket without versioning or object lock as configured (write-once)."""
    from storage import StorageError

    try:
        problems = store.check_setup()
    except StorageError as exc:
        raise RuntimeError(f"The object store cannot be checked ({exc}); refusing to start. "
                           "Set STORAGE_CHECK_ON_START=0 only to run maintenance commands.") from exc
    if problems:
        raise RuntimeError("The object store is not set up for write-once records; refusing to start:\n  - "
                           + "\n  - ".join(problems))


def register_blueprints(app: Flask) -> None:
    from enforcement.views import BLUEPRINTS

    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)


def register_cli(app: Flask) -> None:
    from enforcement.cli import register_commands

    register_commands(app)
