"""The JSON API under /api/v1: cases and master data for field officers' phones and the provincial platform.

Thin like the screens: authenticate the bearer token, parse and type-check the JSON, check the
permission with services.permissions, call the same service the screen calls, `commit()`, answer
JSON. Every rule stays in services; this module only reads input and shapes output. The contract
is enforcement/openapi.json, served at /api/v1/openapi.json (a test keeps the two in step).

Errors share one shape: {"error": message}, plus "unmet" (a refused gate, 409) or "fields"
(bad input, 400: field name -> message). DomainErrors are answered by enforcement.web.
"""
from __future__ import annotations

import enum
import json
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from flask import Blueprint, current_app, g, jsonify, request, send_file, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ..auth import bearer_token
from ..extensions import csrf, db
from ..models import Body, Case, Matter, PartyKind, Route, Source, Stage, User
from ..services import access, audit, cases, catalogue, people, permissions, workflow
from ..services.cases import CaseFilter, PartyData
from ..services.errors import Conflict, PermissionDenied
from ..services.major import major_reasons
from ..web import commit
from ..services.clock import local_today

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# CSRF protection is for credentials a browser attaches by itself: the session cookie. The API
# ignores that cookie and accepts only `Authorization: Bearer <token>`, a header a browser never
# adds to a cross-site request, so a forged request has no credential and gets 401. Requiring a
# CSRF token here would protect nothing and would break every non-browser client.
csrf.exempt(bp)

OPENAPI_FILE = Path(__file__).resolve().parent.parent / "openapi.json"
PUBLIC_ENDPOINTS = {"api.openapi"}
MAX_PER_PAGE = 100
MAX_PAGE = 1_000_000  # keeps the OFFSET inside a database integer
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TRUE_WORDS, FALSE_WORDS = {"1", "true", "yes"}, {"0", "false", "no", ""}


# --- authentication -----------------------------------------------------------------------

def _unauthorised(message: str, *, invalid: bool):
    response = jsonify(error=message)
    response.status_code = 401
    # RFC 6750 §3: say which scheme is expected, and whether the token sent was bad.
    challenge = 'Bearer realm="api"'
    if invalid:
        challenge += ', error="invalid_token"'
    response.headers["WWW-Authenticate"] = challenge
    return response


@bp.before_request
def authenticate():
    """Every endpoint but the OpenAPI file needs a live token of an active user; cookies count for nothing."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    token = bearer_token()
    if token is None:
        return _unauthorised(_("Send an API token in the header Authorization: Bearer <token>."), invalid=False)
    user = people.user_for_token(token)
    if user is None:
        return _unauthorised(_("The API token is unknown, revoked, or its user is deactivated."), invalid=True)
    db.session.commit()  # user_for_token stamped last_used_at
    g.api_user = user
    return None


@bp.after_request
def no_store(response):
    # Answers carry case data and depend on the token: no shared or browser cache keeps them.
    if request.endpoint not in PUBLIC_ENDPOINTS:
        response.headers["Cache-Control"] = "no-store"
        response.vary.add("Authorization")
    return response


def _user() -> User:
    return g.api_user


# --- bad input ------------------------------------------------------------------------------

class InvalidInput(Exception):
    """Input that does not have the documented shape; answered 400 with a message per field."""

    def __init__(self, fields: dict[str, str], message: str | None = None):
        super().__init__(message)
        self.fields = fields
        self.message = message


@bp.errorhandler(InvalidInput)
def invalid_input(exc: InvalidInput):
    db.session.rollback()
    return {"error": exc.message or _("The request has errors; see fields."), "fields": exc.fields}, 400


def _json_object() -> dict:
    if not request.is_json:
        raise InvalidInput({"body": _("Send a JSON object with Content-Type: application/json.")},
                           _("The request body must be JSON."))
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidInput({"body": _("The body is not a JSON object.")}, _("The request body is not valid JSON."))
    return data


def _optional_json_object() -> dict:
    """Bodies of the action endpoints may be left out entirely."""
    if not request.get_data(cache=True):
        return {}
    return _json_object()


def _max_length(model, column: str) -> int | None:
    return getattr(model.__table__.c[column].type, "length", None)


class _Reader:
    """Reads typed values out of a JSON object, collecting one message per bad field."""

    def __init__(self, data: dict, errors: dict[str, str] | None = None, prefix: str = ""):
        self.data, self.errors, self.prefix = data, ({} if errors is None else errors), prefix

    def _key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def _missing(self, name: str, required: bool) -> bool:
        if self.data.get(name) is None:
            if required:
                self.errors[self._key(name)] = _("This field is required.")
            return True
        return False

    def only(self, allowed: set[str]) -> None:
        for name in sorted(set(self.data) - allowed):
            self.errors[self._key(name)] = _("Unknown field.")

    def string(self, name: str, *, required: bool = False, max_length: int | None = None,
               default: str | None = "") -> str | None:
        if self._missing(name, required):
            return default
        value = self.data[name]
        if not isinstance(value, str):
            self.errors[self._key(name)] = _("Must be a string.")
            return default
        if required and not value.strip():
            self.errors[self._key(name)] = _("This field is required.")
        if max_length and len(value.strip()) > max_length:
            self.errors[self._key(name)] = _("At most %(n)s characters.", n=max_length)
        return value

    def choice(self, name: str, choices: type[enum.Enum], *, required: bool = False) -> str | None:
        """One of an enum's values: the JSON counterpart of a form's select field."""
        value = self.string(name, required=required, default=None)
        if value and value not in {c.value for c in choices}:
            self.errors[self._key(name)] = _("Must be one of: %(choices)s.",
                                             choices=", ".join(c.value for c in choices))
        return value or None

    def integer(self, name: str, *, required: bool = False) -> int | None:
        if self._missing(name, required):
            return None
        value = self.data[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.errors[self._key(name)] = _("Must be a positive whole number.")
            return None
        return value

    def integers(self, name: str, *, required: bool = False) -> list[int]:
        if self._missing(name, required):
            return []
        value = self.data[name]
        if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, int) or v < 1
                                              for v in value):
            self.errors[self._key(name)] = _("Must be a list of positive whole numbers.")
            return []
        return value

    def boolean(self, name: str, *, default: bool = False) -> bool:
        if self._missing(name, False):
            return default
        value = self.data[name]
        if not isinstance(value, bool):
            self.errors[self._key(name)] = _("Must be true or false.")
            return default
        return value

    def date(self, name: str, *, required: bool = False) -> date | None:
        if self._missing(name, required):
            return None
        value = self.data[name]
        if isinstance(value, str) and ISO_DATE.match(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        self.errors[self._key(name)] = _("Must be a date written YYYY-MM-DD.")
        return None

    def object(self, name: str, *, required: bool = False) -> _Reader:
        if self._missing(name, required):
            return _Reader({}, self.errors, f"{self._key(name)}.")
        value = self.data[name]
        if not isinstance(value, dict):
            self.errors[self._key(name)] = _("Must be a JSON object.")
            value = {}
        return _Reader(value, self.errors, f"{self._key(name)}.")

    def raise_if_errors(self) -> None:
        if self.errors:
            raise InvalidInput(self.errors)


def _query_int(args, name: str, errors: dict, *, default: int | None = None, low: int = 1,
               high: int | None = None) -> int | None:
    raw = args.get(name)
    if raw in (None, ""):
        return default
    if not raw.isdigit() or int(raw) < low or (high is not None and int(raw) > high):
        errors[name] = (_("Must be a whole number from %(low)s to %(high)s.", low=low, high=high) if high
                        else _("Must be a whole number of at least %(low)s.", low=low))
        return default
    return int(raw)


def _query_bool(args, name: str, errors: dict) -> bool:
    raw = (args.get(name) or "").strip().lower()
    if raw in TRUE_WORDS:
        return True
    if raw not in FALSE_WORDS:
        errors[name] = _("Must be true or false.")
    return False


def _check_version(case: Case, expected: int | None) -> None:
    """Optional optimistic lock: a client that sends the version it saw is refused if the case moved on."""
    if expected is not None and expected != case.version:
        raise Conflict(_("The case was changed since you loaded it (your version %(mine)s, now %(now)s). "
                         "Reload it and try again.", mine=expected, now=case.version))


# --- serialisation --------------------------------------------------------------------------

def _dt(value: datetime | None) -> str | None:
    # Stored as naive UTC (models._types.utcnow): say so in the string.
    return value.isoformat(timespec="seconds") + "Z" if value else None


def _d(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _person(user: User | None) -> dict | None:
    return None if user is None else {"id": user.id, "name": user.name}


def _body_ref(body: Body) -> dict:
    return {"id": body.id, "name": body.name, "short_name": body.short_name}


def _matter_ref(matter: Matter) -> dict:
    return {"id": matter.id, "code": matter.code, "name": matter.name}


def _case_summary(case: Case, today: date) -> dict:
    return {
        "id": case.id,
        "number": case.number,
        "body_id": case.body_id,
        "stage": case.stage,
        "stage_label": workflow.stage_label(case.stage),
        "matter": _matter_ref(case.matter),
        "route": case.route,
        "party_kind": case.party_kind,
        "party_name": case.party_name,
        "village": case.village,
        "filed_on": _d(case.filed_on),
        "decision_due_on": _d(case.decision_due_on),
        "overdue": cases.is_overdue(case, today),
        "officers": [{"id": o.user_id, "name": o.user.name, "lead": o.lead} for o in case.active_officers],
        "version": case.version,
    }


def _party(case: Case, user: User) -> dict:
    # The same rule and masks as the case page: in full for those who need them, masked otherwise.
    contact = cases.party_contact(case, user)
    return {"kind": case.party_kind, "name": case.party_name, "is_minor": case.party_is_minor,
            "personal_data_visible": not contact.masked, "id_number": contact.id_number, "phone": contact.phone,
            "address": contact.address}


def _case_detail(case: Case, user: User, today: date) -> dict:
    return {
        **_case_summary(case, today),
        "body": _body_ref(case.body),
        "source": case.source,
        "source_detail": case.source_detail,
        "party": _party(case, user),
        "place_detail": case.place_detail,
        "summary": case.summary,
        "act_began_on": _d(case.act_began_on),
        "act_ended_on": _d(case.act_ended_on),
        "discovered_on": _d(case.discovered_on),
        "stage_since": _dt(case.stage_since),
        "complex_reason": case.complex_reason,
        "major_reasons": major_reasons(case),
        "filing_approved_by": _person(case.filing_approved_by),
        "filing_approved_at": _dt(case.filing_approved_at),
        "created_by": _person(case.created_by),
        "created_at": _dt(case.created_at),
        "updated_at": _dt(case.updated_at),
        "officers": [{"id": o.user_id, "name": o.user.name, "unit": o.user.unit, "lead": o.lead,
                      "assigned_at": _dt(o.assigned_at), "removed_at": _dt(o.removed_at)} for o in case.officers],
        "next_stages": [{"stage": s.value, "label": workflow.stage_label(s),
                         "unmet": workflow.unmet(case, s, today=today)} for s in workflow.next_stages(case)],
        "actions": {"approve_filing": permissions.can_approve_filing(user, case),
                    "advance": permissions.can_advance_case(user, case),
                    "edit": permissions.can_edit_case(user, case)},
    }


def _event(event) -> dict:
    return {
        "id": event.id,
        "at": _dt(event.at),
        "actor_id": event.actor_id,
        "actor_name": event.actor_name,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_label": event.object_label,
        "before": json.loads(event.before) if event.before else None,
        "after": json.loads(event.after) if event.after else None,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def _matter(matter: Matter) -> dict:
    return {
        "id": matter.id, "body_id": matter.body_id, "code": matter.code, "name": matter.name,
        "category": matter.category, "enforcement_category": matter.enforcement_category,
        "legal_basis": matter.legal_basis, "procedure": matter.procedure, "route": matter.route,
        "power_source": matter.power_source, "delegation_document": matter.delegation_document,
        "delegation_published_on": _d(matter.delegation_published_on),
        "in_major_catalogue": matter.in_major_catalogue,
        "major_fine_person": _money(matter.major_fine_person), "major_fine_org": _money(matter.major_fine_org),
        "active": matter.active,
    }


def _body(body: Body) -> dict:
    return {
        "id": body.id, "name": body.name, "short_name": body.short_name, "kind": body.kind, "area": body.area,
        "parent_id": body.parent_id, "address": body.address, "phone": body.phone,
        "complaint_channel": body.complaint_channel, "remedy_info": body.remedy_info, "active": body.active,
    }


def _officer(user: User, today: date) -> dict:
    problem = people.certificate_problem(user, today, body=user.body)
    return {
        "id": user.id, "name": user.name, "unit": user.unit, "active": user.active, "auxiliary": user.auxiliary,
        "may_act_today": problem is None,
        "problem": problem,
        "certificates": [{"number": c.number, "issuer": c.issuer, "category": c.category, "area": c.area,
                          "valid_from": _d(c.valid_from), "valid_until": _d(c.valid_until), "status": c.status}
                         for c in user.certificates],
    }


# --- endpoints ------------------------------------------------------------------------------

@bp.get("/openapi.json")
def openapi():
    """The API's contract; public, so a client can be generated before anyone holds a token."""
    return send_file(OPENAPI_FILE, mimetype="application/json", max_age=300)


@bp.get("/me")
def me():
    user = _user()
    return {"id": user.id, "username": user.username, "name": user.name, "unit": user.unit,
            "body": _body_ref(user.body), "roles": sorted(user.roles), "auxiliary": user.auxiliary,
            "case_scope": sorted(permissions.case_scope(user))}


@bp.get("/cases")
def list_cases():
    user = _user()
    if not permissions.case_scope(user):
        raise PermissionDenied(_("Your roles give no access to cases."))
    errors: dict[str, str] = {}
    args = request.args
    stage = args.get("stage") or None
    if stage is not None and stage not in {s.value for s in Stage}:
        errors["stage"] = _("Unknown stage.")
    q = (args.get("q") or "").strip() or None
    if q is not None and len(q) > 100:
        errors["q"] = _("At most %(n)s characters.", n=100)
    flt = CaseFilter(stage=stage, matter_id=_query_int(args, "matter_id", errors),
                     officer_id=_query_int(args, "officer_id", errors),
                     overdue=_query_bool(args, "overdue", errors), q=q)
    page = _query_int(args, "page", errors, default=1, high=MAX_PAGE)
    per_page = _query_int(args, "per_page", errors, default=min(current_app.config["CASES_PER_PAGE"], MAX_PER_PAGE),
                          high=MAX_PER_PAGE)
    if errors:
        raise InvalidInput(errors)
    today = local_today()
    rows, has_next = cases.list_cases(user, flt, page=page, per_page=per_page, today=today)
    return {"items": [_case_summary(c, today) for c in rows], "page": page, "per_page": per_page,
            "has_next": has_next}


@bp.get("/cases/<int:case_id>")
def case_detail(case_id: int):
    user = _user()
    case = cases.get_case(user, case_id)
    if access.log_personal_data_view(user, case, access.API_CASE): commit()  # noqa: E701 - who looked
    return _case_detail(case, user, local_today())


@bp.get("/cases/<int:case_id>/events")
def case_events(case_id: int):
    user = _user()
    case = cases.get_case(user, case_id)
    # Events never hold personal-data values (services.cases.PERSONAL_FIELDS are named, not copied).
    return {"case_id": case.id, "items": [_event(e) for e in audit.events_for_case(case.id)]}


# --- records (the upload protocol of views/records.py, with the bearer token) -------------------

def _record(record, replaced: dict) -> dict:
    return {"id": record.id, "type": record.type_code, "type_name": record.record_type.name, "stage": record.stage,
            "original_filename": record.original_filename, "content_type": record.content_type,
            "size": record.size, "sha256": record.sha256, "uploaded_by": record.uploaded_by.name,
            "uploaded_at": record.uploaded_at.isoformat() + "Z",
            "captured_at": record.captured_at.isoformat() if record.captured_at else None,
            "captured_at_source": record.captured_at_source or None, "place": record.place,
            "latitude": record.latitude, "longitude": record.longitude, "device": record.device,
            "description": record.description, "supersedes_id": record.supersedes_id,
            "supersede_reason": record.supersede_reason or None,
            "superseded_by_id": replaced[record.id].id if record.id in replaced else None}


@bp.get("/cases/<int:case_id>/records")
def case_records(case_id: int):
    from ..services import records as record_service

    user = _user()
    case = cases.get_case(user, case_id)
    rows = record_service.case_records(case)
    replaced = record_service.superseded_ids(rows)
    checklist = [{"stage": i.stage, "type": i.record_type.code, "type_name": i.record_type.name, "basis": i.basis,
                  "met": i.met, "record_ids": [r.id for r in i.records]} for i in record_service.checklist(case)]
    return {"case_id": case.id, "items": [_record(r, replaced) for r in rows], "checklist": checklist}


@bp.post("/cases/<int:case_id>/uploads")
def upload_begin(case_id: int):
    from . import records as record_views

    return record_views.begin(case_id, _user())


@bp.get("/uploads/<upload_id>")
def upload_status(upload_id: str):
    from . import records as record_views

    return record_views.status(upload_id, _user())


@bp.put("/uploads/<upload_id>")
def upload_send(upload_id: str):
    from . import records as record_views

    return record_views.send(upload_id, _user())


@bp.delete("/uploads/<upload_id>")
def upload_cancel(upload_id: str):
    from . import records as record_views

    return record_views.cancel(upload_id, _user())


FILE_FIELDS = {"matter_id", "route", "source", "source_detail", "party", "village", "place_detail", "summary",
               "act_began_on", "act_ended_on", "discovered_on", "filed_on", "officer_ids", "lead_officer_id"}
PARTY_FIELDS = {"kind", "name", "id_number", "phone", "address", "is_minor"}


@bp.post("/cases")
def file_case():
    user = _user()
    if not permissions.can_file_case(user, user.body_id):
        raise PermissionDenied(_("Only an officer of %(body)s can file its cases.", body=user.body.name))
    data = _Reader(_json_object())
    data.only(FILE_FIELDS)
    matter_id = data.integer("matter_id", required=True)
    route = data.choice("route", Route)
    source = data.choice("source", Source, required=True)
    source_detail = data.string("source_detail", max_length=_max_length(Case, "source_detail"))
    party_in = data.object("party", required=True)
    party_in.only(PARTY_FIELDS)
    party = PartyData(
        kind=party_in.choice("kind", PartyKind, required=True) or "",
        name=party_in.string("name", required=True, max_length=_max_length(Case, "party_name")) or "",
        id_number=party_in.string("id_number", max_length=_max_length(Case, "party_id_number")) or "",
        phone=party_in.string("phone", max_length=_max_length(Case, "party_phone")) or "",
        address=party_in.string("address", max_length=_max_length(Case, "party_address")) or "",
        is_minor=party_in.boolean("is_minor"))
    village = data.string("village", required=True, max_length=_max_length(Case, "village"))
    place_detail = data.string("place_detail", max_length=_max_length(Case, "place_detail"))
    summary = data.string("summary", required=True, max_length=20000)
    act_began_on = data.date("act_began_on", required=True)
    act_ended_on = data.date("act_ended_on")
    discovered_on = data.date("discovered_on", required=True)
    filed_on = data.date("filed_on", required=True)
    officer_ids = data.integers("officer_ids", required=True)
    lead_officer_id = data.integer("lead_officer_id")

    # The choices a screen would offer: the own body's matters and people. Anything else is bad
    # input, answered without naming what belongs to another body.
    matter = db.session.get(Matter, matter_id) if matter_id else None
    if matter_id and (matter is None or matter.body_id != user.body_id):
        data.errors["matter_id"] = _("Choose a matter from the catalogue of your body.")
    if officer_ids:
        own = set(db.session.scalars(select(User.id).where(User.id.in_(officer_ids),
                                                           User.body_id == user.body_id)))
        if set(officer_ids) - own:
            data.errors["officer_ids"] = _("Choose officers of your body.")
    data.raise_if_errors()

    case = cases.file_case(
        actor=user, body=user.body, matter=matter, route=route or None, source=source,
        source_detail=source_detail or "", party=party, village=village, place_detail=place_detail or "",
        summary=summary, act_began_on=act_began_on, act_ended_on=act_ended_on, discovered_on=discovered_on,
        filed_on=filed_on, officer_ids=officer_ids, lead_officer_id=lead_officer_id)
    commit()
    if access.log_personal_data_view(user, case, access.API_CASE): commit()  # noqa: E701 - who looked
    response = jsonify(_case_detail(case, user, local_today()))
    response.status_code = 201
    response.headers["Location"] = url_for("api.case_detail", case_id=case.id)
    return response


@bp.post("/cases/<int:case_id>/approve")
def approve_filing(case_id: int):
    user = _user()
    case = cases.get_case(user, case_id)
    reader = _Reader(_optional_json_object())
    reader.only({"version"})
    version = reader.integer("version")
    reader.raise_if_errors()
    _check_version(case, version)
    cases.approve_filing(case, actor=user)
    commit()
    if access.log_personal_data_view(user, case, access.API_CASE): commit()  # noqa: E701 - who looked
    return _case_detail(case, user, local_today())


@bp.post("/cases/<int:case_id>/advance")
def advance(case_id: int):
    user = _user()
    case = cases.get_case(user, case_id)
    reader = _Reader(_json_object())
    reader.only({"target", "reason", "version"})
    target = reader.choice("target", Stage, required=True)
    reason = reader.string("reason", max_length=500) or ""
    version = reader.integer("version")
    reader.raise_if_errors()
    _check_version(case, version)
    workflow.advance(case, target, actor=user, reason=reason.strip())
    commit()
    if access.log_personal_data_view(user, case, access.API_CASE): commit()  # noqa: E701 - who looked
    return _case_detail(case, user, local_today())


def _include_inactive() -> bool:
    errors: dict[str, str] = {}
    value = _query_bool(request.args, "include_inactive", errors)
    if errors:
        raise InvalidInput(errors)
    return value


@bp.get("/matters")
def matters():
    """The own body's powers catalogue (权责清单)."""
    user = _user()
    include_inactive = _include_inactive()
    permissions.require(permissions.can_view_master_data(user))
    return {"items": [_matter(m) for m in catalogue.matters_of(user.body_id, include_inactive=include_inactive)]}


@bp.get("/bodies")
def bodies():
    """Every enforcement body (执法主体): public facts, the same the disclosure pages show."""
    permissions.require(permissions.can_view_master_data(_user()))
    return {"items": [_body(b) for b in db.session.scalars(select(Body).order_by(Body.id))]}


@bp.get("/officers")
def officers():
    """The own body's officers (auxiliary staff excluded) with their certificate ledger: public facts only."""
    user = _user()
    include_inactive = _include_inactive()
    permissions.require(permissions.can_view_master_data(user))
    today = local_today()
    return {"items": [_officer(u, today) for u in cases.officers_of([user.body_id], active_only=not include_inactive)]}
