"""Master-data commands (`flask --app app admin …`).

They call the same services as the admin screens, commit once at the end (with the audit
checkpoint, like a request) and, when a service refuses, print its message and exit with 1
without changing anything. The acting user is recorded as "system".
"""
from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import NoReturn

import click
from flask.cli import AppGroup
from sqlalchemy import select

from .extensions import db
from .models import Body, BodyKind, MatterCategory, Role
from .models.catalogue import PowerSource
from .services import catalogue, people
from .services.errors import DomainError
from .services.clock import local_today

admin_cli = AppGroup("admin", help="Master data: bodies, users, certificates, matters.")

ROLE_CHOICES = click.Choice([r.value for r in Role])
DATE = click.DateTime(formats=["%Y-%m-%d"])


def _fail(message: str) -> NoReturn:
    db.session.rollback()
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _finish() -> None:
    """Commit once, then checkpoint the audit head outside the database (as a request does)."""
    from .web import commit

    commit()


def _find_body(ref: str) -> Body:
    """A body by id, full name or short name."""
    ref = ref.strip()
    body = None
    if ref.isdigit():
        body = db.session.get(Body, int(ref))
    if body is None:
        matches = db.session.scalars(select(Body).where((Body.name == ref) | (Body.short_name == ref))).all()
        if len(matches) > 1:
            raise DomainError(f"Several bodies match {ref!r}; give the id or the full name.")
        body = matches[0] if matches else None
    if body is None:
        raise DomainError(f"No body {ref!r}.")
    return body


def _money(value: str | None) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(value)
    except InvalidOperation as exc:
        raise DomainError(f"Not an amount: {value!r}") from exc


def _date(value) -> date | None:
    return value.date() if value is not None else None


@admin_cli.command("create-body")
@click.option("--name", required=True, help="Full name, e.g. 永平镇人民政府.")
@click.option("--short-name", required=True, help="Short name used in case numbers, e.g. 永平.")
@click.option("--area", required=True, help="The area the body covers (行政区域).")
@click.option("--kind", type=click.Choice([k.value for k in BodyKind]), default=BodyKind.TOWN.value, show_default=True)
@click.option("--parent", "parent_ref", help="Parent body (id, name or short name).")
@click.option("--address", default="")
@click.option("--phone", default="")
@click.option("--complaint-channel", default="")
@click.option("--remedy-info", default="")
@click.option("--pattern", "case_number_pattern", default="{short}罚〔{year}〕{seq}号", show_default=True,
              help="Case number pattern with {short}, {year} and {seq}.")
def create_body(name, short_name, area, kind, parent_ref, address, phone, complaint_channel, remedy_info,
                case_number_pattern) -> None:
    """Create an enforcement body (执法主体)."""
    try:
        parent_id = _find_body(parent_ref).id if parent_ref else None
        body = people.create_body(actor=None, name=name.strip(), short_name=short_name.strip(), area=area.strip(),
                                  kind=kind, parent_id=parent_id, address=address, phone=phone,
                                  complaint_channel=complaint_channel, remedy_info=remedy_info,
                                  case_number_pattern=case_number_pattern)
        example = people.case_number_example(body.case_number_pattern, body.short_name, year=local_today().year)
    except DomainError as exc:
        _fail(exc.message)
    _finish()
    click.echo(f"body {body.id}: {body.name} (case numbers like {example})")


@admin_cli.command("create-user")
@click.option("--username", required=True)
@click.option("--name", required=True, help="The person's name.")
@click.option("--body", "body_ref", required=True, help="Body (id, name or short name).")
@click.option("--role", "roles", multiple=True, required=True, type=ROLE_CHOICES,
              help="Repeat for several roles: --role officer --role head.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Initial password (prompted when omitted).")
@click.option("--unit", default="", help="Unit (科室/所).")
@click.option("--legal-qualification", "legal_qualification_no", help="法律职业资格 certificate number.")
@click.option("--legal-adviser", "legal_adviser_appointment", help="Appointment as legal adviser (法律顾问聘任).")
@click.option("--auxiliary", is_flag=True, help="Auxiliary staff (协管): never acts alone.")
def create_user(username, name, body_ref, roles, password, unit, legal_qualification_no, legal_adviser_appointment,
                auxiliary) -> None:
    """Create a user with one or more roles."""
    try:
        user = people.create_user(actor=None, username=username, name=name.strip(), body=_find_body(body_ref),
                                  password=password, roles=roles, unit=unit,
                                  legal_qualification_no=legal_qualification_no,
                                  legal_adviser_appointment=legal_adviser_appointment, auxiliary=auxiliary)
    except DomainError as exc:
        _fail(exc.message)
    _finish()
    click.echo(f"user {user.id}: {user.username} ({user.name}), roles {', '.join(sorted(user.roles))}")


@admin_cli.command("add-certificate")
@click.option("--username", required=True, help="The holder.")
@click.option("--number", required=True, help="Certificate number (执法证号).")
@click.option("--issuer", required=True)
@click.option("--category", required=True, help="执法类别; several separated by 、")
@click.option("--area", help="执法区域 (default: the area of the holder's body).")
@click.option("--valid-from", required=True, type=DATE, help="YYYY-MM-DD")
@click.option("--valid-until", required=True, type=DATE, help="YYYY-MM-DD")
def add_certificate(username, number, issuer, category, area, valid_from, valid_until) -> None:
    """Add a line to the certificate ledger."""
    try:
        user = people.find_user(username)
        cert = people.add_certificate(actor=None, user=user, number=number, issuer=issuer, category=category,
                                      area=area or user.body.area, valid_from=_date(valid_from),
                                      valid_until=_date(valid_until))
    except DomainError as exc:
        _fail(exc.message)
    _finish()
    click.echo(f"certificate {cert.number} for {user.username}: {cert.category}, {cert.area}, "
               f"{cert.valid_from} – {cert.valid_until}")


@admin_cli.command("deactivate-user")
@click.argument("username")
@click.option("--reason", required=True, help="Why (kept in the audit trail).")
def deactivate_user(username, reason) -> None:
    """Deactivate a user (never deleted): sessions and API tokens end at once."""
    try:
        user = people.find_user(username)
        if not user.active:
            raise DomainError(f"{user.username} is deactivated already.")
        people.deactivate_user(user, actor=None, reason=reason)
    except DomainError as exc:
        _fail(exc.message)
    _finish()
    click.echo(f"user {user.username} deactivated")


@admin_cli.command("list-users")
@click.option("--body", "body_ref", help="Only this body (id, name or short name).")
@click.option("--all", "include_inactive", is_flag=True, help="Include deactivated users.")
def list_users(body_ref, include_inactive) -> None:
    """List users with their roles and certificate status today."""
    try:
        body_ids = [_find_body(body_ref).id] if body_ref else list(db.session.scalars(select(Body.id)))
    except DomainError as exc:
        _fail(exc.message)
    today = local_today()
    query = people.users_query(body_ids, active=None if include_inactive else True)
    rows = db.session.scalars(query).all()
    for user in rows:
        badge = people.certificate_badge(user, today)
        flags = [] if user.active else [f"deactivated {user.deactivated_at:%Y-%m-%d}"]
        if user.auxiliary:
            flags.append("auxiliary")
        click.echo("\t".join([user.username, user.name, user.body.short_name, ",".join(sorted(user.roles)),
                              f"certificate:{badge}", " ".join(flags)]).rstrip())
    click.echo(f"{len(rows)} users", err=True)


@admin_cli.command("add-matter")
@click.option("--body", "body_ref", required=True, help="Body (id, name or short name).")
@click.option("--code", required=True)
@click.option("--name", required=True)
@click.option("--category", type=click.Choice([c.value for c in MatterCategory]), default=MatterCategory.PENALTY.value,
              show_default=True, help="Kind of power.")
@click.option("--enforcement-category", required=True, help="执法类别 a certificate must cover.")
@click.option("--legal-basis", required=True)
@click.option("--procedure", default="")
@click.option("--route", type=click.Choice(["planning", "land"]), help="Legal route of the rural-house case.")
@click.option("--power-source", type=click.Choice([p.value for p in PowerSource]), default=PowerSource.OWN.value,
              show_default=True)
@click.option("--delegation-document", help="The published delegation (for a delegated power).")
@click.option("--delegation-published-on", type=DATE, help="YYYY-MM-DD")
@click.option("--major", "in_major_catalogue", is_flag=True, help="In the major-decision catalogue.")
@click.option("--major-fine-person", help="Fine (¥) from which a penalty on a person is major.")
@click.option("--major-fine-org", help="Fine (¥) from which a penalty on an organisation is major.")
def add_matter(body_ref, code, name, category, enforcement_category, legal_basis, procedure, route, power_source,
               delegation_document, delegation_published_on, in_major_catalogue, major_fine_person,
               major_fine_org) -> None:
    """Add a matter to a body's powers catalogue (权责清单)."""
    try:
        matter = catalogue.create_matter(
            actor=None, body=_find_body(body_ref), code=code.strip(), name=name.strip(), category=category,
            enforcement_category=enforcement_category.strip(), legal_basis=legal_basis.strip(), procedure=procedure,
            route=route, power_source=power_source, delegation_document=delegation_document,
            delegation_published_on=_date(delegation_published_on), in_major_catalogue=in_major_catalogue,
            major_fine_person=_money(major_fine_person), major_fine_org=_money(major_fine_org), active=True)
    except DomainError as exc:
        _fail(exc.message)
    _finish()
    click.echo(f"matter {matter.id}: {matter.code} {matter.name}")
