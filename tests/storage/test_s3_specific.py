"""Behaviour that only one backend has: Object Lock, multipart memory, sweeping, tampering."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import tracemalloc
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from storage import ObjectExists, StorageError, store_from_url
from storage.local import LocalStore
from tests.storage.conftest import LocalBackend, S3Backend
from tests.storage.helpers import PART_SIZE, GeneratedStream

MIB = 1024 * 1024


@pytest.fixture
def s3(seaweed) -> S3Backend:
    return S3Backend(seaweed)


@pytest.fixture
def local(tmp_path) -> LocalBackend:
    return LocalBackend(tmp_path / "objects")


# -- Object Lock -------------------------------------------------------------------


@pytest.mark.s3
def test_store_refuses_to_delete_a_locked_version(s3):
    stored = s3.store.put("evidence/photo.jpg", io.BytesIO(b"jpeg"), content_type="image/jpeg")
    client = s3.store.client
    assert stored.version_id
    retention = client.head_object(Bucket=s3.bucket, Key="evidence/photo.jpg")
    assert retention["ObjectLockMode"] == "COMPLIANCE"

    with pytest.raises(ClientError) as refused:
        client.delete_object(Bucket=s3.bucket, Key="evidence/photo.jpg",
                             VersionId=stored.version_id)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"

    with pytest.raises(ClientError):
        client.delete_object(Bucket=s3.bucket, Key="evidence/photo.jpg",
                             VersionId=stored.version_id, BypassGovernanceRetention=True)

    # A batch delete answers 200 and lists the refusal inside.
    answer = client.delete_objects(Bucket=s3.bucket, Delete={
        "Objects": [{"Key": "evidence/photo.jpg", "VersionId": stored.version_id}]})
    assert [e["Key"] for e in answer.get("Errors", [])] == ["evidence/photo.jpg"]
    assert not answer.get("Deleted")

    assert s3.store.verify("evidence/photo.jpg", expected_sha256=stored.sha256)[0]


@pytest.mark.s3
def test_multipart_objects_are_locked_too(s3):
    stored = s3.store.put("evidence/video.mp4", GeneratedStream(2 * PART_SIZE + 1))
    client = s3.store.client

    with pytest.raises(ClientError):
        client.delete_object(Bucket=s3.bucket, Key="evidence/video.mp4",
                             VersionId=stored.version_id)
    head = client.head_object(Bucket=s3.bucket, Key="evidence/video.mp4")
    assert head["ObjectLockMode"] == "COMPLIANCE"


@pytest.mark.s3
def test_a_delete_marker_does_not_free_the_key(s3):
    s3.store.put("evidence/doc.pdf", io.BytesIO(b"%PDF-1.7 original"))
    # Without a version id a delete only hides the object behind a marker.
    s3.store.client.delete_object(Bucket=s3.bucket, Key="evidence/doc.pdf")
    assert not s3.store.exists("evidence/doc.pdf")

    with pytest.raises(ObjectExists):
        s3.store.put("evidence/doc.pdf", io.BytesIO(b"%PDF-1.7 substitute"))


@pytest.mark.s3
def test_object_lock_is_false_for_a_bucket_without_it(s3):
    plain = s3.make_store(bucket=s3.bucket + "-plain")
    plain.ensure_bucket(object_lock=False)

    assert plain.object_lock is False
    stored = plain.put("x.txt", io.BytesIO(b"x"))
    assert stored.version_id is None
    with pytest.raises(ObjectExists):
        plain.put("x.txt", io.BytesIO(b"y"))


@pytest.mark.s3
def test_ensure_bucket_is_idempotent_and_sets_default_retention(s3):
    s3.store.ensure_bucket(object_lock=True)

    rule = s3.store.client.get_object_lock_configuration(Bucket=s3.bucket)
    retention = rule["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
    assert retention == {"Mode": "COMPLIANCE", "Days": 1}
    assert s3.store.object_lock


# -- retention (retain_until) -------------------------------------------------------


def _in_days(days: float) -> datetime:
    return (datetime.now(timezone.utc) + timedelta(days=days)).replace(microsecond=0)


def _retention(s3, key, version_id=None) -> tuple[str, datetime]:
    arguments = {"Bucket": s3.bucket, "Key": key}
    if version_id:
        arguments["VersionId"] = version_id
    answer = s3.store.client.get_object_retention(**arguments)["Retention"]
    return answer["Mode"], answer["RetainUntilDate"].astimezone(timezone.utc)


@pytest.mark.s3
def test_retain_until_sets_the_object_lock_retention_of_the_version(s3):
    stored = s3.store.put("archive/photo.jpg", io.BytesIO(b"jpeg"), content_type="image/jpeg")
    written = _retention(s3, "archive/photo.jpg")
    until = _in_days(30 * 365)

    assert s3.store.retain_until("archive/photo.jpg", until, version_id=stored.version_id) \
        == until

    assert written[1] < until
    assert _retention(s3, "archive/photo.jpg", stored.version_id) == ("COMPLIANCE", until)
    with pytest.raises(ClientError):
        s3.store.client.delete_object(Bucket=s3.bucket, Key="archive/photo.jpg",
                                      VersionId=stored.version_id)
    # Never shortened, also when asked through the version id.
    assert s3.store.retain_until("archive/photo.jpg", _in_days(400),
                                 version_id=stored.version_id) == until
    assert _retention(s3, "archive/photo.jpg")[1] == until


@pytest.mark.s3
def test_retain_until_acts_on_the_named_version_only(s3):
    first = s3.store.put("archive/doc.pdf", io.BytesIO(b"%PDF-1.7 first"))
    # A second version, written behind the store's back (the bucket default locks it).
    second = s3.store.client.put_object(Bucket=s3.bucket, Key="archive/doc.pdf",
                                        Body=b"%PDF-1.7 second")["VersionId"]
    before = _retention(s3, "archive/doc.pdf", second)
    until = _in_days(365)

    assert s3.store.retain_until("archive/doc.pdf", until, version_id=first.version_id) == until

    assert _retention(s3, "archive/doc.pdf", first.version_id)[1] == until
    assert _retention(s3, "archive/doc.pdf", second) == before
    # Without a version id the current version is meant.
    later = until + timedelta(days=1)
    assert s3.store.retain_until("archive/doc.pdf", later) == later
    assert _retention(s3, "archive/doc.pdf", second)[1] == later
    assert _retention(s3, "archive/doc.pdf", first.version_id)[1] == until
    with pytest.raises(FileNotFoundError):
        s3.store.retain_until("archive/doc.pdf", until, version_id="0" * 32)


@pytest.mark.s3
def test_retain_until_with_lock_mode_none_is_a_no_op(s3):
    s3.store.put("archive/none.txt", io.BytesIO(b"n"))
    before = _retention(s3, "archive/none.txt")
    unlocked = s3.make_store(lock_mode="none")

    assert unlocked.retain_until("archive/none.txt", _in_days(3650)) is None

    assert _retention(s3, "archive/none.txt") == before
    with pytest.raises(FileNotFoundError):
        unlocked.retain_until("archive/missing.txt", _in_days(30))
    with pytest.raises(ValueError):
        unlocked.retain_until("archive/none.txt", _in_days(-1))


@pytest.mark.s3
def test_retain_until_on_a_bucket_without_object_lock_returns_none(s3):
    plain = s3.make_store(bucket=s3.bucket + "-plain")
    plain.ensure_bucket(object_lock=False)
    plain.put("x.txt", io.BytesIO(b"x"))

    assert plain.retain_until("x.txt", _in_days(30)) is None
    with pytest.raises(FileNotFoundError):
        plain.retain_until("y.txt", _in_days(30))


@pytest.mark.s3
def test_retain_until_keeps_the_mode_in_force(s3):
    governance = s3.make_store(lock_mode="GOVERNANCE")
    s3.store.put("archive/compliance.txt", io.BytesIO(b"c"))
    governance.put("archive/governance.txt", io.BytesIO(b"g"))
    assert _retention(s3, "archive/governance.txt")[0] == "GOVERNANCE"
    until = _in_days(100)

    # A GOVERNANCE store never weakens COMPLIANCE; a COMPLIANCE store extends
    # GOVERNANCE as GOVERNANCE (changing the mode would need a bypass).
    assert governance.retain_until("archive/compliance.txt", until) == until
    assert s3.store.retain_until("archive/governance.txt", until) == until

    assert _retention(s3, "archive/compliance.txt") == ("COMPLIANCE", until)
    assert _retention(s3, "archive/governance.txt") == ("GOVERNANCE", until)


@pytest.mark.s3
def test_retain_until_writes_again_a_retention_the_store_did_not_keep(s3, monkeypatch):
    s3.store.put("archive/lost.txt", io.BytesIO(b"l"))
    client = s3.store.client
    real = client.put_object_retention
    calls = []

    def loses_the_first(**kwargs):  # plays a racing writer that put its earlier end back
        calls.append(kwargs)
        return {} if len(calls) == 1 else real(**kwargs)

    monkeypatch.setattr(client, "put_object_retention", loses_the_first)
    until = _in_days(50)

    assert s3.store.retain_until("archive/lost.txt", until) == until
    assert len(calls) == 2

    calls.clear()
    monkeypatch.setattr(client, "put_object_retention", lambda **kwargs: calls.append(kwargs))
    with pytest.raises(StorageError, match="keeps"):
        s3.store.retain_until("archive/lost.txt", until + timedelta(days=1))
    assert len(calls) == 3
    assert _retention(s3, "archive/lost.txt")[1] == until


@pytest.mark.s3
def test_retain_until_refused_by_the_store_raises_storage_error(s3, monkeypatch):
    s3.store.put("archive/refused.txt", io.BytesIO(b"r"))
    before = _retention(s3, "archive/refused.txt")

    def refuse(**kwargs):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied."},
                           "ResponseMetadata": {"HTTPStatusCode": 403}}, "PutObjectRetention")

    monkeypatch.setattr(s3.store.client, "put_object_retention", refuse)
    with pytest.raises(StorageError, match="AccessDenied"):
        s3.store.retain_until("archive/refused.txt", _in_days(30))
    assert _retention(s3, "archive/refused.txt") == before


@pytest.mark.s3
def test_retain_until_on_a_dead_store_raises_storage_error(s3):
    with pytest.raises(StorageError):
        s3.dead_store().retain_until("archive/any.txt", _in_days(30))


@pytest.mark.s3
def test_seaweedfs_resets_the_content_type_when_writing_a_retention(s3, caplog):
    """A SeaweedFS (4.48) flaw the store can only report: bytes, digest and metadata stay."""
    stored = s3.store.put("archive/scan.pdf", io.BytesIO(b"%PDF-1.7 scan"),
                          content_type="application/pdf", metadata={"record-id": "3"})

    with caplog.at_level(logging.WARNING, logger="storage.s3"):
        s3.store.retain_until("archive/scan.pdf", _in_days(30))

    head = s3.store.head("archive/scan.pdf")
    assert (head.sha256, head.metadata, head.version_id) == (
        stored.sha256, {"record-id": "3"}, stored.version_id)
    assert head.content_type == "application/octet-stream"
    assert "changed the content type of archive/scan.pdf from application/pdf" in caplog.text
    # A retention already long enough is not written again: nothing more changes.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="storage.s3"):
        s3.store.retain_until("archive/scan.pdf", _in_days(2))
    assert caplog.text == ""


# -- sha256 of multipart objects ---------------------------------------------------


@pytest.mark.s3
def test_multipart_sha256_is_in_a_tag_and_single_put_sha256_in_metadata(s3):
    small = s3.store.put("small.bin", io.BytesIO(b"small"))
    big = s3.store.put("big.bin", GeneratedStream(PART_SIZE + 1, seed=3))
    client = s3.store.client

    small_head = client.head_object(Bucket=s3.bucket, Key="small.bin")
    assert small_head["Metadata"]["sha256"] == small.sha256
    tags = client.get_object_tagging(Bucket=s3.bucket, Key="big.bin")["TagSet"]
    assert {"Key": "sha256", "Value": big.sha256} in tags
    assert s3.store.head("big.bin").sha256 == big.sha256


@pytest.mark.s3
def test_verify_trusts_the_callers_digest_over_a_changed_tag(s3):
    big = s3.store.put("big.bin", GeneratedStream(PART_SIZE + 1, seed=4))
    # Tags stay writable on a locked object; the database digest is the reference.
    s3.store.client.put_object_tagging(
        Bucket=s3.bucket, Key="big.bin", VersionId=big.version_id,
        Tagging={"TagSet": [{"Key": "sha256", "Value": "0" * 64}]})

    assert s3.store.verify("big.bin") == (False, big.sha256)
    assert s3.store.verify("big.bin", expected_sha256=big.sha256) == (True, big.sha256)


# -- streaming and memory ----------------------------------------------------------


@pytest.mark.s3
def test_multipart_upload_memory_stays_bounded(s3):
    concurrency = 2
    store = s3.make_store(concurrency=concurrency)
    size = 64 * MIB
    source = GeneratedStream(size, seed=11)

    tracemalloc.start()
    try:
        stored = store.put("big/64mib.bin", source, size_hint=size)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert stored.sha256 == source.hexdigest()
    assert store.verify("big/64mib.bin") == (True, stored.sha256)
    # About (concurrency + 2) parts in memory, whatever the object's size.
    assert peak < 6 * PART_SIZE, f"peak {peak / MIB:.1f} MiB"


@pytest.mark.s3
def test_parts_sign_their_checksum_header_not_a_second_hash_of_the_body(s3):
    store = s3.make_store()
    seen = {}

    def capture(request, event_name, **_kwargs):
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        seen.setdefault(event_name.rsplit(".", 1)[-1], headers)

    store.client.meta.events.register("before-send.s3", capture)
    size = 3 * PART_SIZE
    stored = store.put("signing/parts.bin", GeneratedStream(size, seed=5), size_hint=size)
    assert store.verify("signing/parts.bin", stored.sha256)[0]
    part = seen["UploadPart"]
    assert part["X-Amz-Content-SHA256"] == "UNSIGNED-PAYLOAD"
    assert "x-amz-checksum-sha256" in part["Authorization"]  # the checksum header is signed
    # Other requests keep signing their bodies over plain HTTP.
    assert seen["CompleteMultipartUpload"]["X-Amz-Content-SHA256"] != "UNSIGNED-PAYLOAD"


@pytest.mark.s3
def test_a_part_failing_aborts_the_upload(s3):
    store = s3.make_store()
    calls = {"n": 0}
    real_upload_part = store.client.upload_part

    def flaky_upload_part(**kwargs):
        calls["n"] += 1
        if kwargs["PartNumber"] == 2:
            kwargs["ChecksumSHA256"] = "A" * 43 + "="  # the store must refuse: BadDigest
        return real_upload_part(**kwargs)

    store.client.upload_part = flaky_upload_part
    with pytest.raises(StorageError, match="BadDigest"):
        store.put("corrupt/part.bin", GeneratedStream(3 * PART_SIZE))

    assert calls["n"] >= 2
    assert not store.exists("corrupt/part.bin")
    assert s3.leftovers() == []


@pytest.mark.s3
def test_completion_whose_answer_is_lost_is_recognised_and_not_aborted(s3):
    store = s3.make_store()
    real_complete = store.client.complete_multipart_upload

    def complete_then_lose_the_answer(**kwargs):
        real_complete(**kwargs)
        raise ReadTimeoutError(endpoint_url=s3.server.endpoint)

    store.client.complete_multipart_upload = complete_then_lose_the_answer
    source = GeneratedStream(PART_SIZE + 100, seed=5)

    stored = store.put("lost/answer.bin", source)

    assert stored.sha256 == source.hexdigest()
    assert stored.version_id
    assert store.verify("lost/answer.bin") == (True, stored.sha256)
    assert s3.leftovers() == []


@pytest.mark.s3
def test_completion_in_doubt_is_never_aborted(s3):
    store = s3.make_store()

    def server_error(**kwargs):
        raise ClientError({"Error": {"Code": "InternalError", "Message": "try again"},
                           "ResponseMetadata": {"HTTPStatusCode": 500}},
                          "CompleteMultipartUpload")

    store.client.complete_multipart_upload = server_error

    with pytest.raises(StorageError, match="sweep_incomplete_uploads"):
        store.put("doubt/upload.bin", GeneratedStream(PART_SIZE + 100))

    # Left open for the sweep, which a later run does.
    assert s3.leftovers() == ["doubt/upload.bin"]
    assert [u["key"] for u in s3.store.sweep_incomplete_uploads(older_than_seconds=0)] == \
        ["doubt/upload.bin"]
    assert not store.exists("doubt/upload.bin")


@pytest.mark.s3
def test_sweep_aborts_a_dangling_upload(s3):
    client = s3.store.client
    dangling = client.create_multipart_upload(Bucket=s3.bucket, Key="crashed/upload.bin")
    client.upload_part(Bucket=s3.bucket, Key="crashed/upload.bin",
                       UploadId=dangling["UploadId"], PartNumber=1, Body=b"partial")
    s3.store.put("done.txt", io.BytesIO(b"complete"))
    assert s3.leftovers() == ["crashed/upload.bin"]

    assert s3.store.sweep_incomplete_uploads(older_than_seconds=3600) == []
    swept = s3.store.sweep_incomplete_uploads(older_than_seconds=0)

    assert [(u["key"], u["upload_id"]) for u in swept] == \
        [("crashed/upload.bin", dangling["UploadId"])]
    assert s3.leftovers() == []
    assert s3.store.verify("done.txt")[0]  # completed objects are untouched


# -- presigned URLs ----------------------------------------------------------------


@pytest.mark.s3
def test_url_names_a_chinese_file_and_expires(s3):
    s3.store.put("notices/1.pdf", io.BytesIO(b"%PDF-1.7"), content_type="application/pdf")

    url = s3.store.url("notices/1.pdf", filename="行政处罚决定书.pdf", expires=60)
    with urllib.request.urlopen(url, timeout=10) as response:
        disposition = response.headers["Content-Disposition"]
        assert response.read() == b"%PDF-1.7"
    assert disposition.startswith("inline")
    assert "filename*=UTF-8''" + urllib.parse.quote("行政处罚决定书.pdf") in disposition
    assert "X-Amz-Expires=60" in url
    forced = s3.store.url("notices/1.pdf", filename="行政处罚决定书.pdf", attachment=True)
    with urllib.request.urlopen(forced, timeout=10) as response:
        assert response.headers["Content-Disposition"].startswith("attachment")


@pytest.mark.s3
def test_url_with_a_tampered_override_is_refused(s3):
    s3.store.put("page.html", io.BytesIO(b"<html></html>"), content_type="text/html")
    url = s3.store.url("page.html")
    assert "response-content-disposition=attachment" in url
    tampered = url.replace("response-content-disposition=attachment",
                           "response-content-disposition=inline")

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(tampered, timeout=10)
    assert refused.value.code == 403


# -- local store -------------------------------------------------------------------


def test_tampered_local_file_is_detected_by_verify(local):
    stored = local.store.put("cases/9/photo.jpg", io.BytesIO(b"original bytes"))
    path = local.root / "cases" / "9" / "photo.jpg"
    assert oct(path.stat().st_mode & 0o777) == oct(0o444)

    os.chmod(path, 0o644)
    path.write_bytes(b"edited bytes!!")

    assert local.store.verify("cases/9/photo.jpg") == (
        False, hashlib.sha256(b"edited bytes!!").hexdigest())
    assert local.store.verify("cases/9/photo.jpg", expected_sha256=stored.sha256)[0] is False


def test_local_sidecar_is_read_only_and_hidden(local):
    local.store.put("a/b.txt", io.BytesIO(b"b"), metadata={"record-id": "7"})
    sidecar = local.root / "a" / ".b.txt.meta.json"

    assert sidecar.stat().st_mode & 0o777 == 0o444
    assert list(local.store.list_keys()) == ["a/b.txt"]
    assert local.store.head("a/b.txt").metadata == {"record-id": "7"}


def test_local_store_refuses_a_symlink_out_of_its_root(local, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (local.root / "cases").symlink_to(outside)

    with pytest.raises(StorageError):
        local.store.put("cases/1.txt", io.BytesIO(b"x"))
    assert list(outside.iterdir()) == []


def test_local_store_from_relative_url(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = store_from_url("file:relative/objects")

    store.put("k.txt", io.BytesIO(b"k"))

    assert (tmp_path / "relative" / "objects" / "k.txt").read_bytes() == b"k"


def _sidecar(local, key) -> dict:
    folder, _, name = key.rpartition("/")
    return json.loads((local.root / folder / f".{name}.meta.json").read_bytes())


def test_local_retention_survives_reopening_the_store(local):
    stored = local.store.put("archive/1/record.pdf", io.BytesIO(b"%PDF-1.7 kept"),
                             content_type="application/pdf")
    until = _in_days(30 * 365)
    local.store.retain_until("archive/1/record.pdf", until)

    reopened = LocalStore(local.root, create=False)

    assert reopened.retain_until("archive/1/record.pdf", _in_days(10)) == until
    record = _sidecar(local, "archive/1/record.pdf")
    assert record["retain_until"] == until.isoformat()
    assert (record["sha256"], record["content_type"]) == (stored.sha256, "application/pdf")
    sidecar = local.root / "archive" / "1" / ".record.pdf.meta.json"
    assert sidecar.stat().st_mode & 0o777 == 0o444
    assert list(reopened.list_keys()) == ["archive/1/record.pdf"]
    assert local.leftovers() == []
    with pytest.raises(ObjectExists):
        reopened.put("archive/1/record.pdf", io.BytesIO(b"substitute"))


def test_local_retention_has_no_versions(local):
    local.store.put("archive/2.txt", io.BytesIO(b"2"))
    with pytest.raises(FileNotFoundError):
        local.store.retain_until("archive/2.txt", _in_days(30), version_id="v1")


def test_local_retention_failing_to_write_keeps_the_previous_record(local, monkeypatch):
    local.store.put("archive/3.txt", io.BytesIO(b"3"))
    until = _in_days(100)
    local.store.retain_until("archive/3.txt", until)

    def broken_replace(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("storage.local.os.replace", broken_replace)
    with pytest.raises(StorageError):
        local.store.retain_until("archive/3.txt", _in_days(200))
    monkeypatch.undo()

    assert _sidecar(local, "archive/3.txt")["retain_until"] == until.isoformat()
    assert local.leftovers() == []
    assert local.store.retain_until("archive/3.txt", _in_days(1)) == until


def test_local_retention_of_an_object_whose_sidecar_is_missing(local):
    local.store.put("archive/4.txt", io.BytesIO(b"4"))
    (local.root / "archive" / ".4.txt.meta.json").unlink()  # as after a crash between the links
    until = _in_days(30)

    assert local.store.retain_until("archive/4.txt", until) == until

    assert _sidecar(local, "archive/4.txt") == {"key": "archive/4.txt",
                                                "retain_until": until.isoformat()}
    assert local.store.head("archive/4.txt").sha256 is None
    with pytest.raises(ObjectExists):
        local.store.put("archive/4.txt", io.BytesIO(b"other"))


def test_local_retention_set_between_the_two_links_of_a_put_is_kept(local, monkeypatch):
    store = local.store
    link_sidecar = store._link_sidecar
    until = _in_days(365)

    def retained_first(meta_tmp, path):
        # The object is linked, its sidecar not yet: archiving gets in between.
        assert store.retain_until("archive/5.txt", until) == until
        link_sidecar(meta_tmp, path)

    monkeypatch.setattr(store, "_link_sidecar", retained_first)
    stored = store.put("archive/5.txt", io.BytesIO(b"5"), metadata={"record-id": "5"})

    record = _sidecar(local, "archive/5.txt")
    assert record["retain_until"] == until.isoformat()
    assert (record["sha256"], record["metadata"]) == (stored.sha256, {"record-id": "5"})
    assert store.head("archive/5.txt").sha256 == stored.sha256
    assert local.leftovers() == []
