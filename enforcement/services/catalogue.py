"""The powers catalogue (权责清单): create and change enforcement matters."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import Select, select

from ..extensions import db
from ..models import Body, DiscretionBand, Matter, MatterCategory
from ..models.catalogue import PowerSource
from . import audit
from .errors import Conflict, DomainError, NotFound

MATTER_FIELDS = ("body_id", "code", "name", "category", "enforcement_category", "legal_basis", "procedure",
                 "route", "power_source", "delegation_document", "delegation_published_on",
                 "in_major_catalogue", "major_fine_person", "major_fine_org", "major_confiscation_value", "active")
BAND_FIELDS = ("matter_id", "circumstance", "measures", "fine_min", "fine_max", "sort", "active")


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
    amount = values.get("major_confiscation_value")
    if amount is not None and amount != "" and Decimal(amount) < 0:
        add("major_confiscation_value", _("A threshold of the value confiscated cannot be negative."))
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


# --- the discretion standard (裁量基准) of a matter ---------------------------------------------------

def _band_amount(value, what: str, key: str, add) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except ArithmeticError:
        add(key, _("%(what)s must be an amount in yuan.", what=what))
        return None
    if not amount.is_finite() or amount < 0:
        add(key, _("%(what)s cannot be negative.", what=what))
        return None
    if amount >= Decimal("1e12"):
        add(key, _("%(what)s is too large.", what=what))
        return None
    return amount.quantize(Decimal("0.01"))


def band_field_problems(matter: Matter, *, circumstance: str, measures: str = "", fine_min=None, fine_max=None,
                        sort=0) -> tuple[dict, dict[str, list[str]]]:
    """The cleaned values of a new band and what is wrong with them, keyed by field (empty = acceptable)."""
    problems: dict[str, list[str]] = {}

    def add(key: str, message: str) -> None:
        problems.setdefault(key, []).append(message)

    circumstance = (circumstance or "").strip()
    measures = (measures or "").strip()
    if not circumstance:
        add("circumstance", _("Name the circumstance the band applies to (e.g. 情节轻微, 一般, 严重)."))
    elif len(circumstance) > 120:
        add("circumstance", _("The circumstance has at most 120 characters."))
    elif any(b.active and b.circumstance == circumstance for b in matter.discretion_bands):
        add("circumstance", _("The matter has a band for %(circumstance)s already: deactivate it first.",
                              circumstance=circumstance))
    low = _band_amount(fine_min, _("The lowest fine"), "fine_min", add)
    high = _band_amount(fine_max, _("The highest fine"), "fine_max", add)
    if low is not None and high is not None and high < low:
        add("fine_max", _("The highest fine cannot be lower than the lowest."))
    if low is None and high is None and not measures and "fine_min" not in problems and "fine_max" not in problems:
        add("measures", _("Say what the band provides: a range of fines, the measures in words, or both."))
    try:
        order = int(sort or 0)
    except (TypeError, ValueError):
        add("sort", _("The order is a whole number."))
        order = 0
    values = {"circumstance": circumstance, "measures": measures, "fine_min": low, "fine_max": high, "sort": order}
    return values, problems


def add_band(matter: Matter, *, actor, circumstance: str, measures: str = "", fine_min=None, fine_max=None,
             sort=0) -> DiscretionBand:
    """Add a band to the matter's discretion standard: for a circumstance, the range of the fine."""
    values, problems = band_field_problems(matter, circumstance=circumstance, measures=measures, fine_min=fine_min,
                                           fine_max=fine_max, sort=sort)
    if problems:
        raise DomainError(" ".join(m for messages in problems.values() for m in messages))
    band = DiscretionBand(matter_id=matter.id, active=True, **values)
    db.session.add(band)
    db.session.flush()
    db.session.refresh(matter, ["discretion_bands"])
    audit.record("matter.band_added", "matter", matter.id, matter.name, actor=actor,
                 after=audit.snapshot(band, BAND_FIELDS), body_id=matter.body_id)
    return band


def deactivate_band(band: DiscretionBand, *, actor) -> DiscretionBand:
    """Take a band out of use; it stays, because reviews and decisions made under it name it."""
    if not band.active:
        raise DomainError(_("The band %(circumstance)s is no longer in use already.",
                            circumstance=band.circumstance))
    before = audit.snapshot(band, BAND_FIELDS)
    band.active = False
    audit.record("matter.band_deactivated", "matter", band.matter_id, band.matter.name, actor=actor,
                 before=before, after=audit.snapshot(band, BAND_FIELDS), body_id=band.matter.body_id)
    return band


def get_band(band_id: int) -> DiscretionBand:
    band = db.session.get(DiscretionBand, band_id)
    if band is None:
        raise NotFound(_("No such band."))
    return band


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
