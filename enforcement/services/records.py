"""Whole-process records: the catalogue, the completeness rules, uploads and reading.

An upload is two steps. `begin_upload` checks everything that can be checked before a byte
moves (who, which case, type, size, name, the audio/video statements) and keeps an `Upload`
row. `receive` streams the request body into the store's multipart upload: the first bytes are
sniffed (an executable renamed .jpg is refused before anything is stored), the SHA-256 is
computed on the way, and the parts go to the store concurrently in constant memory. When the
connection drops, the parts already stored stay and the client resumes at `resume_offset`; the
record row exists only once every byte is stored and hashed. Records are never changed: a
correction is a new record that supersedes the old one with a reason.
"""
from __future__ import annotations

import hashlib
import io
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from ..extensions import db
from ..models import Case, Record, RecordKind, RecordRequirement, RecordType, Stage, Upload, User
from ..models._types import utcnow
from . import audit, media
from .errors import Conflict, DomainError, NotFound, PermissionDenied
from .permissions import can_edit_case, can_view_case
from .workflow import TRANSITIONS, gate, stage_label

STAGE_ORDER = list(Stage)
HEAD_BYTES = 256 * 1024  # sniffed and read for EXIF before anything is stored
RECORD_FIELDS = ("case_id", "type_code", "stage", "original_filename", "content_type", "size", "sha256",
                 "storage_key", "version_id", "captured_at", "captured_at_source", "place", "latitude",
                 "longitude", "location_source", "device", "supersedes_id", "supersede_reason")
# Which detected kinds of content each kind of record type accepts (a signed paper may be scanned).
ACCEPTS = {RecordKind.PHOTO.value: {"image"}, RecordKind.VIDEO.value: {"video"},
           RecordKind.AUDIO.value: {"audio"}, RecordKind.DOCUMENT.value: {"document", "image"}}


# --- the catalogue and the rules ------------------------------------------------------------------

def record_types(*, active_only: bool = True) -> list[RecordType]:
    query = select(RecordType).order_by(RecordType.sort, RecordType.code)
    if active_only:
        query = query.where(RecordType.active.is_(True))
    return list(db.session.scalars(query))


def get_record_type(code: str) -> RecordType:
    kind = db.session.get(RecordType, code)
    if kind is None or not kind.active:
        raise DomainError(_("Choose the type of the record."))
    return kind


def type_label(kind: RecordType) -> str:
    """The type's name in the interface language: the official Chinese name, or the English one."""
    from flask_babel import get_locale

    locale = get_locale()
    return kind.name_en if locale is not None and locale.language == "en" else kind.name


def requirements(case: Case, stage: Stage | str | None = None) -> list[RecordRequirement]:
    """The rules that apply to this case (its matter's category and its route), for one stage or all."""
    category = case.matter.category
    query = select(RecordRequirement).where(
        (RecordRequirement.matter_category.is_(None)) | (RecordRequirement.matter_category == category),
        (RecordRequirement.route.is_(None)) | (RecordRequirement.route == case.route))
    if stage is not None:
        query = query.where(RecordRequirement.stage == Stage(stage).value)
    # An execution rule is for a forced execution or for voluntary compliance, as the case went.
    from .execution import path

    query = query.where((RecordRequirement.execution_path.is_(None)) |
                        (RecordRequirement.execution_path == path(case)))
    rules = list(db.session.scalars(query))
    rules.sort(key=lambda r: (STAGE_ORDER.index(Stage(r.stage)), r.record_type.sort))
    return rules


def case_records(case: Case) -> list[Record]:
    """Every record of the case, superseded ones included, in stage order then upload order."""
    rows = list(db.session.scalars(select(Record).where(Record.case_id == case.id).order_by(Record.id)))
    rows.sort(key=lambda r: STAGE_ORDER.index(Stage(r.stage)))
    return rows


def superseded_ids(records: list[Record]) -> dict[int, Record]:
    """Map of superseded record id -> the record that replaced it."""
    return {r.supersedes_id: r for r in records if r.supersedes_id is not None}


def current_records(case: Case) -> list[Record]:
    records = case_records(case)
    replaced = superseded_ids(records)
    return [r for r in records if r.id not in replaced]


@dataclass
class ChecklistItem:
    stage: str
    record_type: RecordType
    basis: str
    records: list[Record] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return bool(self.records)


def checklist(case: Case) -> list[ChecklistItem]:
    """The case's completeness checklist: every required record, with the current records meeting it."""
    by_type: dict[str, list[Record]] = {}
    for record in current_records(case):
        by_type.setdefault(record.type_code, []).append(record)
    return [ChecklistItem(rule.stage, rule.record_type, rule.basis, by_type.get(rule.type_code, []))
            for rule in requirements(case)]


def stages_visited(case: Case) -> list[Stage]:
    """The stages the case has been in, in order, the current one included (a case may skip review,
    or close straight after service without entering execution), read off its stage changes."""
    import json

    from ..models import AuditEvent

    afters = db.session.scalars(select(AuditEvent.after).where(AuditEvent.case_id == case.id,
                                                               AuditEvent.action == "case.stage_changed"))
    seen = {Stage.FILING, Stage(case.stage)}
    for after in afters:
        stage = json.loads(after or "{}").get("stage")
        if stage in Stage._value2member_map_:
            seen.add(Stage(stage))
    return [s for s in STAGE_ORDER if s in seen]


def missing_for(case: Case, stage: Stage | str) -> list[ChecklistItem]:
    return [item for item in checklist(case) if item.stage == Stage(stage).value and not item.met]


def _required_records(case: Case, today) -> list[str]:
    """No case moves forward out of a stage while a record the rules require for it is missing."""
    return [_("Missing record before leaving %(stage)s: %(type)s (%(basis)s).", stage=stage_label(item.stage),
              type=type_label(item.record_type), basis=item.basis)
            for item in missing_for(case, case.stage)]


# Registered for every forward transition; going back (a review returning the case) needs nothing.
for _source, _targets in TRANSITIONS.items():
    for _target in _targets:
        if STAGE_ORDER.index(_target) > STAGE_ORDER.index(_source):
            gate(_source, _target)(_required_records)


# --- the case timeline: record events in words ----------------------------------------------------

def _type_name(code) -> str:
    kind = db.session.get(RecordType, code)
    return type_label(kind) if kind is not None else str(code)


def _register_timeline() -> None:
    from .cases import EVENT_LABELS, FIELD_LABELS, SHOWN_FIELDS, VALUE_FORMATTERS

    EVENT_LABELS.update({"record.added": _l("Record added"), "record.superseded": _l("Record corrected"),
                         "record.viewed": _l("Record viewed"), "record.downloaded": _l("Record downloaded"),
                         "record.generated": _l("Document produced by the tracker")})
    shown = ("type_code", "original_filename", "stage", "captured_at", "sha256", "supersede_reason")
    SHOWN_FIELDS.update({"record.added": shown, "record.superseded": shown, "record.generated": shown})
    FIELD_LABELS.update({"type_code": _l("Type"), "original_filename": _l("File"), "captured_at": _l("Captured"),
                         "sha256": "SHA-256", "supersede_reason": _l("Why corrected")})
    VALUE_FORMATTERS["type_code"] = _type_name


_register_timeline()


# --- permissions ------------------------------------------------------------------------------------

def can_add_record(user, case: Case) -> bool:
    """The officers on the case and the head add records; closed cases take the closing report; archived none."""
    return can_edit_case(user, case)


def can_correct(user, record: Record) -> bool:
    """Whether the user may upload a correction of this record (the record page's button)."""
    if not can_add_record(user, record.case):
        return False
    if db.session.scalar(select(Record.id).where(Record.supersedes_id == record.id)):
        return False  # corrected already: the newer one is corrected instead
    try:
        _check_evidence_open(record.case, record.record_type, Stage(record.stage))
    except DomainError:
        return False
    return True


def get_record(user, record_id: int) -> Record:
    record = db.session.get(Record, record_id)
    if record is None or not can_view_case(user, record.case):
        raise NotFound(_("No such record."))
    return record


# --- uploads ----------------------------------------------------------------------------------------

def _config(name: str):
    return current_app.config[name]


def _store():
    from ..store import get_store

    return get_store()


def _clean(value, limit: int) -> str:
    if value is not None and not isinstance(value, str):
        raise DomainError(_("A field has a value that is not text."))
    text = (value or "").strip()
    if len(text) > limit:
        raise DomainError(_("A field is longer than %(limit)s characters.", limit=limit))
    return text


def _parse_time(value) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise DomainError(_("The capture time is not a valid date and time.")) from exc
    if parsed.tzinfo is not None:  # "…Z" or "+08:00" from a field terminal: keep Beijing time
        from zoneinfo import ZoneInfo

        parsed = parsed.astimezone(ZoneInfo("Asia/Shanghai"))
    return parsed.replace(tzinfo=None)


def _parse_coordinate(value, limit: float, what: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise DomainError(_("The %(what)s is not a number.", what=what)) from exc
    if not -limit <= number <= limit:
        raise DomainError(_("The %(what)s is out of range.", what=what))
    return number


def upload_limit() -> int:
    return int(_config("MAX_UPLOAD_BYTES"))


def begin_upload(case: Case, actor: User, *, filename: str, size, type_code: str, stage: str | None = None,
                 description: str = "", captured_at=None, place: str = "", latitude=None, longitude=None,
                 device: str = "", av_method: str = "", av_maker: str = "", av_proves: str = "",
                 transcript: str = "", supersedes_id=None, supersede_reason: str = "") -> Upload:
    """Check an upload before any byte moves; keep it as an `Upload` to which the bytes are sent."""
    if not can_add_record(actor, case):
        raise PermissionDenied(_("Only the officers on the case or the head of the body add records, and "
                                 "not to an archived case."))
    name = media.check_filename(filename or "")
    try:
        size = int(size)
    except (TypeError, ValueError) as exc:
        raise DomainError(_("The size of the file is missing.")) from exc
    if size <= 0:
        raise DomainError(_("The file %(name)s is empty.", name=name))
    if size > upload_limit():
        raise DomainError(_("The file %(name)s is larger than the limit of %(limit)s MB.", name=name,
                            limit=upload_limit() // (1024 * 1024)))
    kind = get_record_type(type_code)
    try:
        stage = Stage(stage or case.stage)
    except ValueError as exc:
        raise DomainError(_("Choose the stage of the record.")) from exc
    if STAGE_ORDER.index(stage) > STAGE_ORDER.index(Stage(case.stage)):
        raise DomainError(_("A record cannot belong to a stage the case has not reached."))
    _check_evidence_open(case, kind, stage)
    fields = {
        "type_code": kind.code, "stage": stage.value, "description": _clean(description, 2000),
        "captured_at": None, "place": _clean(place, 200),
        "latitude": _parse_coordinate(latitude, 90, _("latitude")),
        "longitude": _parse_coordinate(longitude, 180, _("longitude")),
        "device": _clean(device, 120), "av_method": _clean(av_method, 2000), "av_maker": _clean(av_maker, 120),
        "av_proves": _clean(av_proves, 2000), "transcript": _clean(transcript, 100000),
        "supersedes_id": None, "supersede_reason": _clean(supersede_reason, 2000),
    }
    entered = _parse_time(captured_at)
    if entered is not None:
        if entered > datetime.now() + timedelta(days=1):
            raise DomainError(_("The capture time is in the future."))
        fields["captured_at"] = entered.isoformat()
    if kind.is_audiovisual:
        missing = [label for key, label in (("av_method", _("how it was made")), ("av_maker", _("who made it")),
                                            ("av_proves", _("what it proves"))) if not fields[key]]
        if kind.kind == RecordKind.AUDIO.value and not fields["transcript"]:
            missing.append(_("the transcript"))
        if missing:
            raise DomainError(_("An audio or video record must state %(missing)s (行政诉讼证据规定 art. 12).",
                                missing="、".join(str(m) for m in missing)))
    if supersedes_id not in (None, ""):
        try:
            wanted = int(supersedes_id)
        except (TypeError, ValueError, OverflowError):
            wanted = 0
        old = db.session.get(Record, wanted) if 0 < wanted < 2**31 else None
        if old is None or old.case_id != case.id:
            raise DomainError(_("The record to correct is not a record of this case."))
        if db.session.scalar(select(Record.id).where(Record.supersedes_id == old.id)):
            raise Conflict(_("That record was corrected already; correct the newer one."))
        if not fields["supersede_reason"]:
            raise DomainError(_("Say why the record is corrected."))
        _check_evidence_open(case, old.record_type, Stage(old.stage))
        fields["supersedes_id"] = old.id
    elif fields["supersede_reason"]:
        fields["supersede_reason"] = ""

    token = secrets.token_hex(16)
    upload = Upload(id=token, case_id=case.id, user_id=actor.id, filename=name, size=size,
                    part_size=int(getattr(_store(), "part_size", None) or _config("UPLOAD_PART_BYTES")),
                    storage_key=f"cases/{case.id}/records/{token}", fields=json.dumps(fields))
    db.session.add(upload)
    db.session.flush()
    return upload


def _check_evidence_open(case: Case, kind: RecordType, stage: Stage) -> None:
    """Evidence closes with the decision (行政诉讼证据规定 art. 60); a closed case takes its closing report only."""
    current = Stage(case.stage)
    if current == Stage.ARCHIVED:
        raise DomainError(_("The case is archived: its file is read-only."))
    if current == Stage.CLOSED and kind.code != "closing_report":
        raise DomainError(_("The case is closed: only its closing report can be added."))
    decided = STAGE_ORDER.index(current) >= STAGE_ORDER.index(Stage.DECISION)
    if decided and STAGE_ORDER.index(stage) < STAGE_ORDER.index(Stage.DECISION):
        raise DomainError(_("Evidence closed with the decision (行政诉讼证据规定 art. 60): a record of %(stage)s "
                            "cannot be added or corrected now.", stage=stage_label(stage)))


def get_upload(actor: User, upload_id: str) -> Upload:
    """The actor's own upload (nobody resumes or cancels another person's upload)."""
    upload = db.session.get(Upload, upload_id) if upload_id else None
    if upload is None or upload.user_id != getattr(actor, "id", None):
        raise NotFound(_("No such upload: it finished, was cancelled or expired."))
    return upload


def resume_offset(upload: Upload) -> int:
    """How many bytes the store holds for this upload (the client sends the rest)."""
    if not upload.store_upload_id:
        return 0
    try:
        parts = _store().list_parts(upload.storage_key, upload.store_upload_id)
    except FileNotFoundError:
        if _already_stored(upload) is not None:
            return upload.size  # completed in the store, but its record was never written: finish it
        upload.store_upload_id = None  # the store no longer knows it (swept): start again from byte 0
        return 0
    offset = 0
    for expected, part in enumerate(sorted(parts, key=lambda p: p.number), start=1):
        if part.number != expected or part.size != upload.part_size:
            break
        offset += part.size
    return offset


def _already_stored(upload: Upload):
    """The stored object of an upload whose completion reached the store but whose record was never
    written (the commit failed, the worker died): the upload finishes from it instead of looping."""
    try:
        stored = _store().head(upload.storage_key)
    except FileNotFoundError:
        return None
    if stored.size != upload.size:
        return None
    if stored.sha256 is None:  # the store recorded no digest: hash the bytes it holds
        digest = hashlib.sha256()
        with _store().open(upload.storage_key, version_id=stored.version_id) as reader:
            for chunk in reader.iter_chunks():
                digest.update(chunk)
        from dataclasses import replace

        stored = replace(stored, sha256=digest.hexdigest())
    return stored


def _check_not_corrected_meanwhile(upload: Upload, actor: User, fields: dict) -> None:
    old = fields.get("supersedes_id")
    if old and db.session.scalar(select(Record.id).where(Record.supersedes_id == old)):
        cancel(upload, actor)
        raise Conflict(_("That record was corrected already; correct the newer one."))


class _Body:
    """The request body, counted: refuses more bytes than declared (also for chunked bodies)."""

    def __init__(self, stream, allowed: int, head: bytes = b""):
        self._stream = stream
        self._head = io.BytesIO(head)
        self._left_in_head = len(head)
        self.allowed = allowed
        self.read_bytes = 0

    def read(self, n: int = -1) -> bytes:
        if self._left_in_head:
            data = self._head.read(n if n and n > 0 else -1)
            self._left_in_head -= len(data)
        else:
            data = self._stream.read(n if n and n > 0 else 1024 * 1024)
        self.read_bytes += len(data)
        if self.read_bytes > self.allowed:
            raise UploadTooLarge()
        return data


class UploadTooLarge(DomainError):
    status_code = 413

    def __init__(self):
        super().__init__(_("The file is larger than the size given when the upload started."))


def _read_head(stream, limit: int) -> bytes:
    chunks, got = [], 0
    while got < limit:
        data = stream.read(limit - got)
        if not data:
            break
        chunks.append(data)
        got += len(data)
    return b"".join(chunks)


@dataclass
class Received:
    """What one request delivered: the record when the upload is complete, else where to resume."""

    offset: int
    record: Record | None = None


def receive(upload: Upload, actor: User, stream, *, offset: int, before_transfer=None) -> Received:
    """Stream the bytes from `offset` on into the store; finish the record when all are there.

    `before_transfer`, when given, is called once the checks passed and the store's upload is
    started, before the long transfer: a view commits there, so that no database lock is held
    while the bytes stream. The caller commits after this returns. Raises DomainError for
    a refusal (the upload is then cancelled: nothing stays), `Conflict` with the right offset
    when the client resumes at the wrong place, and StorageError when the store fails (the upload
    stays resumable).
    """
    from storage import ObjectExists, PartConflict, StorageError

    if upload.user_id != actor.id:
        raise NotFound(_("No such upload: it finished, was cancelled or expired."))
    if not can_add_record(actor, upload.case):
        cancel(upload, actor)
        raise PermissionDenied(_("You can no longer add records to this case."))
    store = _store()
    fields = json.loads(upload.fields)
    expected = resume_offset(upload)
    if offset != expected:
        raise OffsetMismatch(expected)
    upload.touched_at = utcnow()
    if offset == upload.size:
        stored = _already_stored(upload)
        if stored is not None:
            _check_not_corrected_meanwhile(upload, actor, fields)
            return Received(offset=upload.size, record=_make_record(upload, actor, fields, stored))

    digest = None
    if offset == 0:
        head = _read_head(stream, min(HEAD_BYTES, upload.size + 1))
        if not head:
            return Received(offset=0)  # nothing arrived: the client may try again
        try:
            _check_head(upload, fields, head)
        except DomainError:
            cancel(upload, actor)
            raise
        if upload.store_upload_id is None:
            try:
                upload.store_upload_id = store.start_upload(upload.storage_key, content_type=upload.content_type)
            except ObjectExists:  # another request of this upload finished it first
                stored = _already_stored(upload)
                if stored is None:
                    raise
                _check_not_corrected_meanwhile(upload, actor, fields)
                return Received(offset=upload.size, record=_make_record(upload, actor, fields, stored))
        upload.fields = json.dumps(fields)
        digest = hashlib.sha256()
        body = _Body(stream, upload.size, head)
    else:
        body = _Body(stream, upload.size - offset)
    db.session.flush()
    if before_transfer is not None:
        before_transfer()

    try:
        parts = store.upload_parts(upload.storage_key, upload.store_upload_id, body,
                                   first_part=offset // upload.part_size + 1, part_size=upload.part_size,
                                   total_size=upload.size, digest=digest)
    except UploadTooLarge:
        cancel(upload, actor)
        raise
    except PartConflict as exc:  # the client resent a part with other bytes: it is not the same file
        cancel(upload, actor)
        raise DomainError(_("The bytes sent differ from those already stored for this upload, so it is not the "
                            "same file; the upload was cancelled. Start it again.")) from exc
    received = offset + sum(p.size for p in parts)
    if received < upload.size:
        if body.read_bytes < upload.size - offset:
            return Received(offset=resume_offset(upload))  # the connection ended early: resume later
        raise StorageError("the store accepted fewer bytes than were sent")
    try:
        body.read(1)  # one byte more than declared is refused
    except UploadTooLarge:
        cancel(upload, actor)
        raise
    _check_not_corrected_meanwhile(upload, actor, fields)
    all_parts = sorted(store.list_parts(upload.storage_key, upload.store_upload_id), key=lambda p: p.number)
    stored = store.complete_upload(upload.storage_key, upload.store_upload_id, all_parts,
                                   sha256=digest.hexdigest() if digest is not None else None)
    if stored.size != upload.size:  # fail closed: the store holds something else than was declared
        raise StorageError(f"stored {stored.size} bytes, expected {upload.size}")
    record = _make_record(upload, actor, fields, stored)
    return Received(offset=upload.size, record=record)


class OffsetMismatch(Conflict):
    def __init__(self, expected: int):
        self.expected = expected
        super().__init__(_("The upload continues at byte %(offset)s.", offset=expected))


def _check_head(upload: Upload, fields: dict, head: bytes) -> None:
    """Refuse what the first bytes show to be wrong; take the capture time and place from EXIF."""
    sniffed = media.sniff(head, upload.filename)
    kind = get_record_type(fields["type_code"])
    if sniffed.kind not in ACCEPTS[kind.kind]:
        raise DomainError(_("%(name)s is %(what)s, which cannot be filed as %(type)s.", name=upload.filename,
                            what=_kind_words(sniffed.kind), type=type_label(kind)))
    upload.content_type = sniffed.content_type
    if sniffed.kind == "image":
        exif = media.read_exif(head)
        if exif.captured_at is not None:
            fields["captured_at"], fields["captured_at_source"] = exif.captured_at.isoformat(), "exif"
        if exif.latitude is not None and exif.longitude is not None:
            fields["latitude"], fields["longitude"] = exif.latitude, exif.longitude
            fields["location_source"] = "exif"
        if exif.device and not fields["device"]:
            fields["device"] = exif.device[:120]


def _kind_words(kind: str) -> str:
    return {"image": _("a picture"), "video": _("a video"), "audio": _("an audio recording"),
            "document": _("a document")}.get(kind, kind)


def lock_case(case: Case) -> None:
    """Take the case's row lock for the rest of the transaction and reload the case.

    A record is added and a decision made final under this lock, so that no record slips in
    between the decision's look at the dossier and its commit. An UPDATE that changes nothing
    takes the row lock on PostgreSQL and the write lock on SQLite alike (SELECT … FOR UPDATE
    means nothing to SQLite).
    """
    db.session.execute(update(Case).where(Case.id == case.id).values(id=Case.id)
                       .execution_options(synchronize_session=False))
    db.session.refresh(case)


def _make_record(upload: Upload, actor: User, fields: dict, stored) -> Record:
    lock_case(upload.case)
    # Checked again under the lock: the decision may have closed the evidence while the bytes streamed.
    _check_evidence_open(upload.case, get_record_type(fields["type_code"]), Stage(fields["stage"]))
    captured = fields.get("captured_at")
    record = Record(
        case_id=upload.case_id, type_code=fields["type_code"], stage=fields["stage"],
        description=fields["description"], original_filename=upload.filename, content_type=upload.content_type,
        size=stored.size, sha256=stored.sha256, storage_key=upload.storage_key, version_id=stored.version_id,
        uploaded_by_id=actor.id, captured_at=datetime.fromisoformat(captured) if captured else None,
        captured_at_source=fields.get("captured_at_source") or ("entered" if captured else ""),
        place=fields["place"], latitude=fields["latitude"], longitude=fields["longitude"],
        location_source=fields.get("location_source") or (
            "entered" if fields["latitude"] is not None or fields["place"] else ""),
        device=fields["device"], av_method=fields["av_method"], av_maker=fields["av_maker"],
        av_proves=fields["av_proves"], transcript=fields["transcript"], supersedes_id=fields["supersedes_id"],
        supersede_reason=fields["supersede_reason"])
    db.session.add(record)
    db.session.delete(upload)
    db.session.flush()
    label = f"{record.record_type.name} {record.original_filename}"
    after = audit.snapshot(record, RECORD_FIELDS)
    after["captured_at"] = record.captured_at.isoformat() if record.captured_at else None
    audit.record("record.superseded" if record.supersedes_id else "record.added", "record", record.id, label,
                 actor=actor, after=after, body_id=upload.case.body_id, case_id=record.case_id)
    return record


def store_generated(case: Case, actor: User, *, type_code: str, stage: Stage | str, filename: str, data: bytes,
                    description: str = "", content_type: str = "application/pdf", action: str = "record.generated") -> Record:
    """Keep a document the app produced (an opinion, a decision) as a record of the case.

    The bytes go to the store first, under a new key; the row follows in the caller's transaction
    (if that never commits, `storage orphans` reports the object). `action` names the audit event.
    """
    if case.stage == Stage.ARCHIVED.value:
        raise DomainError(_("The case is archived: its file is read-only."))
    kind = get_record_type(type_code)
    key = f"cases/{case.id}/records/{secrets.token_hex(16)}"
    stored = _store().put(key, io.BytesIO(data), content_type=content_type, size_hint=len(data))
    record = Record(case_id=case.id, type_code=kind.code, stage=Stage(stage).value, description=description,
                    original_filename=filename, content_type=content_type, size=stored.size,
                    sha256=stored.sha256 or hashlib.sha256(data).hexdigest(), storage_key=key,
                    version_id=stored.version_id, uploaded_by_id=actor.id)
    db.session.add(record)
    db.session.flush()
    audit.record(action, "record", record.id, f"{kind.name} {filename}", actor=actor,
                 after=audit.snapshot(record, RECORD_FIELDS), body_id=case.body_id, case_id=case.id)
    return record


def cancel(upload: Upload, actor: User) -> None:
    """Abort the store's upload (its parts go) and forget the upload. Nothing stays visible."""
    if upload.store_upload_id:
        _store().abort_upload(upload.storage_key, upload.store_upload_id)
    db.session.delete(upload)
    db.session.flush()


def sweep(*, now: datetime | None = None) -> dict:
    """Forget uploads nobody resumed in time; abort the store's uploads no row knows (a crashed worker).

    Never touches an upload that completed (the store lists only open ones) or one a user may
    still resume (its id is kept).
    """
    now = now or utcnow()
    hours = int(_config("UPLOAD_RESUME_HOURS"))
    expired = list(db.session.scalars(select(Upload).where(Upload.touched_at < now - timedelta(hours=hours))))
    store = _store()
    for upload in expired:
        if upload.store_upload_id:
            store.abort_upload(upload.storage_key, upload.store_upload_id)
        db.session.delete(upload)
    db.session.flush()
    keep = set(db.session.scalars(select(Upload.store_upload_id).where(Upload.store_upload_id.is_not(None))))
    aborted = store.sweep_incomplete_uploads(hours * 3600, keep=keep)
    return {"expired": len(expired), "aborted": len(aborted)}


# --- reading ----------------------------------------------------------------------------------------

def log_access(record: Record, actor: User, how: str, *, continues_viewing: bool = False) -> bool:
    """Every view or download of a record is an audit event (`how`: "viewed" or "downloaded").

    `continues_viewing` marks a request in the middle of a viewing (an HTTP range after byte 0: a
    video seeking). It is the same viewing, and no new event, when this user has an event for the
    record in the last half hour; otherwise it is one (a client starting mid-file is recorded).
    Returns whether an event was written.
    """
    if continues_viewing and _accessed_recently(record, actor, how):
        return False
    audit.record(f"record.{how}", "record", record.id, f"{record.record_type.name} {record.original_filename}",
                 actor=actor, body_id=record.case.body_id, case_id=record.case_id)
    return True


def log_page_view(record: Record, actor: User) -> bool:
    """The record page shows an audio record's transcript, its content itself: that is a viewing."""
    if not record.transcript:
        return False
    return log_access(record, actor, "viewed")


def _accessed_recently(record: Record, actor: User, how: str, *, minutes: int = 30) -> bool:
    """Whether this user has a view (or download) event for this record in the last `minutes`."""
    from ..models import AuditEvent

    since = utcnow() - timedelta(minutes=minutes)
    return db.session.scalar(select(AuditEvent.id).where(
        AuditEvent.case_id == record.case_id, AuditEvent.action == f"record.{how}",
        AuditEvent.object_id == str(record.id), AuditEvent.actor_id == actor.id, AuditEvent.at >= since)
        .limit(1)) is not None


def store_available() -> bool:
    """Whether the object store answers now (a case page marks records unavailable when not)."""
    from storage import StorageError

    try:
        _store().ping()
    except (StorageError, OSError):
        return False
    return True


# --- integrity ----------------------------------------------------------------------------------

@dataclass
class IntegrityReport:
    checked: int = 0
    bytes: int = 0
    mismatched: list[tuple[Record, str]] = field(default_factory=list)  # (record, the digest found)
    missing: list[Record] = field(default_factory=list)
    errors: list[tuple[Record, str]] = field(default_factory=list)  # the store failed on these

    @property
    def ok(self) -> bool:
        return not (self.mismatched or self.missing or self.errors)


def verify_records(*, case_id: int | None = None, sample: int | None = None, progress=None) -> IntegrityReport:
    """Re-read every record's object (by its version), re-hash it and compare with the recorded SHA-256.

    `case_id` narrows to one case; `sample` checks that many records chosen at random.
    """
    from storage import StorageError

    query = select(Record).order_by(Record.id)
    if case_id is not None:
        query = query.where(Record.case_id == case_id)
    rows = list(db.session.scalars(query))
    if sample is not None and sample < len(rows):
        rows = sorted(secrets.SystemRandom().sample(rows, sample), key=lambda r: r.id)
    store = _store()
    report = IntegrityReport()
    for record in rows:
        try:
            matches, actual = store.verify(record.storage_key, record.sha256, version_id=record.version_id)
        except FileNotFoundError:
            report.missing.append(record)
        except (StorageError, OSError) as exc:
            report.errors.append((record, str(exc)))
        else:
            if not matches:
                report.mismatched.append((record, actual))
        report.checked += 1
        report.bytes += record.size
        if progress:
            progress(report.checked, len(rows))
    return report


RECORD_PREFIX = "cases/"


def orphans() -> list[str]:
    """Stored objects under the records' prefix that no record points to."""
    known = set(db.session.scalars(select(Record.storage_key)))
    return [key for key in _store().list_keys(RECORD_PREFIX) if key not in known]
