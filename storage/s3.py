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

Retention (`retain_until`)
    Extends the Object Lock retention of one version with GetObjectRetention
    and PutObjectRetention, never shortening it. The version is pinned by a
    HEAD first, so a missing key or version is FileNotFoundError on every
    store. While a retention is in force its mode is kept: S3 refuses to
    shorten a retention or change its mode (GOVERNANCE only with a bypass,
    which this store never sends; COMPLIANCE never); an object without a
    retention in force gets ``lock_mode``. After writing, the retention is read back: a store that
    answers OK but keeps less than asked raises StorageError. A store that
    writes no retention (``lock_mode`` None, or a bucket without Object Lock,
    as for `put()`) returns None and changes nothing. SeaweedFS (4.48)
    implements both calls: it refuses a shorter date or another mode with
    AccessDenied, keeps whole seconds only (`validate_retention` rounds up),
    and reports an object without retention as
    ``ObjectLockConfigurationNotFoundError`` where AWS says
    ``NoSuchObjectLockConfiguration``; both mean "no retention". Two flaws
    of SeaweedFS are worked around as far as possible (see `retain_until`):
    its check against shortening is not atomic, and writing a retention
    resets the object's stored content type to ``application/octet-stream``.

Streaming
    A body smaller than ``part_size`` goes in one PutObject. A larger one goes
    in a multipart upload: the calling thread reads one part at a time, hashes
    it and hands it to a pool of ``concurrency`` threads, waiting for a free
    one, so memory stays near ``(concurrency + 1) * part_size``
    whatever the object's size (the same machinery, `ObjectStore._transfer_parts`,
    serves `upload_parts`). Every request carries the SHA-256 of its own
    bytes (``ChecksumSHA256``), which the store checks (BadDigest otherwise).
    S3 allows 10,000 parts: pass ``size_hint`` for objects larger than
    ``part_size * 10000`` (78 GiB at 8 MiB) and the part size grows to fit.

Part checksums
    AWS accepts a part's ``ChecksumSHA256`` only when the upload was created
    with ``ChecksumAlgorithm=SHA256``, and then wants every part's checksum
    again at completion; its ListParts reports them. SeaweedFS (4.48) behaves
    the same except that its ListParts reports no checksums, so an upload
    resumed from `list_parts` could never be completed. On first use the store
    therefore asks once (a throw-away upload of one empty part, aborted): where
    ListParts reports checksums, uploads declare the algorithm; where it does
    not, they are created without it, every part still carries its SHA-256
    and is still refused on a mismatch (SeaweedFS checks it either way), and
    completion needs only the ETags that ListParts does report. The
    ``declare_checksums`` option (true/false) skips the question.

Resumable uploads
    `start_upload` checks the key like `put()` and creates the upload with the
    content type, metadata and lock retention (counted from that moment).
    `complete_upload` first refuses a taken key (including one hidden behind
    a delete marker), then checks the caller's parts against `list_parts`,
    then completes with ``If-None-Match: *`` under the failure rules below.
    Called again after a completion whose answer was lost, it recognises its
    own object by the multipart ETag (when the parts carry their ETags) and
    returns it instead of raising ObjectExists. `abort_upload` first lists the
    upload and aborts only an upload that is still open.

    SeaweedFS (4.48) lets two *concurrent* conditional completions of
    different uploads to one key both succeed, leaving two versions (its
    conditional PutObject is serialised). So completions of one key take
    turns within this process, and after every completion the key's version
    history is checked: when another version appeared, the write is reported
    as ObjectExists (both versions stay, locked). Across processes a writer
    that checked before the other completed keeps its success: record
    `version_id` and read by it.

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
    Any failure of `put()` before completion aborts its multipart upload (a
    resumable upload is left open for the caller to resume or abort). An upload whose
    completion may have happened (a timeout, a 5xx, NoSuchUpload on a retried
    completion) is never aborted: some stores destroy the published object
    when a completed upload id is aborted. If the object is then found with the
    expected multipart ETag, the put succeeded; otherwise StorageError is raised
    and the upload is left to `sweep_incomplete_uploads()`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import errno
import functools
import hashlib
import logging
import secrets
import threading
import weakref
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

from .base import (
    CHUNK_SIZE,
    MAX_PARTS,
    SHA256_FIELD,
    ObjectExists,
    ObjectReader,
    ObjectStore,
    StorageError,
    StoredObject,
    UploadedPart,
    download_headers,
    read_part,
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

MIB = 1024 * 1024
MIN_PART_SIZE = 5 * MIB
MAX_PART_SIZE = 5 * 1024 * MIB
DEFAULT_PART_SIZE = 8 * MIB
DEFAULT_CONCURRENCY = 3
LOCK_MODES = ("COMPLIANCE", "GOVERNANCE")

_NOT_FOUND_CODES = {"NoSuchKey", "NoSuchVersion", "NotFound", "404"}
#: What GetObjectRetention answers for a version without a retention (AWS; SeaweedFS).
_NO_RETENTION_CODES = {"NoSuchObjectLockConfiguration", "ObjectLockConfigurationNotFoundError"}

#: One lock per (endpoint, bucket, key) for the completions of this process.
_completion_locks: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
_completion_locks_guard = threading.Lock()


def _completion_lock(endpoint: str | None, bucket: str, key: str) -> threading.Lock:
    return _key_lock(_completion_locks, endpoint, bucket, key)


#: One lock per (endpoint, bucket, key) for the retention changes of this process.
_retention_locks: weakref.WeakValueDictionary = weakref.WeakValueDictionary()

#: How often `retain_until` writes a retention that the store reports shorter than asked.
_RETENTION_WRITES = 3


def _key_lock(table: weakref.WeakValueDictionary, endpoint: str | None, bucket: str,
              key: str) -> threading.Lock:
    with _completion_locks_guard:
        lock = table.get((endpoint, bucket, key))
        if lock is None:
            lock = table[(endpoint, bucket, key)] = threading.Lock()
        return lock


#: Key prefix of the throw-away upload that asks a store whether it lists part
#: checksums (never completed, so no object is ever written under it).
_PROBE_PREFIX = "storage-probe/multipart-checksums-"


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def _error_code(e: BaseException) -> tuple[str | None, int | None]:
    response = getattr(e, "response", None) or {}
    code = (response.get("Error") or {}).get("Code")
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    return code, status


class S3Store(ObjectStore):
    """Objects in one bucket of an S3-compatible store.

    Credentials come from the arguments or, when omitted, from boto3's usual
    chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` and the rest).
    """

    scheme = "s3"
    min_part_size = MIN_PART_SIZE
    max_part_size = MAX_PART_SIZE

    def __init__(self, bucket: str, *, endpoint: str | None = None, region: str | None = None,
                 addressing: str = "path", access_key: str | None = None,
                 secret_key: str | None = None, session_token: str | None = None,
                 lock_mode: str | None = "COMPLIANCE", lock_days: int = 3650,
                 part_size: int = DEFAULT_PART_SIZE, concurrency: int = DEFAULT_CONCURRENCY,
                 connect_timeout: float = 10, read_timeout: float = 60, max_attempts: int = 3,
                 declare_checksums: bool | None = None):
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
        # None: ask the store on first use (see "Part checksums" above).
        self._declare_checksums = declare_checksums
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
        # Parts carry x-amz-checksum-sha256, which the signature covers and the store verifies
        # against the body: signing the body's SHA-256 as well (botocore does over plain HTTP)
        # would hash every byte once more for nothing. Only UploadPart drops payload signing; a
        # second client would cost some 15 MB per worker, so one event hook switches it per request.
        self._unsigned_parts = config.merge(Config(s3={"addressing_style": addressing,
                                                       "payload_signing_enabled": False}))
        self._client.meta.events.register("before-sign.s3.UploadPart", self._sign_part_headers_only)

    def __repr__(self) -> str:
        return f"S3Store(bucket={self.bucket!r}, endpoint={self.endpoint!r})"

    @property
    def client(self):
        """The underlying boto3 S3 client, for administration and tests."""
        return self._client

    def _sign_part_headers_only(self, request, **_kwargs) -> None:
        if request.headers.get("x-amz-checksum-sha256"):
            request.context["client_config"] = self._unsigned_parts

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

    # -- retention -------------------------------------------------------------

    def _retention(self, arguments: dict, key: str) -> tuple[str | None, datetime | None]:
        """(mode, end in UTC) of a version's retention; (None, None) when it has none."""
        try:
            answer = self._client.get_object_retention(**arguments)
        except Exception as e:
            code, _ = _error_code(e)
            if code in _NO_RETENTION_CODES:
                return None, None
            raise self._fail(e, "reading the retention of", key) from e
        retention = answer.get("Retention") or {}
        end = retention.get("RetainUntilDate")
        if end is None:
            return None, None
        if end.tzinfo is None:
            end = end.replace(tzinfo=timezone.utc)
        return retention.get("Mode"), end.astimezone(timezone.utc)

    def retain_until(self, key, until, *, version_id=None) -> datetime | None:
        """Extend the Object Lock retention of the version to `until` (see the base class).

        The mode of a retention in force is kept (a GOVERNANCE retention stays
        GOVERNANCE even when ``lock_mode`` is COMPLIANCE: changing it needs a
        bypass, which this store never sends); otherwise ``lock_mode`` is used.
        Returns None, changing nothing, when this store writes no retention:
        ``lock_mode`` None (a bucket default retention of the object is neither
        read nor changed) or a bucket without Object Lock (`check_setup` reports
        that). A refused extension raises StorageError, unless a concurrent
        call has meanwhile extended the retention at least as far.

        The store's check against shortening is not atomic on SeaweedFS
        (4.48): two PutObjectRetention calls racing on one version can leave
        the earlier end. Calls for one key therefore take turns within this
        process, and an end read back short of `until` is written again (a
        few times, then StorageError). Across processes a racing call can
        still lower the end to its own (later than now) `until`.

        SeaweedFS (4.48) also resets the stored content type to
        ``application/octet-stream`` when it writes a retention (bytes, ETag,
        metadata, tags and version stay). It cannot be restored without a new
        version, which write-once forbids, so a warning is logged: serve
        records with the content type the database keeps, as the views do.
        """
        validate_key(key)
        until = validate_retention(until)
        arguments = self._version({"Bucket": self.bucket, "Key": key}, version_id)
        try:
            head = self._client.head_object(**arguments)
        except Exception as e:
            raise self._fail(e, "reading the head of", key) from e
        enabled, _ = self._lock_settings()
        if self.lock_mode is None or not enabled:
            return None
        if version_id is None and head.get("VersionId") not in (None, "", "null"):
            arguments["VersionId"] = head["VersionId"]  # act on the version just seen
        with _key_lock(_retention_locks, self.endpoint, self.bucket, key):
            current = self._extend_retention(arguments, key, until)
        self._warn_if_type_reset(arguments, key, head.get("ContentType"))
        return current

    def _extend_retention(self, arguments: dict, key: str, until: datetime) -> datetime:
        """Write the retention until the store reports an end at or after `until`."""
        for attempt in range(_RETENTION_WRITES + 1):
            mode, current = self._retention(arguments, key)
            if current is not None and current >= until:
                return current
            if attempt == _RETENTION_WRITES:
                break
            if attempt:
                log.warning("the retention of %s ends at %s after it was set to %s (a racing "
                            "writer?); writing it again", key, current, until)
            if current is None or current <= datetime.now(timezone.utc) \
                    or mode not in LOCK_MODES:
                mode = self.lock_mode
            try:
                self._client.put_object_retention(
                    **arguments, Retention={"Mode": mode, "RetainUntilDate": until})
            except Exception as e:
                # The store refuses to shorten: a concurrent call may have gone further.
                try:
                    _, current = self._retention(arguments, key)
                except (StorageError, FileNotFoundError):
                    current = None
                if current is not None and current >= until:
                    return current
                raise self._fail(e, "extending the retention of", key) from e
        raise StorageError(
            f"S3 bucket {self.bucket!r}: the store accepted the retention of {key!r} until "
            f"{until.isoformat()} but keeps {current.isoformat() if current else 'none'}")

    def _warn_if_type_reset(self, arguments: dict, key: str, before: str | None) -> None:
        try:
            after = self._client.head_object(**arguments).get("ContentType")
        except Exception:  # noqa: BLE001 - only a diagnostic; the retention is set
            return
        if before and after != before:
            log.warning("the store changed the content type of %s from %s to %s while setting "
                        "its retention; the bytes are unchanged", key, before, after)

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
        try:
            first = read_part(stream, part_size)
        except Exception as e:
            raise StorageError("reading the source stream failed") from e
        if len(first) < part_size:
            return self._put_single(key, first, content_type, user_metadata)
        parts = self._stream_parts(stream, first, part_size, key)
        del first  # the generator and then the pool own the parts; keep no reference here
        return self._put_multipart(key, parts, content_type, user_metadata)

    @staticmethod
    def _stream_parts(stream, first: bytearray, part_size: int, key: str
                      ) -> Iterator[tuple[int, bytearray]]:
        """``(number, bytes)`` of a stream of unknown length: `first`, then parts up to its end."""
        number, part = 1, first
        del first
        while True:
            yield number, part
            if len(part) < part_size:
                return
            part = None  # drop it before reading the next one
            part = read_part(stream, part_size)
            if not part:
                return
            number += 1
            if number > MAX_PARTS:
                raise StorageError(f"object {key!r} needs more than {MAX_PARTS} parts")

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

    def _put_multipart(self, key: str, parts: Iterator[tuple[int, bytearray]],
                       content_type: str, user_metadata: dict) -> StoredObject:
        upload_id = self._create_upload(key, content_type, user_metadata)
        whole = hashlib.sha256()
        may_abort = True
        try:
            stored = self._transfer_parts(
                parts, functools.partial(self._upload_part, key, upload_id), digest=whole)
            may_abort = False  # from here on the upload may complete
            version_id = self._complete(key, upload_id, stored, abort_on_refusal=True)
        except BaseException as e:
            if may_abort:
                self._abort(key, upload_id)
            if isinstance(e, StorageError) or not isinstance(e, Exception):
                raise
            raise self._fail(e, "uploading", key) from e
        sha256 = whole.hexdigest()
        self._tag_sha256(key, version_id, sha256)
        return StoredObject(key=key, size=sum(part.size for part in stored), sha256=sha256,
                            version_id=version_id, content_type=content_type,
                            metadata=user_metadata)

    # -- multipart machinery (put and resumable uploads) -------------------------

    def _declares_checksums(self) -> bool:
        """Whether uploads are created with ``ChecksumAlgorithm=SHA256`` (see the module notes)."""
        if self._declare_checksums is None:
            self._declare_checksums = self._lists_part_checksums()
        return self._declare_checksums

    def _lists_part_checksums(self) -> bool:
        """Ask the store once whether ListParts reports the parts' SHA-256.

        Opens a throw-away upload of one empty part under a random key,
        lists it, and aborts it (it never completes, so aborting is safe).
        """
        key = f"{_PROBE_PREFIX}{secrets.token_hex(8)}"
        empty = _b64(hashlib.sha256(b"").digest())
        try:
            upload_id = self._client.create_multipart_upload(
                Bucket=self.bucket, Key=key, ChecksumAlgorithm="SHA256")["UploadId"]
        except Exception as e:
            raise self._fail(e, "probing the multipart checksums of the store") from e
        try:
            self._client.upload_part(
                Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=b"",
                ChecksumAlgorithm="SHA256", ChecksumSHA256=empty)
            listed = self._client.list_parts(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except Exception as e:
            raise self._fail(e, "probing the multipart checksums of the store") from e
        finally:
            self._abort(key, upload_id)
        parts = listed.get("Parts") or []
        reported = bool(parts) and parts[0].get("ChecksumSHA256") == empty
        if not reported:
            log.info("%s does not list part checksums; multipart uploads send and verify "
                     "SHA-256 per part without declaring it at creation", self.endpoint)
        return reported

    def _create_upload(self, key: str, content_type: str, user_metadata: dict) -> str:
        arguments = {"Bucket": self.bucket, "Key": key, "ContentType": content_type,
                     "Metadata": user_metadata, **self._lock_arguments()}
        if self._declares_checksums():
            arguments["ChecksumAlgorithm"] = "SHA256"
        try:
            created = self._client.create_multipart_upload(**arguments)
        except Exception as e:
            raise self._fail(e, "starting the upload of", key) from e
        return created["UploadId"]

    def _upload_failure(self, e: BaseException, action: str, key: str,
                        upload_id: str) -> BaseException:
        code, _ = _error_code(e)
        if code == "NoSuchUpload":
            return FileNotFoundError(errno.ENOENT, f"no such upload of {key!r}", upload_id)
        return self._fail(e, action, key)

    def _part_uploader(self, key: str, upload_id: str):
        self._check_upload_id(upload_id)
        held = {part.number: part for part in self._listed_parts(key, upload_id)}
        return functools.partial(self._upload_part, key, upload_id), held

    def _upload_part(self, key: str, upload_id: str, number: int,
                     body: bytearray) -> UploadedPart:
        """Store one part with its SHA-256, which the store checks (BadDigest otherwise)."""
        checksum = _b64(hashlib.sha256(body).digest())
        try:
            answer = self._client.upload_part(
                Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number,
                Body=body, ChecksumAlgorithm="SHA256", ChecksumSHA256=checksum,
            )
        except Exception as e:
            raise self._upload_failure(e, f"uploading part {number} of", key, upload_id) from e
        return UploadedPart(number=number, size=len(body), checksum=checksum,
                            etag=answer["ETag"])

    def _complete(self, key: str, upload_id: str, parts: list[UploadedPart], *,
                  abort_on_refusal: bool) -> str | None:
        """Complete the upload conditionally; return the new version id (None when unversioned).

        Refused because the key is taken: aborts (it did not complete) and
        raises ObjectExists. Any other definite refusal: aborts only with
        `abort_on_refusal` and raises StorageError. An answer that leaves the
        outcome open (timeout, 5xx, NoSuchUpload on a retry) never aborts.
        """
        declared = self._declares_checksums()
        completed = []
        for part in parts:
            entry = {"PartNumber": part.number, "ETag": part.etag}
            if declared and part.checksum:
                entry["ChecksumSHA256"] = part.checksum
            completed.append(entry)
        arguments = {"Bucket": self.bucket, "Key": key, "UploadId": upload_id,
                     "MultipartUpload": {"Parts": completed}}
        try:
            # SeaweedFS lets two conditional completions that overlap in time
            # both succeed: at least the threads of this process take turns.
            with _completion_lock(self.endpoint, self.bucket, key):
                answer = self._conditional(self._client.complete_multipart_upload,
                                           arguments, key)
        except ObjectExists:
            self._abort(key, upload_id)  # refused by the condition: it did not complete
            raise
        except Exception as e:
            code, status = _error_code(e)
            if status is not None and 400 <= status < 500 and status != 404 \
                    and code != "NoSuchUpload":
                # A definite refusal (bad part list, access denied, conflict):
                # the upload is still open.
                if abort_on_refusal:
                    self._abort(key, upload_id)
                raise self._fail(e, "completing the upload of", key) from e
            # A timeout, a 5xx or NoSuchUpload after a retry: it may have
            # completed. Never abort then; see whether our object is there.
            found = self._find_completed(key, parts)
            if found is not None:
                self._check_sole_version(key, found or None)
                return found or None
            raise StorageError(
                f"completing the upload of {key!r} failed ({code or type(e).__name__}) and it "
                f"may or may not have completed; the upload {upload_id} is left for "
                "sweep_incomplete_uploads()"
            ) from e
        version_id = answer.get("VersionId")
        self._check_sole_version(key, version_id)
        return version_id

    def _check_sole_version(self, key: str, version_id: str | None) -> None:
        """Raise ObjectExists when the key holds versions besides the one just written.

        Only a writer racing ours in another process can have made one (see
        `_complete`); the key is then not this write's. Both versions stay
        (they are locked); a writer that looked before the other completed
        keeps its success, so readers must open the version id they recorded.
        """
        if not version_id:
            return  # unversioned: nothing to compare
        try:
            others = [
                entry.get("VersionId")
                for page in self._client.get_paginator("list_object_versions").paginate(
                    Bucket=self.bucket, Prefix=key)
                for entry in (page.get("Versions") or []) + (page.get("DeleteMarkers") or [])
                if entry.get("Key") == key and entry.get("VersionId") != version_id
            ]
        except Exception:  # noqa: BLE001 - the write itself succeeded
            log.warning("could not check the versions of %s after writing it", key,
                        exc_info=True)
            return
        if others:
            log.error("object %s was written twice at the same time (versions %s and %s); "
                      "this write is reported as ObjectExists", key, version_id,
                      ", ".join(map(str, others)))
            raise ObjectExists(
                f"object {key!r} was also written by another writer at the same time "
                f"(versions {', '.join(map(str, others))}); this write (version {version_id}) "
                "is not taken as the object")

    def _find_completed(self, key: str, parts: list[UploadedPart]) -> str | None:
        """The version id ("" when unversioned) if `key` holds exactly our completed upload.

        Recognised by the multipart ETag, which S3 derives from the part ETags.
        This only identifies our own upload; it is not a digest of the content.
        """
        try:
            digests = b"".join(binascii.unhexlify(part.etag.strip('"')) for part in parts)
            expected = f'"{hashlib.md5(digests, usedforsecurity=False).hexdigest()}-{len(parts)}"'
            answer = self._client.head_object(Bucket=self.bucket, Key=key)
        except Exception:  # noqa: BLE001 - unknown stays unknown
            return None
        if answer.get("ETag") == expected:
            return answer.get("VersionId") or ""
        return None

    def _abort(self, key: str, upload_id: str) -> None:
        """Abort an upload known not to have completed; failures are only logged."""
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

    # -- resumable uploads -------------------------------------------------------

    @staticmethod
    def _check_upload_id(upload_id) -> None:
        if not isinstance(upload_id, str) or not upload_id:
            raise ValueError("upload_id must be a non-empty string")

    def start_upload(self, key, *, content_type="application/octet-stream",
                     metadata=None) -> str:
        validate_key(key)
        validate_content_type(content_type)
        user_metadata = validate_metadata(metadata)
        self._refuse_existing(key)
        return self._create_upload(key, content_type, user_metadata)

    def list_parts(self, key, upload_id) -> list[UploadedPart]:
        validate_key(key)
        self._check_upload_id(upload_id)
        return self._listed_parts(key, upload_id)

    def _part_versions(self, key: str, upload_id: str) -> dict[int, list[UploadedPart]]:
        """Every distinct version the store lists for each part number, by number.

        S3 replaces a part uploaded again; SeaweedFS keeps each upload of a
        part number and lists them all, in no particular order.
        """
        versions: dict[int, list[UploadedPart]] = {}
        try:
            pages = self._client.get_paginator("list_parts").paginate(
                Bucket=self.bucket, Key=key, UploadId=upload_id)
            for page in pages:
                for entry in page.get("Parts") or []:
                    part = UploadedPart(number=entry["PartNumber"], size=entry["Size"],
                                        checksum=entry.get("ChecksumSHA256") or "",
                                        etag=entry.get("ETag") or "")
                    known = versions.setdefault(part.number, [])
                    if not any(v.etag == part.etag and v.size == part.size for v in known):
                        known.append(part)
        except Exception as e:
            raise self._upload_failure(e, "listing the parts of", key, upload_id) from e
        return dict(sorted(versions.items()))

    def _listed_parts(self, key: str, upload_id: str) -> list[UploadedPart]:
        versions = self._part_versions(key, upload_id)
        ambiguous = [number for number, held in versions.items() if len(held) > 1]
        if ambiguous:
            # Which one is the latest cannot be told; guessing could join the
            # wrong bytes into the object.
            raise StorageError(
                f"the upload of {key!r} holds different versions of part(s) "
                f"{', '.join(map(str, ambiguous))}; abort it and upload again")
        return [held[0] for held in versions.values()]

    def complete_upload(self, key, upload_id, parts, *, sha256=None) -> StoredObject:
        validate_key(key)
        self._check_upload_id(upload_id)
        parts = validate_part_list(parts)
        if sha256 is not None:
            sha256 = validate_sha256(sha256)
        try:
            self._refuse_existing(key)
        except ObjectExists:
            # A repeated call after a completion whose answer was lost finds
            # its own object (recognised by the parts' ETags): not a conflict.
            found = self._find_completed(key, parts) if all(p.etag for p in parts) else None
            if found is not None:
                self._check_sole_version(key, found or None)
                return self._describe_completed(key, found or None, sha256)
            self._abort_upload(key, upload_id)  # left alone if it has completed
            raise
        versions = self._part_versions(key, upload_id)
        checked = []
        for part in parts:
            candidates = versions.get(part.number) or []
            if part.etag:
                candidates = [v for v in candidates if v.etag.strip('"') == part.etag.strip('"')]
            if not candidates:
                raise StorageError(f"part {part.number} of the upload of {key!r} is not stored"
                                   + (" with that ETag" if part.etag else ""))
            if len(candidates) > 1:
                raise StorageError(f"the upload of {key!r} holds different versions of part "
                                   f"{part.number}; pass its ETag, or abort and upload again")
            stored = candidates[0]
            if part.size != stored.size \
                    or (part.checksum and stored.checksum and part.checksum != stored.checksum):
                raise StorageError(
                    f"part {part.number} of the upload of {key!r} does not match the stored "
                    "part (see list_parts)")
            checked.append(UploadedPart(number=part.number, size=stored.size,
                                        checksum=stored.checksum or part.checksum,
                                        etag=stored.etag))
        version_id = self._complete(key, upload_id, checked, abort_on_refusal=False)
        return self._describe_completed(key, version_id, sha256)

    def _describe_completed(self, key: str, version_id: str | None,
                            sha256: str | None) -> StoredObject:
        """Record the digest of a completed upload (reading it back when unknown); describe it."""
        arguments = self._version({"Bucket": self.bucket, "Key": key}, version_id)
        try:
            if sha256 is None:
                answer = self._client.get_object(**arguments)
                digest = hashlib.sha256()
                with contextlib.closing(answer["Body"]) as body:
                    while chunk := body.read(CHUNK_SIZE):
                        digest.update(chunk)
                sha256 = digest.hexdigest()
            else:
                answer = self._client.head_object(**arguments)
        except Exception as e:
            raise StorageError(
                f"S3 bucket {self.bucket!r}: the upload of {key!r} completed, but reading it "
                f"back failed ({_error_code(e)[0] or type(e).__name__}); call complete_upload "
                "again with the same parts to finish") from e
        self._tag_sha256(key, version_id, sha256)
        metadata = dict(answer.get("Metadata") or {})
        metadata.pop(SHA256_FIELD, None)
        return StoredObject(key=key, size=answer["ContentLength"], sha256=sha256,
                            version_id=version_id, content_type=answer.get("ContentType"),
                            metadata=metadata)

    def _abort_upload(self, key: str, upload_id: str) -> bool:
        # Only an upload that is still open is aborted: aborting the id of a
        # completed upload has destroyed the published object on some stores.
        try:
            self._client.list_parts(Bucket=self.bucket, Key=key, UploadId=upload_id, MaxParts=1)
        except Exception as e:
            code, _ = _error_code(e)
            if code == "NoSuchUpload":
                return False
            raise self._fail(e, "checking the upload of", key) from e
        try:
            self._client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except Exception as e:
            code, _ = _error_code(e)
            if code == "NoSuchUpload":
                return False  # finished or aborted meanwhile
            raise self._fail(e, "aborting an upload of", key) from e
        return True

    def list_uploads(self) -> list[dict]:
        try:
            pages = self._client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket)
            return [
                {"key": upload["Key"], "upload_id": upload["UploadId"],
                 "initiated": upload["Initiated"].astimezone(timezone.utc)}
                for page in pages
                for upload in page.get("Uploads") or []
            ]
        except Exception as e:
            raise self._fail(e, "listing incomplete uploads") from e

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
            version_id=None, attachment=False) -> str:
        """A presigned GET URL whose response type and disposition are forced (see base class)."""
        validate_key(key)
        if not 1 <= int(expires) <= 7 * 24 * 3600:
            raise ValueError("expires must be between 1 second and 7 days")
        if content_type is None:
            content_type = self.head(key, version_id=version_id).content_type
        headers = download_headers(content_type, filename, attachment=attachment)
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

    def check_setup(self) -> list[str]:
        """Problems: a missing or unreachable bucket, versioning not Enabled, no Object Lock.

        Object Lock is required only when this store writes retention
        (``lock_mode`` is not None). Asks the store afresh each time.
        """
        where = f"bucket {self.bucket!r} at {self.endpoint or 'the default S3 endpoint'}"
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except Exception as e:
            code, status = _error_code(e)
            if status == 404 or code in ("NoSuchBucket", "NotFound", "404"):
                return [f"{where} does not exist"]
            return [f"{where} cannot be reached: {code or type(e).__name__}"]
        problems = []
        try:
            status = self._client.get_bucket_versioning(Bucket=self.bucket).get("Status")
        except Exception as e:
            problems.append(f"the versioning state of {where} cannot be read: "
                            f"{_error_code(e)[0] or type(e).__name__}")
        else:
            if status != "Enabled":
                problems.append(f"versioning of {where} is {status or 'off'}; it must be "
                                "Enabled")
        if self.lock_mode is not None:
            try:
                answer = self._client.get_object_lock_configuration(Bucket=self.bucket)
            except Exception as e:
                code, _ = _error_code(e)
                if code == "ObjectLockConfigurationNotFoundError":
                    problems.append(
                        f"Object Lock is not enabled on {where}, but lock_mode is "
                        f"{self.lock_mode}: create the bucket with Object Lock "
                        "(or set lock_mode=none)")
                else:
                    problems.append(f"the Object Lock configuration of {where} cannot be "
                                    f"read: {code or type(e).__name__}")
            else:
                configuration = answer.get("ObjectLockConfiguration") or {}
                if configuration.get("ObjectLockEnabled") != "Enabled":
                    problems.append(f"Object Lock is not enabled on {where}, but lock_mode "
                                    f"is {self.lock_mode}")
        return problems
