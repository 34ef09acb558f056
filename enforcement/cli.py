"""Command-line interface: `flask --app app <group> <command>`.

Commands call the same services as the screens and commit once at the end.
"""
from __future__ import annotations

import sys
import time

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from .extensions import db
from .services import audit

audit_cli = AppGroup("audit", help="The audit trail: verify the hash chain, checkpoint its head.")


@audit_cli.command("verify")
@click.option("--no-store", is_flag=True, help="Do not compare with the checkpoint in the object store.")
def audit_verify(no_store: bool) -> None:
    """Recompute the whole chain and name the first broken event (exit 1 when broken)."""
    store = None if no_store else current_app.extensions.get("object_store")
    started = time.perf_counter()
    report = audit.verify_chain(store, progress=lambda n: click.echo(f"  … {n} events checked", err=True))
    elapsed = time.perf_counter() - started
    if report.ok:
        click.echo(f"OK: {report.events} events, head {report.head_seq} {report.head_hash} ({elapsed:.1f} s)")
        if report.checkpoint:
            click.echo(f"   matches the checkpoint of event {report.checkpoint['seq']} "
                       f"written {report.checkpoint['written_at']}")
        elif store is not None:
            click.echo("   no checkpoint in the object store yet")
        return
    click.echo(f"BROKEN: first broken event {report.first_broken_id}", err=True)
    for problem in report.problems:
        click.echo(f"  - {problem}", err=True)
    sys.exit(1)


@audit_cli.command("checkpoint")
def audit_checkpoint() -> None:
    """Write the chain head to the object store now."""
    store = current_app.extensions.get("object_store")
    body = audit.write_checkpoint(store, force=True)
    db.session.commit()
    click.echo(f"checkpoint: event {body['seq']} {body['hash']}" if body else "no events yet")


@click.command("demo")
def demo_command() -> None:
    """Load the demo town 永平镇 (idempotent: a second run changes nothing)."""
    from .demo import load_demo

    created = load_demo()
    db.session.commit()
    from .web import commit as _commit  # checkpoint the head as a request would
    with current_app.test_request_context():
        _commit()
    click.echo("demo town loaded" if created else "demo town already present: nothing changed")
    from .demo import DEMO_LOGINS, DEMO_PASSWORD
    click.echo(f"demo logins (password {DEMO_PASSWORD}):")
    for username, description in DEMO_LOGINS:
        click.echo(f"  {username:12s} {description}")


@click.command("init-db")
def init_db_command() -> None:
    """Create the audit head row (after `flask db upgrade`). Safe to repeat."""
    audit.ensure_head()
    db.session.commit()
    click.echo("database ready")


def register_commands(app: Flask) -> None:
    app.cli.add_command(audit_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(init_db_command)
    from .cli_admin import admin_cli
    app.cli.add_command(admin_cli)
