"""The case file (案卷) as one ZIP: every record, a manifest and the index (卷内目录), checkable offline.

Layout of the ZIP::

    records/0001_<type_code>_<name>   every record of the case, superseded ones included, in stage
    records/0002_…                    order then id (the order of the index)
    卷内目录.pdf                        the index in Chinese: 序号, 题名, 责任者, 日期, 页数/大小, 阶段, 备注
    manifest.json                      what the package holds (below)
    manifest.sha256, manifest.sm3      the manifest's digests, "<hex>  manifest.json" (sha256sum -c reads it)

manifest.json (format "enforcement-case-file", version 1; times are UTC, ISO 8601 without offset,
except `captured_at`, the local time the device or the officer gave): `exported_at`, `exporter`,
the `case` facts (the party's ID number, phone and address included: the case file is restricted,
and they are what the filed case records), `files` (seq, path, record_id, type_code, type_name,
stage, kind, mime, size, sha256, sm3, original_filename, created_at, uploaded_by,
supersedes_record_id, superseded_by_record_id, post_decision, …), `file_count`, `total_bytes`,
`index` (the index PDF's path, size and digests), `events` (every audit event of the case with the
fields its hash covers, `before`/`after` as the stored canonical JSON text), `reviews` (each legal
review with the dossier it signed and that dossier's digest), `decisions`, and `required_metadata`.
The export itself is recorded afterwards as the audit event `case.exported`, with the manifest's
SHA-256 and SM3: that event is what proves a package genuine later (the manifest's digest files
only prove it unchanged since it was written).

Bytes are streamed: each record goes from the store into the ZIP in chunks, hashed (SHA-256 and
SM3) on the way, and `out` may be an unseekable stream (an HTTP response). A record whose bytes
do not hash to its recorded SHA-256 (or have another size) stops the export, naming the record:
the ZIP is then left without its central directory and manifest — unusable, never silently wrong.
Missing objects are found before the first byte is written.

Three steps, so that a web request holds no database transaction while the bytes stream:
`prepare` (reads the database, checks the permission), `write` (streams; no database) and
`finish` (the audit event). `export` runs all three.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..archive_check import new_sm3, sm3_implementation  # SM3 (GB/T 32905): OpenSSL's, else pure Python
from ..extensions import db
from ..models import Case, Decision, Record, ReviewRequest, User
from ..models._types import utcnow
from . import audit, documents, records
from .clock import local_today, to_local
from .decisions import post_decision_ids
from .errors import DomainError, NotFound
from .permissions import can_view_case

log = logging.getLogger(__name__)

FORMAT = "enforcement-case-file"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MANIFEST_SHA256 = "manifest.sha256"
MANIFEST_SM3 = "manifest.sm3"
INDEX = "卷内目录.pdf"
RECORDS_DIR = "records/"
REQUIRED_METADATA = ("seq", "path", "record_id", "type_code", "type_name", "stage", "kind", "mime", "size", "sha256",
                     "sm3", "original_filename", "created_at", "uploaded_by")
STAGE_NAMES = {"filing": "立案", "investigation": "调查取证", "notice": "告知", "review": "法制审核",
               "decision": "决定", "service": "送达", "execution": "执行", "closed": "结案", "archived": "归档"}
# Already compressed: stored as they are. Everything else is deflated.
_STORED_PREFIXES = ("image/", "video/", "audio/")
_STORED_TYPES = ("application/ofd", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
_NAME_MAX = 80


class ExportRefused(DomainError):
    """The case file cannot be exported as it is (a record's object is missing or does not match)."""

    status_code = 409


# --- step 1: what goes into the package --------------------------------------------------------------

@dataclass
class _File:
    record: dict          # the manifest's entry, without the digests until written
    storage_key: str
    version_id: str | None
    zip_time: tuple
    pages: int | None = None


@dataclass
class Plan:
    case_id: int
    body_id: int
    case_number: str
    label: str
    actor_id: int | None
    exported_at: datetime
    today: date
    manifest: dict
    files: list[_File]
    index_doc: documents.CaseIndexDoc | None = None
    store: object = None
    summary: dict = field(default_factory=dict)
    written: int = 0  # records streamed so far


def _iso(value) -> str | None:
    return None if value is None else value.isoformat()


def _money(value) -> str | None:
    return None if value is None else str(value)


def safe_name(name: str) -> str:
    """A record's original file name made safe for a ZIP entry on any system: letters (any script),
    digits and . _ - ( ) kept, the rest as "_", at most 80 characters with the extension kept."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.sub(r"[^\w.()\-（）]+", "_", name).strip("._ ") or "file"
    if len(name) > _NAME_MAX:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[:_NAME_MAX - len(ext) - 1] + "." + ext
        else:
            name = name[:_NAME_MAX]
    return name


def archive_filename(case: Case | str) -> str:
    """The download's file name: the case number, made safe for a file name."""
    number = case if isinstance(case, str) else case.number
    return (re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", number).strip(" .") or "case") + ".zip"


def _zip_time(at: datetime | None) -> tuple:
    local = to_local(at or utcnow())
    if local.year < 1980:
        return (1980, 1, 1, 0, 0, 0)
    return (local.year, local.month, local.day, local.hour, local.minute, local.second)


def _event_entry(event) -> dict:
    """An audit event as the manifest carries it: every field its hash covers, exactly as hashed."""
    return {"id": event.id, "at": event.at.isoformat(timespec="microseconds"),
            "actor": {"id": event.actor_id, "name": event.actor_name},
            "action": event.action,
            "object": {"type": event.object_type, "id": event.object_id, "label": event.object_label},
            "body_id": event.body_id, "case_id": event.case_id,
            "before": event.before, "after": event.after, "prev_hash": event.prev_hash, "hash": event.hash}


def _case_facts(case: Case) -> dict:
    matter = case.matter
    return {
        "id": case.id, "number": case.number,
        "body": {"id": case.body.id, "name": case.body.name, "short_name": case.body.short_name},
        "matter": {"id": matter.id, "code": matter.code, "name": matter.name, "category": matter.category,
                   "legal_basis": matter.legal_basis},
        "route": case.route, "source": case.source, "source_detail": case.source_detail,
        "party": {"kind": case.party_kind, "name": case.party_name, "id_number": case.party_id_number,
                  "phone": case.party_phone, "address": case.party_address, "is_minor": case.party_is_minor},
        "village": case.village, "place_detail": case.place_detail, "summary": case.summary,
        "act_began_on": _iso(case.act_began_on), "act_ended_on": _iso(case.act_ended_on),
        "discovered_on": _iso(case.discovered_on), "filed_on": _iso(case.filed_on),
        "decision_due_on": _iso(case.decision_due_on), "stage": case.stage, "stage_name": STAGE_NAMES[case.stage],
        "stage_since": _iso(case.stage_since), "complex_reason": case.complex_reason,
        "filing_approved_by": case.filing_approved_by.name if case.filing_approved_by else None,
        "filing_approved_at": _iso(case.filing_approved_at),
        "created_by": case.created_by.name, "created_at": _iso(case.created_at),
        "officers": [{"user_id": o.user_id, "name": o.user.name, "lead": o.lead,
                      "certificates": [c.number for c in o.user.certificates],
                      "assigned_at": _iso(o.assigned_at), "removed_at": _iso(o.removed_at)} for o in case.officers],
    }


def _reviews(case: Case) -> list[dict]:
    rows = db.session.scalars(select(ReviewRequest).where(ReviewRequest.case_id == case.id)
                              .order_by(ReviewRequest.id))
    return [{"id": r.id, "status": r.status, "submitted_by": r.submitted_by.name, "submitted_at": _iso(r.submitted_at),
             "reviewer": r.reviewer.name if r.reviewer else None, "reviewed_at": _iso(r.reviewed_at),
             "opinion_record_id": r.opinion_record_id, "digest": r.digest, "digest_version": r.digest_version,
             "dossier": r.manifest} for r in rows]


def _decisions(case: Case) -> list[dict]:
    rows = db.session.scalars(select(Decision).where(Decision.case_id == case.id).order_by(Decision.id))
    return [{"id": d.id, "kind": d.kind, "replaces_id": d.replaces_id, "reason": d.reason,
             "decision_type": d.decision_type, "content": d.content, "legal_basis": d.legal_basis,
             "fine_amount": _money(d.fine_amount), "confiscation_value": _money(d.confiscation_value),
             "major": d.major, "review_id": d.review_request_id, "digest": d.digest,
             "decided_on": _iso(d.decided_on), "signed_by": d.signed_by.name, "signed_at": _iso(d.signed_at),
             "last_record_id": d.last_record_id, "document_record_id": d.document_record_id} for d in rows]


def _service_and_execution(case: Case) -> dict:
    """How the documents were served, how the decision was carried out, and the self-checks before closing."""
    from . import closing, execution, serving

    row = execution.execution_of(case)
    return {
        "services": [{"id": s.id, "document": s.document, "decision_id": s.decision_id, "method": s.method,
                      "served_on": _iso(s.served_on), "deemed_served_on": _iso(s.deemed_served_on),
                      "party_present": s.party_present, "recipient": s.recipient or None,
                      "witness": s.witness or None, "proof_record_id": s.proof_record_id,
                      "video_record_id": s.video_record_id, "consent_record_id": s.consent_record_id,
                      "note": s.note or None, "recorded_by": s.recorded_by.name, "recorded_at": _iso(s.recorded_at)}
                     for s in serving.services_of(case)],
        "execution": None if row is None else {
            "complied_on": _iso(row.complied_on), "compliance_record_id": row.compliance_record_id,
            "statement_on": _iso(row.statement_on), "statement": row.statement or None,
            "statement_waived": row.statement_waived, "scheduled_at": _iso(row.scheduled_at),
            "camera": row.camera or None, "officers": [u.name for u in row.officers],
            "urgent_reason": row.urgent_reason or None, "started_at": _iso(row.started_at),
            "ended_at": _iso(row.ended_at), "av_record_id": row.av_record_id, "av_until": _iso(row.av_until),
            "court_applied_on": _iso(row.court_applied_on), "court_name": row.court_name or None,
            "court_reference": row.court_reference or None, "court_outcome": row.court_outcome or None,
            "court_outcome_on": _iso(row.court_outcome_on), "time_zone": "Asia/Shanghai"},
        "fine_payments": [{"id": p.id, "decision_id": p.decision_id, "paid_on": _iso(p.paid_on),
                           "amount": _money(p.amount), "receipt_record_id": p.receipt_record_id}
                          for p in execution.payments_of(case)],
        "self_checks": [{"id": c.id, "passed": c.passed, "findings": json.loads(c.findings),
                         "checked": json.loads(c.checked),
                         "checked_by": c.checked_by.name, "checked_at": _iso(c.checked_at)}
                        for c in closing.self_checks_of(case)],
    }


def _file_entry(seq: int, record: Record, *, replaced_by: Record | None, post_decision: bool) -> dict:
    kind = record.record_type
    return {
        "seq": seq, "path": f"{RECORDS_DIR}{seq:04d}_{record.type_code}_{safe_name(record.original_filename)}",
        "record_id": record.id, "type_code": record.type_code, "type_name": kind.name, "stage": record.stage,
        "kind": kind.kind, "mime": record.content_type, "size": record.size, "sha256": record.sha256, "sm3": None,
        "original_filename": record.original_filename, "created_at": _iso(record.uploaded_at),
        "uploaded_by": record.uploaded_by.name, "uploaded_by_id": record.uploaded_by_id,
        "supersedes_record_id": record.supersedes_id, "supersede_reason": record.supersede_reason or None,
        "superseded_by_record_id": replaced_by.id if replaced_by is not None else None,
        "post_decision": post_decision, "description": record.description,
        "captured_at": _iso(record.captured_at), "captured_at_source": record.captured_at_source or None,
        "place": record.place or None, "latitude": record.latitude, "longitude": record.longitude,
        "device": record.device or None, "av_method": record.av_method or None, "av_maker": record.av_maker or None,
        "av_proves": record.av_proves or None, "transcript": record.transcript or None,
    }


def can_export(user, case: Case) -> bool:
    """Whoever may view the case may export its file (auditors included): it is how they read it all."""
    return can_view_case(user, case)


def prepare(case: Case, *, actor: User | None, today: date | None = None) -> Plan:
    """Read what the package will hold and check that every object is there. `actor` None is the
    server's operator (the command line), recorded as "system". Raises NotFound when the
    actor may not see the case, ExportRefused (naming the record) when an object is missing or has
    another size, StorageError when the store does not answer."""
    if actor is not None and not can_export(actor, case):
        raise NotFound(_("No such case."))
    today = today or local_today()
    if sm3_implementation() != "hashlib":
        log.warning("this Python's OpenSSL has no SM3: the case file export hashes SM3 in pure Python, slowly")
    store = current_app.extensions["object_store"]
    rows = records.case_records(case)
    replaced = records.superseded_ids(rows)
    post = post_decision_ids(case, rows)
    files = []
    for seq, record in enumerate(rows, 1):
        try:
            stored = store.head(record.storage_key, version_id=record.version_id)
        except FileNotFoundError:
            raise ExportRefused(_("The case file cannot be exported: the stored file of record %(id)s (%(name)s) is "
                                  "missing from the evidence store.", id=record.id,
                                  name=record.original_filename)) from None
        if stored.size != record.size:
            raise ExportRefused(_("The case file cannot be exported: the stored file of record %(id)s (%(name)s) has "
                                  "%(found)s bytes, %(size)s were recorded.", id=record.id,
                                  name=record.original_filename, found=stored.size, size=record.size))
        entry = _file_entry(seq, record, replaced_by=replaced.get(record.id), post_decision=record.id in post)
        files.append(_File(entry, record.storage_key, record.version_id, _zip_time(record.uploaded_at)))
    exported_at = utcnow()
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "generator": "enforcement case tracker",
        "exported_at": _iso(exported_at), "time_zone": "UTC",
        "exporter": ({"id": actor.id, "name": actor.name, "body": actor.body.name if actor.body else None}
                     if actor is not None else {"id": None, "name": "system", "body": None}),
        "hash_algorithms": ["sha256", "sm3"],
        "case": _case_facts(case),
        "required_metadata": list(REQUIRED_METADATA),
        "file_count": len(files), "total_bytes": sum(f.record["size"] for f in files),
        "files": [f.record for f in files],
        "index": None,
        "reviews": _reviews(case),
        "decisions": _decisions(case),
        **_service_and_execution(case),
        "audit_hash": {"algorithm": "sha256", "separator": "U+001F", "encoding": "utf-8",
                       "fields": ["id", "at", "actor.id", "actor.name", "action", "object.type", "object.id",
                                  "object.label", "body_id", "case_id", "before", "after", "prev_hash"]},
        "events": [_event_entry(e) for e in audit.events_for_case(case.id)],
    }
    manifest["event_count"] = len(manifest["events"])
    return Plan(case_id=case.id, body_id=case.body_id, case_number=case.number,
                label=f"{case.number} {case.party_name}", actor_id=getattr(actor, "id", None), exported_at=exported_at,
                today=today, manifest=manifest, files=files, store=store,
                index_doc=_index_doc(case, actor, exported_at, today))


def _index_doc(case: Case, actor: User | None, exported_at: datetime, today: date) -> documents.CaseIndexDoc:
    local = to_local(exported_at)
    return documents.CaseIndexDoc(
        body_name=case.body.name, case_number=case.number, case_title=case.matter.name,
        facts=[("案号", case.number), ("案由", case.matter.name), ("当事人", case.party_name),
               ("立案日期", case.filed_on.isoformat()), ("办理阶段", STAGE_NAMES[case.stage]),
               ("导出", f"{local:%Y-%m-%d %H:%M}  {actor.name if actor is not None else '系统'}")],
        rows=[], note="", generated_at=f"{today:%Y年%m月%d日}")


# --- step 2: the bytes ------------------------------------------------------------------------------

class _PageCounter:
    """Counts the page objects (/Type /Page) of a PDF fed in chunks; 0 when they are compressed away."""

    _PAGE = re.compile(rb"/Type\s{0,8}/Page(?![A-Za-z])")
    _KEEP = 32

    def __init__(self):
        self.count = 0
        self._tail = b""
        self._base = 0        # offset of the tail in the file
        self._counted_to = 0  # the end offset of the last match counted

    def feed(self, chunk: bytes, *, final: bool = False) -> None:
        window = self._tail + chunk
        for match in self._PAGE.finditer(window):
            end = self._base + match.end()
            if end <= self._counted_to:
                continue
            if match.end() == len(window) and not final:
                break  # the next byte decides (/Pages): seen again with the next chunk
            self.count += 1
            self._counted_to = end
        keep = window[-self._KEEP:]
        self._base += len(window) - len(keep)
        self._tail = keep


def _compress_type(mime: str) -> int:
    if mime.startswith(_STORED_PREFIXES) or mime in _STORED_TYPES:
        return zipfile.ZIP_STORED
    return zipfile.ZIP_DEFLATED


def _write_record(archive: zipfile.ZipFile, store, item: _File):
    """Stream one record into the ZIP, hashing it; yields after each chunk (the caller may pass it on)."""
    entry = item.record
    info = zipfile.ZipInfo(entry["path"], date_time=item.zip_time)
    info.compress_type = _compress_type(entry["mime"])
    info.file_size = entry["size"]  # lets zipfile choose ZIP64 for a large file before it streams
    info.external_attr = 0o100444 << 16
    sha, sm3, size = hashlib.sha256(), new_sm3(), 0
    pages = _PageCounter() if entry["mime"] == "application/pdf" else None
    with store.open(item.storage_key, version_id=item.version_id) as reader, archive.open(info, "w") as target:
        for chunk in reader.iter_chunks():
            size += len(chunk)
            sha.update(chunk)
            sm3.update(chunk)
            if pages is not None:
                pages.feed(chunk)
            target.write(chunk)
            yield
        if sha.hexdigest() != entry["sha256"] or size != entry["size"]:
            raise ExportRefused(_("The case file cannot be exported: the stored file of record %(id)s (%(name)s) does "
                                  "not match its recorded SHA-256 (it may be damaged). Run the storage check and "
                                  "restore it first.", id=entry["record_id"], name=entry["original_filename"]))
    entry["sm3"] = sm3.hexdigest()
    if pages is not None:
        pages.feed(b"", final=True)
        item.pages = pages.count or None


def _size_words(size: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f}{unit}"
    return f"{size}B"


def _remarks(item: _File, seq_of: dict[int, int]) -> str:
    entry = item.record
    notes = []
    if entry["superseded_by_record_id"] is not None:
        notes.append(f"已被序号{seq_of.get(entry['superseded_by_record_id'], '?')}更正，作废")
    if entry["supersedes_record_id"] is not None:
        notes.append(f"更正序号{seq_of.get(entry['supersedes_record_id'], '?')}")
    if entry["post_decision"]:
        notes.append("决定作出后取得，不作为决定依据")
    return "；".join(notes)


def _index_rows(plan: Plan) -> list[tuple[str, ...]]:
    seq_of = {f.record["record_id"]: f.record["seq"] for f in plan.files}
    rows = []
    for item in plan.files:
        entry = item.record
        when = entry["captured_at"][:10] if entry["captured_at"] else None
        if when is None:
            when = f"{to_local(datetime.fromisoformat(entry['created_at'])):%Y-%m-%d}"
        extent = _size_words(entry["size"])
        if item.pages:
            extent = f"{item.pages}页/{extent}"
        rows.append((str(entry["seq"]), f"{entry['type_name']}（{entry['original_filename']}）", entry["uploaded_by"],
                     when, extent, STAGE_NAMES.get(entry["stage"], entry["stage"]), _remarks(item, seq_of)))
    return rows


def _digest_line(hexdigest: str) -> bytes:
    return f"{hexdigest}  {MANIFEST}\n".encode("ascii")


def _write_small(archive: zipfile.ZipFile, name: str, data: bytes, when: tuple, *, deflate: bool = True) -> None:
    info = zipfile.ZipInfo(name, date_time=when)
    info.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    info.external_attr = 0o100444 << 16
    archive.writestr(info, data)


def _produce(plan: Plan, out):
    """Write the package into `out`, yielding whenever bytes may be waiting there; sets plan.summary."""
    archive = zipfile.ZipFile(out, "w", allowZip64=True)
    finished = False
    try:
        for item in plan.files:
            yield from _write_record(archive, plan.store, item)
            plan.written += 1
        when = _zip_time(plan.exported_at)
        doc = plan.index_doc
        total = plan.manifest["total_bytes"]
        doc.rows = _index_rows(plan)
        doc.note = (f"本卷共 {len(plan.files)} 件，计 {total} 字节（{_size_words(total)}）。各件的 SHA-256 与 SM3 "
                    f"摘要、元数据及本案全部审计记录见 {MANIFEST}；{MANIFEST} 的摘要见 {MANIFEST_SHA256} 与 "
                    f"{MANIFEST_SM3}。")
        index = documents.case_index_pdf(doc)
        _write_small(archive, INDEX, index, when)
        plan.manifest["index"] = {"path": INDEX, "mime": "application/pdf", "size": len(index),
                                  "sha256": hashlib.sha256(index).hexdigest(), "sm3": new_sm3_of(index)}
        yield
        data = json.dumps(plan.manifest, ensure_ascii=False, indent=2).encode("utf-8")
        sha256, sm3 = hashlib.sha256(data).hexdigest(), new_sm3_of(data)
        _write_small(archive, MANIFEST, data, when)
        _write_small(archive, MANIFEST_SHA256, _digest_line(sha256), when, deflate=False)
        _write_small(archive, MANIFEST_SM3, _digest_line(sm3), when, deflate=False)
        archive.close()
        finished = True
    finally:
        if not finished:
            archive.fp = None  # never write the central directory of a package that failed
    plan.summary = {"case_id": plan.case_id, "case_number": plan.case_number, "file_count": len(plan.files),
                    "total_bytes": plan.manifest["total_bytes"], "manifest_sha256": sha256, "manifest_sm3": sm3,
                    "exported_at": plan.manifest["exported_at"], "filename": archive_filename(plan.case_number)}
    yield


def write(plan: Plan, out) -> dict:
    """Stream the package into the binary file-like `out` (seekable or not). Needs no database.

    Returns the summary: file count, bytes, the manifest's SHA-256 and SM3. Raises ExportRefused,
    naming the record, when a stored file does not match its SHA-256; the ZIP is then left
    unfinished (no central directory, no manifest), so nobody can take it for a case file.
    """
    for _step in _produce(plan, out):
        pass
    return plan.summary


class _Pipe:
    """A write-only, unseekable sink whose bytes are taken out as they come (for an HTTP response)."""

    def __init__(self):
        self._chunks: list[bytes] = []

    def write(self, data) -> int:
        if data:
            self._chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self._chunks = b"".join(self._chunks), []
        return data


def stream(plan: Plan):
    """The package as an iterator of byte chunks (for a streamed response); `plan.summary` is set at its end.

    Stops with ExportRefused like `write`; a consumer that stops early leaves no finished ZIP.
    """
    pipe = _Pipe()
    for _step in _produce(plan, pipe):
        data = pipe.take()
        if data:
            yield data


def new_sm3_of(data: bytes) -> str:
    digest = new_sm3()
    digest.update(data)
    return digest.hexdigest()


# --- step 3: the record of it -----------------------------------------------------------------------

def finish(plan: Plan, summary: dict, *, actor: User | None) -> None:
    """The audit event of a completed export (the caller commits)."""
    audit.record("case.exported", "case", plan.case_id, plan.label, actor=actor,
                 after={"file_count": summary["file_count"], "total_bytes": summary["total_bytes"],
                        "manifest_sha256": summary["manifest_sha256"], "manifest_sm3": summary["manifest_sm3"],
                        "format_version": FORMAT_VERSION, "exported_at": summary["exported_at"],
                        "record_ids": [f.record["record_id"] for f in plan.files]},
                 body_id=plan.body_id, case_id=plan.case_id)


def record_incomplete(plan: Plan, *, actor: User | None, reason: str) -> None:
    """An export that stopped before its end after bytes went out (refused midway, or the download broke
    off): who, and how many records had been sent. The caller commits."""
    audit.record("case.export_incomplete", "case", plan.case_id, plan.label, actor=actor,
                 after={"file_count": len(plan.files), "files_sent": plan.written, "reason": reason[:200]},
                 body_id=plan.body_id, case_id=plan.case_id)


def export(case: Case, out, *, actor: User | None, today: date | None = None) -> dict:
    """Write the case file of `case` as a ZIP into the binary file-like `out` and record the export.

    Returns the summary (file_count, total_bytes, manifest_sha256, manifest_sm3, exported_at,
    filename). The caller commits. Raises NotFound (may not see the case), ExportRefused (a record
    missing or damaged, named) or StorageError.
    """
    plan = prepare(case, actor=actor, today=today)
    summary = write(plan, out)
    finish(plan, summary, actor=actor)
    return summary


# --- the case timeline -------------------------------------------------------------------------------

def _register_timeline() -> None:
    from .cases import EVENT_LABELS, FIELD_LABELS, SHOWN_FIELDS

    EVENT_LABELS["case.exported"] = _l("Case file exported (案卷)")
    EVENT_LABELS["case.export_incomplete"] = _l("Case file export broken off")
    SHOWN_FIELDS["case.exported"] = ("file_count", "total_bytes", "manifest_sha256")
    SHOWN_FIELDS["case.export_incomplete"] = ("file_count", "files_sent", "reason")
    FIELD_LABELS.update({"file_count": _l("Files"), "total_bytes": _l("Bytes"), "files_sent": _l("Files sent"),
                         "manifest_sha256": _l("Manifest SHA-256")})


_register_timeline()
