"""Notice (告知) and hearing, legal review (法制审核), collective discussion and the decision (决定).

The rules live in services.notice, services.review and services.decisions; these are the rows
they keep. A review request and a decision are signed acts: who vouched for what stays. A final
decision is never changed — the database refuses UPDATE and DELETE on `decisions` — it is only
revoked or changed by a later decision that names it and gives the reason.
"""
from __future__ import annotations

import enum
import json
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (Boolean, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Text,
                        text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import enum_check, utcnow
from .case import Case
from .people import User
from .record import Record


class DecisionType(str, enum.Enum):
    """What a decision orders. Demolition, licence revocation and stopping production are major."""

    WARNING = "warning"                        # 警告、通报批评
    FINE = "fine"                              # 罚款
    CONFISCATION = "confiscation"              # 没收违法所得、没收非法财物
    DEMOLITION = "demolition"                  # 限期拆除
    CORRECTION = "correction"                  # 责令限期改正
    STOP_PRODUCTION = "stop_production"        # 责令停产停业、关闭
    LICENCE_REVOCATION = "licence_revocation"  # 吊销许可证件、降低资质等级
    NO_PENALTY = "no_penalty"                  # 不予行政处罚


MAJOR_TYPES = (DecisionType.DEMOLITION, DecisionType.STOP_PRODUCTION, DecisionType.LICENCE_REVOCATION)
# How severe each type is, to tell whether a decision goes beyond what the notice proposed.
SEVERITY = {DecisionType.NO_PENALTY: 0, DecisionType.WARNING: 1, DecisionType.CORRECTION: 1,
            DecisionType.FINE: 2, DecisionType.CONFISCATION: 2, DecisionType.STOP_PRODUCTION: 3,
            DecisionType.DEMOLITION: 3, DecisionType.LICENCE_REVOCATION: 3}

_MONEY = Numeric(14, 2)


class Proposal:
    """The columns of a proposed or final decision (type, amounts, text), shared by three tables."""

    decision_type: Mapped[str] = mapped_column(String(30))
    fine_amount: Mapped[Decimal | None] = mapped_column(_MONEY)
    confiscation_value: Mapped[Decimal | None] = mapped_column(_MONEY)
    content: Mapped[str] = mapped_column(Text, default="")  # the proposed/decided measures in words
    legal_basis: Mapped[str] = mapped_column(Text, default="")


class Notice(Proposal, db.Model):
    """行政处罚（听证）告知书: the intended decision told to the party, and what followed.

    The latest notice of a case counts; a changed proposal needs a new notice.
    """

    __tablename__ = "notices"
    __table_args__ = (CheckConstraint(enum_check("decision_type", [t.value for t in DecisionType]),
                                      name="decision_type_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    served_on: Mapped[date] = mapped_column(Date)
    service_method: Mapped[str] = mapped_column(String(200), default="")
    hearing_offered: Mapped[bool] = mapped_column(Boolean, default=True)
    hearing_deadline: Mapped[date | None] = mapped_column(Date)  # 5 working days after service (art. 64)
    # The party's statement and defence (陈述申辩), or that the party waived it.
    statement: Mapped[str] = mapped_column(Text, default="")
    statement_waived: Mapped[bool] = mapped_column(Boolean, default=False)
    statement_recorded_at: Mapped[datetime | None] = mapped_column(DateTime)
    hearing_requested_on: Mapped[date | None] = mapped_column(Date)
    hearing_held_on: Mapped[date | None] = mapped_column(Date)
    hearing_record_id: Mapped[int | None] = mapped_column(ForeignKey("records.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    case: Mapped[Case] = relationship()
    created_by: Mapped[User] = relationship()
    hearing_record: Mapped[Record | None] = relationship()


class ReviewStatus(str, enum.Enum):
    PENDING = "pending"
    PASSED = "passed"      # 同意
    RETURNED = "returned"  # 退回补充调查/修改
    FAILED = "failed"      # 不同意


class ReviewRequest(Proposal, db.Model):
    """法制审核: the officer's request (a signed attestation) and the reviewer's opinion (another signed act).

    The request keeps the dossier digest it was made on; the decision gate compares it with the
    digest at the time of the decision. At most one request of a case is pending.
    """

    __tablename__ = "review_requests"
    __table_args__ = (
        CheckConstraint(enum_check("status", [s.value for s in ReviewStatus]), name="status_known"),
        CheckConstraint(enum_check("decision_type", [t.value for t in DecisionType]), name="decision_type_known"),
        CheckConstraint("status = 'pending' OR (reviewer_id IS NOT NULL AND reviewed_at IS NOT NULL)",
                        name="reviewed_has_reviewer"),
        Index("uq_review_requests_one_pending", "case_id", unique=True,
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"))
    # The handler's signed act.
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    attestation: Mapped[str] = mapped_column(Text)
    handler_opinion: Mapped[str] = mapped_column(Text, default="")  # 承办机构意见
    discretion_band_id: Mapped[int | None] = mapped_column(ForeignKey("discretion_bands.id"))
    outside_band_reason: Mapped[str] = mapped_column(Text, default="")
    major_reasons: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of words, as at submission
    digest: Mapped[str] = mapped_column(String(64))
    digest_version: Mapped[int] = mapped_column(Integer)
    manifest: Mapped[str] = mapped_column(Text)  # the canonical JSON the digest was computed from
    # The reviewer's signed act.
    status: Mapped[str] = mapped_column(String(20), default=ReviewStatus.PENDING.value)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)
    conflict_declared_none: Mapped[bool] = mapped_column(Boolean, default=False)
    checks: Mapped[str] = mapped_column(Text, default="[]")  # JSON [{code, ok, note}] for the nine checks
    opinion: Mapped[str] = mapped_column(Text, default="")
    opinion_record_id: Mapped[int | None] = mapped_column(ForeignKey("records.id"))
    # A disagreement with a returned or failed review goes to collective discussion.
    disputed_at: Mapped[datetime | None] = mapped_column(DateTime)
    dispute_reason: Mapped[str] = mapped_column(Text, default="")

    case: Mapped[Case] = relationship()
    submitted_by: Mapped[User] = relationship(foreign_keys=[submitted_by_id])
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id])
    opinion_record: Mapped[Record | None] = relationship()
    discretion_band: Mapped["DiscretionBand | None"] = relationship()  # noqa: F821

    @property
    def status_enum(self) -> ReviewStatus:
        return ReviewStatus(self.status)

    @property
    def major_reason_list(self) -> list[str]:
        return json.loads(self.major_reasons or "[]")

    @property
    def check_rows(self) -> list[dict]:
        return json.loads(self.checks or "[]")


class ReviewerAssignment(db.Model):
    """A reviewer of another body (司法所, a county–town joint team) lent to one case until its review ends."""

    __tablename__ = "reviewer_assignments"
    __table_args__ = (Index("ix_reviewer_assignments_reviewer_open", "reviewer_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    assigned_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    assigned_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    end_reason: Mapped[str] = mapped_column(String(200), default="")

    case: Mapped[Case] = relationship()
    reviewer: Mapped[User] = relationship(foreign_keys=[reviewer_id])
    assigned_by: Mapped[User] = relationship(foreign_keys=[assigned_by_id])


class CollectiveDiscussion(db.Model):
    """集体讨论: the body's leadership discusses a major decision (or a disputed review); the head chairs."""

    __tablename__ = "collective_discussions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    review_request_id: Mapped[int | None] = mapped_column(ForeignKey("review_requests.id"))
    held_on: Mapped[date] = mapped_column(Date)
    chaired_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    participants: Mapped[str] = mapped_column(Text)
    conclusion: Mapped[str] = mapped_column(Text)
    # For a disputed review: whether the discussion upheld the reviewer's opinion.
    upholds_review: Mapped[bool | None] = mapped_column(Boolean)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"))  # the 集体讨论记录 uploaded
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    case: Mapped[Case] = relationship()
    chaired_by: Mapped[User] = relationship(foreign_keys=[chaired_by_id])
    record: Mapped[Record] = relationship()


class DecisionKind(str, enum.Enum):
    DECISION = "decision"        # the case's decision
    REVOCATION = "revocation"    # revokes an earlier decision (撤销)
    CHANGE = "change"            # replaces an earlier decision with another content (变更)


class Decision(Proposal, db.Model):
    """A final decision, signed by the head. Write-once: the database refuses UPDATE and DELETE."""

    __tablename__ = "decisions"
    __table_args__ = (
        CheckConstraint(enum_check("kind", [k.value for k in DecisionKind]), name="kind_known"),
        CheckConstraint(enum_check("decision_type", [t.value for t in DecisionType]), name="decision_type_known"),
        CheckConstraint("kind = 'decision' OR (replaces_id IS NOT NULL AND reason <> '')", name="replacement_reasoned"),
        Index("uq_decisions_one_per_case", "case_id", unique=True,
              sqlite_where=text("kind = 'decision'"), postgresql_where=text("kind = 'decision'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default=DecisionKind.DECISION.value)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"), unique=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    major: Mapped[bool] = mapped_column(Boolean)
    major_reasons: Mapped[str] = mapped_column(Text, default="[]")
    discretion_band_id: Mapped[int | None] = mapped_column(ForeignKey("discretion_bands.id"))
    outside_band_reason: Mapped[str] = mapped_column(Text, default="")
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"))
    review_request_id: Mapped[int | None] = mapped_column(ForeignKey("review_requests.id"))
    collective_discussion_id: Mapped[int | None] = mapped_column(ForeignKey("collective_discussions.id"))
    digest: Mapped[str] = mapped_column(String(64))  # the dossier decided on
    decided_on: Mapped[date] = mapped_column(Date)
    signed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    signed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # The last record of the evidence set the decision rests on: records after it are post-decision.
    last_record_id: Mapped[int | None] = mapped_column(Integer)
    document_record_id: Mapped[int] = mapped_column(ForeignKey("records.id"))  # the 决定书 PDF

    case: Mapped[Case] = relationship()
    signed_by: Mapped[User] = relationship()
    document_record: Mapped[Record] = relationship()
    review_request: Mapped[ReviewRequest | None] = relationship()
    replaces: Mapped["Decision | None"] = relationship(remote_side=[id])

    @property
    def major_reason_list(self) -> list[str]:
        return json.loads(self.major_reasons or "[]")


class DeadlineExtension(db.Model):
    """The head's approval to decide after the 90 days (行政处罚法 art. 60), with the reason."""

    __tablename__ = "deadline_extensions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    previous_due: Mapped[date] = mapped_column(Date)
    new_due: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    approved_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    approved_by: Mapped[User] = relationship()
