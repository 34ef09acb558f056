"""Choosing a backend from a STORAGE_URL string."""

from __future__ import annotations

import pytest

from storage import store_from_url
from storage.local import LocalStore
from storage.s3 import S3Store


def test_file_url_with_absolute_path(tmp_path):
    store = store_from_url(f"file://{tmp_path}/objects")

    assert isinstance(store, LocalStore)
    assert store.root == tmp_path / "objects"
    assert store.root.is_dir()


def test_file_url_with_relative_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    store = store_from_url("file:data/objects")

    assert store.root == tmp_path / "data" / "objects"


def test_s3_url_options_and_overrides():
    store = store_from_url(
        "s3://records?endpoint=http://127.0.0.1:1&region=us-east-1&access_key=a&secret_key=b"
        "&lock_mode=governance&lock_days=30&part_size=6291456&concurrency=2",
        concurrency=3,
    )

    assert isinstance(store, S3Store)
    assert store.bucket == "records"
    assert store.endpoint == "http://127.0.0.1:1"
    assert (store.lock_mode, store.lock_days) == ("GOVERNANCE", 30)
    assert (store.part_size, store.concurrency) == (6291456, 3)
    assert store.client.meta.config.s3["addressing_style"] == "path"
    assert store.client.meta.config.request_checksum_calculation == "when_required"
    assert store.client.meta.config.response_checksum_validation == "when_required"
    assert "b" not in repr(store).replace("bucket", "")


def test_s3_url_lock_mode_none():
    store = store_from_url("s3://records?lock_mode=none&region=us-east-1")

    assert store.lock_mode is None


@pytest.mark.parametrize("url", [
    "records",
    "ftp://host/x",
    "file://otherhost/x",
    "s3://",
    "s3://bucket/some/path",
    "s3://bucket?unknown=1",
    "s3://bucket?part_size=1024",
    "s3://bucket?lock_mode=FOREVER",
    "s3://bucket?concurrency=many",
    "file:///tmp/x?create=maybe",
])
def test_malformed_urls_are_refused(url):
    with pytest.raises(ValueError):
        store_from_url(url)
