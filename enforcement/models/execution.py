"""Service (送达), execution (执行), fine payments and the closing self-check (案卷自查).

- `DocumentService`: one act of serving a document on the party — the decision, the reminder (催告书),
  the compulsory-execution decision, or the notice to attend the execution — with its method, date
  and proof. Rows are added, never changed: a second attempt is a second row.
- `Execution`: what happened after service, one row per case: voluntary compliance with its proof,
  the party's statement on the reminder, the forced demolition's schedule, officers, camera,
  urgency and times, or the application to the court (land route).
- `FinePayment`: a payment of the fine (and of the late penalty), with its receipt.
- `SelfCheck`: the 案卷自查 before closing: what was checked and what was found, kept as run.
"""
from __future__ import annotations

import enum
import json
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (Boolean, CheckConstraint, Column, Date, DateTime, ForeignKey, Index, Integer, Numeric, String,
                        Table, Text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import enum_check, utcnow
from .case import Case
from .people import User
from .record import Record
from .review import Decision


class ServedDocument(str, enum.Enum):
    DECISION = "decision"                          # 行政处罚决定书 / 限期拆除决定书
    REMINDER = "reminder"                          # 催告书 (行政强制法 art. 35, 54)
    ENFORCEMENT_DECISION = "enforcement_decision"  # 强制执行决定书 (art. 37)
    ATTENDANCE_NOTICE = "attendance_notice"        # 通知当事人到场 (art. 18)


class ServiceMethod(str, enum.Enum):
    DIRECT = "direct"                # 直接送达: the party (or an adult family member) signs the receipt
    LEFT = "left"                    # 留置送达: refused to sign; a witness or a video proves it
    POST = "post"                    # 邮寄送达: the day the receipt was signed
    ELECTRONIC = "electronic"        # 电子送达: only with the party's written consent
    ENTRUSTED = "entrusted"          # 委托送达 / 转交送达
    PUBLIC_NOTICE = "public_notice"  # 公告送达: deemed served 30 days after (民事诉讼法 art. 95)


class DocumentService(db.Model):
    __tablename__ = "document_services"
    __table_args__ = (
        CheckConstraint(enum_check("document", [d.value for d in ServedDocument]), name="document_known"),
        CheckConstraint(enum_check("method", [m.value for m in ServiceMethod]), name="method_known"),
        CheckConstraint("deemed_served_on >= served_on", name="deemed_after_served"),
        Index("ix_document_services_case_document", "case_id", "document", "deemed_served_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    document: Mapped[str] = mapped_column(String(30))
    # The decision in force when the document was served (the decision itself, or the one being enforced).
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))
    method: Mapped[str] = mapped_column(String(20))
    served_on: Mapped[date] = mapped_column(Date)          # signed / left / received / sent / notice posted
    deemed_served_on: Mapped[date] = mapped_column(Date)   # = served_on, or 30 days after a public notice
    party_present: Mapped[bool] = mapped_column(Boolean, default=False)  # handed over on the spot at the decision
    # A reminder (催告书) gives the party a last deadline to perform (行政强制法 art. 35): the compulsory-
    # execution decision comes only after it passed with nothing done (art. 37).
    comply_by: Mapped[date | None] = mapped_column(Date)
    recipient: Mapped[str] = mapped_column(String(120), default="")      # who signed or received it
    witness: Mapped[str] = mapped_column(String(120), default="")        # 留置送达: the witness
    proof_record_id: Mapped[int] = mapped_column(ForeignKey("records.id"))  # 送达回证 / posting proof / e-receipt
    video_record_id: Mapped[int | None] = mapped_column(ForeignKey("records.id"))    # 留置送达 filmed
    consent_record_id: Mapped[int | None] = mapped_column(ForeignKey("records.id"))  # consent to e-service
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    case: Mapped[Case] = relationship()
    decision: Mapped[Decision | None] = relationship()
    proof_record: Mapped[Record] = relationship(foreign_keys=[proof_record_id])
    video_record: Mapped[Record | None] = relationship(foreign_keys=[video_record_id])
    consent_record: Mapped[Record | None] = relationship(foreign_keys=[consent_record_id])
    recorded_by: Mapped[User] = relationship()


execution_officers = Table(
    "execution_officers", db.metadata,
    Column("execution_id", ForeignKey("executions.id"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True),
)


class Execution(db.Model):
    __tablename__ = "executions"
    __table_args__ = (
        CheckConstraint("ended_at IS NULL OR (started_at IS NOT NULL AND ended_at > started_at)",
                        name="ends_after_start"),
        CheckConstraint("urgent_reason = '' OR urgent_by_id IS NOT NULL", name="urgency_by_someone"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    # Voluntary compliance (自行履行): the day and the proof (photos of the building removed, a receipt).
    complied_on: Mapped[date | None] = mapped_column(Date)
    compliance_record_id: Mapped[int | None] = mapped_column(ForeignKey("records.id"))
    compliance_note: Mapped[str] = mapped_column(Text, default="")
    # The party's statement and defence after the reminder (行政强制法 art. 36), or its waiver.
    statement_on: Mapped[date | None] = mapped_column(Date)
    statement: Mapped[str] = mapped_column(Text, default="")
    statement_waived: Mapped[bool] = mapped_column(Boolean, default=False)
    # The forced demolition (planning route): when, with which camera, urgent or not (art. 43).
    scheduled_at: Mapped[datetime | None] = mapped_column(DateTime)  # local (Beijing) time
    camera: Mapped[str] = mapped_column(String(120), default="")
    urgent_reason: Mapped[str] = mapped_column(Text, default="")
    urgent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    urgent_at: Mapped[datetime | None] = mapped_column(DateTime)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)    # local time
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)      # local time
    # The full audio/video record of the execution: its start is the record's capture time, its end as
    # read off the camera; together they must cover the execution from start to end.
    av_record_id: Mapped[int | None] = mapped_column(ForeignKey("records.id"))
    av_until: Mapped[datetime | None] = mapped_column(DateTime)  # local time
    # The land route (and unpaid fines): the application to the court (art. 53–55).
    court_applied_on: Mapped[date | None] = mapped_column(Date)
    court_name: Mapped[str] = mapped_column(String(120), default="")
    court_reference: Mapped[str] = mapped_column(String(80), default="")
    court_outcome: Mapped[str] = mapped_column(Text, default="")
    court_outcome_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    case: Mapped[Case] = relationship()
    compliance_record: Mapped[Record | None] = relationship(foreign_keys=[compliance_record_id])
    av_record: Mapped[Record | None] = relationship(foreign_keys=[av_record_id])
    urgent_by: Mapped[User | None] = relationship()
    officers: Mapped[list[User]] = relationship(secondary=execution_officers, order_by="User.id")


class FinePayment(db.Model):
    """A payment towards the fine (行政处罚法 art. 67) or its late penalty (art. 72), with its receipt."""

    __tablename__ = "fine_payments"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"))
    paid_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    receipt_record_id: Mapped[int] = mapped_column(ForeignKey("records.id"))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    receipt_record: Mapped[Record] = relationship()
    recorded_by: Mapped[User] = relationship()


def _in_language(value: str) -> list:
    """A JSON list, or a JSON object of lists per language: the list in the interface's language."""
    data = json.loads(value or "[]")
    if not isinstance(data, dict):
        return data
    from flask_babel import get_locale

    locale = get_locale()
    language = "en" if locale is not None and locale.language == "en" else SelfCheck.LANGUAGES[0]
    return data.get(language) or next(iter(data.values()), [])


class SelfCheck(db.Model):
    """One run of the 案卷自查 before closing: each finding in words (in both interface languages);
    none = passed."""

    LANGUAGES = ("zh_Hans_CN", "en")

    __tablename__ = "self_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    passed: Mapped[bool] = mapped_column(Boolean)
    findings: Mapped[str] = mapped_column(Text, default="{}")   # JSON {language: [words]}
    checked: Mapped[str] = mapped_column(Text, default="{}")    # JSON {language: [{item, state, detail}]}
    last_record_id: Mapped[int | None] = mapped_column(Integer)  # the newest record at the time
    checked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    checked_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    checked_by: Mapped[User] = relationship()

    @property
    def finding_list(self) -> list[str]:
        return _in_language(self.findings)

    @property
    def checked_list(self) -> list[dict]:
        return _in_language(self.checked)
