"""The powers catalogue (权责清单): what a body may enforce, on what legal basis."""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import enum_check, utcnow
from .people import Body


class MatterCategory(str, enum.Enum):
    PENALTY = "penalty"        # 行政处罚
    COERCION = "coercion"      # 行政强制
    INSPECTION = "inspection"  # 行政检查
    PERMIT = "permit"          # 行政许可
    LEVY = "levy"              # 行政征收
    OTHER = "other"            # 其他


class PowerSource(str, enum.Enum):
    OWN = "own"              # 法定职权
    DELEGATED = "delegated"  # 省级赋权/委托, valid only with a published delegation (行政处罚法 art. 24)


class Matter(db.Model):
    """An enforcement matter (执法事项) of a body's catalogue."""

    __tablename__ = "matters"
    __table_args__ = (
        UniqueConstraint("body_id", "code", name="uq_matters_body_code"),
        CheckConstraint(enum_check("category", [c.value for c in MatterCategory]), name="category_known"),
        CheckConstraint(enum_check("power_source", [p.value for p in PowerSource]), name="power_source_known"),
        CheckConstraint("route IS NULL OR route IN ('planning', 'land')", name="route_known"),
        # A delegated power counts only with its published delegation.
        CheckConstraint(
            "power_source = 'own' OR (delegation_document IS NOT NULL AND delegation_published_on IS NOT NULL)",
            name="delegation_published",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("bodies.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(20))
    # 执法类别 an officer's certificate must cover to act on this matter.
    enforcement_category: Mapped[str] = mapped_column(String(60))
    legal_basis: Mapped[str] = mapped_column(Text)
    procedure: Mapped[str] = mapped_column(Text, default="")
    # For the rural-house case: 'planning' (城乡规划法 65) or 'land' (土地管理法 78); else NULL.
    route: Mapped[str | None] = mapped_column(String(20))
    power_source: Mapped[str] = mapped_column(String(20), default=PowerSource.OWN.value)
    delegation_document: Mapped[str | None] = mapped_column(String(200))
    delegation_published_on: Mapped[date | None] = mapped_column(Date)
    in_major_catalogue: Mapped[bool] = mapped_column(default=False)  # 重大执法决定法制审核目录清单
    # Province-configurable thresholds that make a fine a major decision.
    major_fine_person: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    major_fine_org: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    major_confiscation_value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    body: Mapped[Body] = relationship()
    discretion_bands: Mapped[list[DiscretionBand]] = relationship(
        back_populates="matter", order_by="DiscretionBand.sort, DiscretionBand.id", lazy="selectin")


class DiscretionBand(db.Model):
    """One band of the matter's discretion standard (裁量基准): for a circumstance, the penalty range.

    A decision whose fine lies outside the band chosen needs a stated reason, which the reviewer sees.
    """

    __tablename__ = "discretion_bands"
    __table_args__ = (
        CheckConstraint("fine_min IS NULL OR fine_max IS NULL OR fine_max >= fine_min", name="range_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id"), index=True)
    circumstance: Mapped[str] = mapped_column(String(120))   # e.g. 情节轻微 / 一般 / 严重
    measures: Mapped[str] = mapped_column(Text, default="")   # what the band provides, in words
    fine_min: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    fine_max: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    sort: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    matter: Mapped[Matter] = relationship(back_populates="discretion_bands")
