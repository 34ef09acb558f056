"""The resumable-upload contract. Every backend runs this same suite unchanged.

An object is sent in parts of PART_SIZE (5 MiB, the smallest S3 accepts) over
one or more `upload_parts` calls, then joined by `complete_upload`. The
`store` and `backend` fixtures (conftest.py) give a LocalStore and an S3Store
on SeaweedFS.
"""

from __future__ import annotations

import base64
import hashlib
import io
import threading
from datetime import datetime, timedelta, timezone

import pytest

from storage import ObjectExists, PartConflict, StorageError, StoredObject, UploadedPart
from tests.storage.helpers import PART_SIZE, GeneratedStream, generated_bytes

MIB = 1024 * 1024


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def b64sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def read_all(store, key) -> bytes:
    with store.open(key) as reader:
        return b"".join(reader)


def part_threads() -> list[threading.Thread]:
    """Uploader threads still alive (the pools name them '<scheme>-part_<n>')."""
    return [t for t in threading.enumerate() if "-part" in t.name and t.is_alive()]


class ExplodingStream:
    def read(self, n=-1):
        raise AssertionError("the stream was read")


def upload(store, key, upload_id, stream, *, first_part=1, total_size, digest=None):
    return store.upload_parts(key, upload_id, stream, first_part=first_part,
                              part_size=PART_SIZE, total_size=total_size, digest=digest)


def test_upload_in_one_call_then_complete(store):
    total = 2 * PART_SIZE + 12345
    data = generated_bytes(total, seed=21)
    upload_id = store.start_upload("video/1.mp4", content_type="video/mp4",
                                   metadata={"record-id": "9"})
    digest = hashlib.sha256()
    # The stream holds more than the object: exactly total_size bytes are read.
    source = GeneratedStream(total + 3 * MIB, seed=21)

    parts = upload(store, "video/1.mp4", upload_id, source, total_size=total, digest=digest)

    assert source.position == total
    assert [(p.number, p.size) for p in parts] == \
        [(1, PART_SIZE), (2, PART_SIZE), (3, 12345)]
    assert [p.checksum for p in parts] == [
        b64sha256(data[:PART_SIZE]), b64sha256(data[PART_SIZE:2 * PART_SIZE]),
        b64sha256(data[2 * PART_SIZE:])]
    assert all(isinstance(p, UploadedPart) for p in parts)
    assert digest.hexdigest() == sha256(data)
    assert not store.exists("video/1.mp4")  # nothing is visible before completion
    assert list(store.list_keys()) == []

    stored = store.complete_upload("video/1.mp4", upload_id, parts, sha256=digest.hexdigest())

    assert isinstance(stored, StoredObject)
    assert (stored.size, stored.sha256) == (total, sha256(data))
    assert (stored.content_type, stored.metadata) == ("video/mp4", {"record-id": "9"})
    head = store.head("video/1.mp4")
    assert (head.size, head.sha256, head.version_id) == (total, sha256(data), stored.version_id)
    assert (head.content_type, head.metadata) == ("video/mp4", {"record-id": "9"})
    assert read_all(store, "video/1.mp4") == data
    assert store.verify("video/1.mp4") == (True, sha256(data))
    # The upload is gone once completed.
    with pytest.raises(FileNotFoundError):
        store.list_parts("video/1.mp4", upload_id)
    assert upload_id not in [u["upload_id"] for u in store.list_uploads()]
    assert part_threads() == []


def test_stream_cut_mid_part_keeps_whole_parts_and_resumes(store, backend):
    total = 3 * PART_SIZE + 999
    data = generated_bytes(total, seed=22)
    upload_id = store.start_upload("cut/clip.mov")
    digest = hashlib.sha256()
    # The client's connection drops in the middle of part 3.
    first = GeneratedStream(2 * PART_SIZE + PART_SIZE // 2, seed=22)

    stored_first = upload(store, "cut/clip.mov", upload_id, first, total_size=total,
                          digest=digest)

    assert [p.number for p in stored_first] == [1, 2]
    assert first.position == 2 * PART_SIZE + PART_SIZE // 2  # read to the drop
    # The digest covers exactly the stored parts, not the dropped piece.
    assert digest.hexdigest() == sha256(data[:2 * PART_SIZE])

    listed = store.list_parts("cut/clip.mov", upload_id)
    assert [(p.number, p.size) for p in listed] == [(1, PART_SIZE), (2, PART_SIZE)]
    for held, returned in zip(listed, stored_first):
        assert held.checksum in ("", returned.checksum)  # "" where the store does not say
    # No half-written part lies around (local: no temporary file; S3: just this upload).
    assert backend.leftovers() in ([], ["cut/clip.mov"])

    # A later request resumes after the last stored part.
    resumed = upload(store, "cut/clip.mov", upload_id,
                     GeneratedStream(total, seed=22, start=2 * PART_SIZE),
                     first_part=len(listed) + 1, total_size=total)
    assert [(p.number, p.size) for p in resumed] == [(3, PART_SIZE), (4, 999)]

    # The parts as listed by the store (the source of truth) complete it.
    stored = store.complete_upload("cut/clip.mov", upload_id, listed + resumed)

    assert (stored.size, stored.sha256) == (total, sha256(data))
    assert store.head("cut/clip.mov").sha256 == sha256(data)
    assert read_all(store, "cut/clip.mov") == data


def test_complete_with_the_listed_parts_only(store):
    total = PART_SIZE + 10
    data = generated_bytes(total, seed=23)
    upload_id = store.start_upload("listed.bin")
    upload(store, "listed.bin", upload_id, io.BytesIO(data), total_size=total)

    stored = store.complete_upload("listed.bin", upload_id,
                                   store.list_parts("listed.bin", upload_id))

    assert stored.sha256 == sha256(data)
    assert read_all(store, "listed.bin") == data


def test_exception_from_the_stream_propagates_and_keeps_stored_parts(store):
    total = 3 * PART_SIZE
    upload_id = store.start_upload("broken/stream.bin")
    source = GeneratedStream(total, seed=24, fail_after=2 * PART_SIZE + 100)

    with pytest.raises(ConnectionResetError):  # the stream's own exception, unchanged
        upload(store, "broken/stream.bin", upload_id, source, total_size=total)

    assert part_threads() == []  # in-flight parts finished before it propagated
    listed = store.list_parts("broken/stream.bin", upload_id)
    assert [p.number for p in listed] == [1, 2]
    assert not store.exists("broken/stream.bin")

    upload(store, "broken/stream.bin", upload_id,
           GeneratedStream(total, seed=24, start=2 * PART_SIZE), first_part=3,
           total_size=total)
    stored = store.complete_upload("broken/stream.bin", upload_id,
                                   store.list_parts("broken/stream.bin", upload_id))
    assert stored.sha256 == sha256(generated_bytes(total, seed=24))


def test_parts_are_write_once_same_bytes_skipped_other_bytes_refused(store):
    total = 2 * PART_SIZE + 5
    data = generated_bytes(total, seed=25)
    upload_id = store.start_upload("again.bin")
    first = upload(store, "again.bin", upload_id, GeneratedStream(2 * PART_SIZE, seed=25),
                   total_size=total)
    assert [p.number for p in first] == [1, 2]

    # The client resumes too early: parts 1-2 come again with the same bytes.
    digest = hashlib.sha256()
    again = upload(store, "again.bin", upload_id, io.BytesIO(data), total_size=total,
                   digest=digest)

    assert [(p.number, p.size) for p in again] == [(1, PART_SIZE), (2, PART_SIZE), (3, 5)]
    assert [p.checksum for p in again[:2]] == [p.checksum for p in first]
    assert digest.hexdigest() == sha256(data)  # the digest covers every returned part
    listed = store.list_parts("again.bin", upload_id)
    assert [(p.number, p.size) for p in listed] == [(1, PART_SIZE), (2, PART_SIZE), (3, 5)]

    # Other bytes for a stored part: refused, the stored part stays.
    other = bytearray(data)
    other[PART_SIZE + 7] ^= 0xFF  # one byte of part 2
    with pytest.raises(PartConflict):
        upload(store, "again.bin", upload_id, io.BytesIO(bytes(other)), total_size=total)
    with pytest.raises(ValueError):  # PartConflict is a ValueError
        upload(store, "again.bin", upload_id, io.BytesIO(b"y" * total), total_size=total)

    assert store.list_parts("again.bin", upload_id) == listed
    assert store.complete_upload("again.bin", upload_id, listed).sha256 == sha256(data)
    assert read_all(store, "again.bin") == data


def test_empty_object_is_one_empty_part(store):
    upload_id = store.start_upload("empty.txt", content_type="text/plain")

    parts = upload(store, "empty.txt", upload_id, io.BytesIO(b""), total_size=0)

    assert [(p.number, p.size, p.checksum) for p in parts] == [(1, 0, b64sha256(b""))]
    stored = store.complete_upload("empty.txt", upload_id, parts)
    assert (stored.size, stored.sha256) == (0, sha256(b""))
    assert read_all(store, "empty.txt") == b""


def test_an_offset_at_the_end_reads_nothing(store):
    upload_id = store.start_upload("end.bin")

    assert upload(store, "end.bin", upload_id, ExplodingStream(), first_part=3,
                  total_size=2 * PART_SIZE) == []


def test_bad_arguments_are_refused_before_reading(store):
    upload_id = store.start_upload("args.bin")
    total = 2 * PART_SIZE

    def call(**overrides):
        arguments = {"first_part": 1, "part_size": PART_SIZE, "total_size": total}
        arguments.update(overrides)
        store.upload_parts("args.bin", upload_id, ExplodingStream(), **arguments)

    for overrides in [
        {"first_part": 0},
        {"first_part": -1},
        {"part_size": store.min_part_size - 1},
        {"part_size": 0},
        {"first_part": 4},  # starts at 3 * PART_SIZE, beyond the object
        {"total_size": -1},
        {"first_part": 1.0},
        {"part_size": "5"},
        {"total_size": 100_000 * PART_SIZE},  # more than 10,000 parts
    ]:
        with pytest.raises(ValueError):
            call(**overrides)
    with pytest.raises(ValueError):
        store.upload_parts("../args.bin", upload_id, ExplodingStream(), first_part=1,
                           part_size=PART_SIZE, total_size=total)
    assert store.list_parts("args.bin", upload_id) == []


def test_s3_part_size_minimum(store):
    if store.scheme == "s3":
        assert store.min_part_size == 5 * MIB
    else:
        assert store.min_part_size == 1


def test_start_upload_refuses_a_taken_key_and_bad_input(store):
    store.put("taken.txt", io.BytesIO(b"original"))

    with pytest.raises(ObjectExists):
        store.start_upload("taken.txt")
    for bad in [{"content_type": "text/html\r\nX-Evil: 1"}, {"metadata": {"Upper": "x"}},
                {"metadata": {"sha256": "0" * 64}}]:
        with pytest.raises(ValueError):
            store.start_upload("fresh.txt", **bad)
    with pytest.raises(ValueError):
        store.start_upload(".hidden")
    assert store.list_uploads() == []
    assert read_all(store, "taken.txt") == b"original"


def test_complete_refuses_parts_with_a_gap(store):
    total = 3 * PART_SIZE
    upload_id = store.start_upload("gap.bin")
    parts = upload(store, "gap.bin", upload_id, GeneratedStream(total, seed=26),
                   total_size=total)

    for bad in ([parts[0], parts[2]], [parts[1], parts[2]], [], [parts[0], parts[0]],
                [parts[1], parts[0]], [("1", "etag")]):
        with pytest.raises(ValueError):
            store.complete_upload("gap.bin", upload_id, bad)

    assert not store.exists("gap.bin")
    assert [p.number for p in store.list_parts("gap.bin", upload_id)] == [1, 2, 3]
    assert store.complete_upload("gap.bin", upload_id, parts).size == total


def test_complete_refuses_parts_the_store_does_not_hold(store):
    total = 2 * PART_SIZE
    upload_id = store.start_upload("mismatch.bin")
    # Only part 1 is stored: the stream ends before part 2 is whole.
    [stored] = upload(store, "mismatch.bin", upload_id,
                      GeneratedStream(PART_SIZE + 10, seed=27), total_size=total)
    [held] = store.list_parts("mismatch.bin", upload_id)

    bad_lists = [
        [stored, UploadedPart(number=2, size=PART_SIZE, checksum="")],  # part 2 missing
        [UploadedPart(number=1, size=PART_SIZE - 1, checksum="")],  # wrong size
        [UploadedPart(number=1, size=PART_SIZE, checksum=b64sha256(b"other"))],
    ]
    if held.etag:
        bad_lists.append([UploadedPart(number=1, size=PART_SIZE, checksum="",
                                       etag='"0123456789abcdef0123456789abcdef"')])
    for bad in bad_lists:
        if not held.checksum and bad[0].checksum and bad[0].size == held.size \
                and len(bad) == 1 and not bad[0].etag:
            continue  # a store that reports no part checksums cannot compare this one
        with pytest.raises(StorageError):
            store.complete_upload("mismatch.bin", upload_id, bad)

    assert not store.exists("mismatch.bin")
    assert store.list_parts("mismatch.bin", upload_id) == [held]  # still open
    assert store.complete_upload("mismatch.bin", upload_id, [stored]).size == PART_SIZE


def test_complete_refuses_a_key_taken_meanwhile_and_keeps_the_original(store, backend):
    total = PART_SIZE + 1
    upload_id = store.start_upload("race/doc.pdf")
    parts = upload(store, "race/doc.pdf", upload_id, GeneratedStream(total, seed=28),
                   total_size=total)
    store.put("race/doc.pdf", io.BytesIO(b"%PDF the other writer"))

    with pytest.raises(ObjectExists):
        store.complete_upload("race/doc.pdf", upload_id, parts)

    assert read_all(store, "race/doc.pdf") == b"%PDF the other writer"
    assert store.head("race/doc.pdf").sha256 == sha256(b"%PDF the other writer")
    # The upload could never complete: it is gone.
    with pytest.raises(FileNotFoundError):
        store.list_parts("race/doc.pdf", upload_id)
    assert backend.leftovers() == []


def test_racing_completions_of_one_key_exactly_one_wins(store):
    writers = 4
    uploads = []
    for index in range(writers):
        body = f"writer {index} ".encode() * 1000
        upload_id = store.start_upload("race.bin")
        parts = upload(store, "race.bin", upload_id, io.BytesIO(body), total_size=len(body))
        uploads.append((upload_id, parts, body))
    barrier = threading.Barrier(writers)
    outcomes: list[object] = [None] * writers

    def complete(index: int) -> None:
        upload_id, parts, _ = uploads[index]
        barrier.wait()
        try:
            outcomes[index] = store.complete_upload("race.bin", upload_id, parts)
        except Exception as e:  # noqa: BLE001 - collected for the assertions
            outcomes[index] = e

    threads = [threading.Thread(target=complete, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [i for i, o in enumerate(outcomes) if isinstance(o, StoredObject)]
    assert len(winners) == 1, outcomes
    assert all(isinstance(o, ObjectExists) for i, o in enumerate(outcomes)
               if i != winners[0]), outcomes
    assert read_all(store, "race.bin") == uploads[winners[0]][2]


def test_abort_discards_the_upload_and_is_idempotent(store, backend):
    total = 2 * PART_SIZE
    upload_id = store.start_upload("aborted.bin")
    parts = upload(store, "aborted.bin", upload_id, GeneratedStream(total, seed=29),
                   total_size=total)

    store.abort_upload("aborted.bin", upload_id)

    with pytest.raises(FileNotFoundError):
        store.list_parts("aborted.bin", upload_id)
    with pytest.raises(FileNotFoundError):
        store.complete_upload("aborted.bin", upload_id, parts)
    with pytest.raises(FileNotFoundError):
        upload(store, "aborted.bin", upload_id, GeneratedStream(total, seed=29),
               total_size=total)
    assert not store.exists("aborted.bin")
    assert list(store.list_keys()) == []
    assert store.list_uploads() == []
    assert backend.leftovers() == []
    store.abort_upload("aborted.bin", upload_id)  # again: fine
    # The key was never taken.
    store.put("aborted.bin", io.BytesIO(b"later"))
    assert read_all(store, "aborted.bin") == b"later"


def test_abort_after_completion_leaves_the_object_alone(store):
    body = b"evidence" * 100
    upload_id = store.start_upload("kept.bin")
    parts = upload(store, "kept.bin", upload_id, io.BytesIO(body), total_size=len(body))
    store.complete_upload("kept.bin", upload_id, parts)

    store.abort_upload("kept.bin", upload_id)

    assert read_all(store, "kept.bin") == body
    assert store.verify("kept.bin") == (True, sha256(body))


def test_unknown_uploads_are_not_found(store):
    other = store.start_upload("a.bin")
    for key, upload_id in [("a.bin", "0" * 32), ("b.bin", other), ("a.bin", "no-such-upload")]:
        with pytest.raises(FileNotFoundError):
            store.list_parts(key, upload_id)
        with pytest.raises(FileNotFoundError):
            store.complete_upload(key, upload_id, [UploadedPart(1, 0, "")])
        store.abort_upload(key, upload_id)  # unknown: fine
    # An upload id only works with its own key, and the wrong key did not abort it.
    assert store.list_parts("a.bin", other) == []


def test_list_uploads_shows_open_uploads(store):
    before = datetime.now(timezone.utc) - timedelta(seconds=5)
    first = store.start_upload("open/1.bin")
    second = store.start_upload("open/2.bin")
    done = store.start_upload("open/3.bin")
    store.complete_upload("open/3.bin", done,
                          upload(store, "open/3.bin", done, io.BytesIO(b"3"), total_size=1))

    uploads = store.list_uploads()

    assert sorted((u["key"], u["upload_id"]) for u in uploads) == \
        [("open/1.bin", first), ("open/2.bin", second)]
    for entry in uploads:
        assert entry["initiated"].tzinfo is not None
        assert before <= entry["initiated"] <= datetime.now(timezone.utc) + timedelta(seconds=5)
    assert list(store.list_keys()) == ["open/3.bin"]  # uploads are not keys


def test_sweep_never_aborts_uploads_in_keep(store):
    resumable = store.start_upload("sweep/resumable.bin")
    upload(store, "sweep/resumable.bin", resumable, io.BytesIO(b"r"), total_size=1)
    abandoned = store.start_upload("sweep/abandoned.bin")

    assert store.sweep_incomplete_uploads(older_than_seconds=3600, keep=()) == []
    swept = store.sweep_incomplete_uploads(older_than_seconds=0, keep=[resumable])

    assert [(u["key"], u["upload_id"]) for u in swept] == \
        [("sweep/abandoned.bin", abandoned)]
    assert [p.number for p in store.list_parts("sweep/resumable.bin", resumable)] == [1]
    with pytest.raises(FileNotFoundError):
        store.list_parts("sweep/abandoned.bin", abandoned)
    assert store.sweep_incomplete_uploads(older_than_seconds=0, keep={resumable}) == []
    with pytest.raises(ValueError):
        store.sweep_incomplete_uploads(older_than_seconds=0, keep=resumable)  # one string
    swept = store.sweep_incomplete_uploads(older_than_seconds=0)
    assert [u["upload_id"] for u in swept] == [resumable]
    assert store.list_uploads() == []


def test_check_setup_of_a_working_store_is_clean(store):
    assert store.check_setup() == []


def test_check_setup_of_a_dead_store_reports_a_problem(backend):
    problems = backend.dead_store().check_setup()

    assert problems and all(isinstance(p, str) and p for p in problems)
