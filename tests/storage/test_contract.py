"""The object-store contract. Every backend runs this same suite unchanged.

The `store` and `backend` fixtures (conftest.py) give a LocalStore on a
temporary directory and an S3Store on a fresh Object Lock bucket in SeaweedFS.
"""

from __future__ import annotations

import hashlib
import io
import threading
import urllib.request
from datetime import date, datetime, timedelta, timezone

import pytest

from storage import ObjectExists, StorageError, StoredObject
from tests.storage.helpers import PART_SIZE, GeneratedStream

MIB = 1024 * 1024


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_all(store, key, **kwargs) -> bytes:
    with store.open(key, **kwargs) as reader:
        return b"".join(reader)


class ExplodingStream:
    """A stream that must never be read: invalid input is refused before reading."""

    def read(self, n=-1):
        raise AssertionError("the stream was read")


def test_put_then_head_and_open_round_trip(store):
    body = b"record of inspection, 2026-11-03\n" * 100
    stored = store.put("cases/1/records/1-notes.txt", io.BytesIO(body),
                       content_type="text/plain; charset=utf-8", metadata={"record-id": "1"})

    assert isinstance(stored, StoredObject)
    assert stored.key == "cases/1/records/1-notes.txt"
    assert stored.size == len(body)
    head = store.head("cases/1/records/1-notes.txt")
    assert head.size == len(body)
    assert head.content_type == "text/plain; charset=utf-8"
    assert head.metadata == {"record-id": "1"}
    assert head.version_id == stored.version_id
    assert read_all(store, "cases/1/records/1-notes.txt") == body
    assert store.exists("cases/1/records/1-notes.txt")


def test_put_records_the_sha256_of_the_bytes(store):
    body = bytes(range(256)) * 1000
    stored = store.put("digest/a.bin", io.BytesIO(body))

    assert stored.sha256 == sha256(body)
    assert store.head("digest/a.bin").sha256 == sha256(body)


def test_empty_object_is_stored(store):
    stored = store.put("empty.bin", io.BytesIO(b""))

    assert stored.size == 0
    assert stored.sha256 == sha256(b"")
    assert read_all(store, "empty.bin") == b""


def test_put_refuses_an_existing_key_and_keeps_the_original(store):
    store.put("once.txt", io.BytesIO(b"first"))

    with pytest.raises(ObjectExists):
        store.put("once.txt", io.BytesIO(b"second"))

    assert read_all(store, "once.txt") == b"first"
    assert store.head("once.txt").sha256 == sha256(b"first")


def test_put_refuses_an_existing_key_before_reading_the_stream(store):
    store.put("once.txt", io.BytesIO(b"first"))

    with pytest.raises(ObjectExists):
        store.put("once.txt", ExplodingStream())


def test_racing_writers_to_one_key_exactly_one_wins(store):
    writers = 6
    barrier = threading.Barrier(writers)
    outcomes: list[object] = [None] * writers

    def write(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = store.put("race.txt", io.BytesIO(f"writer {index}".encode()))
        except Exception as e:  # noqa: BLE001 - collected for the assertions
            outcomes[index] = e

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [o for o in outcomes if isinstance(o, StoredObject)]
    assert len(winners) == 1, outcomes
    assert all(isinstance(o, ObjectExists) for o in outcomes if o is not winners[0]), outcomes
    assert store.head("race.txt").sha256 == winners[0].sha256


def test_missing_object_raises_file_not_found(store):
    assert not store.exists("no/such/key")
    with pytest.raises(FileNotFoundError):
        store.head("no/such/key")
    with pytest.raises(FileNotFoundError):
        store.open("no/such/key")
    with pytest.raises(FileNotFoundError):
        store.read_range("no/such/key", 0, 10)
    with pytest.raises(FileNotFoundError):
        store.verify("no/such/key")


def test_read_range_returns_inclusive_byte_ranges(store):
    body = bytes(range(256)) * 4
    store.put("range.bin", io.BytesIO(body))

    assert store.read_range("range.bin", 0, 0) == body[:1]
    assert store.read_range("range.bin", 10, 19) == body[10:20]
    assert store.read_range("range.bin", 1000, 5000) == body[1000:]  # end clamped
    with pytest.raises(ValueError):
        store.read_range("range.bin", len(body), len(body) + 10)  # HTTP 416
    with pytest.raises(ValueError):
        store.read_range("range.bin", 20, 10)
    with pytest.raises(ValueError):
        store.read_range("range.bin", -1, 10)


def test_open_streams_in_pieces(store):
    body = b"x" * (3 * MIB + 17)
    store.put("stream.bin", io.BytesIO(body))

    with store.open("stream.bin") as reader:
        assert reader.size == len(body)
        first = reader.read(1000)
        assert first == body[:1000]
        chunks = list(reader)
    assert all(len(chunk) <= MIB for chunk in chunks)
    assert first + b"".join(chunks) == body


def test_verify_finds_an_intact_object_intact(store):
    body = b"photo bytes" * 1000
    stored = store.put("verify/ok.jpg", io.BytesIO(body), content_type="image/jpeg")

    assert store.verify("verify/ok.jpg") == (True, sha256(body))
    assert store.verify("verify/ok.jpg", expected_sha256=stored.sha256) == (True, sha256(body))


def test_verify_reports_a_digest_that_does_not_match(store):
    store.put("verify/other.bin", io.BytesIO(b"abc"))

    matches, actual = store.verify("verify/other.bin", expected_sha256=sha256(b"abd"))

    assert not matches
    assert actual == sha256(b"abc")


def test_multipart_sized_upload_streams_and_round_trips(store):
    size = 12 * MIB + 12345  # more than two S3 parts of PART_SIZE
    assert size > 2 * PART_SIZE
    source = GeneratedStream(size, seed=7)

    stored = store.put("video/body-cam.mp4", source, content_type="video/mp4", size_hint=size)

    assert source.position == size
    assert stored.size == size
    assert stored.sha256 == source.hexdigest()
    head = store.head("video/body-cam.mp4")
    assert (head.size, head.sha256, head.content_type) == (size, stored.sha256, "video/mp4")
    digest = hashlib.sha256()
    with store.open("video/body-cam.mp4") as reader:
        for chunk in reader:
            digest.update(chunk)
    assert digest.hexdigest() == stored.sha256
    assert store.verify("video/body-cam.mp4") == (True, stored.sha256)
    assert store.read_range("video/body-cam.mp4", size - 10, size + 100) == \
        store.read_range("video/body-cam.mp4", size - 10, size - 1)


@pytest.mark.parametrize("fail_after", [100, 7 * MIB], ids=["small", "multipart"])
def test_stream_failing_midway_leaves_nothing(store, backend, fail_after):
    source = GeneratedStream(12 * MIB, fail_after=fail_after)

    with pytest.raises(StorageError) as raised:
        store.put("broken/upload.bin", source)

    assert isinstance(raised.value.__cause__, ConnectionResetError)
    assert not store.exists("broken/upload.bin")
    assert list(store.list_keys("broken/")) == []
    assert backend.leftovers() == []
    # The key was never taken: a later complete upload succeeds.
    store.put("broken/upload.bin", io.BytesIO(b"second try"))
    assert read_all(store, "broken/upload.bin") == b"second try"


INVALID_KEYS = [
    "",
    "/etc/passwd",
    "../outside",
    "a/../../outside",
    "a/./b",
    "a//b",
    "a/",
    ".hidden",
    "a/.meta.json",
    "with space",
    "back\\slash",
    "现场照片.jpg",
    "a" * 1025,
    "nul\x00byte",
]


def test_invalid_keys_are_refused(store):
    for key in INVALID_KEYS:
        with pytest.raises(ValueError):
            store.put(key, ExplodingStream())
        with pytest.raises(ValueError):
            store.head(key)
        with pytest.raises(ValueError):
            store.open(key)
        with pytest.raises(ValueError):
            store.exists(key)
        with pytest.raises(ValueError):
            store.read_range(key, 0, 1)
    assert list(store.list_keys()) == []


def test_invalid_prefix_is_refused(store):
    for prefix in ["../", "/abs", "a/../", ".hidden", "a//"]:
        with pytest.raises(ValueError):
            list(store.list_keys(prefix))


def test_metadata_a_store_cannot_keep_is_refused(store):
    for metadata in [
        {"Upper": "x"},
        {"sha256": "0" * 64},
        {"name": "现场照片.jpg"},
        {"name": " padded "},
        {"big": "x" * 3000},
        {"number": 1},
    ]:
        with pytest.raises(ValueError):
            store.put("meta.bin", ExplodingStream(), metadata=metadata)
    assert not store.exists("meta.bin")


def test_invalid_content_type_is_refused(store):
    with pytest.raises(ValueError):
        store.put("ct.bin", ExplodingStream(), content_type="text/html\r\nX-Evil: 1")


def test_list_keys_lists_objects_in_order_by_prefix(store):
    for key in ["b/2.txt", "a/1.txt", "a/10.txt", "a.txt", "a/sub/3.txt", "c.txt"]:
        store.put(key, io.BytesIO(key.encode()))

    assert list(store.list_keys()) == sorted(
        ["a.txt", "a/1.txt", "a/10.txt", "a/sub/3.txt", "b/2.txt", "c.txt"])
    assert list(store.list_keys("a/")) == ["a/1.txt", "a/10.txt", "a/sub/3.txt"]
    assert list(store.list_keys("a/1")) == ["a/1.txt", "a/10.txt"]
    assert list(store.list_keys("zzz")) == []


def _download(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read(), response.headers


def test_url_downloads_the_bytes_and_never_renders_html_inline(store):
    page = b"<html><script>alert(1)</script></html>"
    store.put("html/page.html", io.BytesIO(page), content_type="text/html")
    store.put("img/photo.png", io.BytesIO(b"\x89PNG fake"), content_type="image/png")

    url = store.url("html/page.html", filename="page.html")
    if url is None:
        assert store.scheme == "file"  # served through the app with download_headers()
        return
    body, headers = _download(url)
    assert body == page
    assert headers["Content-Disposition"].startswith("attachment")
    assert 'filename="page.html"' in headers["Content-Disposition"]

    body, headers = _download(store.url("img/photo.png"))
    assert body == b"\x89PNG fake"
    assert headers["Content-Type"] == "image/png"
    assert headers["Content-Disposition"] == "inline"

    # An override of the type is itself checked: HTML stays an attachment.
    body, headers = _download(store.url("img/photo.png", content_type="text/html"))
    assert headers["Content-Disposition"] == "attachment"


def test_url_of_a_missing_object(store):
    if store.scheme == "file":
        assert store.url("no/such/key") is None
    else:
        with pytest.raises(FileNotFoundError):
            store.url("no/such/key")


def test_ping_succeeds_on_a_live_store(store):
    store.ping()


def test_ping_on_a_dead_store_raises_storage_error(backend):
    with pytest.raises(StorageError):
        backend.dead_store().ping()


def test_object_lock_reports_a_boolean(store):
    assert store.object_lock is (store.scheme == "s3")


# -- retention (retain_until) ------------------------------------------------------


def _in_days(days: float) -> datetime:
    return (datetime.now(timezone.utc) + timedelta(days=days)).replace(microsecond=0)


def test_retain_until_extends_and_returns_the_end_in_force(store):
    store.put("archive/1/record.pdf", io.BytesIO(b"%PDF-1.7 archived"))
    until = _in_days(30 * 365)

    kept = store.retain_until("archive/1/record.pdf", until)

    assert kept == until
    assert kept.tzinfo is not None and kept.utcoffset() == timedelta(0)
    # Asking again for the same end changes nothing and answers the same.
    assert store.retain_until("archive/1/record.pdf", until) == until
    further = until + timedelta(days=400)
    assert store.retain_until("archive/1/record.pdf", further) == further


def test_retain_until_never_shortens(store):
    store.put("archive/2/record.pdf", io.BytesIO(b"kept long"))
    long_end = _in_days(3650)
    store.retain_until("archive/2/record.pdf", long_end)

    assert store.retain_until("archive/2/record.pdf", _in_days(30)) == long_end
    assert store.retain_until("archive/2/record.pdf", long_end - timedelta(seconds=1)) == long_end
    # The end in force is still the long one.
    assert store.retain_until("archive/2/record.pdf", _in_days(2)) == long_end


def test_retain_until_takes_naive_utc_and_other_zones_and_rounds_up_to_the_second(store):
    store.put("archive/3/record.pdf", io.BytesIO(b"zones"))
    naive_utc = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0) \
        + timedelta(days=100)
    assert store.retain_until("archive/3/record.pdf", naive_utc) \
        == naive_utc.replace(tzinfo=timezone.utc)

    beijing = timezone(timedelta(hours=8))
    later = (naive_utc + timedelta(days=1, microseconds=250_000)).replace(tzinfo=timezone.utc)
    kept = store.retain_until("archive/3/record.pdf", later.astimezone(beijing))
    assert kept == later.replace(microsecond=0) + timedelta(seconds=1)
    assert kept >= later


def test_retain_until_of_a_missing_object_raises_file_not_found(store):
    with pytest.raises(FileNotFoundError):
        store.retain_until("no/such/key", _in_days(30))
    assert not store.exists("no/such/key")


def test_retain_until_refuses_a_bad_date_or_key(store):
    store.put("archive/4/record.pdf", io.BytesIO(b"x"))

    for bad in (_in_days(-1), datetime.now(timezone.utc) - timedelta(seconds=5),
                date.today() + timedelta(days=30), "2056-01-01T00:00:00Z", None):
        with pytest.raises(ValueError):
            store.retain_until("archive/4/record.pdf", bad)
    with pytest.raises(ValueError):
        store.retain_until("../escape", _in_days(30))


def test_retain_until_keeps_the_object_write_once_and_intact(store):
    body = b"record of inspection"
    stored = store.put("archive/5/record.txt", io.BytesIO(body), content_type="text/plain",
                       metadata={"record-id": "5"})
    store.retain_until("archive/5/record.txt", _in_days(365))

    with pytest.raises(ObjectExists):
        store.put("archive/5/record.txt", io.BytesIO(b"substitute"))
    head = store.head("archive/5/record.txt")
    assert (head.sha256, head.size, head.metadata) == (stored.sha256, len(body), {"record-id": "5"})
    # SeaweedFS resets the stored content type when it writes a retention
    # (test_s3_specific pins that); the local store keeps it.
    if store.scheme == "file":
        assert head.content_type == "text/plain"
    assert read_all(store, "archive/5/record.txt") == body
    assert store.verify("archive/5/record.txt") == (True, sha256(body))
    assert list(store.list_keys("archive/5/")) == ["archive/5/record.txt"]


def test_concurrent_retentions_end_at_the_latest(store):
    store.put("archive/6/record.pdf", io.BytesIO(b"raced"))
    ends = [_in_days(100 + 10 * i) for i in range(8)]
    errors = []

    def extend(until):
        try:
            store.retain_until("archive/6/record.pdf", until)
        except Exception as e:  # noqa: BLE001 - collected for the assertion
            errors.append(e)

    threads = [threading.Thread(target=extend, args=(until,)) for until in ends]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert store.retain_until("archive/6/record.pdf", _in_days(1)) == max(ends)
