"""The audit trail: append-only, hash-chained events, and the single-row chain head."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ._types import utcnow

GENESIS_HASH = "0" * 64


class AuditEvent(db.Model):
    """One state change. `id` is the chain sequence (1, 2, 3, …): a gap is a deleted event.

    The database refuses UPDATE and DELETE on this table (triggers created by the migration);
    `prev_hash` is unique, so two appends can never share a predecessor (no fork).
    """

    __tablename__ = "audit_events"
    # The lists that read one kind of event across cases (who looked, check runs) go by action, newest first.
    __table_args__ = (Index("ix_audit_events_action_id", "action", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(120), default="")
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(40), default="")
    object_label: Mapped[str] = mapped_column(String(200), default="")
    body_id: Mapped[int | None] = mapped_column(ForeignKey("bodies.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    before: Mapped[str | None] = mapped_column(Text)  # canonical JSON
    after: Mapped[str | None] = mapped_column(Text)   # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(db.Model):
    """The chain head (one row, id = 1). Appenders lock this row first, which serialises them."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)
    checkpoint_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    checkpoint_at: Mapped[datetime | None] = mapped_column(DateTime)
