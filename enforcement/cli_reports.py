"""`flask --app app reports ...`: the annual statistics report from the command line.

    flask --app app reports generate --body ID --year Y [--publish] [--user USERNAME]
    flask --app app reports verify --id N

They call services.annual like the screens, commit once at the end (with the audit checkpoint),
and on a refusal print its message and exit with 1 without changing anything. Without --user the
acting user is recorded as "system" (the server's operator); with it, that user's rights apply.
`verify` exits with 1 when the data changed since the report was generated.
"""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from .cli_common import fail as _fail
from .cli_common import acting_user as _user
from .extensions import db
from .models import AnnualReport, Body
from .services import annual
from .services.errors import DomainError

reports_cli = AppGroup("reports", help="Annual enforcement statistics (年度行政执法数据).")


@reports_cli.command("generate")
@click.option("--body", "body_id", type=int, required=True, help="The body's id.")
@click.option("--year", type=int, required=True, help="The calendar year counted (it must have ended).")
@click.option("--publish", is_flag=True, help="Publish the new revision at once.")
@click.option("--user", "username", help="Act as this user (head or admin of the body); default: system.")
def generate_command(body_id: int, year: int, publish: bool, username: str | None) -> None:
    """Count the year's figures and keep them as a new revision."""
    from .web import commit

    body = db.session.get(Body, body_id)
    if body is None:
        _fail(f"No body {body_id}.")
    actor = _user(username)
    try:
        report = annual.generate(body, year, actor=actor)
        if publish:
            annual.publish(report, actor=actor)
    except DomainError as exc:
        _fail(exc.message)
    commit()
    click.echo(f"Report {report.id}: {body.name} {year}, revision {report.revision}, "
               f"{'published' if publish else 'not published'}.")
    click.echo(f"Source digest (SHA-256): {report.source_digest}")


@reports_cli.command("verify")
@click.option("--id", "report_id", type=int, required=True, help="The report's id.")
def verify_command(report_id: int) -> None:
    """Recount the data: exit 1 if it changed since the report was generated."""
    report = db.session.get(AnnualReport, report_id)
    if report is None:
        _fail(f"No report {report_id}.")
    problems = annual.verify(report)
    label = f"Report {report.id} ({report.body.name} {report.year}, revision {report.revision})"
    if problems:
        click.echo(f"CHANGED: {label}: the data differs from what it was made from.", err=True)
        for problem in problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(1)
    click.echo(f"OK: {label}: the data is unchanged (digest {report.source_digest}).")
