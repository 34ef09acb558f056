"""The S3 store dies in the middle of an upload and comes back.

These tests stop and restart their own SeaweedFS (same ports and data
directory), so the session's shared server is never disturbed.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import threading
import time

import pytest

from storage import StorageError, store_from_url
from tests.storage.helpers import PART_SIZE, GeneratedStream, generated_bytes
from tests.support.seaweed import seaweed_server

pytestmark = pytest.mark.s3

#: Short timeouts and one retry: a dead store shows up within seconds.
FAST_FAILING = {"connect_timeout": 1, "read_timeout": 5, "max_attempts": 2}

_buckets = itertools.count(1)


@pytest.fixture(scope="module")
def restartable():
    with seaweed_server() as server:
        yield server


@pytest.fixture
def server(restartable):
    restartable.start()  # a test that failed midway may have left it stopped
    yield restartable
    restartable.start()


def make_store(server, **options):
    bucket = f"fault-{next(_buckets)}"
    admin = store_from_url(server.store_url(bucket, lock_days=1))
    admin.ensure_bucket(object_lock=True)
    settings = {"lock_days": 1, "part_size": PART_SIZE, "concurrency": 2, **FAST_FAILING,
                **options}
    return store_from_url(server.store_url(bucket, **settings))


class DyingStoreStream(GeneratedStream):
    """Kills the server (SIGKILL) once `kill_at` bytes have been read."""

    def __init__(self, size, *, server, kill_at, **kwargs):
        super().__init__(size, **kwargs)
        self.server = server
        self.kill_at = kill_at
        self.killed_at: float | None = None

    def read(self, n=-1):
        if self.killed_at is None and self.position >= self.kill_at:
            self.server.stop(kill=True)
            self.killed_at = time.monotonic()
        return super().read(n)


def part_threads():
    return [t for t in threading.enumerate() if "-part" in t.name and t.is_alive()]


def test_stop_and_start_keep_the_data(server):
    store = make_store(server)
    stored = store.put("kept.txt", io.BytesIO(b"survives"))

    server.stop()
    assert not server.running
    with pytest.raises(StorageError):
        store.ping()
    server.start()

    assert server.running
    assert store.verify("kept.txt", expected_sha256=stored.sha256)[0]


def test_upload_whose_store_dies_fails_promptly_and_resumes_after_restart(server):
    store = make_store(server)
    total = 6 * PART_SIZE + 123
    data_sha256 = hashlib.sha256(generated_bytes(total, seed=41)).hexdigest()
    upload_id = store.start_upload("fault/video.mp4", content_type="video/mp4")
    # Reading part 5 means part 4 was queued, so at least one part had been stored.
    source = DyingStoreStream(total, seed=41, server=server, kill_at=4 * PART_SIZE + 1000)

    with pytest.raises(StorageError):
        store.upload_parts("fault/video.mp4", upload_id, source, first_part=1,
                           part_size=PART_SIZE, total_size=total)

    assert source.killed_at is not None
    assert time.monotonic() - source.killed_at < 15, "the failure took too long to show"
    assert part_threads() == []
    assert source.position < total  # it stopped reading instead of draining the client

    server.start()

    # The upload survived the crash with the parts stored before it. Resume at
    # the first gap; parts after it that are already there are skipped.
    held = store.list_parts("fault/video.mp4", upload_id)
    assert held and all(part.size == PART_SIZE for part in held)
    resume_at = 1
    while resume_at in {part.number for part in held}:
        resume_at += 1
    store.upload_parts("fault/video.mp4", upload_id,
                       GeneratedStream(total, seed=41, start=(resume_at - 1) * PART_SIZE),
                       first_part=resume_at, part_size=PART_SIZE, total_size=total)
    stored = store.complete_upload("fault/video.mp4", upload_id,
                                   store.list_parts("fault/video.mp4", upload_id))

    assert (stored.size, stored.sha256) == (total, data_sha256)
    assert store.verify("fault/video.mp4", expected_sha256=data_sha256)[0]
    assert store.list_uploads() == []


def test_upload_can_start_again_after_the_store_came_back(server):
    store = make_store(server)
    upload_id = store.start_upload("fault/again.bin")
    server.stop(kill=True)

    with pytest.raises(StorageError):
        store.upload_parts("fault/again.bin", upload_id, io.BytesIO(b"x" * 10), first_part=1,
                           part_size=PART_SIZE, total_size=10)
    with pytest.raises(StorageError):
        store.start_upload("fault/other.bin")
    assert store.check_setup() != []  # the app would refuse to start now

    server.start()
    store.abort_upload("fault/again.bin", upload_id)
    fresh = store.start_upload("fault/again.bin")
    parts = store.upload_parts("fault/again.bin", fresh, io.BytesIO(b"x" * 10), first_part=1,
                               part_size=PART_SIZE, total_size=10)
    assert store.complete_upload("fault/again.bin", fresh, parts).size == 10
    assert store.check_setup() == []
