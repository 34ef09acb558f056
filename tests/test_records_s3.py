"""Records on a real S3 store (SeaweedFS on loopback): write-once, faults, the start-up check.

The store is killed in the middle of an upload and brought back; the case page opens while it is
down; the app refuses to start on a bucket without versioning and object lock. This module starts
its own SeaweedFS, so stopping it never disturbs the storage suite's shared server.
"""
from __future__ import annotations

import hashlib
import io
import itertools

import pytest
from sqlalchemy import select

from enforcement import sample_files
from enforcement.extensions import db
from enforcement.models import Record, Upload
from enforcement.services import records
from storage import StorageError, store_from_url
from tests.factories import AV_FIELDS, PASSWORD
from tests.support.seaweed import seaweed_server

pytestmark = [pytest.mark.s3, pytest.mark.sqlite_only]

MIB = 1024 * 1024
FAST_FAILING = {"connect_timeout": 1, "read_timeout": 5, "max_attempts": 2}
_buckets = itertools.count(1)


@pytest.fixture(scope="module")
def weed():
    with seaweed_server() as server:
        yield server


@pytest.fixture
def s3(app, weed):
    """The app's object store replaced by a fresh object-lock bucket on SeaweedFS."""
    weed.start()  # a test that failed midway may have left it stopped
    url = weed.store_url(f"records-{next(_buckets)}", lock_days=1, part_size=5 * MIB, **FAST_FAILING)
    store = store_from_url(url)
    store.ensure_bucket(object_lock=True)
    app.extensions["object_store"] = store
    yield store
    weed.start()


@pytest.fixture
def case(make, team):
    return make.case(team, approve=True)


def clip(size: int) -> bytes:
    return sample_files.mp4(size)


def begin(case, actor, content: bytes):
    upload = records.begin_upload(case, actor, filename="DSJ0001.mp4", size=len(content),
                                  type_code="body_camera_video", **AV_FIELDS)
    db.session.commit()
    return upload


class KillsTheStore(io.BytesIO):
    """A request body during which the store dies once `after` bytes were read."""

    def __init__(self, data: bytes, server, after: int):
        super().__init__(data)
        self.server, self.after, self.killed = server, after, False

    def read(self, n=-1):
        if not self.killed and self.tell() >= self.after:
            self.server.stop(kill=True)
            self.killed = True
        return super().read(n)


def test_a_record_on_s3_is_versioned_and_the_store_refuses_to_delete_it(s3, case, team, weed):
    content = clip(12 * MIB)
    upload = begin(case, team["officer"], content)
    record = records.receive(upload, team["officer"], io.BytesIO(content), offset=0).record
    db.session.commit()
    assert record.sha256 == hashlib.sha256(content).hexdigest()
    assert record.version_id
    assert s3.verify(record.storage_key, record.sha256, version_id=record.version_id)[0]
    client = weed.client()
    with pytest.raises(Exception) as refused:
        client.delete_object(Bucket=s3.bucket, Key=record.storage_key, VersionId=record.version_id)
    assert "AccessDenied" in str(refused.value) or "locked" in str(refused.value).lower()
    # A delete without a version only hides the object; reading by version still works.
    client.delete_object(Bucket=s3.bucket, Key=record.storage_key)
    assert s3.verify(record.storage_key, record.sha256, version_id=record.version_id)[0]


def test_store_killed_mid_upload_no_record_then_the_same_upload_succeeds(s3, case, team, weed):
    content = clip(16 * MIB)
    upload = begin(case, team["officer"], content)
    with pytest.raises(StorageError):
        records.receive(upload, team["officer"], KillsTheStore(content, weed, after=7 * MIB), offset=0,
                        before_transfer=db.session.commit)
    db.session.rollback()
    assert db.session.scalar(select(Record.id)) is None
    weed.start()
    upload = db.session.get(Upload, upload.id)
    offset = records.resume_offset(upload)
    assert offset % (5 * MIB) == 0 and offset < len(content)
    record = records.receive(upload, team["officer"], io.BytesIO(content[offset:]), offset=offset).record
    db.session.commit()
    assert record.sha256 == hashlib.sha256(content).hexdigest()  # the store re-read it: not hashed in one pass
    with s3.open(record.storage_key, version_id=record.version_id) as reader:
        assert hashlib.sha256(reader.read()).hexdigest() == record.sha256


def test_cancel_on_s3_leaves_no_upload_and_no_object(s3, case, team):
    content = clip(12 * MIB)
    upload = begin(case, team["officer"], content)
    records.receive(upload, team["officer"], io.BytesIO(content[:6 * MIB]), offset=0)
    db.session.commit()
    assert s3.list_uploads()
    records.cancel(upload, team["officer"])
    db.session.commit()
    assert s3.list_uploads() == [] and list(s3.list_keys("cases/")) == []


def test_the_case_page_renders_while_the_store_is_down(s3, app, case, team, make, weed):
    make.record(case, "site_photo")
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    from tests.conftest import csrf_token

    client.post("/login", data={"username": team["officer"].username, "password": PASSWORD,
                                "csrf_token": csrf_token(client, "/login")})
    weed.stop(kill=True)
    response = client.get(f"/cases/{case.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "not reachable" in page and "unavailable" in page and "site_photo.jpg" in page


def test_the_app_refuses_to_start_on_a_bucket_without_versioning_and_lock(weed, database_url):
    from app import create_app
    from config import TestingConfig

    bucket = f"plain-{next(_buckets)}"
    weed.client().create_bucket(Bucket=bucket)
    url = weed.store_url(bucket, **FAST_FAILING)
    with pytest.raises(RuntimeError) as refused:
        create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": database_url, "STORAGE_URL": url})
    assert "versioning" in str(refused.value).lower() or "lock" in str(refused.value).lower()
    good = f"locked-{next(_buckets)}"
    store_from_url(weed.store_url(good, lock_days=1)).ensure_bucket(object_lock=True)
    assert create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": database_url,
                                      "STORAGE_URL": weed.store_url(good, **FAST_FAILING)})


def test_on_s3_every_file_request_is_an_event_and_redirects_to_a_forced_disposition(s3, app, case, team, make):
    from enforcement.models import AuditEvent
    from tests.conftest import csrf_token

    record = make.record(case, "site_photo")
    client = app.test_client()
    client.post("/login", data={"username": team["auditor"].username, "password": PASSWORD,
                                "csrf_token": csrf_token(client, "/login")})
    for headers in ({}, {"Range": "bytes=100-"}):
        response = client.get(f"/records/{record.id}/file", headers=headers)
        assert response.status_code == 303
    download = client.get(f"/records/{record.id}/file?download=1")
    assert "attachment" in download.headers["Location"]
    db.session.rollback()
    actions = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "record",
                                                                      AuditEvent.action != "record.added")))
    assert actions == ["record.viewed", "record.viewed", "record.downloaded"]
