"""Public disclosure (行政执法公示): publications of decisions and demolition notices, their settings,
the annual statistics report, and the challenges (复议、诉讼) recorded against decisions.

The rules live in services.disclosure, services.masking and services.annual. A publication keeps
two texts: `original_text`, composed from the decision with the party's personal data, which only
those who may see that data read; and `masked_text`, the separate copy the officer reviewed and
published, which is all the public ever sees. A published text is never edited: a wrong or revoked
publication is withdrawn with a public reason, and the public page says so.
"""
from __future__ import annotations

import enum
import json
from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import enum_check, utcnow
from .case import Case
from .catalogue import Matter
from .people import Body, User
from .review import Decision


class PublicationKind(str, enum.Enum):
    DECISION = "decision"                    # 执法决定信息公开 (国办发〔2018〕118号)
    DEMOLITION_NOTICE = "demolition_notice"  # 限期自行拆除公告 (行政强制法 art. 44)


class PublicationStatus(str, enum.Enum):
    DRAFT = "draft"            # made on the decision; the officer reviews the masked copy and publishes
    HELD = "held"              # not published, with the reason (a minor's case, secrets, privacy, …)
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"    # taken down with a public reason; the public page says so
    SUPERSEDED = "superseded"  # never published, and its decision was revoked or changed: nothing to publish


class PublicationCategory(str, enum.Enum):
    PENALTY_PERMIT = "penalty_permit"  # penalty and permit decisions: 7 working days
    OTHER = "other"                    # other enforcement decisions: 20 working days


class HoldReason(str, enum.Enum):
    MINOR = "minor"                        # the party is a minor (未成年人)
    STATE_SECRET = "state_secret"          # main facts are state secrets
    BUSINESS_SECRET = "business_secret"    # main facts are business secrets
    PRIVACY = "privacy"                    # main facts are personal privacy
    SECURITY = "security"                  # publication would endanger security or stability
    NO_SOCIAL_IMPACT = "no_social_impact"  # a general-procedure penalty without social impact (a setting)


class Publication(db.Model):
    __tablename__ = "publications"
    __table_args__ = (
        CheckConstraint(enum_check("kind", [k.value for k in PublicationKind]), name="kind_known"),
        CheckConstraint(enum_check("status", [s.value for s in PublicationStatus]), name="status_known"),
        CheckConstraint(enum_check("category", [c.value for c in PublicationCategory]), name="category_known"),
        CheckConstraint("hold_reason IS NULL OR " + enum_check("hold_reason", [h.value for h in HoldReason]),
                        name="hold_reason_known"),
        CheckConstraint("status <> 'held' OR hold_reason IS NOT NULL", name="held_with_reason"),
        CheckConstraint("status NOT IN ('published', 'withdrawn') OR published_at IS NOT NULL",
                        name="published_when"),
        CheckConstraint("status <> 'withdrawn' OR withdrawal_reason <> ''", name="withdrawn_with_reason"),
        CheckConstraint("kind <> 'demolition_notice' OR self_demolition_by IS NOT NULL",
                        name="demolition_deadline_given"),
        # One publication of each decision (a demolition notice is a second, separate publication).
        Index("uq_publications_one_per_decision", "decision_id", unique=True,
              sqlite_where=text("kind = 'decision'"), postgresql_where=text("kind = 'decision'")),
        Index("ix_publications_status_body", "status", "body_id"),
        # The public list walks this index newest first and stops at a page (no sort of every row);
        # the search form's years, places and matters come from the covering index below.
        Index("ix_publications_public", "kind", "published_on", "id"),
        Index("ix_publications_facets", "kind", "year", "village", "matter_id", "status", "published_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("bodies.id"))
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"))
    kind: Mapped[str] = mapped_column(String(30), default=PublicationKind.DECISION.value)
    status: Mapped[str] = mapped_column(String(20), default=PublicationStatus.DRAFT.value)
    category: Mapped[str] = mapped_column(String(20))
    # What the public reads besides the text: none of it is personal data.
    title: Mapped[str] = mapped_column(String(120))
    document_number: Mapped[str] = mapped_column(String(60))
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id"))
    decision_type: Mapped[str] = mapped_column(String(30))
    conclusion: Mapped[str] = mapped_column(Text, default="")   # 执法结论 in words, e.g. 罚款5000元
    year: Mapped[int] = mapped_column(Integer)                  # the decision's year, for the search
    village: Mapped[str] = mapped_column(String(80), default="")  # the place at village level
    party_display: Mapped[str] = mapped_column(String(120))     # 张某 / an organisation's name
    decided_on: Mapped[date] = mapped_column(Date)
    self_demolition_by: Mapped[date | None] = mapped_column(Date)  # demolition notice: the deadline it sets
    # Restricted: the text with personal data, and what the masking changed (which quotes that data).
    original_text: Mapped[str] = mapped_column(Text)
    masking: Mapped[str] = mapped_column(Text, default="[]")
    # The reviewed copy the public reads.
    masked_text: Mapped[str] = mapped_column(Text)
    edited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    edited_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Deadline to publish (None for a demolition notice: it is posted before execution, see issue 6).
    due_on: Mapped[date | None] = mapped_column(Date)
    due_exact: Mapped[bool] = mapped_column(Boolean, default=True)  # False: counted in calendar days (year unknown)
    hold_reason: Mapped[str | None] = mapped_column(String(30))
    hold_detail: Mapped[str] = mapped_column(Text, default="")
    held_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    held_at: Mapped[datetime | None] = mapped_column(DateTime)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime | None] = mapped_column(DateTime)
    published_on: Mapped[date | None] = mapped_column(Date)
    published_digest: Mapped[str] = mapped_column(String(64), default="")  # SHA-256 of the text published
    # Withdrawal: required when the decision is revoked, changed or found unlawful; 3 working days.
    withdraw_cause: Mapped[str] = mapped_column(Text, default="")   # internal: why it must come down
    withdraw_required_at: Mapped[datetime | None] = mapped_column(DateTime)
    withdraw_due_on: Mapped[date | None] = mapped_column(Date)
    withdrawal_reason: Mapped[str] = mapped_column(Text, default="")  # public
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime)
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    case: Mapped[Case] = relationship()
    body: Mapped[Body] = relationship()
    decision: Mapped[Decision] = relationship()
    matter: Mapped[Matter] = relationship()
    edited_by: Mapped[User | None] = relationship(foreign_keys=[edited_by_id])
    held_by: Mapped[User | None] = relationship(foreign_keys=[held_by_id])
    published_by: Mapped[User | None] = relationship(foreign_keys=[published_by_id])
    withdrawn_by: Mapped[User | None] = relationship(foreign_keys=[withdrawn_by_id])

    @property
    def masking_changes(self) -> list[dict]:
        return json.loads(self.masking or "[]")

    @property
    def withdrawal_pending(self) -> bool:
        return self.status == PublicationStatus.PUBLISHED.value and self.withdraw_due_on is not None


class DisclosureSettings(db.Model):
    """The disclosure rules a province or county sets (one row). Every change is an audit event."""

    __tablename__ = "disclosure_settings"
    __table_args__ = (
        CheckConstraint("publish_scope IN ('all', 'social_impact')", name="publish_scope_known"),
        CheckConstraint("keep_online_months > 0", name="keep_online_positive"),
        CheckConstraint("due_soon_days >= 0", name="due_soon_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # 'all': every general-procedure penalty is published; 'social_impact': only those with social
    # impact (行政处罚法 art. 48), the others are held with that reason.
    publish_scope: Mapped[str] = mapped_column(String(20), default="all")
    keep_online_months: Mapped[int] = mapped_column(Integer, default=36)
    due_soon_days: Mapped[int] = mapped_column(Integer, default=3)  # working days: "due soon" on the lists
    mask_party_name: Mapped[bool] = mapped_column(Boolean, default=True)
    remove_id_numbers: Mapped[bool] = mapped_column(Boolean, default=True)
    remove_phones: Mapped[bool] = mapped_column(Boolean, default=True)
    remove_bank_accounts: Mapped[bool] = mapped_column(Boolean, default=True)
    remove_health: Mapped[bool] = mapped_column(Boolean, default=True)
    remove_other_names: Mapped[bool] = mapped_column(Boolean, default=True)
    village_level_address: Mapped[bool] = mapped_column(Boolean, default=True)
    # One term per line; empty means the built-in list.
    health_terms: Mapped[str] = mapped_column(Text, default="")
    name_cues: Mapped[str] = mapped_column(Text, default="")
    extra_terms: Mapped[str] = mapped_column(Text, default="")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class AnnualReport(db.Model):
    """A year's enforcement statistics of a body (年度行政执法数据), generated, then published.

    `data` is the canonical JSON of the figures (with, for staff, the case ids behind each);
    `source_digest` is the SHA-256 of the rows it was computed from, so regenerating from the same
    data gives the same digest and any later change to those rows shows. Rows are never edited
    except to publish; a new generation is a new row (`revision`).
    """

    __tablename__ = "annual_reports"
    __table_args__ = (
        Index("uq_annual_reports_revision", "body_id", "year", "revision", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("bodies.id"))
    year: Mapped[int] = mapped_column(Integer)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    data: Mapped[str] = mapped_column(Text)
    source_digest: Mapped[str] = mapped_column(String(64))
    generated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    generated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime | None] = mapped_column(DateTime)

    body: Mapped[Body] = relationship()
    generated_by: Mapped[User | None] = relationship(foreign_keys=[generated_by_id])
    published_by: Mapped[User | None] = relationship(foreign_keys=[published_by_id])

    @property
    def figures(self) -> dict:
        return json.loads(self.data or "{}")


class ChallengeKind(str, enum.Enum):
    RECONSIDERATION = "reconsideration"  # 行政复议
    SUIT = "suit"                        # 行政诉讼


class ChallengeOutcome(str, enum.Enum):
    UPHELD = "upheld"          # 维持 / 驳回诉讼请求
    REVOKED = "revoked"        # 撤销
    CHANGED = "changed"        # 变更
    UNLAWFUL = "unlawful"      # 确认违法 / 确认无效
    WITHDRAWN = "withdrawn"    # 申请人撤回 / 撤诉
    OTHER = "other"


# Outcomes that take the decision's publication down (行政处罚法 art. 48).
WITHDRAWING_OUTCOMES = (ChallengeOutcome.REVOKED, ChallengeOutcome.CHANGED, ChallengeOutcome.UNLAWFUL)


class Challenge(db.Model):
    """A reconsideration (行政复议) or suit (行政诉讼) against a decision, from the day its copy arrived."""

    __tablename__ = "challenges"
    __table_args__ = (
        CheckConstraint(enum_check("kind", [k.value for k in ChallengeKind]), name="kind_known"),
        CheckConstraint("outcome IS NULL OR " + enum_check("outcome", [o.value for o in ChallengeOutcome]),
                        name="outcome_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))
    kind: Mapped[str] = mapped_column(String(20))
    forum: Mapped[str] = mapped_column(String(120))          # 复议机关 / 人民法院
    reference: Mapped[str] = mapped_column(String(80), default="")  # its case number
    received_on: Mapped[date] = mapped_column(Date)          # the day the copy (副本) was received
    defence_due_on: Mapped[date] = mapped_column(Date)       # 10 / 15 days for the defence and evidence
    outcome: Mapped[str | None] = mapped_column(String(20))
    outcome_on: Mapped[date | None] = mapped_column(Date)
    outcome_note: Mapped[str] = mapped_column(Text, default="")
    defence_submitted_on: Mapped[date | None] = mapped_column(Date)  # the defence and evidence handed in
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    case: Mapped[Case] = relationship()
    decision: Mapped[Decision | None] = relationship()
    recorded_by: Mapped[User] = relationship()
