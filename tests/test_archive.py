"""The case file (案卷) export and its offline check (DA/T 70 四性检测).

The export (services.archive) is read back with zipfile and hashed here; the checker
(enforcement/archive_check.py, standard library only) must pass on it and fail the right property
on each kind of tampering. The index PDF is stubbed (real fpdf2 takes ~1.5 s) except in the test
marked `real_pdf`.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import random
import shutil
import re
import string
import struct
import subprocess
import sys
import tracemalloc
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from enforcement import archive_check, sample_files
from enforcement.extensions import db
from enforcement.models import AuditEvent, Role, Stage
from enforcement.models.audit import GENESIS_HASH
from enforcement.services import archive, audit, documents, media, workflow

ROOT = Path(__file__).resolve().parent.parent


def _small_index(made: list):
    def render(doc) -> bytes:
        made.append(doc)
        return sample_files.pdf("case-index", *(row[0] for row in doc.rows))
    return render


@pytest.fixture(autouse=True)
def quick_index(request, monkeypatch):
    """A small PDF instead of the real index; the documents it was asked for are kept in the list."""
    made = []
    if not request.node.get_closest_marker("real_pdf"):
        monkeypatch.setattr(documents, "case_index_pdf", _small_index(made))
    return made


@pytest.fixture
def rules_off(without_record_rules):
    """No required records: the cases here move on and are decided without the full set."""


def sm3(data: bytes) -> str:
    return hashlib.new("sm3", data).hexdigest()


class Unseekable(io.RawIOBase):
    """A write-only stream without tell() or seek(), like a socket or a pipe."""

    def __init__(self):
        self.buffer = io.BytesIO()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        return self.buffer.write(data)

    def tell(self):
        raise OSError("unseekable")

    def seekable(self) -> bool:
        return False


def small_case(make, team):
    """Approved, moved to notice (two stage changes), with a PDF, a photo and a video."""
    case = make.case(team, approve=True)
    make.record(case, "inspection_record")
    make.record(case, "site_photo")
    make.record(case, "body_camera_video")
    workflow.advance(case, Stage.NOTICE, actor=team["officer"])
    db.session.commit()
    return case


def decided_case(make, team):
    """A demolition case decided after legal review, with a correction and a post-decision record."""
    case = make.case(team, approve=True)
    first = make.record(case, "inspection_record")
    make.record(case, "site_photo", content=sample_files.jpeg(), filename="现场 照片（东侧）.jpg")
    make.record(case, "body_camera_video")
    make.record(case, "audio_recording")
    make.record(case, "inspection_record", supersedes_id=first.id, supersede_reason="笔录页码有误，重新制作")
    make.decide(case, team)
    late = make.record(case, "other", stage="decision", filename="后补材料.pdf")
    return case, first, late


def export_bytes(case, actor, out=None) -> tuple[bytes, dict]:
    out = out if out is not None else io.BytesIO()
    summary = archive.export(case, out, actor=actor)
    db.session.commit()
    data = out.buffer.getvalue() if isinstance(out, Unseekable) else out.getvalue()
    return data, summary


def save(tmp_path, data: bytes, name: str = "case.zip") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def check(tmp_path, data: bytes, name: str = "case.zip") -> dict:
    path = save(tmp_path, data, name)
    return archive_check.check(path, path + ".check.json")


def failed(report: dict) -> dict[str, set[str]]:
    """{property: {failed check ids}} for the properties that failed."""
    out = {}
    for prop, section in report["properties"].items():
        ids = {c["id"] for c in section["checks"] if c["result"] == "FAIL"}
        if ids:
            out[prop] = ids
    return out


def rewrite(data: bytes, *, drop=(), replace=None, add=None, edit_manifest=None, redigest=True) -> bytes:
    """The ZIP with entries dropped, replaced or added, and the manifest edited (its digests redone)."""
    replace, add = dict(replace or {}), dict(add or {})
    source = zipfile.ZipFile(io.BytesIO(data))
    contents = {info.filename: source.read(info) for info in source.infolist()}
    if edit_manifest is not None:
        manifest = json.loads(contents["manifest.json"])
        edit_manifest(manifest)
        replace["manifest.json"] = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
        if redigest:
            digest = hashlib.sha256(replace["manifest.json"]).hexdigest()
            replace["manifest.sha256"] = f"{digest}  manifest.json\n".encode()
            replace["manifest.sm3"] = f"{sm3(replace['manifest.json'])}  manifest.json\n".encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename in drop:
                continue
            target.writestr(info, replace.get(info.filename, contents[info.filename]))
        for name, value in add.items():
            if isinstance(value, zipfile.ZipInfo):
                target.writestr(value, b"x")
            else:
                target.writestr(name, value)
    return out.getvalue()


def set_encrypted_flag(data: bytes, name: str) -> bytes:
    """Set bit 0 (encrypted) of the general-purpose flags of one entry, in its local and central headers."""
    raw = bytearray(data)
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(name)
    local = info.header_offset
    assert raw[local:local + 4] == b"PK\x03\x04"
    raw[local + 6] |= 1
    encoded = name.encode("utf-8")
    position = 0
    while (position := raw.find(b"PK\x01\x02", position + 1)) != -1:
        length = struct.unpack_from("<H", raw, position + 28)[0]
        if bytes(raw[position + 46:position + 46 + length]) == encoded:
            raw[position + 8] |= 1
    return bytes(raw)


# --- the export ------------------------------------------------------------------------------------

def test_the_export_holds_every_record_the_manifest_and_the_index(rules_off, make, team, tmp_path, quick_index):
    case, first, late = decided_case(make, team)
    data, summary = export_bytes(case, team["officer"], Unseekable())
    package = zipfile.ZipFile(io.BytesIO(data))
    names = package.namelist()
    manifest_bytes = package.read("manifest.json")
    manifest = json.loads(manifest_bytes)

    # the manifest's own digests are beside it, not inside it
    assert package.read("manifest.sha256").decode() == f"{hashlib.sha256(manifest_bytes).hexdigest()}  manifest.json\n"
    assert package.read("manifest.sm3").decode() == f"{sm3(manifest_bytes)}  manifest.json\n"
    assert summary["manifest_sha256"] == hashlib.sha256(manifest_bytes).hexdigest()
    assert summary["manifest_sm3"] == sm3(manifest_bytes)
    assert hashlib.sha256(manifest_bytes).hexdigest() not in manifest_bytes.decode()

    # every record, superseded ones included, in stage order then id, each with both digests
    from enforcement.services import records
    rows = records.case_records(case)
    assert len(rows) >= 8  # 5 uploaded, the review opinion, the discussion, the decision, the late one
    assert [f["record_id"] for f in manifest["files"]] == [r.id for r in rows]
    assert [f["seq"] for f in manifest["files"]] == list(range(1, len(rows) + 1))
    assert manifest["file_count"] == len(rows) == summary["file_count"]
    assert manifest["total_bytes"] == sum(r.size for r in rows) == summary["total_bytes"]
    stages = [f["stage"] for f in manifest["files"]]
    order = [s.value for s in Stage]
    assert stages == sorted(stages, key=order.index)
    for entry, record in zip(manifest["files"], rows):
        content = package.read(entry["path"])
        assert entry["path"].startswith(f"records/{entry['seq']:04d}_{record.type_code}_")
        assert hashlib.sha256(content).hexdigest() == entry["sha256"] == record.sha256
        assert sm3(content) == entry["sm3"]
        assert len(content) == entry["size"] == record.size
        assert entry["mime"] == record.content_type and entry["kind"] == record.record_type.kind
        assert entry["type_name"] == record.record_type.name and entry["uploaded_by"] == record.uploaded_by.name
        for name in manifest["required_metadata"]:
            assert entry[name] not in (None, ""), name
    by_id = {f["record_id"]: f for f in manifest["files"]}
    correction = next(f for f in manifest["files"] if f["supersedes_record_id"] == first.id)
    assert by_id[first.id]["superseded_by_record_id"] == correction["record_id"]
    assert by_id[late.id]["post_decision"] is True
    assert not by_id[first.id]["post_decision"]
    photo = next(f for f in manifest["files"] if f["type_code"] == "site_photo")
    assert photo["original_filename"] == "现场 照片（东侧）.jpg" and photo["path"].endswith("_现场_照片（东侧）.jpg")

    # the case facts, personal data as the case records them, the exporter, the process
    assert manifest["format"] == "enforcement-case-file" and manifest["format_version"] == 1
    assert manifest["case"]["number"] == case.number and manifest["case"]["stage"] == case.stage
    assert manifest["case"]["party"]["id_number"] == case.party_id_number
    assert manifest["case"]["body"]["name"] == team["body"].name
    assert manifest["exporter"]["name"] == team["officer"].name
    assert [e["id"] for e in manifest["events"]] == [e.id for e in audit.events_for_case(case.id)
                                                     if e.action != "case.exported"]
    assert {"case.filed", "case.stage_changed", "record.added", "record.superseded", "decision.made"} <= {
        e["action"] for e in manifest["events"]}
    review = manifest["reviews"][-1]
    assert review["status"] == "passed" and hashlib.sha256(review["dossier"].encode()).hexdigest() == review["digest"]
    assert manifest["decisions"][0]["review_id"] == review["id"]

    # the index
    assert names[-4:] == ["卷内目录.pdf", "manifest.json", "manifest.sha256", "manifest.sm3"]
    index = package.read("卷内目录.pdf")
    assert index.startswith(b"%PDF-") and manifest["index"]["sha256"] == hashlib.sha256(index).hexdigest()
    doc = quick_index[-1]
    assert doc.case_number == case.number and len(doc.rows) == len(rows)
    assert doc.rows[0][0] == "1" and doc.rows[0][2] == rows[0].uploaded_by.name
    remark = {row[0]: row[6] for row in doc.rows}
    assert "更正" in remark[str(by_id[first.id]["seq"])] and "决定作出后" in remark[str(by_id[late.id]["seq"])]
    assert any("页" in row[4] for row in doc.rows)  # the PDFs' pages are counted

    # the export is an audit event of the case
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "case.exported")).one()
    after = json.loads(event.after)
    assert event.case_id == case.id and event.actor_id == team["officer"].id
    assert after["file_count"] == len(rows) and after["manifest_sha256"] == summary["manifest_sha256"]

    report = check(tmp_path, data)
    assert report["result"] == "PASS", failed(report)
    assert report["manifest_sha256"] == summary["manifest_sha256"]


def test_the_checker_passes_and_keeps_its_report(rules_off, make, team, tmp_path):
    data, _summary = export_bytes(small_case(make, team), team["officer"])
    path = save(tmp_path, data)
    report = archive_check.check(path, path + ".check.json")
    assert report["result"] == "PASS", failed(report)
    kept = json.loads(Path(path + ".check.json").read_text("utf-8"))
    assert kept["result"] == "PASS" and kept["tool_version"] == archive_check.VERSION and kept["checked_at"]
    assert set(kept["properties"]) == {"authenticity", "integrity", "usability", "safety"}
    ids = {c["id"] for section in kept["properties"].values() for c in section["checks"]}
    assert {"file_sha256", "file_sm3", "event_hashes", "counts", "sequence", "process_history", "readable",
            "no_encrypted_entries", "no_encrypted_pdf", "paths", "no_symlinks", "checks_complete",
            "report_kept"} <= ids
    assert all(c["result"] == "PASS" for section in kept["properties"].values() for c in section["checks"])


def test_the_record_names_are_safe():
    assert archive.safe_name("../../etc/passwd") == "etc_passwd"
    assert archive.safe_name("现场照片（东侧）.jpg") == "现场照片（东侧）.jpg"
    assert archive.safe_name("a\\b:c*d?.pdf") == "a_b_c_d_.pdf"
    assert archive.safe_name("...") == "file"
    long = archive.safe_name("长" * 200 + ".mp4")
    assert len(long) == 80 and long.endswith(".mp4")
    assert archive.archive_filename("永平罚〔2026〕3/4号") == "永平罚〔2026〕3_4号.zip"


# --- tampering: each fails the property an archivist expects --------------------------------------

@pytest.fixture(scope="module")
def package(sqlite_template, tmp_path_factory) -> bytes:
    """One exported case file for the tampering tests, which need no database of their own."""
    from sqlalchemy import text

    from tests.conftest import make_app
    from tests.factories import Factory

    folder = tmp_path_factory.mktemp("archive-package")
    shutil.copyfile(sqlite_template, folder / "db.sqlite3")
    app = make_app(f"sqlite:///{folder / 'db.sqlite3'}", folder)
    with app.app_context(), pytest.MonkeyPatch.context() as patch:
        patch.setattr(documents, "case_index_pdf", _small_index([]))
        db.session.execute(text("DELETE FROM record_requirements"))
        db.session.commit()
        make = Factory()
        team = make.team()
        data, _summary = export_bytes(small_case(make, team), team["officer"])
        db.session.remove()
        db.engine.dispose()
    return data


def first_record(data: bytes) -> str:
    return next(n for n in zipfile.ZipFile(io.BytesIO(data)).namelist() if n.startswith("records/"))


def test_a_changed_byte_fails_authenticity(package, tmp_path):
    name = first_record(package)
    content = bytearray(zipfile.ZipFile(io.BytesIO(package)).read(name))
    content[len(content) // 2] ^= 0x01
    report = check(tmp_path, rewrite(package, replace={name: bytes(content)}))
    assert report["result"] == "FAIL"
    assert {"file_sha256", "file_sm3", "upload_digests"} <= failed(report)["authenticity"]
    assert "integrity" not in failed(report) and "usability" not in failed(report)


def test_a_dropped_file_fails_integrity(package, tmp_path):
    report = check(tmp_path, rewrite(package, drop={first_record(package)}))
    assert {"counts", "entries"} <= failed(report)["integrity"]


def test_an_added_file_fails_integrity(package, tmp_path):
    report = check(tmp_path, rewrite(package, add={"records/0099_other_extra.pdf": sample_files.pdf("extra")}))
    assert {"counts", "entries"} <= failed(report)["integrity"]
    assert "authenticity" not in failed(report)


def test_an_edited_manifest_fails_authenticity(package, tmp_path):
    def edit(manifest):
        manifest["case"]["party"]["name"] = "李四"

    report = check(tmp_path, rewrite(package, edit_manifest=edit, redigest=False))
    assert failed(report) == {"authenticity": {"manifest_digests"}}


def test_an_edited_file_size_in_the_manifest_fails(package, tmp_path):
    def edit(manifest):
        manifest["files"][0]["size"] += 1

    report = check(tmp_path, rewrite(package, edit_manifest=edit))
    assert "file_metadata" in failed(report)["authenticity"]
    assert "counts" in failed(report)["integrity"]


def test_an_edited_audit_event_fails_authenticity(package, tmp_path):
    def edit(manifest):
        event = next(e for e in manifest["events"] if e["action"] == "case.filed")
        after = json.loads(event["after"])
        after["village"] = "西村"
        event["after"] = json.dumps(after, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    report = check(tmp_path, rewrite(package, edit_manifest=edit))
    assert failed(report) == {"authenticity": {"event_hashes"}}


def test_a_removed_stage_change_fails_integrity(package, tmp_path):
    for which in (0, -1):  # the first (filing -> investigation) and the last (-> notice)
        def edit(manifest, which=which):
            changes = [e for e in manifest["events"] if e["action"] == "case.stage_changed"]
            manifest["events"].remove(changes[which])

        report = check(tmp_path, rewrite(package, edit_manifest=edit))
        assert "process_history" in failed(report)["integrity"], which
        assert "authenticity" not in failed(report)


def test_a_changed_sequence_fails_integrity(package, tmp_path):
    def edit(manifest):
        manifest["files"][1]["seq"] = 5

    report = check(tmp_path, rewrite(package, edit_manifest=edit))
    assert "sequence" in failed(report)["integrity"]


def test_missing_metadata_fails_integrity(package, tmp_path):
    def edit(manifest):
        del manifest["files"][0]["uploaded_by"]
        manifest["files"][1]["created_at"] = ""

    report = check(tmp_path, rewrite(package, edit_manifest=edit))
    assert failed(report) == {"integrity": {"required_metadata"}}


def test_an_encrypted_entry_fails_usability(package, tmp_path):
    report = check(tmp_path, set_encrypted_flag(package, first_record(package)))
    assert {"no_encrypted_entries", "readable"} <= failed(report)["usability"]


def test_an_encrypted_pdf_fails_usability(package, tmp_path):
    name = next(n for n in zipfile.ZipFile(io.BytesIO(package)).namelist() if n.endswith(".pdf")
                and n.startswith("records/"))
    content = zipfile.ZipFile(io.BytesIO(package)).read(name)
    locked = content.replace(b"trailer\n<<", b"trailer\n<< /Encrypt 9 0 R")
    assert locked != content

    def edit(manifest):
        entry = next(f for f in manifest["files"] if f["path"] == name)
        entry["sha256"], entry["sm3"], entry["size"] = hashlib.sha256(locked).hexdigest(), sm3(locked), len(locked)
        manifest["total_bytes"] += len(locked) - len(content)

    report = check(tmp_path, rewrite(package, replace={name: locked}, edit_manifest=edit))
    assert failed(report)["usability"] == {"no_encrypted_pdf"}


def test_a_format_not_accepted_fails_usability(package, tmp_path):
    def edit(manifest):
        manifest["files"][0]["mime"] = "application/x-msdownload"

    report = check(tmp_path, rewrite(package, edit_manifest=edit))
    assert "formats" in failed(report)["usability"]


def test_a_path_outside_the_folder_fails_safety(package, tmp_path):
    report = check(tmp_path, rewrite(package, add={"../evil.sh": b"#!/bin/sh\n"}))
    assert "paths" in failed(report)["safety"]
    report = check(tmp_path, rewrite(package, add={"/etc/cron.d/evil": b"x"}), "abs.zip")
    assert "paths" in failed(report)["safety"]


def test_a_symlink_fails_safety(package, tmp_path):
    link = zipfile.ZipInfo("records/link")
    link.create_system = 3
    link.external_attr = (0o120777) << 16
    report = check(tmp_path, rewrite(package, add={"records/link": link}))
    assert "no_symlinks" in failed(report)["safety"]


def test_a_broken_crc_fails_usability(package, tmp_path):
    info = next(i for i in zipfile.ZipFile(io.BytesIO(package)).infolist()
                if i.filename.startswith("records/") and i.compress_type == zipfile.ZIP_STORED)  # the photo
    raw = bytearray(package)
    name_length, extra_length = struct.unpack_from("<HH", raw, info.header_offset + 26)
    raw[info.header_offset + 30 + name_length + extra_length + info.compress_size // 2] ^= 0xFF
    report = check(tmp_path, bytes(raw))
    assert "readable" in failed(report)["usability"]


def test_not_a_zip_fails_everything_and_still_keeps_a_report(tmp_path):
    path = save(tmp_path, b"not a zip at all")
    report = archive_check.check(path, path + ".check.json")
    assert report["result"] == "FAIL" and set(failed(report)) == {"authenticity", "integrity", "usability", "safety"}
    assert json.loads(Path(path + ".check.json").read_text("utf-8"))["result"] == "FAIL"


def test_a_report_that_cannot_be_written_fails_safety(package, tmp_path):
    path = save(tmp_path, package)
    report = archive_check.check(path, str(tmp_path / "no-such-folder" / "report.json"))
    assert failed(report) == {"safety": {"report_kept"}}


# --- the checker agrees with the tracker -------------------------------------------------------------

def _text(rng: random.Random, allow_none: bool = True):
    if allow_none and rng.random() < 0.2:
        return None
    alphabet = string.ascii_letters + string.digits + " -_/:\x1f\"\\" + "永平镇案卷照片审核决定书"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))


def test_the_checker_hashes_audit_events_exactly_as_the_tracker():
    rng = random.Random(20260701)
    prev = GENESIS_HASH
    for seq in range(1, 801):
        at = datetime(2026, 1, 1) + timedelta(seconds=rng.randint(0, 10 ** 8),
                                              microseconds=rng.choice([0, 1, 999999, rng.randint(0, 999999)]))
        before = None if rng.random() < 0.5 else audit.canonical_json({"stage": _text(rng), "n": rng.randint(0, 9)})
        after = None if rng.random() < 0.2 else audit.canonical_json(
            {"sha256": hashlib.sha256(str(seq).encode()).hexdigest(), "名称": _text(rng), "x": [1, 2.5, None]})
        fields = dict(seq=seq, at=at, actor_id=rng.choice([None, rng.randint(1, 10 ** 6)]), actor_name=_text(rng),
                      action=_text(rng, allow_none=False), object_type=_text(rng, allow_none=False),
                      object_id=_text(rng), object_label=_text(rng), body_id=rng.choice([None, rng.randint(1, 99)]),
                      case_id=rng.choice([None, rng.randint(1, 10 ** 5)]), before=before, after=after, prev_hash=prev)
        stored = audit.event_hash(**fields)
        event = AuditEvent(id=seq, at=at, actor_id=fields["actor_id"], actor_name=fields["actor_name"],
                           action=fields["action"], object_type=fields["object_type"], object_id=fields["object_id"],
                           object_label=fields["object_label"], body_id=fields["body_id"], case_id=fields["case_id"],
                           before=before, after=after, prev_hash=prev, hash=stored)
        entry = json.loads(json.dumps(archive._event_entry(event)))  # as read back from the manifest
        assert archive_check.event_hash(entry) == stored, fields
        prev = stored


def test_the_pure_python_sm3_equals_hashlib():
    assert archive_check.PureSM3(b"abc").hexdigest() == \
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    rng = random.Random(3)
    for length in [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 4097]:
        data = rng.randbytes(length)
        pure = archive_check.PureSM3()
        for start in range(0, length, 37):
            pure.update(data[start:start + 37])
        assert pure.hexdigest() == sm3(data), length


def test_the_checker_accepts_every_format_the_uploads_accept():
    produced = set(re.findall(r'Sniffed\("([^"]+)"', (ROOT / "enforcement/services/media.py").read_text("utf-8")))
    assert produced and produced <= set(archive_check.ACCEPTED_FORMATS), produced - set(archive_check.ACCEPTED_FORMATS)
    from PIL import Image

    samples = [sample_files.pdf("x"), sample_files.jpeg(), sample_files.mp4(), sample_files.mp3()]
    for fmt in ("PNG", "GIF", "WEBP", "TIFF"):
        out = io.BytesIO()
        Image.new("RGB", (8, 8)).save(out, fmt)
        samples.append(out.getvalue())
    import wave
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000), w.writeframes(b"\x00" * 800)
    samples.append(out.getvalue())
    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w/>")
    samples.append(docx.getvalue())
    for head in samples:
        sniffed = media.sniff(head, "sample")
        assert archive_check.format_matches(sniffed.content_type, head), sniffed
    assert not archive_check.format_matches("video/mp4", sample_files.jpeg())
    assert not archive_check.format_matches("application/pdf", sample_files.mp4())


# --- refusals, memory, commands, the web ------------------------------------------------------------

def test_a_corrupt_stored_object_stops_the_export_naming_the_record(make, team, app):
    case = make.case(team, approve=True)
    make.record(case, "site_photo")
    bad = make.record(case, "inspection_record", filename="检查笔录.pdf")
    path = Path(app.extensions["object_store"].root, *bad.storage_key.split("/"))
    os.chmod(path, 0o644)
    content = bytearray(path.read_bytes())
    content[-20] ^= 0x01  # same size, one bit changed
    path.write_bytes(bytes(content))

    out = io.BytesIO()
    with pytest.raises(archive.ExportRefused) as refused:
        archive.export(case, out, actor=team["officer"])
    db.session.rollback()
    assert str(bad.id) in refused.value.message and "检查笔录.pdf" in refused.value.message
    assert not zipfile.is_zipfile(io.BytesIO(out.getvalue()))  # unfinished: nobody can take it for a case file
    assert b"manifest.json" not in out.getvalue()
    assert not db.session.scalars(select(AuditEvent).where(AuditEvent.action == "case.exported")).all()


def test_a_missing_object_is_refused_before_anything_is_written(make, team, app):
    case = make.case(team, approve=True)
    gone = make.record(case, "site_photo")
    path = Path(app.extensions["object_store"].root, *gone.storage_key.split("/"))
    path.unlink()
    out = io.BytesIO()
    with pytest.raises(archive.ExportRefused) as refused:
        archive.export(case, out, actor=team["officer"])
    assert str(gone.id) in refused.value.message and out.getvalue() == b""


class _NoWholeReads:
    """A reader that refuses read() / read(-1) and reads of more than 2 MiB."""

    def __init__(self, reader, sizes):
        self._reader, self._sizes = reader, sizes

    def read(self, size=-1):
        if size is None or size < 0:
            raise AssertionError("the export read a whole object into memory")
        assert size <= 2 * 1024 * 1024, size
        self._sizes.append(size)
        return self._reader.read(size)

    def iter_chunks(self, chunk_size=1024 * 1024):
        while chunk := self.read(chunk_size):
            yield chunk

    def readall(self):
        raise AssertionError("the export read a whole object into memory")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._reader.close()


class _Store:
    def __init__(self, store):
        self._store, self.sizes = store, []

    def open(self, key, **kw):
        return _NoWholeReads(self._store.open(key, **kw), self.sizes)

    def __getattr__(self, name):
        return getattr(self._store, name)


class _Counting(io.RawIOBase):
    """An unseekable sink keeping only the count and the digest of what was written (no copy in memory)."""

    def __init__(self):
        self.size, self.digest = 0, hashlib.sha256()

    def writable(self):
        return True

    def write(self, data):
        self.size += len(data)
        self.digest.update(data)
        return len(data)


def test_a_large_record_streams_through_in_chunks(make, team, app):
    case = make.case(team, approve=True)
    big = make.record(case, "body_camera_video", content=sample_files.mp4(5 * 1024 * 1024), filename="执法记录仪.mp4")
    store = _Store(app.extensions["object_store"])
    app.extensions["object_store"] = store
    sink = _Counting()
    tracemalloc.start()
    try:
        summary = archive.export(case, sink, actor=team["officer"])
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        app.extensions["object_store"] = store._store
    assert summary["total_bytes"] == big.size and sink.size > big.size
    assert len(store.sizes) >= 5  # five chunks of at most 1 MiB, never the whole
    assert peak < 4 * 1024 * 1024, peak


def test_the_cli_exports_and_checks(rules_off, make, team, runner, tmp_path):
    case = small_case(make, team)
    out = tmp_path / "案卷.zip"
    result = runner.invoke(args=["archive", "export", "--case", str(case.id), "--out", str(out),
                                 "--user", team["auditor"].username])
    assert result.exit_code == 0, result.output
    assert out.exists() and not Path(f"{out}.part").exists()
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "case.exported")).one()
    assert event.actor_id == team["auditor"].id
    assert json.loads(event.after)["manifest_sha256"] in result.output

    result = runner.invoke(args=["archive", "check", str(out)])
    assert result.exit_code == 0, result.output
    assert "RESULT: PASS" in result.output and "真实性 Authenticity: PASS" in result.output
    assert Path(f"{out}.check.json").exists()

    tampered = tmp_path / "tampered.zip"
    tampered.write_bytes(rewrite(out.read_bytes(), drop={first_record(out.read_bytes())}))
    result = runner.invoke(args=["archive", "check", str(tampered), "--report", str(tmp_path / "r.json")])
    assert result.exit_code == 1 and "完整性 Integrity: FAIL" in result.output
    assert json.loads((tmp_path / "r.json").read_text("utf-8"))["result"] == "FAIL"

    result = runner.invoke(args=["archive", "export", "--case", "999999", "--out", str(tmp_path / "x.zip")])
    assert result.exit_code == 1 and "No case" in result.output


def test_the_cli_leaves_no_file_when_the_export_is_refused(make, team, runner, tmp_path, app):
    case = make.case(team, approve=True)
    record = make.record(case, "inspection_record")
    path = Path(app.extensions["object_store"].root, *record.storage_key.split("/"))
    os.chmod(path, 0o644)
    path.write_bytes(path.read_bytes()[:-1] + b"X")
    out = tmp_path / "case.zip"
    result = runner.invoke(args=["archive", "export", "--case", str(case.id), "--out", str(out)])
    assert result.exit_code == 1 and str(record.id) in result.output
    assert not out.exists() and not Path(f"{out}.part").exists()


def test_the_checker_runs_as_a_plain_script_without_the_tracker(rules_off, make, team, tmp_path):
    data, _summary = export_bytes(small_case(make, team), team["officer"])
    path = save(tmp_path, data)
    alone = tmp_path / "archive_check.py"  # copied out of the project: standard library only
    alone.write_bytes((ROOT / "enforcement" / "archive_check.py").read_bytes())
    run = subprocess.run([sys.executable, "-I", str(alone), path, "--report", str(tmp_path / "r.json")],
                         capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "RESULT: PASS" in run.stdout
    run = subprocess.run([sys.executable, "-m", "enforcement.archive_check", path], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert Path(path + ".check.json").exists()
    imports = re.findall(r"^\s*(?:from|import) ([\w.]+)", alone.read_text("utf-8"), re.M)
    assert {name.split(".")[0] for name in imports} <= set(sys.stdlib_module_names) | {"__future__"}


def test_an_auditor_downloads_the_case_file_and_an_outsider_gets_404(rules_off, make, team, as_user, tmp_path):
    case = small_case(make, team)
    page = as_user(team["officer"]).get(f"/cases/{case.id}")
    assert f'/cases/{case.id}/case-file.zip'.encode() in page.data and b"Export the case file (ZIP)" in page.data

    response = as_user(team["auditor"]).get(f"/cases/{case.id}/case-file.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    data = response.get_data()
    report = check(tmp_path, data)
    assert report["result"] == "PASS", failed(report)
    db.session.expire_all()
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "case.exported")).one()
    assert event.actor_id == team["auditor"].id and event.case_id == case.id
    assert json.loads(event.after)["manifest_sha256"] == hashlib.sha256(
        zipfile.ZipFile(io.BytesIO(data)).read("manifest.json")).hexdigest()

    timeline = as_user(team["auditor"]).get(f"/cases/{case.id}")
    assert timeline.status_code == 200 and b"Case file exported" in timeline.data

    outsider = make.user(Role.AUDITOR)  # of another body
    assert as_user(outsider).get(f"/cases/{case.id}/case-file.zip").status_code == 404
    assert as_user(team["officer"]).get("/cases/999999/case-file.zip").status_code == 404


def test_the_download_refuses_a_missing_object_and_logs_a_broken_off_one(make, team, as_user, app):
    case = make.case(team, approve=True)
    photo = make.record(case, "site_photo")
    record = make.record(case, "inspection_record")
    client = as_user(team["officer"])
    store = app.extensions["object_store"]
    path = Path(store.root, *record.storage_key.split("/"))
    os.chmod(path, 0o644)
    path.write_bytes(path.read_bytes()[:-1] + b"X")
    with pytest.raises(archive.ExportRefused):
        client.get(f"/cases/{case.id}/case-file.zip").get_data()
    db.session.expire_all()
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "case.export_incomplete")).one()
    assert event.actor_id == team["officer"].id and json.loads(event.after)["files_sent"] >= 1

    Path(store.root, *photo.storage_key.split("/")).unlink()
    response = client.get(f"/cases/{case.id}/case-file.zip")
    assert response.status_code == 409 and str(photo.id).encode() in response.data


@pytest.mark.real_pdf("case_index_pdf")
def test_the_index_is_a_chinese_pdf(rules_off, make, team, tmp_path):
    from pypdf import PdfReader

    from tests.conftest import require_component
    try:
        documents.font_path()
    except documents.FontMissing as error:
        require_component(False, f"a CJK font ({error})")
    case = small_case(make, team)
    data, _summary = export_bytes(case, team["officer"])
    index = zipfile.ZipFile(io.BytesIO(data)).read("卷内目录.pdf")
    text = re.sub(r"[\s\x00]", "", "".join(page.extract_text() for page in PdfReader(io.BytesIO(index)).pages))
    for words in ("卷内目录", "序号", "题名", "责任者", "页数/大小", "备注", "现场照片", case.number):
        assert words in text, words
    assert check(tmp_path, data)["result"] == "PASS"


def test_the_manifest_carries_the_service_the_execution_and_the_self_checks(rules_off, make, team, tmp_path):
    case, _first, _late = decided_case(make, team)
    workflow.advance(case, Stage.SERVICE, actor=team["officer"])
    db.session.commit()
    make.close(case, actor=team["officer"])
    data, _summary = export_bytes(case, team["auditor"])
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        manifest = json.loads(z.read("manifest.json"))
    (service,) = manifest["services"]
    assert service["document"] == "decision" and service["method"] == "direct" and service["proof_record_id"]
    assert manifest["execution"]["complied_on"] and manifest["execution"]["compliance_record_id"]
    assert [c["passed"] for c in manifest["self_checks"]] == [True]
    report = check(tmp_path, data)
    assert report["result"] == "PASS", failed(report)
