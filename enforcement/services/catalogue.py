"""The powers catalogue (权责清单): create and change enforcement matters."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import Select, select

from ..extensions import db
from ..models import Body, Matter, MatterCategory
from ..models.catalogue import PowerSource
from . import audit
from .errors import Conflict, DomainError, NotFound

MATTER_FIELDS = ("body_id", "code", "name", "category", "enforcement_category", "legal_basis", "procedure",
                 "route", "power_source", "delegation_document", "delegation_published_on",
                 "in_major_catalogue", "major_fine_person", "major_fine_org", "active")


def matter_field_problems(values: dict) -> dict[str, list[str]]:
    """Everything wrong with a matter's values, in words, keyed by the field concerned (empty = acceptable).

    The form shows each message beside its field; matter_problems() gives the same messages as a list.
    """
    problems: dict[str, list[str]] = {}

    def add(key: str, message: str) -> None:
        problems.setdefault(key, []).append(message)

    for key, label in (("code", _("code")), ("name", _("name")), ("legal_basis", _("legal basis")),
                       ("enforcement_category", _("enforcement category"))):
        if not (values.get(key) or "").strip():
            add(key, _("The %(field)s is required.", field=label))
    if values.get("category") not in {c.value for c in MatterCategory}:
        add("category", _("Choose the kind of power (penalty, coercion, inspection, …)."))
    if values.get("route") not in (None, "", "planning", "land"):
        add("route", _("The legal route must be planning or land."))
    source = values.get("power_source") or PowerSource.OWN.value
    if source not in {p.value for p in PowerSource}:
        add("power_source", _("The source of the power must be own or delegated."))
    if source == PowerSource.DELEGATED.value:
        # 行政处罚法 art. 24: a town uses a delegated power only once the delegation is published.
        message = _("A delegated power needs the published delegation document and its publication date "
                    "(行政处罚法 art. 24).")
        if not (values.get("delegation_document") or "").strip():
            add("delegation_document", message)
        elif not values.get("delegation_published_on"):
            add("delegation_published_on", message)
    for key in ("major_fine_person", "major_fine_org"):
        amount = values.get(key)
        if amount is not None and amount != "" and Decimal(amount) < 0:
            add(key, _("A fine threshold cannot be negative."))
    return problems


def matter_problems(values: dict) -> list[str]:
    """Everything wrong with a matter's values, in words (empty = acceptable)."""
    return [message for messages in matter_field_problems(values).values() for message in messages]


def _clean(values: dict) -> dict:
    out = dict(values)
    if not out.get("route"):
        out["route"] = None
    if (out.get("power_source") or PowerSource.OWN.value) == PowerSource.OWN.value:
        out["power_source"] = PowerSource.OWN.value
        out["delegation_document"] = None
        out["delegation_published_on"] = None
    return out


def create_matter(*, actor, body: Body, **values) -> Matter:
    values = _clean(values)
    problems = matter_problems(values)
    if problems:
        raise DomainError(" ".join(problems))
    if db.session.scalar(select(Matter.id).where(Matter.body_id == body.id, Matter.code == values["code"])):
        raise Conflict(_("Matter code %(code)s exists already for this body.", code=values["code"]))
    matter = Matter(body_id=body.id, **values)
    db.session.add(matter)
    db.session.flush()
    audit.record("matter.created", "matter", matter.id, matter.name, actor=actor,
                 after=audit.snapshot(matter, MATTER_FIELDS), body_id=body.id)
    return matter


def update_matter(matter: Matter, *, actor, **changes) -> Matter:
    before = audit.snapshot(matter, MATTER_FIELDS)
    merged = _clean({**before, **changes})
    problems = matter_problems(merged)
    if problems:
        raise DomainError(" ".join(problems))
    if merged["code"] != matter.code and db.session.scalar(
            select(Matter.id).where(Matter.body_id == matter.body_id, Matter.code == merged["code"])):
        raise Conflict(_("Matter code %(code)s exists already for this body.", code=merged["code"]))
    for key in MATTER_FIELDS:
        if key != "body_id":
            setattr(matter, key, merged[key])
    after = audit.snapshot(matter, MATTER_FIELDS)
    if after != before:
        audit.record("matter.updated", "matter", matter.id, matter.name, actor=actor, before=before, after=after,
                     body_id=matter.body_id)
    return matter


def get_matter(matter_id: int) -> Matter:
    matter = db.session.get(Matter, matter_id)
    if matter is None:
        raise NotFound(_("No such matter."))
    return matter


def matters_query(body_ids, *, body_id: int | None = None, category: str | None = None,
                  active: bool | None = None) -> Select:
    """The catalogue of the given bodies, by body and code; optionally filtered."""
    query = select(Matter).where(Matter.body_id.in_(body_ids or [-1]))
    if body_id is not None:
        query = query.where(Matter.body_id == body_id)
    if category:
        query = query.where(Matter.category == category)
    if active is not None:
        query = query.where(Matter.active.is_(active))
    return query.order_by(Matter.body_id, Matter.active.desc(), Matter.code)


def matters_of(body_id: int, *, include_inactive: bool = False) -> list[Matter]:
    query = select(Matter).where(Matter.body_id == body_id).order_by(Matter.code)
    if not include_inactive:
        query = query.where(Matter.active.is_(True))
    return list(db.session.scalars(query))


def delegation_in_force(matter: Matter, on: date) -> bool:
    """A delegated power may be used only once its delegation has been published."""
    if matter.power_source == PowerSource.OWN.value:
        return True
    return matter.delegation_published_on is not None and matter.delegation_published_on <= on
