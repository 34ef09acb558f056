"""Whole-process records (执法全过程记录): evidence files of a case, write-once.

- `RecordType`: the catalogue of enforcement documents and media (立案审批表, 现场照片, …).
- `RecordRequirement`: the rules table — which record types a case needs before it may leave a
  stage, for a category of matter and a route. Data, not code: a migration seeds it.
- `Record`: one stored file. Never updated or deleted (database triggers refuse both); a
  correction is a new record whose `supersedes_id` names the old one, with a reason.
- `Upload`: an upload in progress, resumable from its last completed part. Deleted when it
  completes (the record takes over) or is cancelled.
"""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, DateTime, Float, ForeignKey, Index, Integer, String,
                        Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import enum_check, utcnow
from .case import Case, Stage
from .people import User


class RecordKind(str, enum.Enum):
    """What a record type expects: a signed document, a photo, a video or an audio recording."""

    DOCUMENT = "document"
    PHOTO = "photo"
    VIDEO = "video"
    AUDIO = "audio"


class RecordType(db.Model):
    __tablename__ = "record_types"
    __table_args__ = (CheckConstraint(enum_check("kind", [k.value for k in RecordKind]), name="kind_known"),)

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))      # the official Chinese name, e.g. 现场检查笔录
    name_en: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))
    stage: Mapped[str] = mapped_column(String(20))     # the stage it usually belongs to
    sort: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def is_audiovisual(self) -> bool:
        return self.kind in (RecordKind.VIDEO.value, RecordKind.AUDIO.value)


class RecordRequirement(db.Model):
    """A case may not leave `stage` without a current record of `type_code`.

    `matter_category` and `route` narrow the rule (NULL: every category / every route);
    `execution_path` narrows an execution rule to the town's forced demolition ("forced"), enforcement
    through the court ("court") or voluntary compliance ("voluntary"); NULL: all three
    (services.execution.path says which a case is on).
    """

    __tablename__ = "record_requirements"
    __table_args__ = (
        UniqueConstraint("stage", "type_code", "matter_category", "route", "execution_path",
                         name="uq_record_requirements_rule"),
        CheckConstraint(enum_check("stage", [s.value for s in Stage]), name="stage_known"),
        CheckConstraint("execution_path IS NULL OR execution_path IN ('forced', 'voluntary', 'court')",
                        name="execution_path_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stage: Mapped[str] = mapped_column(String(20))
    type_code: Mapped[str] = mapped_column(ForeignKey("record_types.code"))
    matter_category: Mapped[str | None] = mapped_column(String(20))
    route: Mapped[str | None] = mapped_column(String(20))
    execution_path: Mapped[str | None] = mapped_column(String(20))
    basis: Mapped[str] = mapped_column(String(200), default="")  # the rule's legal basis, shown with it

    record_type: Mapped[RecordType] = relationship(lazy="joined")


class Record(db.Model):
    __tablename__ = "records"
    __table_args__ = (
        CheckConstraint(enum_check("stage", [s.value for s in Stage]), name="stage_known"),
        CheckConstraint("size > 0", name="size_positive"),
        CheckConstraint("supersedes_id IS NULL OR supersede_reason <> ''", name="supersede_has_reason"),
        Index("ix_records_case_stage", "case_id", "stage"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    type_code: Mapped[str] = mapped_column(ForeignKey("record_types.code"))
    stage: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text, default="")
    original_filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))   # detected from the bytes
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(300), unique=True)
    version_id: Mapped[str | None] = mapped_column(String(200))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # When and where it was captured: from the photo's EXIF where present, else as entered.
    captured_at: Mapped[datetime | None] = mapped_column(DateTime)  # local (Beijing) time
    captured_at_source: Mapped[str] = mapped_column(String(10), default="")  # "exif" | "entered" | ""
    place: Mapped[str] = mapped_column(String(200), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    location_source: Mapped[str] = mapped_column(String(10), default="")  # "exif" | "entered" | ""
    device: Mapped[str] = mapped_column(String(120), default="")  # body camera number, or camera make/model
    # Audio and video (行政诉讼证据规定 art. 12): how it was made, by whom, what it proves; audio's transcript.
    av_method: Mapped[str] = mapped_column(Text, default="")
    av_maker: Mapped[str] = mapped_column(String(120), default="")
    av_proves: Mapped[str] = mapped_column(Text, default="")
    transcript: Mapped[str] = mapped_column(Text, default="")
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("records.id"), unique=True)
    supersede_reason: Mapped[str] = mapped_column(Text, default="")

    case: Mapped[Case] = relationship()
    record_type: Mapped[RecordType] = relationship(lazy="joined")
    uploaded_by: Mapped[User] = relationship(lazy="joined")
    supersedes: Mapped[Record | None] = relationship(remote_side=[id], foreign_keys=[supersedes_id])


class Upload(db.Model):
    """An upload in progress. The bytes go to the store's multipart upload; this row remembers it."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random, unguessable
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    storage_key: Mapped[str] = mapped_column(String(300), unique=True)
    store_upload_id: Mapped[str | None] = mapped_column(String(400))  # set once the first bytes passed the checks
    filename: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)
    part_size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(100))
    fields: Mapped[str] = mapped_column(Text, default="{}")  # the record's metadata, JSON
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    touched_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    case: Mapped[Case] = relationship()
