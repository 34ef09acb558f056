"""Object store on a local filesystem directory (``file:`` URLs).

For a single server. Layout under the root::

    <root>/<key>                          the object's bytes, mode 0444
    <root>/<dir>/.<name>.meta.json        its sidecar: sha256, size, content type, metadata,
                                          and the retention end (`retain_until`) once set
    <root>/<dir>/.tmp-*                   transient files of writes in progress
    <root>/.uploads/<upload_id>/upload.json             an open resumable upload:
    <root>/.uploads/<upload_id>/<nnnnn>-<sha256>.part   its key, type, metadata, start
                                                        time, and its parts

Keys never have a segment starting with a dot, so sidecars, temporary files and
uploads cannot collide with keys, and `list_keys` does not show them.

Resumable uploads: an upload directory appears atomically (made under a
temporary name with its ``upload.json``, then renamed). Each part is written to
a temporary file, fsynced and renamed to a name carrying its number and its
SHA-256, so a half-written part is never listed and the checksum needs no
separate record. `complete_upload` joins the parts into a temporary file,
re-hashing each part against its name (a part changed on disk is refused), and
commits it like `put()`; then it removes the upload directory. Aborting renames
the directory away before deleting it.

Write-once is enforced by this code, not by the filesystem (`object_lock` is
False): the bytes go to a temporary file in the target directory, are fsynced,
made read-only, and then hard-linked to the final name with `os.link`, which
fails when the name exists. That link is the commit point: it is atomic and
refuses to overwrite, also when two writers race. The sidecar is written the
same way right after; a crash between the two links leaves an object whose
`head().sha256` is None (the database still has the digest).

Retention: `retain_until` records the end of an object's retention in its
sidecar (``"retain_until"``, ISO 8601 UTC). The local store has no delete and
never overwrites, whatever the retention, so the record is what the store
promises and what an operator's tooling must honour; the filesystem itself
does not enforce it (`object_lock` stays False). The sidecar is rewritten the
way it was written (a read-only, fsynced temporary file), then renamed over the
old one, so a reader sees the old record or the new one, never a mix. Sidecar
changes of one object hold an exclusive `flock` on the object's file (which is
never replaced), so two extensions, or an extension and the sidecar link of
the write that made the object, cannot lose one another's retention.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import fcntl
import functools
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import stat
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .base import (
    CHUNK_SIZE,
    ObjectExists,
    ObjectReader,
    ObjectStore,
    StorageError,
    StoredObject,
    UploadedPart,
    validate_content_type,
    validate_key,
    validate_metadata,
    validate_part_list,
    validate_prefix,
    validate_range,
    validate_retention,
    validate_sha256,
)

log = logging.getLogger(__name__)

_READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH  # 0o444
_SIDECAR_SUFFIX = ".meta.json"
_UPLOADS = ".uploads"
_UPLOAD_RECORD = "upload.json"
_UPLOAD_ID_RE = re.compile(r"[0-9a-f]{32}")
_PART_RE = re.compile(r"(\d{5})-([0-9a-f]{64})\.part")
_RETAIN_FIELD = "retain_until"


class LocalStore(ObjectStore):
    """Objects as read-only files under `root`. `version_id` is always None."""

    scheme = "file"

    def __init__(self, root: str | os.PathLike, *, create: bool = True, concurrency: int = 2):
        if not 1 <= int(concurrency) <= 64:
            raise ValueError("concurrency must be between 1 and 64")
        self.concurrency = int(concurrency)
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
        """Raise ObjectExists when a file holds the key, StorageError when a directory does.

        One lstat() decides, so a file that a racing writer links in between
        two checks cannot be mistaken for a directory.
        """
        try:
            st = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as e:
            raise StorageError(f"cannot check whether {key!r} exists") from e
        if stat.S_ISDIR(st.st_mode):
            raise StorageError(f"cannot store {key!r}: a directory of other keys has that name")
        raise ObjectExists(f"object {key!r} already exists")

    def _link_sidecar(self, meta_tmp: Path, path: Path) -> None:
        sidecar = self._sidecar(path)
        try:
            with self._locked_object(path):
                try:
                    os.link(meta_tmp, sidecar)
                except FileExistsError:
                    # A sidecar found here is the leftover of an object removed by
                    # hand, or the record `retain_until` wrote for this object
                    # between the two links: this write's record replaces it, but
                    # a retention it holds is carried over, never dropped.
                    kept = self._displaced_retention(sidecar)
                    if kept is None:
                        os.unlink(sidecar)
                        os.link(meta_tmp, sidecar)
                    else:
                        record = json.loads(meta_tmp.read_bytes())
                        record[_RETAIN_FIELD] = kept.isoformat()
                        self._replace_sidecar(sidecar, record)
        except (OSError, ValueError, StorageError):
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

    # -- retention -------------------------------------------------------------

    @contextlib.contextmanager
    def _locked_object(self, path: Path) -> Iterator[None]:
        """Hold an exclusive flock on the object's file while its sidecar changes.

        The object's file is never replaced, so every writer of the sidecar
        locks the same inode. Raises OSError (FileNotFoundError when missing).
        """
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    @staticmethod
    def _parse_retention(key: str, value) -> datetime | None:
        if value is None:
            return None
        try:
            until = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            raise StorageError(f"the record of {key!r} holds an invalid retention "
                               f"{value!r}") from None
        if until.tzinfo is None:
            raise StorageError(f"the record of {key!r} holds a retention without a time zone")
        return until.astimezone(timezone.utc)

    def _displaced_retention(self, sidecar: Path) -> datetime | None:
        """The retention in a sidecar about to be replaced; None when it has none or is unreadable."""
        try:
            record = json.loads(sidecar.read_bytes())
            return self._parse_retention(str(sidecar), record.get(_RETAIN_FIELD))
        except (OSError, ValueError, AttributeError, StorageError):
            return None

    def _replace_sidecar(self, sidecar: Path, record: dict) -> None:
        """Write `record` as the sidecar in one rename (fsynced, read-only); raises OSError."""
        tmp = sidecar.parent / f".tmp-{secrets.token_hex(8)}"
        try:
            self._write_bytes(tmp, json.dumps(record, sort_keys=True, indent=1).encode())
            os.replace(tmp, sidecar)  # atomic: readers see the old record or the new one
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        with contextlib.suppress(OSError):
            self._fsync_dir(sidecar.parent)

    def retain_until(self, key, until, *, version_id=None) -> datetime:
        """Record in the object's sidecar that it is kept until `until` (see the base class).

        Never None: the local store always keeps the record. An object whose
        sidecar is missing (a crash right after its write) gets one holding
        the retention only; its `head().sha256` stays None. Local objects
        have no versions: any `version_id` raises FileNotFoundError.
        """
        path = self._path(key)
        until = validate_retention(until)
        self._check_version(key, version_id)
        self._regular_file(key, path)
        try:
            with self._locked_object(path):
                record = self._read_sidecar(key, path) or {"key": key}
                current = self._parse_retention(key, record.get(_RETAIN_FIELD))
                if current is not None and current >= until:
                    return current
                record[_RETAIN_FIELD] = until.isoformat()
                self._replace_sidecar(self._sidecar(path), record)
        except (FileNotFoundError, NotADirectoryError):
            raise FileNotFoundError(errno.ENOENT, "no such object", key) from None
        except OSError as e:
            raise StorageError(f"recording the retention of {key!r} failed; the previous "
                               "record stays") from e
        return until

    # -- resumable uploads -------------------------------------------------------

    @property
    def _uploads(self) -> Path:
        return self.root / _UPLOADS

    def _upload_dir(self, upload_id) -> Path:
        if not isinstance(upload_id, str):
            raise ValueError("upload_id must be a string")
        if not _UPLOAD_ID_RE.fullmatch(upload_id):
            raise FileNotFoundError(errno.ENOENT, "no such upload", upload_id)
        return self._uploads / upload_id

    def _open_upload(self, key: str, upload_id) -> tuple[Path, dict]:
        """The directory and record of an open upload of `key`; FileNotFoundError otherwise."""
        directory = self._upload_dir(upload_id)
        try:
            with open(directory / _UPLOAD_RECORD, "rb") as f:
                record = json.load(f)
        except (FileNotFoundError, NotADirectoryError):
            raise FileNotFoundError(errno.ENOENT, "no such upload", upload_id) from None
        except (OSError, ValueError) as e:
            raise StorageError(f"cannot read the record of upload {upload_id}") from e
        if not isinstance(record, dict) or record.get("key") != key:
            raise FileNotFoundError(errno.ENOENT, f"no such upload of {key!r}", upload_id)
        return directory, record

    def start_upload(self, key, *, content_type="application/octet-stream",
                     metadata=None) -> str:
        path = self._path(key)
        validate_content_type(content_type)
        user_metadata = validate_metadata(metadata)
        self._refuse_existing(key, path)
        upload_id = secrets.token_hex(16)
        staging = self._uploads / f".tmp-{upload_id}"
        record = {
            "key": key,
            "content_type": content_type,
            "metadata": user_metadata,
            "initiated": datetime.now(timezone.utc).isoformat(),
        }
        try:
            self._uploads.mkdir(exist_ok=True)
            staging.mkdir()
            self._write_bytes(staging / _UPLOAD_RECORD,
                              json.dumps(record, sort_keys=True, indent=1).encode())
            os.rename(staging, self._uploads / upload_id)  # the upload appears whole
            with contextlib.suppress(OSError):
                self._fsync_dir(self._uploads)
        except OSError as e:
            shutil.rmtree(staging, ignore_errors=True)
            raise StorageError(f"cannot start an upload of {key!r}") from e
        return upload_id

    def _part_uploader(self, key, upload_id):
        directory, _ = self._open_upload(key, upload_id)
        held = {number: part for number, (part, _) in self._held_parts(directory, upload_id).items()}
        return functools.partial(self._store_part, directory, upload_id), held

    def _store_part(self, directory: Path, upload_id: str, number: int,
                    body: bytearray) -> UploadedPart:
        digest = hashlib.sha256(body)
        final = directory / f"{number:05d}-{digest.hexdigest()}.part"
        tmp = directory / f".tmp-{secrets.token_hex(8)}"
        try:
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as out:
                    out.write(body)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, final)  # a part is listed only once it is whole
            except FileNotFoundError:
                raise FileNotFoundError(errno.ENOENT, "no such upload (aborted?)",
                                        upload_id) from None
            except OSError as e:
                raise StorageError(f"storing part {number} of upload {upload_id} failed") from e
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        for other in directory.glob(f"{number:05d}-*.part"):
            if other.name != final.name:  # an earlier version of this part
                with contextlib.suppress(OSError):
                    other.unlink()
        with contextlib.suppress(OSError):
            self._fsync_dir(directory)
        return UploadedPart(number=number, size=len(body),
                            checksum=base64.b64encode(digest.digest()).decode("ascii"))

    def _held_parts(self, directory: Path, upload_id: str) -> dict[int, tuple[UploadedPart, Path]]:
        newest: dict[int, tuple[int, UploadedPart, Path]] = {}
        try:
            entries = list(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError):
            raise FileNotFoundError(errno.ENOENT, "no such upload", upload_id) from None
        except OSError as e:
            raise StorageError(f"cannot list the parts of upload {upload_id}") from e
        for entry in entries:
            match = _PART_RE.fullmatch(entry.name)
            if not match:
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # replaced meanwhile
            number = int(match.group(1))
            part = UploadedPart(
                number=number, size=st.st_size,
                checksum=base64.b64encode(bytes.fromhex(match.group(2))).decode("ascii"))
            if number not in newest or st.st_mtime_ns > newest[number][0]:
                newest[number] = (st.st_mtime_ns, part, Path(entry.path))
        return {number: (part, path) for number, (_, part, path) in sorted(newest.items())}

    def list_parts(self, key, upload_id) -> list[UploadedPart]:
        validate_key(key)
        directory, _ = self._open_upload(key, upload_id)
        return [part for part, _ in self._held_parts(directory, upload_id).values()]

    def complete_upload(self, key, upload_id, parts, *, sha256=None) -> StoredObject:
        path = self._path(key)
        parts = validate_part_list(parts)
        if sha256 is not None:
            sha256 = validate_sha256(sha256)
        self._upload_dir(upload_id)
        try:
            self._refuse_existing(key, path)
        except ObjectExists:
            self._abort_upload(key, upload_id)  # it could never complete
            raise
        directory, record = self._open_upload(key, upload_id)
        held = self._held_parts(directory, upload_id)
        sources = []
        for part in parts:
            if part.number not in held:
                raise StorageError(f"part {part.number} of the upload of {key!r} is not stored")
            stored, source = held[part.number]
            if part.size != stored.size or (part.checksum and part.checksum != stored.checksum):
                raise StorageError(f"part {part.number} of the upload of {key!r} does not "
                                   "match the stored part (see list_parts)")
            sources.append((stored, source))
        content_type = record.get("content_type") or "application/octet-stream"
        user_metadata = dict(record.get("metadata") or {})
        target_dir = path.parent
        data_tmp = target_dir / f".tmp-{secrets.token_hex(8)}"
        meta_tmp = target_dir / f".tmp-{secrets.token_hex(8)}"
        try:
            try:
                target_dir.mkdir(parents=True, exist_ok=True)
                size, actual = self._join_parts(data_tmp, sources, key)
                if sha256 is not None and actual != sha256:
                    raise StorageError(
                        f"the parts of {key!r} hash to {actual}, not to the given {sha256}; "
                        "nothing was stored")
                sidecar = {
                    "key": key,
                    "size": size,
                    "sha256": actual,
                    "content_type": content_type,
                    "metadata": user_metadata,
                    "stored_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                }
                self._write_bytes(meta_tmp, json.dumps(sidecar, sort_keys=True, indent=1).encode())
                os.link(data_tmp, path)  # the commit point: atomic, never overwrites
            except FileExistsError:
                try:
                    self._refuse_existing(key, path)
                except ObjectExists:
                    self._abort_upload(key, upload_id)
                    raise
                raise StorageError(f"cannot store {key!r}: the name is taken") from None
            except StorageError:
                raise
            except Exception as e:
                raise StorageError(f"completing the upload of {key!r} failed; nothing was "
                                   "stored") from e
            self._link_sidecar(meta_tmp, path)
            with contextlib.suppress(OSError):
                self._fsync_dir(target_dir)
        finally:
            for tmp in (data_tmp, meta_tmp):
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        self._discard_upload(directory, upload_id)
        return StoredObject(key=key, size=size, sha256=actual, version_id=None,
                            content_type=content_type, metadata=user_metadata)

    def _join_parts(self, tmp: Path, sources: list[tuple[UploadedPart, Path]],
                    key: str) -> tuple[int, str]:
        """Concatenate the parts into `tmp` (fsynced, read-only); return (size, sha256).

        Each part is re-hashed on the way and must still match the SHA-256 in
        its name.
        """
        whole = hashlib.sha256()
        size = 0
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            for part, source in sources:
                digest = hashlib.sha256()
                try:
                    with open(source, "rb") as f:
                        while chunk := f.read(CHUNK_SIZE):
                            digest.update(chunk)
                            whole.update(chunk)
                            out.write(chunk)
                            size += len(chunk)
                except FileNotFoundError:
                    raise StorageError(f"part {part.number} of the upload of {key!r} "
                                       "vanished (aborted meanwhile?)") from None
                if base64.b64encode(digest.digest()).decode("ascii") != part.checksum:
                    raise StorageError(f"part {part.number} of the upload of {key!r} changed "
                                       "on disk since it was stored; upload it again")
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, _READ_ONLY)
        return size, whole.hexdigest()

    def _discard_upload(self, directory: Path, upload_id: str) -> bool:
        """Rename the upload directory away (it is gone at once), then delete it."""
        trash = directory.parent / f".trash-{upload_id}-{secrets.token_hex(4)}"
        try:
            os.rename(directory, trash)
        except FileNotFoundError:
            return False
        except OSError as e:
            raise StorageError(f"cannot remove upload {upload_id}") from e
        shutil.rmtree(trash, ignore_errors=True)
        return True

    def _abort_upload(self, key: str, upload_id: str) -> bool:
        try:
            directory, _ = self._open_upload(key, upload_id)
        except FileNotFoundError:
            return False
        return self._discard_upload(directory, upload_id)

    def list_uploads(self) -> list[dict]:
        uploads = []
        try:
            entries = sorted(os.scandir(self._uploads), key=lambda entry: entry.name)
        except FileNotFoundError:
            return []
        except OSError as e:
            raise StorageError(f"cannot list the uploads in {self.root}") from e
        for entry in entries:
            if not _UPLOAD_ID_RE.fullmatch(entry.name):
                continue
            try:
                with open(Path(entry.path) / _UPLOAD_RECORD, "rb") as f:
                    record = json.load(f)
                initiated = datetime.fromisoformat(record["initiated"]).astimezone(timezone.utc)
            except FileNotFoundError:
                continue  # completed or aborted meanwhile
            except (OSError, ValueError, KeyError, TypeError) as e:
                raise StorageError(f"cannot read the record of upload {entry.name}") from e
            uploads.append({"key": record.get("key"), "upload_id": entry.name,
                            "initiated": initiated})
        return uploads

    def sweep_incomplete_uploads(self, older_than_seconds, keep=()) -> list[dict]:
        aborted = super().sweep_incomplete_uploads(older_than_seconds, keep)
        # Leftovers of a crash: a directory never renamed into place, or one
        # renamed away but not yet deleted. Neither is an upload any more.
        cutoff = (datetime.now(timezone.utc) - timedelta(seconds=older_than_seconds)).timestamp()
        with contextlib.suppress(OSError):
            for entry in os.scandir(self._uploads):
                if entry.name.startswith((".tmp-", ".trash-")) \
                        and entry.stat(follow_symlinks=False).st_mtime <= cutoff:
                    shutil.rmtree(entry.path, ignore_errors=True)
        return aborted

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

    def check_setup(self) -> list[str]:
        """Problems: the store directory is missing or not writable."""
        try:
            self.ping()
        except StorageError as e:
            return [str(e)]
        return []

    def url(self, key, *, expires=300, filename=None, content_type=None,
            version_id=None, attachment=False) -> None:
        """Always None: serve local objects through the app with `open()` and `download_headers()`."""
        self._path(key)
        return None

    @property
    def object_lock(self) -> bool:
        return False
