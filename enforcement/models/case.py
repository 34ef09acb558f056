"""The enforcement case (案件) and its officers. Table name `cases`: `case` is an SQL keyword."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import enum_check, utcnow
from .catalogue import Matter
from .people import Body, User


class Stage(str, enum.Enum):
    """Stages of a case, in order. The transitions and their gates live in services.workflow."""

    FILING = "filing"                # 立案 (awaiting the head's approval)
    INVESTIGATION = "investigation"  # 调查取证
    NOTICE = "notice"                # 告知
    REVIEW = "review"                # 法制审核 (major decisions)
    DECISION = "decision"            # 决定
    SERVICE = "service"              # 送达
    EXECUTION = "execution"          # 执行
    CLOSED = "closed"                # 结案
    ARCHIVED = "archived"            # 归档


class Source(str, enum.Enum):
    GRID_PATROL = "grid_patrol"  # 网格巡查
    COMPLAINT = "complaint"      # 投诉举报
    TRANSFER = "transfer"        # 移送
    INSPECTION = "inspection"    # 检查发现
    SUPERIOR = "superior"        # 上级交办
    OTHER = "other"


class PartyKind(str, enum.Enum):
    PERSON = "person"
    ORGANISATION = "organisation"


class Route(str, enum.Enum):
    PLANNING = "planning"  # 城乡规划法 41, 65: the town acts itself
    LAND = "land"          # 土地管理法 62, 78: the county department, unless delegated


class Case(db.Model):
    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("body_id", "year", "seq", name="uq_cases_body_year_seq"),
        CheckConstraint(enum_check("stage", [s.value for s in Stage]), name="stage_known"),
        CheckConstraint(enum_check("source", [s.value for s in Source]), name="source_known"),
        CheckConstraint(enum_check("party_kind", [p.value for p in PartyKind]), name="party_kind_known"),
        CheckConstraint("route IS NULL OR route IN ('planning', 'land')", name="route_known"),
        # No case leaves filing without the head's approval on record.
        CheckConstraint(
            "stage = 'filing' OR (filing_approved_by_id IS NOT NULL AND filing_approved_at IS NOT NULL)",
            name="approved_beyond_filing",
        ),
        Index("ix_cases_body_stage_id", "body_id", "stage", "id"),
        Index("ix_cases_body_matter_id", "body_id", "matter_id", "id"),
        Index("ix_cases_body_due", "body_id", "decision_due_on"),
        Index("ix_cases_body_id", "body_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("bodies.id"))
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(60), unique=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id"))
    route: Mapped[str | None] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20))
    source_detail: Mapped[str] = mapped_column(String(200), default="")
    party_kind: Mapped[str] = mapped_column(String(20))
    party_name: Mapped[str] = mapped_column(String(120))
    # Personal data: shown only to those who need it (services.permissions.can_see_personal_data).
    party_id_number: Mapped[str] = mapped_column(String(40), default="")
    party_phone: Mapped[str] = mapped_column(String(40), default="")
    party_address: Mapped[str] = mapped_column(String(200), default="")
    party_is_minor: Mapped[bool] = mapped_column(default=False)
    village: Mapped[str] = mapped_column(String(80))      # place at village level (what may be published)
    place_detail: Mapped[str] = mapped_column(String(200), default="")
    summary: Mapped[str] = mapped_column(Text)            # 案情摘要
    act_began_on: Mapped[date] = mapped_column(Date)      # when the unlawful act began
    act_ended_on: Mapped[date | None] = mapped_column(Date)  # NULL: continuing (limitation runs from its end)
    discovered_on: Mapped[date] = mapped_column(Date)
    filed_on: Mapped[date] = mapped_column(Date)
    decision_due_on: Mapped[date] = mapped_column(Date)   # 90 days from filing (行政处罚法 art. 60)
    stage: Mapped[str] = mapped_column(String(20), default=Stage.FILING.value)
    stage_since: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    complex_reason: Mapped[str | None] = mapped_column(Text)  # marked complex -> major decision
    filing_approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    filing_approved_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    body: Mapped[Body] = relationship()
    matter: Mapped[Matter] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    filing_approved_by: Mapped[User | None] = relationship(foreign_keys=[filing_approved_by_id])
    officers: Mapped[list[CaseOfficer]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseOfficer.id", lazy="selectin"
    )

    @property
    def active_officers(self) -> list[CaseOfficer]:
        return [o for o in self.officers if o.removed_at is None]

    @property
    def stage_enum(self) -> Stage:
        return Stage(self.stage)


class CaseOfficer(db.Model):
    """An officer assigned to a case (承办人). Removal is recorded, never deleted."""

    __tablename__ = "case_officers"
    __table_args__ = (Index("ix_case_officers_user_case", "user_id", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    lead: Mapped[bool] = mapped_column(default=False)
    assigned_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(DateTime)

    case: Mapped[Case] = relationship(back_populates="officers")
    user: Mapped[User] = relationship(lazy="joined")


class CaseCounter(db.Model):
    """Last case sequence number per body and year; updated under a row lock."""

    __tablename__ = "case_counters"

    body_id: Mapped[int] = mapped_column(ForeignKey("bodies.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
