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


storage_cli = AppGroup("storage", help="The object store: verify the records' bytes, list orphans, sweep uploads.")


@storage_cli.command("verify")
@click.option("--case", "case_id", type=int, help="Only the records of this case (its id).")
@click.option("--sample", type=click.IntRange(min=1), help="Check this many records chosen at random.")
def storage_verify(case_id: int | None, sample: int | None) -> None:
    """Re-read every record's object, recompute SHA-256, report mismatches and missing objects (exit 1)."""
    from .services import records

    started = time.perf_counter()
    report = records.verify_records(
        case_id=case_id, sample=sample,
        progress=lambda done, total: done % 100 == 0 and click.echo(f"  … {done}/{total}", err=True))
    elapsed = time.perf_counter() - started
    for record, actual in report.mismatched:
        click.echo(f"MISMATCH record {record.id} (case {record.case_id}) {record.storage_key}: recorded "
                   f"{record.sha256}, stored bytes hash to {actual}", err=True)
    for record in report.missing:
        click.echo(f"MISSING record {record.id} (case {record.case_id}) {record.storage_key}", err=True)
    for record, error in report.errors:
        click.echo(f"ERROR record {record.id} (case {record.case_id}) {record.storage_key}: {error}", err=True)
    summary = (f"{report.checked} records, {report.bytes / 1048576:.1f} MB in {elapsed:.1f} s: "
               f"{len(report.mismatched)} mismatched, {len(report.missing)} missing, {len(report.errors)} unreadable")
    if report.ok:
        click.echo(f"OK: {summary}")
        return
    click.echo(f"FAILED: {summary}", err=True)
    sys.exit(1)


@storage_cli.command("orphans")
def storage_orphans() -> None:
    """List stored record objects that no record points to (one key per line)."""
    from .services import records

    keys = records.orphans()
    for key in keys:
        click.echo(key)
    click.echo(f"{len(keys)} orphaned object(s)", err=True)


@storage_cli.command("sweep")
def storage_sweep() -> None:
    """Forget uploads not resumed within UPLOAD_RESUME_HOURS; abort store uploads no row knows."""
    from .services import records

    result = records.sweep()
    db.session.commit()
    click.echo(f"expired uploads: {result['expired']}, aborted store uploads: {result['aborted']}")


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
    app.cli.add_command(storage_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(init_db_command)
    from .cli_admin import admin_cli
    app.cli.add_command(admin_cli)
    from .cli_reports import reports_cli
    app.cli.add_command(reports_cli)
    from .cli_archive import archive_cli
    app.cli.add_command(archive_cli)
