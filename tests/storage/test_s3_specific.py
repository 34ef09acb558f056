"""Behaviour that only one backend has: Object Lock, multipart memory, sweeping, tampering."""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
import urllib.error
import urllib.parse
import urllib.request

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from storage import ObjectExists, StorageError, store_from_url
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
