"""The audit trail: every state change, hash-chained, append-only, checkpointed outside the database.

Appending: the single `audit_head` row is updated first, which takes a row lock on PostgreSQL
and the write lock on SQLite, so concurrent appenders queue up instead of reading the same last
hash (a naive "read the last hash, insert" forks the chain under load). The unique constraint on
`prev_hash` is the second line of defence: a fork cannot be written even if the lock were bypassed.

Verifying: `verify_chain()` recomputes every hash in order, checks the sequence has no gaps,
that the head row agrees, and that the newest checkpoint in the object store is still in the
chain (which detects deletion of the newest events, invisible to a pure in-database check).
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Iterable

from sqlalchemy import select, text, update

from ..extensions import db
from ..models._types import utcnow
from ..models.audit import GENESIS_HASH, AuditEvent, AuditHead

log = logging.getLogger(__name__)

CHECKPOINT_PREFIX = "audit/checkpoints/"
SEP = "\x1f"


def canonical_json(value: Any) -> str | None:
    """Stable JSON for before/after snapshots (sorted keys, no spaces, UTF-8 kept readable)."""
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


def event_hash(
    seq: int, at: datetime, actor_id, actor_name, action, object_type, object_id, object_label,
    body_id, case_id, before, after, prev_hash,
) -> str:
    """SHA-256 over the event's fields in a fixed order, separated by U+001F."""
    parts = (
        str(seq), at.isoformat(timespec="microseconds"), "" if actor_id is None else str(actor_id),
        actor_name or "", action, object_type, object_id or "", object_label or "",
        "" if body_id is None else str(body_id), "" if case_id is None else str(case_id),
        before or "", after or "", prev_hash,
    )
    return hashlib.sha256(SEP.join(parts).encode("utf-8")).hexdigest()


def snapshot(obj: Any, fields: Iterable[str]) -> dict:
    """The named attributes of a model as plain values, for an event's before/after."""
    return {name: getattr(obj, name) for name in fields}


def ensure_head() -> None:
    """Create the chain-head row if the database has none (fresh schema)."""
    if db.session.get(AuditHead, 1) is None:
        db.session.add(AuditHead(id=1, seq=0, last_hash=GENESIS_HASH, checkpoint_seq=0))
        db.session.flush()


def record(
    action: str,
    object_type: str,
    object_id: Any = "",
    object_label: str = "",
    *,
    actor=None,
    before: dict | None = None,
    after: dict | None = None,
    body_id: int | None = None,
    case_id: int | None = None,
) -> AuditEvent:
    """Append one event to the chain in the current transaction (never commits)."""
    db.session.flush()  # the object's own id must exist before we name it
    row = db.session.execute(
        update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq + 1)
        .returning(AuditHead.seq, AuditHead.last_hash)
        .execution_options(synchronize_session=False)
    ).first()
    if row is None:
        raise RuntimeError("audit_head row missing: run `flask --app app db upgrade`")
    seq, prev_hash = row
    at = utcnow()
    before_s, after_s = canonical_json(before), canonical_json(after)
    actor_id = getattr(actor, "id", None)
    actor_name = getattr(actor, "name", "") if actor is not None else "system"
    oid = "" if object_id is None else str(object_id)
    label = (object_label or "")[:200]
    digest = event_hash(seq, at, actor_id, actor_name, action, object_type, oid, label,
                        body_id, case_id, before_s, after_s, prev_hash)
    event = AuditEvent(
        id=seq, at=at, actor_id=actor_id, actor_name=actor_name, action=action,
        object_type=object_type, object_id=oid, object_label=label, body_id=body_id,
        case_id=case_id, before=before_s, after=after_s, prev_hash=prev_hash, hash=digest,
    )
    db.session.add(event)
    db.session.execute(
        update(AuditHead).where(AuditHead.id == 1).values(last_hash=digest)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    return event


def events_for_case(case_id: int) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.id)))


# --- checkpoints outside the database -------------------------------------------------

def _checkpoint_key(seq: int, at: datetime) -> str:
    return f"{CHECKPOINT_PREFIX}{at:%Y-%m}/{seq:012d}.json"


def write_checkpoint(store, *, force: bool = False, min_interval_seconds: int = 0) -> dict | None:
    """Write the chain head (seq, hash, time) as a new object in the store.

    Called after a commit that appended events, and by `flask audit checkpoint`. Returns the
    checkpoint written, or None when nothing new happened. A failure is logged, not raised: the
    business change has committed already and the next checkpoint covers it.
    """
    head = db.session.get(AuditHead, 1, populate_existing=True)  # the row, not a stale copy
    if head is None or head.seq == 0:
        return None
    if not force and head.seq <= head.checkpoint_seq:
        return None
    now = utcnow()
    if (not force and min_interval_seconds and head.checkpoint_at
            and now - head.checkpoint_at < timedelta(seconds=min_interval_seconds)):
        return None
    event = db.session.get(AuditEvent, head.seq)
    if event is None:
        return None
    body = {"seq": event.id, "hash": event.hash, "event_at": event.at.isoformat(), "written_at": now.isoformat()}
    key = _checkpoint_key(event.id, now)
    from storage import ObjectExists, StorageError  # local import: storage knows nothing of us
    try:
        store.put(key, io.BytesIO(json.dumps(body).encode()), content_type="application/json")
    except ObjectExists:
        pass  # another worker checkpointed the same head
    except StorageError as exc:
        log.warning("audit checkpoint not written: %s", exc)
        return None
    db.session.execute(
        update(AuditHead).where(AuditHead.id == 1, AuditHead.checkpoint_seq < event.id)
        .values(checkpoint_seq=event.id, checkpoint_at=now)
        .execution_options(synchronize_session=False)
    )
    return body


def latest_checkpoint(store, *, months_back: int = 36) -> dict | None:
    """The newest checkpoint in the store (searching month folders backwards from now).

    Keys carry the sequence zero-padded to 12 digits, so the last key of the newest month folder
    is the newest checkpoint: one object is read, however many were written that month.
    """
    now = utcnow()
    year, month = now.year, now.month
    for _ in range(months_back):
        keys = list(store.list_keys(f"{CHECKPOINT_PREFIX}{year:04d}-{month:02d}/"))
        if keys:
            return json.loads(b"".join(_iter_bytes(store.open(max(keys)))).decode())
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return None


def _iter_bytes(handle) -> Iterable[bytes]:
    if hasattr(handle, "read"):
        try:
            yield handle.read()
        finally:
            close = getattr(handle, "close", None)
            if close:
                close()
    else:
        yield from handle


# --- verification ---------------------------------------------------------------------

@dataclass
class ChainReport:
    ok: bool = True
    events: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    first_broken_id: int | None = None
    problems: list[str] = field(default_factory=list)
    checkpoint: dict | None = None

    def fail(self, message: str, event_id: int | None = None) -> None:
        self.ok = False
        if event_id is not None and self.first_broken_id is None:
            self.first_broken_id = event_id
        self.problems.append(message)


_CHAIN_ROWS = text(
    "SELECT id, at, actor_id, actor_name, action, object_type, object_id, object_label, body_id,"
    " case_id, before, after, prev_hash, hash FROM audit_events ORDER BY id")


def _stamp(at) -> str:
    """The hashed form of an event time, whether the driver gave a datetime or SQLite's text."""
    if isinstance(at, str):
        stamp = at.replace(" ", "T", 1)
        return stamp if len(stamp) > 19 else stamp + ".000000"
    return at.isoformat(timespec="microseconds")


def verify_chain(store=None, *, batch: int = 20000, progress=None) -> ChainReport:
    """Recompute the whole chain; name the first broken event. Streams, constant memory.

    Safe on a live system: the checkpoint and then the head row are read *before* the scan. A
    checkpoint is written only after its events committed, and the head row moves in the same
    transaction as the event it names, so every event they name must be in the scan; events
    appended while the scan runs are checked too but never make the head or the checkpoint look
    wrong (reading the head after the scan reported a false break under load).
    """
    report = ChainReport()
    checkpoint = None
    if store is not None:
        try:
            checkpoint = latest_checkpoint(store)
        except Exception as exc:  # the store may be down: say so, do not pass silently
            report.fail(f"could not read the checkpoint from the object store: {exc}")
        report.checkpoint = checkpoint
    head = db.session.get(AuditHead, 1, populate_existing=True)
    head_seq, head_hash = (head.seq, head.last_hash) if head is not None else (0, GENESIS_HASH)
    watched = {head_seq, checkpoint["seq"] if checkpoint else 0}
    seen = {0: GENESIS_HASH}  # hashes of the events the head and the checkpoint name

    expected_prev, expected_seq = GENESIS_HASH, 1
    sha = hashlib.sha256
    # Plain SQL rows, not ORM columns: at a million events the DateTime result processing alone
    # costs seconds. SQLite hands back its stored text ("YYYY-MM-DD HH:MM:SS.ffffff"), which is
    # the hashed isoformat once the space becomes a "T"; PostgreSQL hands back a datetime.
    # yield_per on the statement, not the connection: a connection option would leave the session's
    # connection on a server-side cursor for the rest of the transaction.
    result = db.session.execute(_CHAIN_ROWS.execution_options(yield_per=batch))
    for row in result:
        (seq, at, actor_id, actor_name, action, otype, oid, label, body_id, case_id,
         before, after, prev_hash, stored_hash) = row
        if report.ok:
            if seq != expected_seq:
                report.fail(f"event {expected_seq} is missing (next present is {seq})", expected_seq)
            elif prev_hash != expected_prev:
                report.fail(f"event {seq} does not link to event {seq - 1} (prev_hash differs)", seq)
            else:
                parts = (str(seq), _stamp(at),
                         "" if actor_id is None else str(actor_id), actor_name or "", action, otype,
                         oid or "", label or "", "" if body_id is None else str(body_id),
                         "" if case_id is None else str(case_id), before or "", after or "", prev_hash)
                if sha(SEP.join(parts).encode("utf-8")).hexdigest() != stored_hash:
                    report.fail(f"event {seq} was altered: its content no longer matches its hash", seq)
        if seq in watched:
            seen[seq] = stored_hash
        expected_prev, expected_seq = stored_hash, seq + 1
        report.events += 1
        report.head_seq, report.head_hash = seq, stored_hash
        if progress and report.events % 100000 == 0:
            progress(report.events)
    result.close()

    if not report.ok:
        return report
    if head is None:
        if report.events:
            report.fail("the chain head row (audit_head) is missing", report.head_seq)
    elif report.head_seq < head_seq:
        report.fail(f"the chain head says {head_seq} events but {report.head_seq} are present",
                    report.head_seq + 1)
    elif seen.get(head_seq) != head_hash:
        report.fail(f"the chain head hash differs from the hash of event {head_seq}", head_seq)
    elif report.head_seq > head_seq:
        # Appended while we scanned: the head row must have moved on to cover them by now.
        moved = db.session.get(AuditHead, 1, populate_existing=True)
        if moved.seq < report.head_seq:
            report.fail(f"events {head_seq + 1}–{report.head_seq} lie beyond the chain head "
                        f"(which says {moved.seq})", head_seq + 1)
    if checkpoint is not None and report.ok:
        if checkpoint["seq"] > report.head_seq:
            report.fail(
                f"events {report.head_seq + 1}–{checkpoint['seq']} were deleted: the checkpoint of "
                f"{checkpoint['written_at']} records event {checkpoint['seq']}", report.head_seq + 1)
        elif seen.get(checkpoint["seq"]) != checkpoint["hash"]:
            report.fail(f"event {checkpoint['seq']} differs from the checkpoint written at "
                        f"{checkpoint['written_at']}", checkpoint["seq"])
    return report
