"""Resumable uploads and set-up checks where one backend has its own behaviour to prove."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
import tracemalloc

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from storage import ObjectExists, StorageError, UploadedPart
from tests.storage.conftest import LocalBackend, S3Backend
from tests.storage.helpers import PART_SIZE, GeneratedStream, generated_bytes

MIB = 1024 * 1024


@pytest.fixture
def s3(seaweed) -> S3Backend:
    return S3Backend(seaweed)


@pytest.fixture
def local(tmp_path) -> LocalBackend:
    return LocalBackend(tmp_path / "objects")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def upload(store, key, upload_id, stream, *, first_part=1, total_size, digest=None):
    return store.upload_parts(key, upload_id, stream, first_part=first_part,
                              part_size=PART_SIZE, total_size=total_size, digest=digest)


def read_all(store, key, **kwargs) -> bytes:
    with store.open(key, **kwargs) as reader:
        return b"".join(reader)


# -- S3: memory, checksums, completion -----------------------------------------------


@pytest.mark.s3
def test_upload_parts_memory_stays_bounded(s3):
    concurrency = 2
    store = s3.make_store(concurrency=concurrency)
    total = 200 * MIB
    upload_id = store.start_upload("big/200mib.bin")
    source = GeneratedStream(total, seed=31)
    digest = hashlib.sha256()

    tracemalloc.start()
    try:
        parts = upload(store, "big/200mib.bin", upload_id, source, total_size=total,
                       digest=digest)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert len(parts) == total // PART_SIZE
    assert digest.hexdigest() == source.hexdigest()
    # About (concurrency + 2) parts in memory, whatever the object's size.
    assert peak < (concurrency + 2.5) * PART_SIZE, f"peak {peak / MIB:.1f} MiB"
    stored = store.complete_upload("big/200mib.bin", upload_id, parts, sha256=digest.hexdigest())
    assert store.verify("big/200mib.bin", expected_sha256=stored.sha256)[0]


@pytest.mark.s3
def test_a_part_whose_checksum_is_wrong_is_refused_by_the_store(s3):
    store = s3.make_store(concurrency=1)
    real_upload_part = store.client.upload_part

    def corrupt_part_2(**kwargs):
        if kwargs["PartNumber"] == 2:
            kwargs["ChecksumSHA256"] = "A" * 43 + "="
        return real_upload_part(**kwargs)

    total = 3 * PART_SIZE
    upload_id = store.start_upload("corrupt/resumable.bin")
    store.client.upload_part = corrupt_part_2
    with pytest.raises(StorageError, match="BadDigest"):
        upload(store, "corrupt/resumable.bin", upload_id, GeneratedStream(total, seed=32),
               total_size=total)
    store.client.upload_part = real_upload_part

    # Part 1 stays stored (and part 3, if it was in flight), the refused part 2 is
    # not; the upload resumes from the first gap, skipping what is already there.
    held = [p.number for p in store.list_parts("corrupt/resumable.bin", upload_id)]
    assert held in ([1], [1, 3])
    resumed = upload(store, "corrupt/resumable.bin", upload_id,
                     GeneratedStream(total, seed=32, start=PART_SIZE), first_part=2,
                     total_size=total)
    assert [p.number for p in resumed] == [2, 3]
    stored = store.complete_upload("corrupt/resumable.bin", upload_id,
                                   store.list_parts("corrupt/resumable.bin", upload_id))
    assert stored.sha256 == sha256(generated_bytes(total, seed=32))


@pytest.mark.s3
def test_complete_upload_is_conditional_even_without_the_head_check(s3, monkeypatch):
    store = s3.store
    upload_id = store.start_upload("cond/doc.pdf")
    parts = upload(store, "cond/doc.pdf", upload_id, io.BytesIO(b"late"), total_size=4)
    store.put("cond/doc.pdf", io.BytesIO(b"first"))
    monkeypatch.setattr(store, "_refuse_existing", lambda key: None)

    with pytest.raises(ObjectExists) as refused:
        store.complete_upload("cond/doc.pdf", upload_id, parts)

    assert isinstance(refused.value.__cause__, ClientError)  # the store's 412
    assert read_all(store, "cond/doc.pdf") == b"first"
    assert s3.leftovers() == []  # refused, so surely not completed: aborted


@pytest.mark.s3
def test_a_concurrent_writer_in_another_process_is_detected(s3, monkeypatch):
    """SeaweedFS lets overlapping conditional completions both succeed; the version check catches it."""
    store = s3.store
    other = s3.make_store()
    mine = store.start_upload("twice/doc.pdf")
    my_parts = upload(store, "twice/doc.pdf", mine, io.BytesIO(b"mine"), total_size=4)
    theirs = other.start_upload("twice/doc.pdf")
    their_parts = upload(other, "twice/doc.pdf", theirs, io.BytesIO(b"theirs"), total_size=6)
    other.complete_upload("twice/doc.pdf", theirs, their_parts)
    # Play the race the store loses: neither the HEAD nor the condition stops us.
    monkeypatch.setattr(store, "_refuse_existing", lambda key: None)
    monkeypatch.setattr(store, "_conditional_writes", False)

    with pytest.raises(ObjectExists, match="at the same time"):
        store.complete_upload("twice/doc.pdf", mine, my_parts)

    versions = store.client.list_object_versions(Bucket=s3.bucket, Prefix="twice/doc.pdf")
    assert len(versions["Versions"]) == 2


@pytest.mark.s3
def test_completions_of_one_key_take_turns_within_a_process(s3):
    store = s3.store
    other = s3.make_store()  # another store object of the same process
    real_complete = store.client.complete_multipart_upload
    running = {"now": 0, "most": 0}
    guard = threading.Lock()

    def slow_complete(real):
        def complete(**kwargs):
            with guard:
                running["now"] += 1
                running["most"] = max(running["most"], running["now"])
            time.sleep(0.3)
            try:
                return real(**kwargs)
            finally:
                with guard:
                    running["now"] -= 1
        return complete

    uploads = []
    for writer in (store, other):
        upload_id = writer.start_upload("turns.bin")
        uploads.append((writer, upload_id, upload(writer, "turns.bin", upload_id,
                                                  io.BytesIO(b"x"), total_size=1)))
    store.client.complete_multipart_upload = slow_complete(real_complete)
    other.client.complete_multipart_upload = slow_complete(other.client.complete_multipart_upload)
    outcomes = []

    def complete(writer, upload_id, parts):
        try:
            outcomes.append(writer.complete_upload("turns.bin", upload_id, parts))
        except ObjectExists as e:
            outcomes.append(e)

    threads = [threading.Thread(target=complete, args=u) for u in uploads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert running["most"] == 1
    assert sorted(type(o).__name__ for o in outcomes) == ["ObjectExists", "StoredObject"]


@pytest.mark.s3
def test_abort_never_aborts_a_completed_upload_id(s3):
    """Aborting a completed upload id destroyed the object on some SeaweedFS versions."""
    store = s3.make_store()
    upload_id = store.start_upload("done.bin")
    store.complete_upload("done.bin", upload_id,
                          upload(store, "done.bin", upload_id, io.BytesIO(b"d"), total_size=1))
    aborted = []
    real_abort = store.client.abort_multipart_upload

    def recording_abort(**kwargs):
        aborted.append(kwargs["UploadId"])
        return real_abort(**kwargs)

    store.client.abort_multipart_upload = recording_abort

    store.abort_upload("done.bin", upload_id)
    assert store.sweep_incomplete_uploads(0) == []

    assert aborted == []
    assert read_all(store, "done.bin") == b"d"


@pytest.mark.s3
def test_complete_upload_whose_answer_is_lost_is_recognised(s3):
    store = s3.make_store()
    real_complete = store.client.complete_multipart_upload

    def complete_then_lose_the_answer(**kwargs):
        real_complete(**kwargs)
        raise ReadTimeoutError(endpoint_url=s3.server.endpoint)

    total = PART_SIZE + 7
    upload_id = store.start_upload("lost/resumable.bin")
    parts = upload(store, "lost/resumable.bin", upload_id, GeneratedStream(total, seed=33),
                   total_size=total)
    store.client.complete_multipart_upload = complete_then_lose_the_answer

    stored = store.complete_upload("lost/resumable.bin", upload_id, parts)

    assert stored.sha256 == sha256(generated_bytes(total, seed=33))
    assert stored.version_id
    assert store.head("lost/resumable.bin").sha256 == stored.sha256
    # Asked again (the app crashed before recording it): the same object, not a conflict.
    again = store.complete_upload("lost/resumable.bin", upload_id, parts)
    assert (again.version_id, again.sha256, again.size) == \
        (stored.version_id, stored.sha256, stored.size)


@pytest.mark.s3
def test_complete_upload_in_doubt_is_not_aborted_and_can_be_retried(s3):
    store = s3.make_store()
    real_complete = store.client.complete_multipart_upload

    def server_error(**kwargs):
        raise ClientError({"Error": {"Code": "InternalError", "Message": "try again"},
                           "ResponseMetadata": {"HTTPStatusCode": 500}},
                          "CompleteMultipartUpload")

    upload_id = store.start_upload("doubt/resumable.bin")
    parts = upload(store, "doubt/resumable.bin", upload_id, io.BytesIO(b"doubt"), total_size=5)
    store.client.complete_multipart_upload = server_error

    with pytest.raises(StorageError, match="may or may not have completed"):
        store.complete_upload("doubt/resumable.bin", upload_id, parts)

    assert s3.leftovers() == ["doubt/resumable.bin"]  # never aborted
    store.client.complete_multipart_upload = real_complete
    assert store.complete_upload("doubt/resumable.bin", upload_id, parts).size == 5


@pytest.mark.s3
def test_a_refused_completion_leaves_the_upload_open(s3):
    store = s3.store
    upload_id = store.start_upload("small/parts.bin")
    # Two parts of 1 byte: S3 refuses parts below 5 MiB except the last (EntityTooSmall).
    for number in (1, 2):
        store.upload_parts("small/parts.bin", upload_id, io.BytesIO(b"x"), first_part=number,
                           part_size=PART_SIZE, total_size=PART_SIZE * (number - 1) + 1)
    parts = store.list_parts("small/parts.bin", upload_id)

    with pytest.raises(StorageError, match="EntityTooSmall"):
        store.complete_upload("small/parts.bin", upload_id, parts)

    assert store.list_parts("small/parts.bin", upload_id) == parts


@pytest.mark.s3
def test_seaweedfs_lists_no_part_checksums_so_uploads_do_not_declare_them(s3):
    store = s3.make_store()

    assert store._declares_checksums() is False
    assert s3.leftovers() == []  # the question's throw-away upload is gone
    upload_id = store.start_upload("probe/ok.bin")
    upload(store, "probe/ok.bin", upload_id, io.BytesIO(b"x"), total_size=1)
    [listed] = store.list_parts("probe/ok.bin", upload_id)
    assert listed.checksum == ""  # this is why


@pytest.mark.s3
def test_declared_checksums_need_the_parts_returned_by_upload_parts(s3):
    """With the algorithm declared, SeaweedFS wants part checksums it does not list."""
    store = s3.make_store(declare_checksums=True)
    total = 2 * PART_SIZE + 3
    upload_id = store.start_upload("declared/clip.bin")
    first = upload(store, "declared/clip.bin", upload_id,
                   GeneratedStream(PART_SIZE + 100, seed=34), total_size=total)
    rest = upload(store, "declared/clip.bin", upload_id,
                  GeneratedStream(total, seed=34, start=PART_SIZE), first_part=2,
                  total_size=total)

    with pytest.raises(StorageError):  # the listed parts carry no checksums here
        store.complete_upload("declared/clip.bin", upload_id,
                              store.list_parts("declared/clip.bin", upload_id))
    stored = store.complete_upload("declared/clip.bin", upload_id, first + rest)

    assert stored.sha256 == sha256(generated_bytes(total, seed=34))


@pytest.mark.s3
def test_different_versions_of_a_part_are_never_guessed_between(s3):
    store = s3.store
    upload_id = store.start_upload("versions/part.bin")
    etags = {}
    for body in (b"a" * 10, b"b" * 10):  # another tool uploads part 1 twice
        answer = store.client.upload_part(Bucket=s3.bucket, Key="versions/part.bin",
                                          UploadId=upload_id, PartNumber=1, Body=body)
        etags[body] = answer["ETag"]

    with pytest.raises(StorageError, match="different versions"):
        store.list_parts("versions/part.bin", upload_id)
    with pytest.raises(StorageError, match="different versions"):
        store.complete_upload("versions/part.bin", upload_id, [UploadedPart(1, 10, "")])
    # Naming the version by its ETag settles it.
    stored = store.complete_upload("versions/part.bin", upload_id,
                                   [UploadedPart(1, 10, "", etag=etags[b"b" * 10])])
    assert read_all(store, "versions/part.bin") == b"b" * 10
    assert stored.sha256 == sha256(b"b" * 10)


@pytest.mark.s3
def test_resumable_objects_are_locked_and_tagged(s3):
    store = s3.store
    total = PART_SIZE + 1
    upload_id = store.start_upload("locked/video.mp4", content_type="video/mp4")
    parts = upload(store, "locked/video.mp4", upload_id, GeneratedStream(total, seed=35),
                   total_size=total)
    stored = store.complete_upload("locked/video.mp4", upload_id, parts)

    head = store.client.head_object(Bucket=s3.bucket, Key="locked/video.mp4")
    assert head["ObjectLockMode"] == "COMPLIANCE"
    tags = store.client.get_object_tagging(Bucket=s3.bucket, Key="locked/video.mp4",
                                           VersionId=stored.version_id)["TagSet"]
    assert {"Key": "sha256", "Value": stored.sha256} in tags
    with pytest.raises(ClientError):
        store.client.delete_object(Bucket=s3.bucket, Key="locked/video.mp4",
                                   VersionId=stored.version_id)


# -- S3: check_setup -----------------------------------------------------------------


@pytest.mark.s3
def test_check_setup_reports_a_bucket_without_versioning_or_lock(s3):
    plain = s3.make_store(bucket=s3.bucket + "-plain")
    plain.ensure_bucket(object_lock=False)

    problems = plain.check_setup()

    assert len(problems) == 2, problems
    assert any("versioning" in p and "Enabled" in p for p in problems)
    assert any("Object Lock is not enabled" in p for p in problems)
    # Without a lock mode of its own, only versioning is required.
    unlocked = s3.make_store(bucket=s3.bucket + "-plain", lock_mode="none")
    assert [p for p in unlocked.check_setup() if "versioning" in p] == unlocked.check_setup()
    assert len(unlocked.check_setup()) == 1


@pytest.mark.s3
def test_check_setup_reports_a_missing_bucket(s3):
    problems = s3.make_store(bucket=s3.bucket + "-missing").check_setup()

    assert len(problems) == 1 and "does not exist" in problems[0], problems


@pytest.mark.s3
def test_check_setup_of_an_object_lock_bucket_is_clean(s3):
    fresh = s3.make_store(bucket=s3.bucket + "-locked")
    fresh.ensure_bucket(object_lock=True)

    assert fresh.check_setup() == []


# -- local ---------------------------------------------------------------------------


def test_local_upload_layout_is_hidden_and_parts_are_whole_files(local):
    store = local.store
    upload_id = store.start_upload("cases/1/clip.bin", metadata={"record-id": "1"})
    parts = store.upload_parts("cases/1/clip.bin", upload_id, io.BytesIO(b"abcdefghij"),
                               first_part=1, part_size=4, total_size=10)

    directory = local.root / ".uploads" / upload_id
    names = sorted(p.name for p in directory.iterdir())
    assert names[-1] == "upload.json"
    assert [n[:6] for n in names[:-1]] == ["00001-", "00002-", "00003-"]
    assert [p.size for p in parts] == [4, 4, 2]
    assert list(store.list_keys()) == []
    assert local.leftovers() == []

    stored = store.complete_upload("cases/1/clip.bin", upload_id, parts)
    assert not directory.exists()
    assert (local.root / "cases" / "1" / "clip.bin").stat().st_mode & 0o777 == 0o444
    assert store.head("cases/1/clip.bin").metadata == {"record-id": "1"}
    assert stored.sha256 == sha256(b"abcdefghij")
    assert list(store.list_keys()) == ["cases/1/clip.bin"]
    assert list((local.root / ".uploads").iterdir()) == []


def test_local_part_changed_on_disk_is_refused_at_completion(local):
    store = local.store
    upload_id = store.start_upload("tamper.bin")
    parts = store.upload_parts("tamper.bin", upload_id, io.BytesIO(b"abcdefgh"),
                               first_part=1, part_size=4, total_size=8)
    [first_file] = (local.root / ".uploads" / upload_id).glob("00001-*.part")
    first_file.write_bytes(b"ABCD")

    with pytest.raises(StorageError, match="changed on disk"):
        store.complete_upload("tamper.bin", upload_id, parts)

    assert not store.exists("tamper.bin")
    assert local.leftovers() == []
    assert len(store.list_parts("tamper.bin", upload_id)) == 2  # still open


def test_local_complete_checks_a_given_sha256(local):
    store = local.store
    upload_id = store.start_upload("digest.bin")
    parts = store.upload_parts("digest.bin", upload_id, io.BytesIO(b"abc"),
                               first_part=1, part_size=4, total_size=3)

    with pytest.raises(StorageError, match="nothing was stored"):
        store.complete_upload("digest.bin", upload_id, parts, sha256=sha256(b"abd"))

    assert not store.exists("digest.bin")
    assert store.complete_upload("digest.bin", upload_id, parts,
                                 sha256=sha256(b"abc")).sha256 == sha256(b"abc")


def test_local_upload_ids_cannot_reach_outside(local, tmp_path):
    store = local.store
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "upload.json").write_text('{"key": "x.bin"}')
    for upload_id in ["../../victim", "..", str(victim), "A" * 32]:
        with pytest.raises(FileNotFoundError):
            store.list_parts("x.bin", upload_id)
        with pytest.raises(FileNotFoundError):
            store.upload_parts("x.bin", upload_id, io.BytesIO(b"x"), first_part=1,
                               part_size=4, total_size=1)
        store.abort_upload("x.bin", upload_id)
    assert (victim / "upload.json").exists()


def test_local_sweep_removes_stale_leftovers_of_a_crash(local):
    store = local.store
    kept = store.start_upload("kept.bin")
    uploads = local.root / ".uploads"
    staging = uploads / (".tmp-" + "0" * 32)
    trash = uploads / (".trash-" + "1" * 32 + "-abcd")
    for leftover in (staging, trash):
        leftover.mkdir()
        (leftover / "00001-x.part").write_bytes(b"x")
        old = time.time() - 7200
        os.utime(leftover, (old, old))

    assert store.sweep_incomplete_uploads(3600, keep=[kept]) == []

    assert sorted(p.name for p in uploads.iterdir()) == [kept]
