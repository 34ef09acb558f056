"""Whole-process records: the completeness rules, uploads (refusals, resume, write-once), integrity.

Service-level tests on the local object store; tests/test_views_records.py drives the same over
HTTP and tests/storage/ the stores themselves (S3 on a real SeaweedFS).
"""
from __future__ import annotations

import io
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from enforcement import sample_files
from enforcement.extensions import db
from enforcement.models import AuditEvent, Record, Role, Stage, Upload
from enforcement.services import records, workflow
from enforcement.services.errors import Conflict, DomainError, GateRefused, NotFound, PermissionDenied
from storage import ObjectExists, StorageError
from tests.factories import AV_FIELDS, add_required_records

PART = 64 * 1024


@pytest.fixture(autouse=True)
def small_parts(app):
    app.config["UPLOAD_PART_BYTES"] = PART


@pytest.fixture
def case(make, team):
    return make.case(team, approve=True)  # a penalty case in investigation


def store(app):
    return app.extensions["object_store"]


def begin(case, actor, content: bytes, filename="现场照片.jpg", type_code="site_photo", **fields):
    upload = records.begin_upload(case, actor, filename=filename, size=len(content), type_code=type_code, **fields)
    db.session.commit()
    return upload


def send(upload, actor, content: bytes, offset: int = 0):
    received = records.receive(upload, actor, io.BytesIO(content[offset:]), offset=offset,
                               before_transfer=db.session.commit)
    db.session.commit()
    return received


def stored_keys(app) -> list[str]:
    return list(store(app).list_keys("cases/"))


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


class Truncated(io.BytesIO):
    """A request body whose connection drops after `limit` bytes."""

    def __init__(self, data: bytes, limit: int):
        super().__init__(data[:limit])


# --- complete by rule --------------------------------------------------------------------------

def test_a_case_cannot_leave_investigation_without_the_records_the_rules_name(case, team):
    problems = workflow.unmet(case, Stage.NOTICE)
    assert any("现场检查（勘验）笔录" in p for p in problems)
    assert any("现场照片" in p for p in problems)
    with pytest.raises(GateRefused):
        workflow.advance(case, Stage.NOTICE, actor=team["officer"])


def test_with_the_required_records_the_case_moves_on(case, team):
    add_required_records(case)
    assert workflow.unmet(case, Stage.NOTICE) == []
    workflow.advance(case, Stage.NOTICE, actor=team["officer"])
    assert case.stage == Stage.NOTICE.value


def test_the_checklist_shows_each_required_record_and_whether_it_is_there(case, make):
    before = {(i.stage, i.record_type.code): i.met for i in records.checklist(case)}
    assert before[("investigation", "site_photo")] is False
    assert before[("decision", "decision")] is False
    make.record(case, "site_photo")
    after = {(i.stage, i.record_type.code): i.met for i in records.checklist(case)}
    assert after[("investigation", "site_photo")] is True
    assert after[("investigation", "inspection_record")] is False


def test_rules_follow_the_route_forced_demolition_needs_the_execution_video(make, team, monkeypatch):
    # How each case is being carried out (services.execution.path, specified in tests/test_execution.py):
    # the town's forced demolition on the planning route, the court on the land route.
    from enforcement.services import execution

    monkeypatch.setattr(execution, "path", lambda case: "forced" if case.route == "planning" else "court")
    planning = make.matter(team["body"], route="planning")
    land = make.matter(team["body"], route="land", power_source="delegated",
                       delegation_document="测试省人民政府关于赋予乡镇部分县级行政执法权的决定",
                       delegation_published_on=date(2025, 6, 1))
    planning_rules = {r.type_code for r in records.requirements(make.case(team, approve=True, matter=planning),
                                                                 Stage.EXECUTION)}
    land_rules = {r.type_code for r in records.requirements(make.case(team, approve=True, matter=land),
                                                             Stage.EXECUTION)}
    assert "execution_av" in planning_rules and "court_application" not in planning_rules
    assert "court_application" in land_rules and "execution_av" not in land_rules


def test_the_rules_are_data_a_new_row_adds_a_requirement(case, app):
    db.session.execute(text("INSERT INTO record_requirements (stage, type_code, matter_category, route, basis) "
                            "VALUES ('investigation', 'inquiry_record', NULL, NULL, '本地规定')"))
    assert any("询问笔录" in p for p in workflow.unmet(case, Stage.NOTICE))


def test_a_superseded_record_no_longer_counts(case, make):
    add_required_records(case)
    photo = next(r for r in records.current_records(case) if r.type_code == "site_photo")
    make.record(case, "site_photo", supersedes_id=photo.id, supersede_reason="照片拍错了地块")
    assert workflow.unmet(case, Stage.NOTICE) == []  # the correction is itself a site photo
    assert photo.id not in {r.id for r in records.current_records(case)}
    assert photo.id in {r.id for r in records.case_records(case)}  # both stay visible


# --- who and what ------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["reviewer", "auditor", "admin"])
def test_only_officers_on_the_case_and_the_head_add_records(case, team, role):
    with pytest.raises(PermissionDenied):
        begin(case, team[role], sample_files.jpeg())


def test_the_head_may_add_records(case, team):
    assert begin(case, team["head"], sample_files.jpeg()).id


def test_an_officer_of_the_body_not_on_the_case_may_not(case, make, team):
    other = make.user(Role.OFFICER, body=team["body"])
    with pytest.raises(PermissionDenied):
        begin(case, other, sample_files.jpeg())


@pytest.mark.parametrize("filename, words", [
    ("../../etc/passwd.jpg", "/"), ("a\\b.jpg", "\\"), ("photo\x00.jpg", None), ("photo\n.jpg", None),
    ("evil\u202egpj.exe", None), ("", None), ("x" * 201 + ".jpg", None)])
def test_bad_file_names_are_refused_before_anything_is_kept(case, team, filename, words):
    with pytest.raises(DomainError):
        begin(case, team["officer"], sample_files.jpeg(), filename=filename)
    db.session.rollback()
    assert db.session.scalar(select(Upload.id)) is None


def test_empty_and_oversized_files_are_refused_with_the_limit(case, team, app):
    with pytest.raises(DomainError, match="empty|空"):
        begin(case, team["officer"], b"")
    app.config["MAX_UPLOAD_BYTES"] = 1024 * 1024
    with pytest.raises(DomainError) as exc:
        records.begin_upload(case, team["officer"], filename="big.mp4", size=1024 * 1024 + 1,
                             type_code="body_camera_video", **AV_FIELDS)
    assert "1" in exc.value.message


def test_unknown_type_and_future_stage_are_refused(case, team):
    with pytest.raises(DomainError):
        begin(case, team["officer"], sample_files.jpeg(), type_code="no_such_type")
    with pytest.raises(DomainError):
        begin(case, team["officer"], sample_files.jpeg(), stage="decision")


def test_video_needs_how_by_whom_and_what_it_proves_audio_also_a_transcript(case, team):
    with pytest.raises(DomainError) as exc:
        begin(case, team["officer"], sample_files.mp4(), filename="v.mp4", type_code="body_camera_video")
    assert "art. 12" in exc.value.message or "第" in exc.value.message
    fields = {k: v for k, v in AV_FIELDS.items() if k != "transcript"}
    assert begin(case, team["officer"], sample_files.mp4(), filename="v.mp4", type_code="body_camera_video",
                 **fields).id
    with pytest.raises(DomainError):
        begin(case, team["officer"], sample_files.mp3(), filename="a.mp3", type_code="audio_recording", **fields)


def test_capture_time_in_the_future_is_refused(case, team):
    with pytest.raises(DomainError):
        begin(case, team["officer"], sample_files.pdf("x"), filename="x.pdf", type_code="inspection_record",
              captured_at=(datetime.now() + timedelta(days=3)).isoformat())


# --- the bytes ---------------------------------------------------------------------------------

def test_an_executable_renamed_jpg_is_refused_and_nothing_is_stored(case, team, app):
    exe = b"MZ\x90\x00\x03" + bytes(5000)
    upload = begin(case, team["officer"], exe, filename="photo.jpg")
    with pytest.raises(DomainError) as exc:
        send(upload, team["officer"], exe)
    db.session.commit()
    assert "photo.jpg" in exc.value.message
    assert db.session.scalar(select(Record.id)) is None
    assert db.session.get(Upload, upload.id) is None
    assert stored_keys(app) == []
    assert store(app).list_uploads() == []


def test_html_disguised_as_a_pdf_is_refused(case, team, app):
    html = b"<!DOCTYPE html><html><script>alert(1)</script></html>"
    upload = begin(case, team["officer"], html, filename="笔录.pdf", type_code="inspection_record")
    with pytest.raises(DomainError):
        send(upload, team["officer"], html)
    assert stored_keys(app) == []


def test_a_video_cannot_be_filed_as_a_photo(case, team, app):
    clip = sample_files.mp4()
    upload = begin(case, team["officer"], clip, filename="IMG_1.jpg", type_code="site_photo")
    with pytest.raises(DomainError) as exc:
        send(upload, team["officer"], clip)
    assert "IMG_1.jpg" in exc.value.message
    assert stored_keys(app) == []


def test_a_stored_record_says_what_it_is(case, team, app):
    photo = sample_files.jpeg(taken=datetime(2026, 11, 3, 9, 41, 5), latitude=25.04, longitude=102.71,
                              device="Huawei P60")
    upload = begin(case, team["officer"], photo, filename="东村现场.jpg", description="北侧新建二层砖混房屋",
                   place="entered place", captured_at="2026-11-01T08:00")
    record = send(upload, team["officer"], photo).record
    import hashlib
    assert record.sha256 == hashlib.sha256(photo).hexdigest() and record.size == len(photo)
    assert record.content_type == "image/jpeg"
    assert record.captured_at == datetime(2026, 11, 3, 9, 41, 5) and record.captured_at_source == "exif"
    assert record.latitude == pytest.approx(25.04, abs=1e-4) and record.location_source == "exif"
    assert record.device == "Huawei P60"
    assert record.original_filename == "东村现场.jpg" and record.uploaded_by_id == team["officer"].id
    assert record.stage == "investigation" and record.place == "entered place"
    assert store(app).open(record.storage_key, version_id=record.version_id).read() == photo
    added = events("record.added")
    assert len(added) == 1 and added[0].case_id == case.id


def test_without_exif_the_entered_capture_time_is_kept(case, team):
    doc = sample_files.pdf("inspection")
    upload = begin(case, team["officer"], doc, filename="检查笔录.pdf", type_code="inspection_record",
                   captured_at="2026-11-01T08:30:00")
    record = send(upload, team["officer"], doc).record
    assert record.captured_at == datetime(2026, 11, 1, 8, 30) and record.captured_at_source == "entered"
    assert record.content_type == "application/pdf"


def test_keys_are_never_reused_and_the_store_refuses_to_overwrite(case, make, app):
    first = make.record(case, "site_photo")
    second = make.record(case, "site_photo")
    assert first.storage_key != second.storage_key
    with pytest.raises(ObjectExists):
        store(app).put(first.storage_key, io.BytesIO(b"replacement"))
    assert store(app).verify(first.storage_key, first.sha256)[0]


def test_the_database_refuses_to_change_or_delete_a_record(case, make):
    record = make.record(case, "site_photo")
    with pytest.raises(DatabaseError):
        db.session.execute(text("UPDATE records SET sha256 = :h WHERE id = :i"), {"h": "0" * 64, "i": record.id})
    db.session.rollback()
    with pytest.raises(DatabaseError):
        db.session.execute(text("DELETE FROM records WHERE id = :i"), {"i": record.id})
    db.session.rollback()


# --- resume, refusals while streaming, cancel ---------------------------------------------------

def test_an_interrupted_upload_resumes_from_its_last_complete_part(case, team, app):
    content = sample_files.jpeg() + bytes(range(256)) * 1200  # ~300 KiB: five 64 KiB parts
    upload = begin(case, team["officer"], content)
    cut = PART * 2 + 5000
    received = records.receive(upload, team["officer"], Truncated(content, cut), offset=0,
                               before_transfer=db.session.commit)
    db.session.commit()
    assert received.record is None and received.offset == PART * 2
    assert records.resume_offset(upload) == PART * 2
    assert db.session.scalar(select(Record.id)) is None and stored_keys(app) == []

    with pytest.raises(records.OffsetMismatch) as wrong:
        send(upload, team["officer"], content, offset=PART)
    db.session.rollback()
    assert wrong.value.expected == PART * 2

    record = send(upload, team["officer"], content, offset=PART * 2).record
    import hashlib
    assert record.sha256 == hashlib.sha256(content).hexdigest()
    assert store(app).open(record.storage_key).read() == content
    assert db.session.get(Upload, upload.id) is None


def test_more_bytes_than_declared_cancel_the_upload(case, team, app):
    content = sample_files.jpeg()
    upload = begin(case, team["officer"], content)
    with pytest.raises(records.UploadTooLarge):
        records.receive(upload, team["officer"], io.BytesIO(content + b"extra"), offset=0)
    db.session.commit()
    assert db.session.get(Upload, upload.id) is None
    assert stored_keys(app) == [] and store(app).list_uploads() == []


def test_only_the_uploader_resumes_an_upload(case, team):
    upload = begin(case, team["officer"], sample_files.jpeg())
    with pytest.raises(NotFound):
        records.get_upload(team["officer2"], upload.id)
    assert records.get_upload(team["officer"], upload.id) is upload


def test_cancel_discards_the_parts_and_the_row(case, team, app):
    content = sample_files.jpeg() + bytes(PART * 2)
    upload = begin(case, team["officer"], content)
    records.receive(upload, team["officer"], Truncated(content, PART + 10), offset=0)
    db.session.commit()
    assert store(app).list_uploads()
    records.cancel(upload, team["officer"])
    db.session.commit()
    assert store(app).list_uploads() == [] and db.session.scalar(select(Upload.id)) is None


def test_store_down_mid_upload_keeps_no_record_and_the_same_upload_succeeds_later(case, team, app, monkeypatch):
    content = sample_files.jpeg() + bytes(PART * 2)
    upload = begin(case, team["officer"], content)
    real = type(store(app)).upload_parts

    def broken(self, *args, **kwargs):
        raise StorageError("connection refused")

    monkeypatch.setattr(type(store(app)), "upload_parts", broken)
    with pytest.raises(StorageError):
        send(upload, team["officer"], content)
    db.session.rollback()
    assert db.session.scalar(select(Record.id)) is None
    monkeypatch.setattr(type(store(app)), "upload_parts", real)
    upload = records.get_upload(team["officer"], upload.id)
    record = send(upload, team["officer"], content, offset=records.resume_offset(upload)).record
    assert record is not None and record.size == len(content)


def test_sweep_drops_stale_uploads_and_keeps_fresh_ones(case, team, app):
    content = sample_files.jpeg() + bytes(PART * 2)
    stale = begin(case, team["officer"], content)
    records.receive(stale, team["officer"], Truncated(content, PART + 10), offset=0)
    fresh = begin(case, team["officer"], content, filename="b.jpg")
    records.receive(fresh, team["officer"], Truncated(content, PART + 10), offset=0)
    stale.touched_at = datetime.utcnow() - timedelta(hours=app.config["UPLOAD_RESUME_HOURS"] + 1)
    db.session.commit()
    result = records.sweep()
    db.session.commit()
    assert result["expired"] == 1
    assert db.session.get(Upload, stale.id) is None and db.session.get(Upload, fresh.id) is not None
    assert [u["upload_id"] for u in store(app).list_uploads()] == [fresh.store_upload_id]


# --- supersede -----------------------------------------------------------------------------------

def test_a_correction_needs_a_reason_and_cannot_be_made_twice(case, team, make):
    old = make.record(case, "site_photo")
    with pytest.raises(DomainError):
        begin(case, team["officer"], sample_files.jpeg(), supersedes_id=old.id)
    make.record(case, "site_photo", supersedes_id=old.id, supersede_reason="拍摄角度错误")
    with pytest.raises(Conflict):
        begin(case, team["officer"], sample_files.jpeg(), supersedes_id=old.id, supersede_reason="再次更正")
    assert len(events("record.superseded")) == 1


def test_a_record_of_another_case_cannot_be_corrected_here(case, team, make):
    other = make.case(team, approve=True)
    foreign = make.record(other, "site_photo")
    with pytest.raises(DomainError):
        begin(case, team["officer"], sample_files.jpeg(), supersedes_id=foreign.id, supersede_reason="x")


# --- integrity ------------------------------------------------------------------------------------

def test_verify_finds_a_changed_and_a_missing_object(case, make, app):
    import os
    from pathlib import Path

    good = make.record(case, "site_photo")
    changed = make.record(case, "inspection_record")
    gone = make.record(case, "inquiry_record")
    root = Path(store(app).root)
    for record, action in ((changed, "change"), (gone, "delete")):
        path = root / record.storage_key
        os.chmod(path, 0o644)
        if action == "change":
            path.write_bytes(b"%PDF-1.4 forged")
        else:
            path.unlink()
    report = records.verify_records()
    assert report.checked == 3
    assert [r.id for r, _ in report.mismatched] == [changed.id]
    assert [r.id for r in report.missing] == [gone.id]
    assert records.verify_records(case_id=case.id, sample=1).checked == 1
    assert good.id not in {r.id for r, _ in report.mismatched}


def test_orphans_are_objects_no_record_points_to(case, make, app):
    make.record(case, "site_photo")
    store(app).put(f"cases/{case.id}/records/stray", io.BytesIO(b"left by a crash"))
    assert records.orphans() == [f"cases/{case.id}/records/stray"]


def test_storage_verify_command_reports_ok_then_a_mismatch_with_exit_1(case, make, app, runner):
    import os
    from pathlib import Path

    record = make.record(case, "site_photo")
    result = runner.invoke(args=["storage", "verify"])
    assert result.exit_code == 0 and "OK: 1 records" in result.output
    path = Path(store(app).root) / record.storage_key
    os.chmod(path, 0o644)
    path.write_bytes(b"\xff\xd8\xff forged")
    result = runner.invoke(args=["storage", "verify", "--case", str(case.id)])
    assert result.exit_code == 1
    assert f"MISMATCH record {record.id}" in result.output and "FAILED" in result.output


def test_storage_orphans_and_sweep_commands(case, make, app, runner):
    make.record(case, "site_photo")
    store(app).put("cases/999/records/stray", io.BytesIO(b"stray"))
    result = runner.invoke(args=["storage", "orphans"])
    assert result.exit_code == 0 and result.output.splitlines()[0] == "cases/999/records/stray"
    result = runner.invoke(args=["storage", "sweep"])
    assert result.exit_code == 0 and "expired uploads: 0" in result.output


# --- the second reading's findings ------------------------------------------------------------------

def test_a_record_stored_but_never_written_is_finished_on_retry_not_looped(case, team, app, monkeypatch):
    content = sample_files.jpeg()
    upload = begin(case, team["officer"], content)

    def crash(*_args, **_kwargs):
        raise RuntimeError("the worker died between the store and the database")

    real = records._make_record
    monkeypatch.setattr(records, "_make_record", crash)
    with pytest.raises(RuntimeError):
        send(upload, team["officer"], content)
    db.session.rollback()
    monkeypatch.setattr(records, "_make_record", real)
    upload = records.get_upload(team["officer"], upload.id)
    assert records.resume_offset(upload) == len(content)  # the store holds it all
    record = send(upload, team["officer"], content, offset=len(content)).record
    import hashlib
    assert record.sha256 == hashlib.sha256(content).hexdigest() and records.orphans() == []


def test_two_pending_corrections_of_one_record_end_in_one_correction_and_a_clear_refusal(case, team, make):
    old = make.record(case, "site_photo")
    first = begin(case, team["officer"], sample_files.jpeg(), supersedes_id=old.id, supersede_reason="一")
    second = begin(case, team["officer"], sample_files.jpeg(color=(1, 2, 3)), filename="b.jpg",
                   supersedes_id=old.id, supersede_reason="二")
    assert send(first, team["officer"], sample_files.jpeg()).record.supersedes_id == old.id
    with pytest.raises(Conflict):
        send(second, team["officer"], sample_files.jpeg(color=(1, 2, 3)))
    db.session.commit()
    assert db.session.get(Upload, second.id) is None


def test_evidence_closes_with_the_decision(without_record_rules, case, team, make):
    photo = make.record(case, "site_photo")
    make.decide(case, team)  # a demolition order: major, reviewed, discussed, signed by the head
    assert case.stage == Stage.DECISION.value
    with pytest.raises(DomainError, match="art. 60|第六十条"):
        begin(case, team["officer"], sample_files.jpeg(), stage="investigation")
    with pytest.raises(DomainError):
        begin(case, team["officer"], sample_files.jpeg(), supersedes_id=photo.id, supersede_reason="补拍")
    assert begin(case, team["officer"], sample_files.pdf("d"), filename="决定书.pdf", type_code="decision").id


def test_a_closed_case_takes_only_its_closing_report(without_record_rules, case, team, make):
    make.decide(case, team)
    workflow.advance(case, Stage.SERVICE, actor=team["head"])
    db.session.commit()
    make.close(case, actor=team["head"])
    with pytest.raises(DomainError, match="closing report|结案报告"):
        begin(case, team["officer"], sample_files.pdf("x"), filename="x.pdf", type_code="service_receipt")
    assert begin(case, team["officer"], sample_files.pdf("r"), filename="结案报告.pdf", type_code="closing_report").id


@pytest.mark.parametrize("fields", [{"supersedes_id": "abc"}, {"supersedes_id": 10 ** 30}, {"stage": "bogus"},
                                    {"description": 5}, {"place": ["x"]}])
def test_malformed_metadata_is_a_message_not_a_crash(case, team, fields):
    with pytest.raises(DomainError):
        begin(case, team["officer"], sample_files.jpeg(), **fields)


def test_a_capture_time_with_a_zone_is_kept_in_beijing_time(case, team):
    doc = sample_files.pdf("x")
    upload = begin(case, team["officer"], doc, filename="x.pdf", type_code="inspection_record",
                   captured_at="2026-11-01T23:30:00Z")
    record = send(upload, team["officer"], doc).record
    assert record.captured_at == datetime(2026, 11, 2, 7, 30)


def test_a_viewing_is_one_event_and_no_request_mid_file_escapes_the_trail(case, team, make):
    record = make.record(case, "site_photo")
    auditor = team["auditor"]
    assert records.log_access(record, auditor, "viewed", continues_viewing=True) is True  # nothing before it
    assert records.log_access(record, auditor, "viewed", continues_viewing=True) is False  # the same viewing
    assert records.log_access(record, auditor, "viewed") is True  # a new viewing from byte 0
    assert records.log_access(record, team["head"], "viewed", continues_viewing=True) is True  # another user
    assert records.log_access(record, auditor, "downloaded", continues_viewing=True) is True  # another kind
    assert len(events("record.viewed")) == 3 and len(events("record.downloaded")) == 1


def test_the_record_page_is_a_viewing_only_when_it_shows_a_transcript(case, team, make):
    from tests.factories import AV_FIELDS as fields

    photo = make.record(case, "site_photo")
    audio = make.record(case, "audio_recording", **fields)
    assert records.log_page_view(photo, team["auditor"]) is False
    assert records.log_page_view(audio, team["auditor"]) is True


def test_who_may_correct_a_record(without_record_rules, case, team, make):
    photo = make.record(case, "site_photo")
    assert records.can_correct(team["officer"], photo) is True
    assert records.can_correct(team["auditor"], photo) is False
    newer = make.record(case, "site_photo", supersedes_id=photo.id, supersede_reason="补拍")
    assert records.can_correct(team["officer"], photo) is False and records.can_correct(team["officer"], newer)
    make.decide(case, team)
    assert records.can_correct(team["officer"], newer) is False  # evidence closed with the decision
