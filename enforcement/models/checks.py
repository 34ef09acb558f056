"""Runs of the integrity checks started from the auditors' dashboard, with their results kept."""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import utcnow
from .people import User


class CheckRun(db.Model):
    """One run of the audit-chain check or of the storage-integrity check (a sample of records)."""

    __tablename__ = "check_runs"
    __table_args__ = (
        CheckConstraint("kind IN ('audit_chain', 'storage')", name="kind_known"),
        Index("ix_check_runs_kind_started", "kind", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    summary: Mapped[str] = mapped_column(Text, default="{}")  # JSON: the figures and the problems found
    run_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    run_by: Mapped[User | None] = relationship()

    @property
    def summary_data(self) -> dict:
        return json.loads(self.summary or "{}")


# --- indexes for the dashboard's totals (services.dashboard) -------------------------------------------
# Declared here, with the dashboard's migration (0006), rather than in the tables' own modules. They
# are covering: one pass over the cases in scope reads only these small indexes, never the wide
# rows (a case's texts, a publication's texts), which is what keeps the totals fast at 100,000 cases.
from .case import Case, CaseOfficer  # noqa: E402
from .disclosure import Publication  # noqa: E402
from .review import Decision  # noqa: E402

_cases, _decisions, _publications = Case.__table__.c, Decision.__table__.c, Publication.__table__.c
_officers = CaseOfficer.__table__.c
Index("ix_cases_dashboard", _cases.body_id, _cases.filed_on, _cases.stage, _cases.decision_due_on, _cases.matter_id)
Index("ix_decisions_dashboard", _decisions.case_id, _decisions.kind, _decisions.decided_on)
Index("ix_publications_dashboard", _publications.decision_id, _publications.kind, _publications.status,
      _publications.due_on, _publications.published_on, _publications.withdraw_due_on, _publications.withdrawn_on)
Index("ix_case_officers_lead", _officers.case_id, _officers.lead, _officers.removed_at, _officers.user_id)
