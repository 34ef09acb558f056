"""`flask --app app archive ...`: export a case file (案卷 ZIP) and check one offline.

    flask --app app archive export --case ID --out PATH [--user USERNAME]
    flask --app app archive check PATH [--report REPORT.json]

`export` streams the ZIP to PATH (written as PATH.part and renamed when complete, so a refused
export leaves nothing that looks like a case file; "-" writes to standard output) and commits the
audit event `case.exported`. Without --user the exporter is recorded as "system" (the server's
operator); with it, that user's rights apply. `check` runs the standard-library verifier
(enforcement/archive_check.py, which archivists run without the tracker) and exits with 1 when
any of the four properties fails.
"""
from __future__ import annotations

import os
import sys

import click
from flask.cli import AppGroup

from . import archive_check
from .cli_common import fail as _fail
from .cli_common import acting_user as _user
from .extensions import db
from .models import Case
from .services import archive
from .services.errors import DomainError

archive_cli = AppGroup("archive", help="Case files (案卷): export as ZIP, check offline (DA/T 70 四性检测).")


@archive_cli.command("export")
@click.option("--case", "case_id", type=int, required=True, help="The case's id.")
@click.option("--out", "out_path", required=True, help="The ZIP file to write ('-': standard output).")
@click.option("--user", "username", help="Act as this user (who may view the case); default: system.")
def export_command(case_id: int, out_path: str, username: str | None) -> None:
    """Export the case file: every record, manifest.json with SHA-256 and SM3, the index PDF."""
    from storage import StorageError

    from .web import commit

    case = db.session.get(Case, case_id)
    if case is None:
        _fail(f"No case {case_id}.")
    actor = _user(username)
    partial = None if out_path == "-" else f"{out_path}.part"
    try:
        if partial is None:
            summary = archive.export(case, sys.stdout.buffer, actor=actor)
            sys.stdout.buffer.flush()
        else:
            with open(partial, "wb") as out:
                summary = archive.export(case, out, actor=actor)
            os.replace(partial, out_path)
    except (DomainError, StorageError, OSError) as exc:
        if partial is not None and os.path.exists(partial):
            os.unlink(partial)
        _fail(getattr(exc, "message", None) or str(exc))
    commit()
    click.echo(f"{out_path}: case {summary['case_number']}, {summary['file_count']} files, "
               f"{summary['total_bytes']} bytes; manifest SHA-256 {summary['manifest_sha256']}, "
               f"SM3 {summary['manifest_sm3']}", err=partial is None)


@archive_cli.command("check")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--report", "report_path", help="Where to keep the report (default: PATH.check.json).")
def check_command(path: str, report_path: str | None) -> None:
    """Check an exported case file offline: authenticity, integrity, usability, safety (exit 1 on any FAIL)."""
    report = archive_check.check(path, report_path or f"{path}.check.json")
    click.echo(archive_check.format_report(report))
    if report["result"] != "PASS":
        sys.exit(1)
