"""Who looked: every view of a party's personal data and of audio/video evidence, for the auditors.

Two kinds of reading are kept in the audit chain, each as one event per viewing:

- `case.personal_data_viewed`: a screen showed the party's ID number, phone or address unmasked
  (the case page, the API's case detail, the original text of a publication). Written by
  `log_personal_data_view`, only when the user may see the data (permissions.can_see_personal_data,
  the same rule that unmasks it), so a masked view is never logged.
- `record.viewed` / `record.downloaded`: written by services.records.log_access, one per viewing.

`access_events` lists them for an auditor: the personal-data views and the views of video and
audio records by default, or every record view; newest first, limited to the bodies the reader
may audit (`audit_scope`): auditors and admins their body and the bodies below it, a head their
own body.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, and_, case as sql_case, cast, or_, select

from ..extensions import db
from ..models import AuditEvent, Case, Record, RecordKind, RecordType, Role
from . import audit
from .clock import DEFAULT_ZONE, to_local
from .permissions import can_see_personal_data, can_view_audit, master_data_scope

PERSONAL_DATA_VIEWED = "case.personal_data_viewed"
RECORD_READS = ("record.viewed", "record.downloaded")
AUDIOVISUAL = (RecordKind.VIDEO.value, RecordKind.AUDIO.value)
PER_PAGE = 50
MAX_PAGE = 100_000  # keeps the OFFSET small enough for any database

# The places that show personal data, as stored in the event ("where"), and in words.
CASE_PAGE, API_CASE, DISCLOSURE_PAGE = "case page", "API case detail", "disclosure page"
WHERE_LABELS = {
    CASE_PAGE: _l("the case page"),
    API_CASE: _l("the API (case detail)"),
    DISCLOSURE_PAGE: _l("the publication page (original text)"),
}
# Places that show the case's contact fields: nothing is shown when the case holds none.
_SHOWS_CONTACT = (CASE_PAGE, API_CASE)

# What the list shows: "" is the default (personal data, video and audio).
KIND_DEFAULT, KIND_PERSONAL, KIND_AV, KIND_RECORDS = "", "personal", "av", "records"
KIND_LABELS = {
    KIND_DEFAULT: _l("Personal data, video and audio"),
    KIND_PERSONAL: _l("Personal data"),
    KIND_AV: _l("Video and audio evidence"),
    KIND_RECORDS: _l("All record views"),
}


# --- logging --------------------------------------------------------------------------------------

def log_personal_data_view(user, case: Case, where: str) -> bool:
    """One `case.personal_data_viewed` event for a view that showed the party's data unmasked.

    Nothing is written for a user who is shown the masked data (the rule is the one that unmasks
    it), nor on a screen of contact fields when the case holds none. Returns whether an event was
    written: the caller commits it.
    """
    if not can_see_personal_data(user, case):
        return False
    if where in _SHOWS_CONTACT and not (case.party_id_number or case.party_phone or case.party_address):
        return False
    audit.record(PERSONAL_DATA_VIEWED, "case", case.id, case.number, actor=user, after={"where": where},
                 body_id=case.body_id, case_id=case.id)
    return True


def where_label(where) -> str:
    label = WHERE_LABELS.get(where)
    return str(label) if label is not None else str(where or "")


# --- who may read the list ------------------------------------------------------------------------

def _is_active(user) -> bool:
    return bool(user) and getattr(user, "is_authenticated", False) and getattr(user, "active", False)


def audit_scope(user) -> set[int]:
    """Ids of the bodies whose access log the user reads (empty: none).

    Auditors and admins: their body and every body below it. A head: the cases of their own body.
    Officers and reviewers: none, not even for their own cases.
    """
    if not _is_active(user):
        return set()
    scope: set[int] = set()
    if can_view_audit(user):
        scope |= master_data_scope(user)
    if user.has_role(Role.HEAD):
        scope.add(user.body_id)
    return scope


def can_view_access_log(user, case: Case | None = None) -> bool:
    """Whether the user reads the access log (of `case`'s body, when given)."""
    if case is None:  # the menu, on every page: no walk down the bodies
        return _is_active(user) and (can_view_audit(user) or user.has_role(Role.HEAD))
    return case.body_id in audit_scope(user)


# --- the list -------------------------------------------------------------------------------------

@dataclass
class AccessRow:
    """One viewing in words."""

    id: int
    at: datetime              # local time
    actor_id: int | None
    actor_name: str
    action: str
    what: str                 # "Personal data on the case page", "Body camera video · a.mp4"
    how: str                  # "viewed" / "downloaded" / "shown unmasked", in words
    kind: str                 # KIND_PERSONAL or the record's kind (video, audio, photo, document)
    case_id: int | None
    case_number: str
    body_id: int | None
    record_id: int | None = None
    record_type: str = ""
    filename: str = ""


@dataclass
class AccessPage:
    rows: list[AccessRow] = field(default_factory=list)
    page: int = 1
    per_page: int = PER_PAGE
    has_next: bool = False

    @property
    def has_prev(self) -> bool:
        return self.page > 1


def _zone() -> ZoneInfo:
    name = current_app.config.get("BABEL_DEFAULT_TIMEZONE", DEFAULT_ZONE) if has_app_context() else DEFAULT_ZONE
    return ZoneInfo(name)


def _utc_start_of(day: date) -> datetime:
    """The stored (naive UTC) time at which the local day begins."""
    return datetime.combine(day, time.min, tzinfo=_zone()).astimezone(timezone.utc).replace(tzinfo=None)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def access_events(user_scope, *, case_id: int | None = None, case_number: str | None = None,
                  user_id: int | None = None, kind: str | None = KIND_DEFAULT, since: date | None = None,
                  until: date | None = None, page: int = 1, per_page: int = PER_PAGE) -> AccessPage:
    """The viewings in the bodies of `user_scope` (ids, see `audit_scope`), newest first, one page.

    `kind`: "" personal data plus video and audio (default), "personal", "av" (video and audio
    records), "records" (every record view). `case_number` matches part of the number; `since`
    and `until` are local dates, both included.
    """
    page = min(max(int(page or 1), 1), MAX_PAGE)
    # The record an event names (object_id is text): CASE keeps the cast away from other objects.
    record_id = sql_case((AuditEvent.object_type == "record", cast(AuditEvent.object_id, Integer)), else_=None)
    query = (
        select(AuditEvent, Case.number, Record.id, Record.type_code, Record.original_filename, RecordType.kind)
        .join(Case, Case.id == AuditEvent.case_id)
        .outerjoin(Record, and_(AuditEvent.action.in_(RECORD_READS), Record.id == record_id))
        .outerjoin(RecordType, RecordType.code == Record.type_code)
        .where(AuditEvent.body_id.in_(sorted(user_scope) or [-1]))
    )
    personal = AuditEvent.action == PERSONAL_DATA_VIEWED
    record_read = AuditEvent.action.in_(RECORD_READS)
    audiovisual = and_(record_read, RecordType.kind.in_(AUDIOVISUAL))
    kind = kind or KIND_DEFAULT
    if kind == KIND_PERSONAL:
        query = query.where(personal)
    elif kind == KIND_AV:
        query = query.where(audiovisual)
    elif kind == KIND_RECORDS:
        query = query.where(record_read)
    else:
        query = query.where(or_(personal, audiovisual))
    if case_id:
        query = query.where(AuditEvent.case_id == case_id)
    if case_number and case_number.strip():
        query = query.where(Case.number.like(f"%{_escape_like(case_number.strip())}%", escape="\\"))
    if user_id:
        query = query.where(AuditEvent.actor_id == user_id)
    if since:
        query = query.where(AuditEvent.at >= _utc_start_of(since))
    if until:
        query = query.where(AuditEvent.at < _utc_start_of(date.fromordinal(until.toordinal() + 1)))
    rows = db.session.execute(
        query.order_by(AuditEvent.id.desc()).offset((page - 1) * per_page).limit(per_page + 1)).all()
    type_names = _type_names()
    return AccessPage(rows=[_row(r, type_names) for r in rows[:per_page]], page=page, per_page=per_page,
                      has_next=len(rows) > per_page)


def _type_names() -> dict[str, str]:
    """Record type code -> its name in the interface language (the catalogue is small)."""
    from .records import type_label

    return {t.code: type_label(t) for t in db.session.scalars(select(RecordType))}


def _row(row, type_names: dict[str, str]) -> AccessRow:
    event, number, rec_id, type_code, filename, rec_kind = row
    common = dict(id=event.id, at=to_local(event.at), actor_id=event.actor_id,
                  actor_name=event.actor_name or _("system"), action=event.action, case_id=event.case_id, body_id=event.body_id,
                  case_number=number or "")
    if event.action == PERSONAL_DATA_VIEWED:
        where = _after(event).get("where")
        return AccessRow(**common, what=_("Personal data on %(where)s", where=where_label(where)),
                         how=_("shown unmasked"), kind=KIND_PERSONAL)
    how = _("downloaded") if event.action == "record.downloaded" else _("viewed")
    if rec_id is None:  # not expected: records are never deleted
        return AccessRow(**common, what=event.object_label, how=how, kind="")
    type_name = type_names.get(type_code, type_code or "")
    return AccessRow(**common, what=f"{type_name} · {filename}", how=how, kind=rec_kind or "", record_id=rec_id,
                     record_type=type_name, filename=filename or "")


def _after(event: AuditEvent) -> dict:
    try:
        value = json.loads(event.after) if event.after else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


RECORD_KIND_LABELS = {
    RecordKind.VIDEO.value: _l("video"), RecordKind.AUDIO.value: _l("audio"),
    RecordKind.PHOTO.value: _l("photo"), RecordKind.DOCUMENT.value: _l("document"),
    KIND_PERSONAL: _l("personal data"),
}


def kind_label(kind: str) -> str:
    label = RECORD_KIND_LABELS.get(kind)
    return str(label) if label is not None else kind


# --- the case timeline ---------------------------------------------

def _register() -> None:
    """Name the event on the case timeline (like `record.viewed`, it is listed there). Review counts it
    as reading, not handling (services.review._NOT_EDITING)."""
    from .cases import EVENT_LABELS, FIELD_LABELS, SHOWN_FIELDS, VALUE_FORMATTERS

    EVENT_LABELS[PERSONAL_DATA_VIEWED] = _l("Personal data viewed")
    SHOWN_FIELDS[PERSONAL_DATA_VIEWED] = ("where",)
    FIELD_LABELS.setdefault("where", _l("Where"))
    VALUE_FORMATTERS.setdefault("where", where_label)


_register()
