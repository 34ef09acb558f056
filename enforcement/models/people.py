"""People: enforcement bodies (执法主体), users and roles, certificates, API tokens.

People are deactivated, never deleted, so their past acts stay explained.
"""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import enum_check, utcnow


class Role(str, enum.Enum):
    OFFICER = "officer"      # 执法人员
    REVIEWER = "reviewer"    # 法制审核人员 / 法律顾问
    HEAD = "head"            # 负责人
    AUDITOR = "auditor"      # 审计/监督人员
    ADMIN = "admin"          # 系统管理员


class BodyKind(str, enum.Enum):
    TOWN = "town"                            # 乡镇人民政府 / 街道办事处
    COUNTY_DEPARTMENT = "county_department"  # 县级行政执法部门
    COUNTY = "county"                        # 县级人民政府 / 司法局等监督机关
    OTHER = "other"


class Body(db.Model):
    """执法主体: the government or department in whose name cases are decided."""

    __tablename__ = "bodies"
    __table_args__ = (CheckConstraint(enum_check("kind", [k.value for k in BodyKind]), name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    short_name: Mapped[str] = mapped_column(String(20))
    # 'town' (乡镇人民政府/街道), 'county_department' (县级部门), 'county' (县级政府), 'other'.
    kind: Mapped[str] = mapped_column(String(30), default="town")
    # 行政区域 the body covers; certificates must cover it (or an enclosing area).
    area: Mapped[str] = mapped_column(String(120))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("bodies.id"))
    address: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    complaint_channel: Mapped[str] = mapped_column(Text, default="")
    remedy_info: Mapped[str] = mapped_column(Text, default="")
    # Case number pattern, e.g. "{short}罚〔{year}〕{seq}号"; {seq:03d} pads.
    case_number_pattern: Mapped[str] = mapped_column(String(80), default="{short}罚〔{year}〕{seq}号")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    parent: Mapped[Body | None] = relationship(remote_side=[id])

    def ancestors(self) -> list[Body]:
        chain, node = [], self.parent
        while node is not None and node not in chain:
            chain.append(node)
            node = node.parent
        return chain

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"<Body {self.id} {self.name}>"


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    body_id: Mapped[int] = mapped_column(ForeignKey("bodies.id"), index=True)
    unit: Mapped[str] = mapped_column(String(80), default="")  # 科室/所
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped on logout, password change and deactivation: every older session cookie stops working.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    # 法律职业资格 certificate number (reviewers of penalty decisions) ...
    legal_qualification_no: Mapped[str | None] = mapped_column(String(60))
    # ... or the appointment as legal adviser (法律顾问聘任).
    legal_adviser_appointment: Mapped[str | None] = mapped_column(String(200))
    auxiliary: Mapped[bool] = mapped_column(default=False)  # 协管: never acts alone, never counts as an officer
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    deactivated_at: Mapped[datetime | None] = mapped_column(DateTime)

    body: Mapped[Body] = relationship()
    role_rows: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    certificates: Mapped[list[Certificate]] = relationship(
        back_populates="user", order_by="Certificate.valid_until.desc()", lazy="selectin"
    )

    @property
    def roles(self) -> set[str]:
        return {r.role for r in self.role_rows}

    def has_role(self, *roles: Role | str) -> bool:
        wanted = {r.value if isinstance(r, Role) else r for r in roles}
        return bool(self.roles & wanted)

    # Flask-Login protocol -------------------------------------------------------
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        # The session version is part of the id: bumping it logs out every copy of the cookie.
        return f"{self.id}:{self.session_version}"

    def __repr__(self) -> str:  # pragma: no cover
        return f"<User {self.username}>"


class UserRole(db.Model):
    __tablename__ = "user_roles"
    __table_args__ = (CheckConstraint(enum_check("role", [r.value for r in Role]), name="role_known"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)


class CertificateStatus(str, enum.Enum):
    VALID = "valid"
    SUSPENDED = "suspended"  # 暂扣
    REVOKED = "revoked"      # 注销/吊销


class Certificate(db.Model):
    """A line of the certificate ledger (执法证). The tracker records, it does not issue."""

    __tablename__ = "certificates"
    __table_args__ = (
        CheckConstraint(enum_check("status", [s.value for s in CertificateStatus]), name="status_known"),
        CheckConstraint("valid_until >= valid_from", name="period_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    number: Mapped[str] = mapped_column(String(60), unique=True)
    issuer: Mapped[str] = mapped_column(String(120))
    # 执法类别, e.g. 城乡建设 / 自然资源 / 综合行政执法; several separated by "、".
    category: Mapped[str] = mapped_column(String(120))
    area: Mapped[str] = mapped_column(String(120))  # 执法区域
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default=CertificateStatus.VALID.value)
    status_reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="certificates")

    @property
    def categories(self) -> list[str]:
        return [c.strip() for c in self.category.replace(",", "、").split("、") if c.strip()]


class ApiToken(db.Model):
    """A bearer token for /api/v1. Only the SHA-256 of the token is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # shown so a user can tell tokens apart
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship()

    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_api_tokens_user_name"),)
