"""Object store on an S3-compatible service (``s3://`` URLs), through boto3.

Tested against SeaweedFS; written for any S3 API (MinIO, AWS). Decisions:

Write-once
    `put()` refuses a taken key three ways: a HEAD before reading the stream;
    on a versioned bucket also a look at the key's version history (a key whose
    object was hidden by a delete marker still counts as taken: its locked
    bytes are there); and ``If-None-Match: *`` on PutObject and on
    CompleteMultipartUpload, which closes the race between two writers. A
    store that answers NotImplemented to the condition is retried without it,
    once, and remembered. (A delete marker written between that history
    check and the upload is not caught by the condition; nothing here writes
    delete markers.) When the bucket has Object Lock enabled each object
    is written with ``ObjectLockMode``/``ObjectLockRetainUntilDate`` (from
    ``lock_mode``/``lock_days``), so the store itself refuses to delete it;
    `object_lock` says whether that is so.

Streaming
    A body smaller than ``part_size`` goes in one PutObject. A larger one goes
    in a multipart upload: the calling thread reads one part at a time, hashes
    it and hands it to a pool of ``concurrency`` threads through a queue bounded
    to one waiting part, so memory stays near ``(concurrency + 2) * part_size``
    whatever the object's size. Every request carries the SHA-256 of its own
    bytes (``ChecksumSHA256``), which the store checks (BadDigest otherwise).
    S3 allows 10,000 parts: pass ``size_hint`` for objects larger than
    ``part_size * 10000`` (78 GiB at 8 MiB) and the part size grows to fit.

Whole-object SHA-256 (what `head().sha256` returns)
    S3 metadata is fixed when an upload starts, before a multipart body has
    been read, and the multipart checksum S3 keeps is a hash of the parts'
    hashes, not of the file. So:

    - single PutObject: the digest is in the object's metadata
      (``x-amz-meta-sha256``), immutable like the bytes;
    - multipart: the digest is written after completion as the object tag
      ``sha256`` on the new version. Tags can be changed later by anyone with
      tagging permission, so this copy is a convenience, not evidence. If
      writing the tag fails the put still succeeds (the bytes are stored and
      locked) and `head().sha256` is None for that object.

    `put()` always returns the digest of the bytes it sent. The database must
    keep it, and audits should call ``verify(key, expected_sha256=<db value>)``:
    verify re-reads the object and compares to that.

Failure
    Any failure before completion aborts the multipart upload. An upload whose
    completion may have happened (a timeout, a 5xx, NoSuchUpload on a retried
    completion) is never aborted: some stores destroy the published object
    when a completed upload id is aborted. If the object is then found with the
    expected multipart ETag, the put succeeded; otherwise StorageError is raised
    and the upload is left to `sweep_incomplete_uploads()`.
"""

from __future__ import annotations

import base64
import binascii
import errno
import hashlib
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from .base import (
    CHUNK_SIZE,
    SHA256_FIELD,
    ObjectExists,
    ObjectReader,
    ObjectStore,
    StorageError,
    StoredObject,
    download_headers,
    validate_content_type,
    validate_key,
    validate_metadata,
    validate_prefix,
    validate_range,
)

log = logging.getLogger(__name__)

MIB = 1024 * 1024
MIN_PART_SIZE = 5 * MIB
MAX_PART_SIZE = 5 * 1024 * MIB
MAX_PARTS = 10000
DEFAULT_PART_SIZE = 8 * MIB
DEFAULT_CONCURRENCY = 4
LOCK_MODES = ("COMPLIANCE", "GOVERNANCE")

_NOT_FOUND_CODES = {"NoSuchKey", "NoSuchVersion", "NotFound", "404"}


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def _error_code(e: BaseException) -> tuple[str | None, int | None]:
    response = getattr(e, "response", None) or {}
    code = (response.get("Error") or {}).get("Code")
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    return code, status


class _PartReader:
    """Reads a stream in parts of a fixed size; one part can be pushed back once."""

    def __init__(self, stream, part_size: int):
        self._stream = stream
        self.part_size = part_size
        self._pushed: list[bytearray] = []

    def push_back(self, part: bytearray) -> None:
        self._pushed.append(part)

    def next_part(self) -> bytearray:
        """The next part (shorter only at the end of the stream, empty after it).

        Reads into one preallocated buffer, so a part costs its own size and
        not twice that.
        """
        if self._pushed:
            return self._pushed.pop()
        buffer = bytearray(self.part_size)
        filled = 0
        with memoryview(buffer) as view:
            while filled < self.part_size:
                try:
                    chunk = self._stream.read(min(CHUNK_SIZE, self.part_size - filled))
                except Exception as e:
                    raise StorageError("reading the source stream failed") from e
                if chunk is None:
                    raise StorageError("source stream is non-blocking and returned no data")
                if not chunk:
                    break
                if not isinstance(chunk, (bytes, bytearray, memoryview)):
                    raise StorageError(
                        f"source stream returned {type(chunk).__name__}, not bytes"
                    )
                view[filled:filled + len(chunk)] = chunk
                filled += len(chunk)
        if filled < self.part_size:
            del buffer[filled:]
        return buffer


class S3Store(ObjectStore):
    """Objects in one bucket of an S3-compatible store.

    Credentials come from the arguments or, when omitted, from boto3's usual
    chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` and the rest).
    """

    scheme = "s3"

    def __init__(self, bucket: str, *, endpoint: str | None = None, region: str | None = None,
                 addressing: str = "path", access_key: str | None = None,
                 secret_key: str | None = None, session_token: str | None = None,
                 lock_mode: str | None = "COMPLIANCE", lock_days: int = 3650,
                 part_size: int = DEFAULT_PART_SIZE, concurrency: int = DEFAULT_CONCURRENCY,
                 connect_timeout: float = 10, read_timeout: float = 60, max_attempts: int = 3):
        import boto3
        from botocore.config import Config

        if not bucket:
            raise ValueError("an S3 store needs a bucket name")
        if addressing not in ("path", "virtual", "auto"):
            raise ValueError(f"addressing must be path, virtual or auto, not {addressing!r}")
        if lock_mode is not None and lock_mode not in LOCK_MODES:
            raise ValueError(f"lock_mode must be one of {LOCK_MODES} or None, not {lock_mode!r}")
        if int(lock_days) < 1:
            raise ValueError("lock_days must be at least 1")
        if not MIN_PART_SIZE <= int(part_size) <= MAX_PART_SIZE:
            raise ValueError(f"part_size must be between {MIN_PART_SIZE} and {MAX_PART_SIZE}")
        if not 1 <= int(concurrency) <= 64:
            raise ValueError("concurrency must be between 1 and 64")

        self.bucket = bucket
        self.endpoint = endpoint
        self.region = region
        self.lock_mode = lock_mode
        self.lock_days = int(lock_days)
        self.part_size = int(part_size)
        self.concurrency = int(concurrency)
        self._conditional_writes = True
        self._lock_cache: tuple[bool, dict | None] | None = None
        self._versioned_cache: bool | None = None

        config = Config(
            signature_version="s3v4",  # presigned URLs must be SigV4
            s3={"addressing_style": addressing},
            # Only send/check checksums S3 requires: some stores reject the
            # CRC trailers newer SDKs add by default. We send SHA-256 ourselves.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"max_attempts": int(max_attempts), "mode": "standard"},
            max_pool_connections=max(10, self.concurrency + 4),
        )
        session = boto3.session.Session(
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            aws_session_token=session_token,
            region_name=region,
        )
        try:
            self._client = session.client("s3", endpoint_url=endpoint, config=config)
        except Exception as e:
            raise StorageError(f"cannot configure the S3 client for bucket {bucket!r}") from e

    def __repr__(self) -> str:
        return f"S3Store(bucket={self.bucket!r}, endpoint={self.endpoint!r})"

    @property
    def client(self):
        """The underlying boto3 S3 client, for administration and tests."""
        return self._client

    # -- errors ----------------------------------------------------------------

    def _fail(self, e: BaseException, action: str, key: str | None = None) -> BaseException:
        """Translate a boto3 exception: FileNotFoundError for a missing object, else StorageError."""
        code, status = _error_code(e)
        if key is not None and (code in _NOT_FOUND_CODES or (code is None and status == 404)):
            return FileNotFoundError(errno.ENOENT, "no such object", key)
        detail = code or type(e).__name__
        where = f" {key!r}" if key is not None else ""
        return StorageError(f"S3 bucket {self.bucket!r}: {action}{where} failed: {detail}")

    # -- bucket facts ----------------------------------------------------------

    def _lock_settings(self) -> tuple[bool, dict | None]:
        """(object lock enabled, default retention rule or None), fetched once."""
        if self._lock_cache is None:
            try:
                answer = self._client.get_object_lock_configuration(Bucket=self.bucket)
            except Exception as e:
                code, _ = _error_code(e)
                if code == "ObjectLockConfigurationNotFoundError":
                    self._lock_cache = (False, None)
                    return self._lock_cache
                raise self._fail(e, "reading the object lock configuration") from e
            configuration = answer.get("ObjectLockConfiguration") or {}
            enabled = configuration.get("ObjectLockEnabled") == "Enabled"
            rule = (configuration.get("Rule") or {}).get("DefaultRetention")
            self._lock_cache = (enabled, rule)
        return self._lock_cache

    def _versioned(self) -> bool:
        if self._versioned_cache is None:
            try:
                answer = self._client.get_bucket_versioning(Bucket=self.bucket)
            except Exception as e:
                raise self._fail(e, "reading the versioning state") from e
            # Once enabled, versioning can only be suspended: old versions stay.
            self._versioned_cache = answer.get("Status") in ("Enabled", "Suspended")
        return self._versioned_cache

    def _lock_arguments(self) -> dict:
        enabled, _ = self._lock_settings()
        if not enabled or self.lock_mode is None:
            return {}
        until = datetime.now(timezone.utc) + timedelta(days=self.lock_days)
        return {"ObjectLockMode": self.lock_mode, "ObjectLockRetainUntilDate": until}

    @property
    def object_lock(self) -> bool:
        """True when the bucket has Object Lock enabled and objects get a retention period.

        Either this store sets one on each put (``lock_mode``) or the bucket has
        a default retention. Raises StorageError when the store cannot be asked.
        """
        enabled, rule = self._lock_settings()
        return enabled and (self.lock_mode is not None or bool(rule))

    def ensure_bucket(self, *, object_lock: bool = True, default_retention: bool = True) -> None:
        """Create the bucket when it does not exist (idempotent), for set-up and tests.

        With `object_lock` the bucket is created with Object Lock (which also
        turns versioning on); an existing bucket without it raises StorageError,
        since Object Lock cannot be added later on every store. With
        `default_retention` (and a ``lock_mode``) a bucket that has no default
        retention rule gets ``lock_mode`` for ``lock_days``: then even objects
        uploaded by other tools are locked.
        """
        arguments = {"Bucket": self.bucket}
        if object_lock:
            arguments["ObjectLockEnabledForBucket"] = True
        if self.region and self.region != "us-east-1":
            arguments["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            self._client.create_bucket(**arguments)
        except Exception as e:
            code, _ = _error_code(e)
            if code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise self._fail(e, "creating the bucket") from e
        self._lock_cache = None
        self._versioned_cache = None
        if not object_lock:
            return
        enabled, rule = self._lock_settings()
        if not enabled:
            raise StorageError(f"bucket {self.bucket!r} exists without Object Lock")
        if default_retention and self.lock_mode is not None and not rule:
            try:
                self._client.put_object_lock_configuration(
                    Bucket=self.bucket,
                    ObjectLockConfiguration={
                        "ObjectLockEnabled": "Enabled",
                        "Rule": {"DefaultRetention": {"Mode": self.lock_mode,
                                                      "Days": self.lock_days}},
                    },
                )
            except Exception as e:
                raise self._fail(e, "setting the default retention") from e
            self._lock_cache = None

    # -- writing ---------------------------------------------------------------

    def _refuse_existing(self, key: str) -> None:
        if self.exists(key):
            raise ObjectExists(f"object {key!r} already exists")
        if not self._versioned():
            return
        # Hidden behind a delete marker, older versions (locked evidence) are
        # still there; writing would make the key show other bytes.
        try:
            answer = self._client.list_object_versions(Bucket=self.bucket, Prefix=key, MaxKeys=1)
        except Exception as e:
            raise self._fail(e, "listing versions of", key) from e
        for entry in (answer.get("Versions") or []) + (answer.get("DeleteMarkers") or []):
            if entry.get("Key") == key:
                raise ObjectExists(f"object {key!r} has earlier versions; the key is taken")

    def put(self, key, stream, *, content_type="application/octet-stream", metadata=None,
            size_hint=None) -> StoredObject:
        validate_key(key)
        validate_content_type(content_type)
        user_metadata = validate_metadata(metadata)
        self._refuse_existing(key)
        part_size = self.part_size
        if size_hint is not None and size_hint > part_size * (MAX_PARTS - 1):
            part_size = -(-int(size_hint) // ((MAX_PARTS - 1) * MIB)) * MIB
            if part_size > MAX_PART_SIZE:
                raise StorageError(f"object of {size_hint} bytes is too large for S3")
        parts = _PartReader(stream, part_size)
        first = parts.next_part()
        if len(first) < part_size:
            return self._put_single(key, first, content_type, user_metadata)
        parts.push_back(first)
        del first  # the pool owns the parts now; keep no reference here
        return self._put_multipart(key, parts, content_type, user_metadata)

    def _put_single(self, key: str, body: bytearray, content_type: str,
                    user_metadata: dict) -> StoredObject:
        sha256 = hashlib.sha256(body)
        arguments = {
            "Bucket": self.bucket,
            "Key": key,
            "Body": body,
            "ContentType": content_type,
            "Metadata": {**user_metadata, SHA256_FIELD: sha256.hexdigest()},
            "ChecksumSHA256": _b64(sha256.digest()),
            **self._lock_arguments(),
        }
        try:
            answer = self._conditional(self._client.put_object, arguments, key)
        except StorageError:
            raise
        except Exception as e:
            raise self._fail(e, "storing", key) from e
        return StoredObject(key=key, size=len(body), sha256=sha256.hexdigest(),
                            version_id=answer.get("VersionId"), content_type=content_type,
                            metadata=user_metadata)

    def _conditional(self, operation, arguments: dict, key: str) -> dict:
        """Run a write with ``If-None-Match: *``; 412 means the key is taken.

        Falls back to an unconditional write (once, remembered) when the store
        does not implement the condition; the HEAD before the upload then is
        the only guard.
        """
        if self._conditional_writes:
            try:
                return operation(**arguments, IfNoneMatch="*")
            except Exception as e:
                code, status = _error_code(e)
                if status == 412 or code == "PreconditionFailed":
                    raise ObjectExists(f"object {key!r} already exists") from e
                if code != "NotImplemented" and status != 501:
                    raise
                log.warning("%s does not support If-None-Match on writes; "
                            "relying on a HEAD before each upload", self.endpoint)
                self._conditional_writes = False
                self._refuse_existing(key)
        return operation(**arguments)

    def _put_multipart(self, key: str, parts: _PartReader, content_type: str,
                       user_metadata: dict) -> StoredObject:
        try:
            created = self._client.create_multipart_upload(
                Bucket=self.bucket, Key=key, ContentType=content_type, Metadata=user_metadata,
                ChecksumAlgorithm="SHA256", **self._lock_arguments(),
            )
        except Exception as e:
            raise self._fail(e, "starting the upload of", key) from e
        upload_id = created["UploadId"]
        may_abort = True
        try:
            sent, size, whole = self._send_parts(key, upload_id, parts)
            may_abort = False  # from here on the upload may complete
            version_id = self._complete(key, upload_id, sent)
        except BaseException as e:
            if may_abort:
                self._abort(key, upload_id)
            if isinstance(e, StorageError) or not isinstance(e, Exception):
                raise
            raise self._fail(e, "uploading", key) from e
        sha256 = whole.hexdigest()
        self._tag_sha256(key, version_id, sha256)
        return StoredObject(key=key, size=size, sha256=sha256, version_id=version_id,
                            content_type=content_type, metadata=user_metadata)

    def _send_parts(self, key: str, upload_id: str, parts: _PartReader):
        """Upload every part; return (parts list for completion, size, whole-object hash)."""
        whole = hashlib.sha256()
        size = 0
        sent: list[tuple[int, str, Future]] = []
        # At most `concurrency` parts uploading plus one waiting in the pool's
        # queue; the calling thread reads the next one meanwhile.
        slots = threading.BoundedSemaphore(self.concurrency + 1)
        with ThreadPoolExecutor(max_workers=self.concurrency,
                                thread_name_prefix="s3-part") as pool:
            try:
                number = 0
                while part := parts.next_part():
                    number += 1
                    if number > MAX_PARTS:
                        raise StorageError(f"object {key!r} needs more than {MAX_PARTS} parts")
                    whole.update(part)
                    size += len(part)
                    checksum = _b64(hashlib.sha256(part).digest())
                    slots.acquire()
                    future = pool.submit(self._upload_part, key, upload_id, number, part,
                                         checksum)
                    future.add_done_callback(lambda _: slots.release())
                    sent.append((number, checksum, future))
                    del part
                    self._raise_failed(sent)
            except BaseException:
                for _, _, future in sent:
                    future.cancel()
                raise
        # The pool has finished every part here.
        self._raise_failed(sent)
        completed = [
            {"PartNumber": number, "ETag": future.result(), "ChecksumSHA256": checksum}
            for number, checksum, future in sent
        ]
        return completed, size, whole

    @staticmethod
    def _raise_failed(sent: list[tuple[int, str, Future]]) -> None:
        for _, _, future in sent:
            if future.done() and not future.cancelled() and future.exception() is not None:
                raise future.exception()

    def _upload_part(self, key: str, upload_id: str, number: int, body: bytearray,
                     checksum: str) -> str:
        try:
            answer = self._client.upload_part(
                Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number,
                Body=body, ChecksumAlgorithm="SHA256", ChecksumSHA256=checksum,
            )
        except Exception as e:
            raise self._fail(e, f"uploading part {number} of", key) from e
        return answer["ETag"]

    def _complete(self, key: str, upload_id: str, completed: list[dict]) -> str | None:
        arguments = {"Bucket": self.bucket, "Key": key, "UploadId": upload_id,
                     "MultipartUpload": {"Parts": completed}}
        try:
            answer = self._conditional(self._client.complete_multipart_upload, arguments, key)
        except ObjectExists:
            self._abort(key, upload_id)  # refused by the condition: it did not complete
            raise
        except Exception as e:
            code, status = _error_code(e)
            if status is not None and 400 <= status < 500 and status != 404 \
                    and code != "NoSuchUpload":
                # A definite refusal (bad part list, access denied, conflict):
                # the upload is still open and safe to abort.
                self._abort(key, upload_id)
                raise self._fail(e, "completing the upload of", key) from e
            # A timeout, a 5xx or NoSuchUpload after a retry: it may have
            # completed. Never abort then; see whether our object is there.
            found = self._find_completed(key, completed)
            if found is not None:
                return found or None
            raise StorageError(
                f"completing the upload of {key!r} failed ({code or type(e).__name__}) and it "
                f"may or may not have completed; the upload {upload_id} is left for "
                "sweep_incomplete_uploads()"
            ) from e
        return answer.get("VersionId")

    def _find_completed(self, key: str, completed: list[dict]) -> str | None:
        """The version id ("" when unversioned) if `key` holds exactly our completed upload.

        Recognised by the multipart ETag, which S3 derives from the part ETags.
        This only identifies our own upload; it is not a digest of the content.
        """
        try:
            digests = b"".join(binascii.unhexlify(p["ETag"].strip('"')) for p in completed)
            expected = f'"{hashlib.md5(digests, usedforsecurity=False).hexdigest()}-{len(completed)}"'
            answer = self._client.head_object(Bucket=self.bucket, Key=key)
        except Exception:  # noqa: BLE001 - unknown stays unknown
            return None
        if answer.get("ETag") == expected:
            return answer.get("VersionId") or ""
        return None

    def _abort(self, key: str, upload_id: str) -> None:
        try:
            self._client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except Exception:  # noqa: BLE001 - the original error matters more
            log.warning("could not abort upload %s of %s; sweep_incomplete_uploads() will",
                        upload_id, key, exc_info=True)

    def _tag_sha256(self, key: str, version_id: str | None, sha256: str) -> None:
        arguments = {"Bucket": self.bucket, "Key": key,
                     "Tagging": {"TagSet": [{"Key": SHA256_FIELD, "Value": sha256}]}}
        if version_id:
            arguments["VersionId"] = version_id
        try:
            self._client.put_object_tagging(**arguments)
        except Exception:  # noqa: BLE001 - the object is stored and correct
            log.warning("object %s stored, but its sha256 tag could not be written; "
                        "head() will report sha256=None", key, exc_info=True)

    def sweep_incomplete_uploads(self, older_than_seconds: float) -> list[dict]:
        """Abort multipart uploads started more than `older_than_seconds` ago.

        Uploads of a crashed or killed worker stay open and keep their parts
        (SeaweedFS keeps them across restarts). Choose a threshold well above
        the longest upload: an upload being completed right now must not be
        aborted. Returns one ``{"key", "upload_id", "initiated"}`` per aborted
        upload.
        """
        if older_than_seconds < 0:
            raise ValueError("older_than_seconds must not be negative")
        cutoff = datetime.now(timezone.utc) - timedelta(seconds=older_than_seconds)
        aborted = []
        try:
            pages = self._client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket)
            stale = [
                upload
                for page in pages
                for upload in page.get("Uploads") or []
                if upload["Initiated"] <= cutoff
            ]
        except Exception as e:
            raise self._fail(e, "listing incomplete uploads") from e
        for upload in stale:
            try:
                self._client.abort_multipart_upload(
                    Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"])
            except Exception as e:
                code, _ = _error_code(e)
                if code == "NoSuchUpload":
                    continue  # finished or aborted meanwhile
                raise self._fail(e, "aborting an incomplete upload of", upload["Key"]) from e
            aborted.append({"key": upload["Key"], "upload_id": upload["UploadId"],
                            "initiated": upload["Initiated"]})
        return aborted

    # -- reading ---------------------------------------------------------------

    @staticmethod
    def _version(arguments: dict, version_id: str | None) -> dict:
        if version_id is not None:
            arguments["VersionId"] = version_id
        return arguments

    def head(self, key, *, version_id=None) -> StoredObject:
        validate_key(key)
        try:
            answer = self._client.head_object(**self._version(
                {"Bucket": self.bucket, "Key": key}, version_id))
        except Exception as e:
            raise self._fail(e, "reading the head of", key) from e
        metadata = dict(answer.get("Metadata") or {})
        sha256 = metadata.pop(SHA256_FIELD, None)
        actual_version = answer.get("VersionId")
        if actual_version == "null":
            actual_version = None
        if sha256 is None and (answer.get("TagCount") or "-" in (answer.get("ETag") or "")):
            sha256 = self._tagged_sha256(key, actual_version)
        return StoredObject(key=key, size=answer["ContentLength"], sha256=sha256,
                            version_id=actual_version, content_type=answer.get("ContentType"),
                            metadata=metadata)

    def _tagged_sha256(self, key: str, version_id: str | None) -> str | None:
        try:
            answer = self._client.get_object_tagging(**self._version(
                {"Bucket": self.bucket, "Key": key}, version_id))
        except Exception as e:
            raise self._fail(e, "reading the tags of", key) from e
        for tag in answer.get("TagSet") or []:
            value = str(tag.get("Value", "")).lower()
            if tag.get("Key") == SHA256_FIELD and len(value) == 64 \
                    and all(c in "0123456789abcdef" for c in value):
                return value
        return None

    def exists(self, key) -> bool:
        validate_key(key)
        try:
            self._client.head_object(Bucket=self.bucket, Key=key)
        except Exception as e:
            error = self._fail(e, "checking", key)
            if isinstance(error, FileNotFoundError):
                return False
            raise error from e
        return True

    def open(self, key, *, version_id=None) -> ObjectReader:
        validate_key(key)
        try:
            answer = self._client.get_object(**self._version(
                {"Bucket": self.bucket, "Key": key}, version_id))
        except Exception as e:
            raise self._fail(e, "reading", key) from e
        return ObjectReader(
            answer["Body"], key=key, size=answer["ContentLength"],
            version_id=answer.get("VersionId"), content_type=answer.get("ContentType"),
            translate=lambda e: self._fail(e, "reading", key),
        )

    def read_range(self, key, start, end_inclusive, *, version_id=None) -> bytes:
        validate_key(key)
        validate_range(start, end_inclusive)
        try:
            answer = self._client.get_object(**self._version(
                {"Bucket": self.bucket, "Key": key, "Range": f"bytes={start}-{end_inclusive}"},
                version_id))
            return answer["Body"].read()
        except Exception as e:
            code, status = _error_code(e)
            if code == "InvalidRange" or status == 416:
                raise ValueError(f"range {start}-{end_inclusive} is beyond the object") from e
            raise self._fail(e, "reading", key) from e

    def url(self, key, *, expires=300, filename=None, content_type=None,
            version_id=None) -> str:
        """A presigned GET URL whose response type and disposition are forced (see base class)."""
        validate_key(key)
        if not 1 <= int(expires) <= 7 * 24 * 3600:
            raise ValueError("expires must be between 1 second and 7 days")
        if content_type is None:
            content_type = self.head(key, version_id=version_id).content_type
        headers = download_headers(content_type, filename)
        params = self._version({
            "Bucket": self.bucket,
            "Key": key,
            "ResponseContentType": headers["Content-Type"],
            "ResponseContentDisposition": headers["Content-Disposition"],
        }, version_id)
        try:
            return self._client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=int(expires))
        except Exception as e:
            raise self._fail(e, "signing a URL for", key) from e

    def list_keys(self, prefix="") -> Iterator[str]:
        validate_prefix(prefix)
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix)
            for page in pages:
                for entry in page.get("Contents") or []:
                    yield entry["Key"]
        except Exception as e:
            raise self._fail(e, "listing") from e

    def ping(self) -> None:
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except Exception as e:
            raise self._fail(e, "reaching the bucket") from e
