"""Fixtures for the storage tests: every backend runs the same contract suite.

`backend` is parametrised over the local store (on tmp_path) and the S3 store
(a fresh bucket with Object Lock in a SeaweedFS shared by the session); `store`
is that backend's store. SeaweedFS starts only when an S3 test runs.
"""

from __future__ import annotations

import itertools
import os
import socket
from pathlib import Path

import pytest

from storage import ObjectStore, store_from_url
from storage.local import LocalStore
from storage.s3 import S3Store
from tests.storage.helpers import PART_SIZE
from tests.support.seaweed import SeaweedServer, seaweed_server

_bucket_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def seaweed() -> SeaweedServer:
    """A private SeaweedFS for the whole test session."""
    with seaweed_server() as server:
        yield server


def _dead_port() -> int:
    """A port on 127.0.0.1 on which nothing listens."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalBackend:
    name = "local"

    def __init__(self, root: Path):
        self.root = root
        self.store = store_from_url(f"file://{root}")

    def dead_store(self) -> ObjectStore:
        """A store whose directory is gone (a file stands in its place)."""
        missing = self.root.parent / f"{self.root.name}-gone"
        missing.write_bytes(b"not a directory")
        return LocalStore(missing, create=False)

    def leftovers(self) -> list[str]:
        """Traces of unfinished writes (temporary files)."""
        return sorted(
            os.path.relpath(os.path.join(folder, name), self.root)
            for folder, _, names in os.walk(self.root)
            for name in names
            if name.startswith(".tmp-")
        )


class S3Backend:
    name = "s3"

    def __init__(self, server: SeaweedServer):
        self.server = server
        self.bucket = f"test-{next(_bucket_numbers)}-{os.urandom(4).hex()}"
        self.store = self.make_store()
        self.store.ensure_bucket(object_lock=True)

    def make_store(self, *, bucket: str | None = None, **options) -> S3Store:
        """Another store on this backend's bucket (or `bucket`), with other options."""
        settings = {"lock_days": 1, "part_size": PART_SIZE, "concurrency": 4, **options}
        return store_from_url(self.server.store_url(bucket or self.bucket, **settings))

    def dead_store(self) -> ObjectStore:
        return store_from_url(
            f"s3://{self.bucket}?endpoint=http://127.0.0.1:{_dead_port()}"
            "&access_key=x&secret_key=y&region=us-east-1"
            "&connect_timeout=1&read_timeout=1&max_attempts=1"
        )

    def leftovers(self) -> list[str]:
        """Multipart uploads still open in the bucket."""
        answer = self.store.client.list_multipart_uploads(Bucket=self.bucket)
        return sorted(upload["Key"] for upload in answer.get("Uploads") or [])


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def backend(request, tmp_path):
    if request.param == "local":
        return LocalBackend(tmp_path / "objects")
    return S3Backend(request.getfixturevalue("seaweed"))


@pytest.fixture
def store(backend) -> ObjectStore:
    return backend.store
