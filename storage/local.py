"""Object store on a local filesystem directory (``file:`` URLs).

For a single server. Layout under the root::

    <root>/<key>                          the object's bytes, mode 0444
    <root>/<dir>/.<name>.meta.json        its sidecar: sha256, size, content type, metadata
    <root>/<dir>/.tmp-*                   transient files of writes in progress

Keys never have a segment starting with a dot, so sidecars and temporary files
cannot collide with keys.

Write-once is enforced by this code, not by the filesystem (`object_lock` is
False): the bytes go to a temporary file in the target directory, are fsynced,
made read-only, and then hard-linked to the final name with `os.link`, which
fails when the name exists. That link is the commit point: it is atomic and
refuses to overwrite, also when two writers race. The sidecar is written the
same way right after; a crash between the two links leaves an object whose
`head().sha256` is None (the database still has the digest).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import secrets
import stat
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from .base import (
    CHUNK_SIZE,
    ObjectExists,
    ObjectReader,
    ObjectStore,
    StorageError,
    StoredObject,
    validate_content_type,
    validate_key,
    validate_metadata,
    validate_prefix,
    validate_range,
)

log = logging.getLogger(__name__)

_READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH  # 0o444
_SIDECAR_SUFFIX = ".meta.json"


class LocalStore(ObjectStore):
    """Objects as read-only files under `root`. `version_id` is always None."""

    scheme = "file"

    def __init__(self, root: str | os.PathLike, *, create: bool = True):
        self.root = Path(root).absolute()
        if create:
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StorageError(f"cannot create store directory {self.root}") from e
        self._real_root = self.root.resolve()

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    # -- paths -----------------------------------------------------------------

    def _path(self, key: str) -> Path:
        validate_key(key)
        path = self.root.joinpath(*key.split("/"))
        # validate_key already excludes "..", absolute keys and odd characters;
        # this second lock also stops a symlink planted inside the root.
        real = path.resolve()
        if os.path.commonpath([self._real_root, real]) != str(self._real_root) \
                or real == self._real_root:
            raise StorageError(f"object {key!r} leads outside the store (a planted symlink?)")
        return path

    @staticmethod
    def _sidecar(path: Path) -> Path:
        return path.with_name(f".{path.name}{_SIDECAR_SUFFIX}")

    @staticmethod
    def _check_version(key: str, version_id: str | None) -> None:
        if version_id is not None:
            raise FileNotFoundError(errno.ENOENT, "the local store keeps no versions", key)

    def _regular_file(self, key: str, path: Path) -> os.stat_result:
        try:
            st = path.stat()
        except FileNotFoundError:
            raise FileNotFoundError(errno.ENOENT, "no such object", key) from None
        except NotADirectoryError:
            raise FileNotFoundError(errno.ENOENT, "no such object", key) from None
        except OSError as e:
            raise StorageError(f"cannot read object {key!r}") from e
        if not stat.S_ISREG(st.st_mode):
            raise FileNotFoundError(errno.ENOENT, "no such object", key)
        return st

    # -- writing ---------------------------------------------------------------

    def put(self, key, stream, *, content_type="application/octet-stream", metadata=None,
            size_hint=None) -> StoredObject:
        path = self._path(key)
        validate_content_type(content_type)
        user_metadata = validate_metadata(metadata)
        self._refuse_existing(key, path)
        directory = path.parent
        data_tmp = directory / f".tmp-{secrets.token_hex(8)}"
        meta_tmp = directory / f".tmp-{secrets.token_hex(8)}"
        try:
            try:
                directory.mkdir(parents=True, exist_ok=True)
                size, sha256 = self._write_temp(data_tmp, stream)
                record = {
                    "key": key,
                    "size": size,
                    "sha256": sha256,
                    "content_type": content_type,
                    "metadata": user_metadata,
                    "stored_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                }
                self._write_bytes(meta_tmp, json.dumps(record, sort_keys=True, indent=1).encode())
                os.link(data_tmp, path)  # the commit point: atomic, never overwrites
            except FileExistsError:
                self._refuse_existing(key, path)
                raise StorageError(f"cannot store {key!r}: the name is taken") from None
            except Exception as e:
                raise StorageError(f"storing {key!r} failed; nothing was stored") from e
            # Committed. A failure from here on leaves a correct object whose
            # sidecar is missing; the caller still gets the digest it records.
            self._link_sidecar(meta_tmp, path)
            with contextlib.suppress(OSError):
                self._fsync_dir(directory)
        finally:
            for tmp in (data_tmp, meta_tmp):
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        return StoredObject(key=key, size=size, sha256=sha256, version_id=None,
                            content_type=content_type, metadata=user_metadata)

    def _refuse_existing(self, key: str, path: Path) -> None:
        """Raise ObjectExists when a file holds the key, StorageError when a directory does."""
        if path.is_symlink() or path.is_file():
            raise ObjectExists(f"object {key!r} already exists")
        if path.exists():
            raise StorageError(f"cannot store {key!r}: a directory of other keys has that name")

    def _link_sidecar(self, meta_tmp: Path, path: Path) -> None:
        sidecar = self._sidecar(path)
        try:
            try:
                os.link(meta_tmp, sidecar)
            except FileExistsError:
                # A sidecar without its object is the leftover of a crash between
                # the two links of an earlier write: this write's record replaces it.
                os.unlink(sidecar)
                os.link(meta_tmp, sidecar)
        except OSError:
            # head() then reports sha256=None; verify() takes the caller's digest.
            log.warning("object %s stored, but its sidecar could not be written", path,
                        exc_info=True)

    def _write_temp(self, tmp: Path, stream) -> tuple[int, str]:
        digest = hashlib.sha256()
        size = 0
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = stream.read(CHUNK_SIZE)
                if chunk is None:
                    raise StorageError("source stream is non-blocking and returned no data")
                if not chunk:
                    break
                if not isinstance(chunk, (bytes, bytearray, memoryview)):
                    raise TypeError(f"source stream returned {type(chunk).__name__}, not bytes")
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, _READ_ONLY)
        return size, digest.hexdigest()

    @staticmethod
    def _write_bytes(tmp: Path, data: bytes) -> None:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, _READ_ONLY)

    @staticmethod
    def _fsync_dir(directory: Path) -> None:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # -- reading ---------------------------------------------------------------

    def _read_sidecar(self, key: str, path: Path) -> dict:
        try:
            with open(self._sidecar(path), "rb") as f:
                record = json.load(f)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            raise StorageError(f"cannot read the record of {key!r}") from e
        return record if isinstance(record, dict) else {}

    def head(self, key, *, version_id=None) -> StoredObject:
        path = self._path(key)
        self._check_version(key, version_id)
        st = self._regular_file(key, path)
        record = self._read_sidecar(key, path)
        return StoredObject(
            key=key,
            size=st.st_size,
            sha256=record.get("sha256"),
            version_id=None,
            content_type=record.get("content_type"),
            metadata=dict(record.get("metadata") or {}),
        )

    def exists(self, key) -> bool:
        path = self._path(key)
        try:
            return stat.S_ISREG(path.stat().st_mode)
        except (FileNotFoundError, NotADirectoryError):
            return False
        except OSError as e:
            raise StorageError(f"cannot check object {key!r}") from e

    def open(self, key, *, version_id=None) -> ObjectReader:
        path = self._path(key)
        self._check_version(key, version_id)
        try:
            raw = open(path, "rb")  # noqa: SIM115 - handed to the reader, closed by it
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise FileNotFoundError(errno.ENOENT, "no such object", key) from None
        except OSError as e:
            raise StorageError(f"cannot open object {key!r}") from e
        size = os.fstat(raw.fileno()).st_size
        content_type = self._read_sidecar(key, path).get("content_type")
        return ObjectReader(raw, key=key, size=size, version_id=None, content_type=content_type,
                            translate=lambda e: StorageError(f"reading {key!r} failed"))

    def read_range(self, key, start, end_inclusive, *, version_id=None) -> bytes:
        validate_range(start, end_inclusive)
        path = self._path(key)
        self._check_version(key, version_id)
        try:
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if start >= size:
                    raise ValueError(f"range start {start} is beyond the object ({size} bytes)")
                f.seek(start)
                return f.read(min(end_inclusive, size - 1) - start + 1)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise FileNotFoundError(errno.ENOENT, "no such object", key) from None
        except OSError as e:
            raise StorageError(f"reading {key!r} failed") from e

    def list_keys(self, prefix="") -> Iterator[str]:
        validate_prefix(prefix)
        head, _, _ = prefix.rpartition("/")
        start = self.root.joinpath(*head.split("/")) if head else self.root
        base = f"{head}/" if head else ""
        try:
            yield from self._walk(start, base, prefix)
        except OSError as e:
            raise StorageError(f"cannot list {self.root}") from e

    def _walk(self, directory: Path, base: str, prefix: str) -> Iterator[str]:
        try:
            entries = list(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError):
            return
        # Sorting directories as "name/" yields keys in plain lexicographic order.
        named = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            is_dir = entry.is_dir(follow_symlinks=False)
            named.append((entry.name + "/" if is_dir else entry.name, entry, is_dir))
        named.sort(key=lambda item: item[0])
        for sort_name, entry, is_dir in named:
            candidate = base + sort_name
            if is_dir:
                if candidate.startswith(prefix) or prefix.startswith(candidate):
                    yield from self._walk(Path(entry.path), candidate, prefix)
            elif entry.is_file(follow_symlinks=False) and candidate.startswith(prefix):
                yield candidate

    def ping(self) -> None:
        if not self.root.is_dir():
            raise StorageError(f"store directory {self.root} does not exist")
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StorageError(f"store directory {self.root} is not writable")

    def url(self, key, *, expires=300, filename=None, content_type=None,
            version_id=None) -> None:
        """Always None: serve local objects through the app with `open()` and `download_headers()`."""
        self._path(key)
        return None

    @property
    def object_lock(self) -> bool:
        return False
