"""The object-store contract shared by every backend.

An object store keeps opaque byte streams under keys. It is write-once: a key,
once written, is never overwritten and the store offers no delete. It knows
nothing of cases or records; callers build keys from their own ids.

Errors:
- `StorageError` for every failure of the backend (raised ``from`` the cause);
- `ObjectExists` (a `StorageError`) when `put()` meets a key that is taken;
- the builtin `FileNotFoundError` for a missing object or version, or an
  unknown resumable upload;
- the builtin `ValueError` for a malformed argument (key, range, metadata).

Besides the one-shot `put()`, a store offers resumable uploads (`start_upload`,
`upload_parts`, `list_parts`, `complete_upload`, `abort_upload`): an object is
sent in numbered parts of a fixed size over as many calls as it takes, and the
store remembers the parts it holds, so a client whose connection dropped
resumes after the last stored part.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

#: Size of the reads used when streaming and hashing.
CHUNK_SIZE = 1024 * 1024

MAX_KEY_LENGTH = 1024

#: Most parts one upload may have (the S3 limit; the local store keeps it too).
MAX_PARTS = 10000

#: Metadata key the stores use for the whole-object SHA-256; callers may not use it.
SHA256_FIELD = "sha256"

_SEGMENT = r"[A-Za-z0-9_-][A-Za-z0-9._-]*"
_KEY_RE = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*")
_PREFIX_RE = re.compile(r"[A-Za-z0-9._/-]*")
_META_KEY_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_META_VALUE_RE = re.compile(r"[\x20-\x7e]*")
_MAX_METADATA_BYTES = 2000
_TOKEN = r"[A-Za-z0-9!#$%&'*+.^_`|~-]+"
_CONTENT_TYPE_RE = re.compile(
    rf"{_TOKEN}/{_TOKEN}(?:\s*;\s*{_TOKEN}=(?:{_TOKEN}|\"[\x20\x21\x23-\x5b\x5d-\x7e]*\"))*"
)
_SHA256_RE = re.compile(r"[0-9a-f]{64}")

#: Content types a browser may show inline. Everything else is served as an
#: attachment, so stored HTML, SVG or script never runs in a browser.
INLINE_TYPE_PREFIXES = ("image/", "video/")
INLINE_TYPES = frozenset({"application/pdf"})
NEVER_INLINE_TYPES = frozenset({"image/svg+xml"})


class StorageError(Exception):
    """Any failure of the storage backend. The cause is chained (``raise ... from e``)."""


class ObjectExists(StorageError):
    """`put()` was asked to write a key that already holds an object; nothing was written."""


class PartConflict(ValueError):
    """`upload_parts` met a part number the store already holds with other bytes.

    Parts are write-once like objects: a part sent again with the same bytes
    is skipped, with other bytes it is refused (the client is sending another
    file, or other offsets). The parts before it in the same call are stored.
    """


@dataclass(frozen=True)
class StoredObject:
    """What the store knows about one stored object.

    `sha256` is the lowercase hex SHA-256 of the whole object as recorded by the
    store at write time, or None when the store holds no such record for it
    (see the backend's notes). `metadata` is the caller's metadata only.
    """

    key: str
    size: int
    sha256: str | None
    version_id: str | None
    content_type: str | None = None
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class UploadedPart:
    """One part of a resumable upload, as the store holds it.

    `number` is 1-based; `checksum` is the base64 of the part's SHA-256 (the
    form S3 calls ChecksumSHA256), or "" when the store does not report it
    (SeaweedFS's ListParts does not); `etag` is the backend's token for the
    part (S3 ETag; "" for the local store).
    """

    number: int
    size: int
    checksum: str
    etag: str = ""


def validate_key(key: str) -> str:
    """Return `key` when it is a valid object key, else raise ValueError.

    A key is 1-1024 characters of ``A-Z a-z 0-9 . _ - /``, made of
    ``/``-separated non-empty segments, none of which starts with a dot (so no
    ``.``, ``..`` or hidden names, which the local backend keeps for itself), and
    is relative (no leading ``/``).
    """
    if not isinstance(key, str):
        raise ValueError(f"object key must be a string, not {type(key).__name__}")
    if not key or len(key) > MAX_KEY_LENGTH or not _KEY_RE.fullmatch(key):
        raise ValueError(f"invalid object key: {key!r}")
    return key


def validate_prefix(prefix: str) -> str:
    """Return `prefix` when it can start a key (may be empty), else raise ValueError."""
    if not isinstance(prefix, str) or len(prefix) > MAX_KEY_LENGTH:
        raise ValueError(f"invalid key prefix: {prefix!r}")
    if not _PREFIX_RE.fullmatch(prefix) or prefix.startswith("/"):
        raise ValueError(f"invalid key prefix: {prefix!r}")
    segments = prefix.split("/")
    if any(segment in (".", "..") or segment.startswith(".") for segment in segments):
        raise ValueError(f"invalid key prefix: {prefix!r}")
    if any(segment == "" for segment in segments[:-1]):
        raise ValueError(f"invalid key prefix: {prefix!r}")
    return prefix


def validate_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """Return a plain copy of caller metadata after checking that every store can keep it.

    Keys are lowercase ``a-z 0-9 -`` (S3 lowercases them anyway) and may not be
    the reserved ``sha256``; values are printable ASCII (they travel as HTTP
    headers); together at most 2000 bytes. Keep free text such as an original
    file name in the database, not here.
    """
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise ValueError("metadata must be a mapping of str to str")
    result: dict[str, str] = {}
    total = 0
    for name, value in metadata.items():
        if not isinstance(name, str) or not _META_KEY_RE.fullmatch(name):
            raise ValueError(f"invalid metadata key: {name!r}")
        if name == SHA256_FIELD:
            raise ValueError(f"metadata key {SHA256_FIELD!r} is reserved for the store")
        if not isinstance(value, str) or not _META_VALUE_RE.fullmatch(value):
            raise ValueError(f"metadata value for {name!r} must be printable ASCII")
        if value != value.strip():
            raise ValueError(f"metadata value for {name!r} has surrounding whitespace")
        total += len(name) + len(value)
        result[name] = value
    if total > _MAX_METADATA_BYTES:
        raise ValueError(f"metadata too large ({total} bytes, at most {_MAX_METADATA_BYTES})")
    return result


def validate_content_type(content_type: str) -> str:
    """Return `content_type` when it is a well-formed media type, else raise ValueError."""
    if not isinstance(content_type, str) or not _CONTENT_TYPE_RE.fullmatch(content_type):
        raise ValueError(f"invalid content type: {content_type!r}")
    return content_type


def validate_sha256(digest: str) -> str:
    """Return `digest` lowercased when it is a hex SHA-256, else raise ValueError."""
    if not isinstance(digest, str) or not _SHA256_RE.fullmatch(digest.lower()):
        raise ValueError(f"not a hex SHA-256 digest: {digest!r}")
    return digest.lower()


def validate_retention(until: datetime, *, now: datetime | None = None) -> datetime:
    """Return `until` as an aware UTC datetime rounded up to the whole second, else ValueError.

    A naive datetime is taken as UTC. The end of a retention must lie in the
    future (after `now`, default the current time). Rounding up, never down,
    keeps a retention at least as long as asked on stores that keep whole
    seconds only (SeaweedFS drops the fraction).
    """
    if not isinstance(until, datetime):
        raise ValueError(f"a retention must end at a datetime, not {type(until).__name__}")
    if until.tzinfo is None or until.utcoffset() is None:
        until = until.replace(tzinfo=timezone.utc)
    until = until.astimezone(timezone.utc)
    if until.microsecond:
        until = until.replace(microsecond=0) + timedelta(seconds=1)
    if until <= (now or datetime.now(timezone.utc)):
        raise ValueError(f"a retention must end in the future, not at {until.isoformat()}")
    return until


def validate_range(start: int, end_inclusive: int) -> None:
    """Check a byte range as used by HTTP Range (both ends included)."""
    if not isinstance(start, int) or not isinstance(end_inclusive, int):
        raise ValueError("range bounds must be integers")
    if start < 0 or end_inclusive < start:
        raise ValueError(f"invalid byte range {start}-{end_inclusive}")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def plan_parts(first_part: int, part_size: int, total_size: int, *,
               min_part_size: int = 1, max_part_size: int | None = None
               ) -> list[tuple[int, int]]:
    """The ``(number, size)`` of the parts from `first_part` to the object's last one.

    An object of `total_size` bytes has ``ceil(total_size / part_size)`` parts
    (one empty part when it is empty); all are `part_size` long except the
    last. Raises ValueError for a part size outside the limits, a first part
    below 1, an offset beyond the object, or more than MAX_PARTS parts. An
    offset exactly at the end gives no parts.
    """
    if not _is_int(first_part) or not _is_int(part_size) or not _is_int(total_size):
        raise ValueError("first_part, part_size and total_size must be integers")
    if part_size < max(1, min_part_size):
        raise ValueError(f"part_size must be at least {max(1, min_part_size)} bytes")
    if max_part_size is not None and part_size > max_part_size:
        raise ValueError(f"part_size must be at most {max_part_size} bytes")
    if first_part < 1:
        raise ValueError("first_part must be at least 1")
    if total_size < 0:
        raise ValueError("total_size must not be negative")
    count = max(1, -(-total_size // part_size))
    if count > MAX_PARTS:
        raise ValueError(f"an object of {total_size} bytes needs more than {MAX_PARTS} parts "
                         f"of {part_size} bytes")
    offset = (first_part - 1) * part_size
    if offset > total_size:
        raise ValueError(f"part {first_part} starts at {offset}, beyond the object's "
                         f"{total_size} bytes")
    return [(number, min(part_size, total_size - (number - 1) * part_size))
            for number in range(first_part, count + 1)]


def validate_part_list(parts) -> list[UploadedPart]:
    """Return `parts` as a list when they are UploadedPart numbered 1..n in order, else ValueError."""
    parts = list(parts)
    if not parts:
        raise ValueError("an upload needs at least one part")
    for expected, part in enumerate(parts, start=1):
        if not isinstance(part, UploadedPart):
            raise ValueError(f"parts must be UploadedPart, not {type(part).__name__}")
        if part.number != expected:
            raise ValueError(f"parts must be numbered 1..{len(parts)} without gaps; "
                             f"found {part.number} where {expected} belongs")
    return parts


def read_part(stream, size: int) -> bytearray:
    """Read `size` bytes from `stream` into one buffer; fewer only when the stream ends.

    Reads in pieces of at most CHUNK_SIZE and never more than `size` bytes in
    all. Exceptions of the stream propagate unchanged; a stream that returns
    None (non-blocking) or something other than bytes raises TypeError.
    """
    buffer = bytearray(size)
    filled = 0
    with memoryview(buffer) as view:
        while filled < size:
            wanted = min(CHUNK_SIZE, size - filled)
            chunk = stream.read(wanted)
            if chunk is None:
                raise TypeError("source stream is non-blocking and returned no data")
            if not isinstance(chunk, (bytes, bytearray, memoryview)):
                raise TypeError(f"source stream returned {type(chunk).__name__}, not bytes")
            n = len(chunk)
            if n == 0:
                break
            if n > wanted:
                raise TypeError(f"source stream returned {n} bytes when asked for {wanted}")
            view[filled:filled + n] = chunk
            filled += n
    if filled < size:
        del buffer[filled:]
    return buffer


def _complete_parts_of(stream, plan: list[tuple[int, int]]) -> Iterator[tuple[int, bytearray]]:
    """Yield ``(number, bytes)`` for each planned part the stream holds in full.

    Stops at the first part the stream cannot fill (it ended early): that
    piece is dropped, the caller resumes from it later.
    """
    for number, size in plan:
        part = read_part(stream, size) if size else bytearray()
        if len(part) < size:
            return
        yield number, part
        del part  # the uploader owns it now


def _raise_first_failure(futures: list[Future]) -> None:
    """Raise the exception of the first finished, failed future, if any."""
    for future in futures:
        if future.done() and not future.cancelled() and future.exception() is not None:
            raise future.exception()


def media_type(content_type: str | None) -> str:
    """The bare lowercase ``type/subtype`` of a content type, without parameters."""
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def is_inline_type(content_type: str | None) -> bool:
    """Whether a browser may display this content type inline (images, video, PDF)."""
    bare = media_type(content_type)
    if bare in NEVER_INLINE_TYPES:
        return False
    return bare in INLINE_TYPES or bare.startswith(INLINE_TYPE_PREFIXES)


def content_disposition(disposition: str, filename: str | None) -> str:
    """A Content-Disposition value with an ASCII fallback name and an RFC 5987 UTF-8 name."""
    if not filename:
        return disposition
    fallback = "".join(
        ch if 0x20 <= ord(ch) < 0x7F and ch not in '"\\;' else "_" for ch in filename
    ).strip() or "download"
    value = f'{disposition}; filename="{fallback}"'
    if fallback != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value


def download_headers(content_type: str | None, filename: str | None = None, *,
                     attachment: bool = False) -> dict[str, str]:
    """Response headers for serving a stored object to a browser safely.

    Images, video and PDF may be shown inline; anything else (HTML, SVG,
    scripts, unknown types) is forced to download as an attachment. A malformed
    or missing type becomes ``application/octet-stream``. Views serving local
    objects use this so both backends follow one rule.
    """
    try:
        safe_type = validate_content_type(content_type) if content_type else None
    except ValueError:
        safe_type = None
    safe_type = safe_type or "application/octet-stream"
    disposition = "inline" if is_inline_type(safe_type) and not attachment else "attachment"
    return {
        "Content-Type": safe_type,
        "Content-Disposition": content_disposition(disposition, filename),
        "X-Content-Type-Options": "nosniff",
    }


class ObjectReader(io.RawIOBase):
    """A read-only binary stream over one stored object, returned by `ObjectStore.open()`.

    Use it as a context manager. ``read(n)`` reads at most n bytes; iterating
    yields chunks of up to 1 MiB (not lines), so it can be handed to a WSGI
    response as is. Failures while reading raise `StorageError`.
    """

    def __init__(self, raw, *, key: str, size: int, version_id: str | None,
                 content_type: str | None, translate: Callable[[BaseException], BaseException]):
        super().__init__()
        self._raw = raw
        self.key = key
        self.size = size
        self.version_id = version_id
        self.content_type = content_type
        self._translate = translate

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        try:
            data = self._raw.read(len(view))
        except Exception as e:  # noqa: BLE001 - every backend failure becomes StorageError
            raise self._translate(e) from e
        n = len(data)
        view[:n] = data
        return n

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        try:
            return self._raw.read(size)
        except Exception as e:  # noqa: BLE001
            raise self._translate(e) from e

    def readall(self) -> bytes:
        chunks = []
        while chunk := self.read(CHUNK_SIZE):
            chunks.append(chunk)
        return b"".join(chunks)

    def __iter__(self) -> Iterator[bytes]:
        return self.iter_chunks()

    def __next__(self) -> bytes:
        chunk = self.read(CHUNK_SIZE)
        if not chunk:
            raise StopIteration
        return chunk

    def iter_chunks(self, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """Yield the object's bytes in chunks of at most `chunk_size`."""
        while chunk := self.read(chunk_size):
            yield chunk

    def close(self) -> None:
        if not self.closed:
            try:
                self._raw.close()
            finally:
                super().close()


class ObjectStore:
    """Base class of the object stores. The docstrings are the contract every backend keeps.

    The same contract test suite (tests/storage/test_contract.py) runs against
    every backend.
    """

    #: URL scheme of the backend, as accepted by `storage.store_from_url`.
    scheme: str = ""

    #: Smallest and largest `part_size` that `upload_parts` accepts.
    min_part_size: int = 1
    max_part_size: int = 5 * 1024 * 1024 * 1024

    #: Parts that `upload_parts` (and a large `put`) sends at the same time.
    concurrency: int = 2

    def put(self, key: str, stream, *, content_type: str = "application/octet-stream",
            metadata: Mapping[str, str] | None = None,
            size_hint: int | None = None) -> StoredObject:
        """Store the bytes read from `stream` under a new `key`; return what was stored.

        `stream` is any object with ``read(n) -> bytes``; it is read to its end in
        bounded pieces, so memory does not grow with the object's size, and the
        SHA-256 of the whole object is computed on the way. `size_hint`, when
        known (a Content-Length), only tunes the transfer.

        Never overwrites: raises `ObjectExists` when the key holds an object,
        also when two writers race for one key (exactly one wins). On any other
        failure, including the stream raising midway, nothing is visible under
        the key afterwards, no partial upload is left behind, and `StorageError`
        is raised from the cause. Invalid key, content type or metadata raise
        ValueError before anything is read.
        """
        raise NotImplementedError

    def open(self, key: str, *, version_id: str | None = None) -> ObjectReader:
        """Open the object for streaming reads; returns an `ObjectReader` (a binary file object).

        Close it (or use ``with``). Raises FileNotFoundError when the key (or
        that version) does not exist.
        """
        raise NotImplementedError

    def read_range(self, key: str, start: int, end_inclusive: int, *,
                   version_id: str | None = None) -> bytes:
        """Return bytes ``start..end_inclusive`` of the object (both ends included), for HTTP Range.

        An end beyond the object is clamped to its last byte. Raises ValueError
        when ``start`` is negative, after ``end_inclusive``, or not inside the
        object (HTTP 416); FileNotFoundError when the object does not exist.
        """
        raise NotImplementedError

    def head(self, key: str, *, version_id: str | None = None) -> StoredObject:
        """Describe the object without reading it: size, SHA-256, version, content type, metadata.

        ``sha256`` is the digest recorded at write time, or None where the
        backend has no record of it. Raises FileNotFoundError when missing.
        """
        raise NotImplementedError

    def retain_until(self, key: str, until: datetime, *,
                     version_id: str | None = None) -> datetime | None:
        """Keep the object at least until `until`; return the retention end in force afterwards.

        Used when a case is archived: its records must be kept for decades.
        `until` is an aware datetime or a naive one in UTC; it is rounded up to
        the whole second. A retention is never shortened: when the object's
        retention already ends at or after `until`, nothing changes and that
        end is returned. Otherwise the retention is extended to `until`, which
        is returned. The result is an aware UTC datetime, or None when the store
        keeps no retention at all (see the backend's notes); then the call
        changes nothing.

        `version_id` names one version (default: the current one). Raises
        FileNotFoundError when the object (or that version) is missing,
        ValueError when `until` is not a datetime or not in the future, and
        StorageError when the store fails or does not keep the retention asked
        for. Repeating a call is harmless.
        """
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        """Whether an object is stored under `key`."""
        try:
            self.head(key)
        except FileNotFoundError:
            return False
        return True

    def verify(self, key: str, expected_sha256: str | None = None, *,
               version_id: str | None = None) -> tuple[bool, str]:
        """Re-read the whole object, re-hash it, and compare.

        Compares with `expected_sha256` when given (pass the digest your
        database recorded: that is the authoritative one), else with the digest
        the store recorded at write time. Returns ``(matches, actual_sha256)``.
        Raises StorageError when no digest is given and the store recorded
        none, FileNotFoundError when the object is missing.
        """
        if expected_sha256 is not None:
            reference = validate_sha256(expected_sha256)
        else:
            reference = self.head(key, version_id=version_id).sha256
            if reference is None:
                raise StorageError(
                    f"no SHA-256 is recorded in the store for {key!r}; pass expected_sha256"
                )
        digest = hashlib.sha256()
        with self.open(key, version_id=version_id) as reader:
            for chunk in reader.iter_chunks():
                digest.update(chunk)
        actual = digest.hexdigest()
        return actual == reference, actual

    def url(self, key: str, *, expires: int = 300, filename: str | None = None,
            content_type: str | None = None, version_id: str | None = None,
            attachment: bool = False) -> str | None:
        """A short-lived URL from which a browser can download the object, or None.

        None means the backend cannot serve directly (local files): stream with
        `open()` and `download_headers()` instead. Where a URL is returned, its
        response content type and disposition are always fixed by the URL
        itself, following `download_headers()`: stored HTML or SVG never renders
        inline. `content_type` defaults to the stored one; `filename` names the
        download; `attachment` forces a download even for types shown inline.
        """
        return None

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        """Yield every key starting with `prefix`, in lexicographic order, lazily."""
        raise NotImplementedError

    def ping(self) -> None:
        """Return when the store is reachable and usable; raise StorageError otherwise."""
        raise NotImplementedError

    def check_setup(self) -> list[str]:
        """Human-readable problems with how the store is set up; empty when it is fit for use.

        Unlike `ping()` this never raises for an unreachable store: that is one
        more problem in the list. The app refuses to start when the list is
        not empty.
        """
        return []

    # -- resumable uploads -----------------------------------------------------

    def start_upload(self, key: str, *, content_type: str = "application/octet-stream",
                     metadata: Mapping[str, str] | None = None) -> str:
        """Begin a resumable upload of a new object under `key`; return its upload id.

        Validates key, content type and metadata as `put()` does (ValueError)
        and raises `ObjectExists` when the key already holds an object. The
        content type and metadata are fixed now, for the object `complete_upload`
        makes. The upload stays open, with whatever parts it holds, until it is
        completed or aborted (or swept by `sweep_incomplete_uploads`).
        """
        raise NotImplementedError

    def upload_parts(self, key: str, upload_id: str, stream, *, first_part: int,
                     part_size: int, total_size: int, digest=None) -> list[UploadedPart]:
        """Store the parts of an upload that `stream` holds; return the parts stored by this call.

        `stream` (anything with ``read(n)``) holds the object's bytes from offset
        ``(first_part - 1) * part_size`` on; the object is `total_size` bytes and
        is cut into parts of `part_size` bytes, of which only the last (ending at
        `total_size`) may be shorter; an empty object has one empty part. The
        same `part_size` must be used for every call of one upload.

        The calling thread reads one part at a time and hands it to
        `concurrency` uploader threads, waiting for a free one, so memory stays
        near ``(concurrency + 1) * part_size`` whatever the object's size. Each part travels with its SHA-256, which the store
        verifies. `digest` (a hashlib object), when given, is updated on the
        calling thread, in order, with the bytes of every part handed to the
        store, i.e. after a normal return exactly with the bytes of the
        returned parts.

        At most ``total_size - offset`` bytes are read. When the stream ends
        before `total_size` (the client's connection dropped), the trailing
        piece shorter than its part is not stored and the call returns
        normally with the parts before it: the client resumes from there.
        Returns the stored parts in order (an empty list when the offset is
        `total_size`).

        Parts are write-once: a part the store already holds is not sent
        again when the stream has the same bytes for it (it is returned as
        stored by this call), and raises `PartConflict` (a ValueError) when
        the bytes differ; the held part stays as it was.

        Raises ValueError for bad arguments (a part size outside
        ``min_part_size..max_part_size``, `first_part` below 1, an offset beyond
        `total_size`, more than MAX_PARTS parts) before reading anything,
        FileNotFoundError when the upload is unknown, StorageError (from the
        cause) when the store fails.
        An exception raised by the stream (the app's size limit, a disconnect)
        propagates unchanged. In every case the parts stored before the failure
        stay stored (see `list_parts`), and the call returns or raises only
        once the in-flight parts have finished or were cancelled: no thread is
        left running.
        """
        validate_key(key)
        plan = plan_parts(first_part, part_size, total_size,
                          min_part_size=self.min_part_size, max_part_size=self.max_part_size)
        store_part, held = self._part_uploader(key, upload_id)
        if not plan:
            return []
        return self._transfer_parts(_complete_parts_of(stream, plan), store_part, digest=digest,
                                    held=held)

    def _part_uploader(self, key: str, upload_id: str
                       ) -> tuple[Callable[[int, bytearray], UploadedPart], dict[int, UploadedPart]]:
        """A function that stores one part, and the parts the upload holds now.

        The function is called on uploader threads and describes the part it
        stored; it raises FileNotFoundError when the upload is unknown,
        StorageError when the store fails. This is called before any byte is
        read, so an unknown upload (FileNotFoundError) consumes no input.
        """
        raise NotImplementedError

    @staticmethod
    def _same_part(held: UploadedPart, body) -> bool:
        """Whether `body` is the part the store holds (by checksum, else by an MD5 ETag)."""
        if held.size != len(body):
            return False
        if held.checksum:
            return held.checksum == base64.b64encode(hashlib.sha256(body).digest()).decode()
        return held.etag.strip('"') == hashlib.md5(body, usedforsecurity=False).hexdigest()

    def _transfer_parts(self, parts: Iterable[tuple[int, bytearray]],
                        store_part: Callable[[int, bytearray], UploadedPart], *,
                        digest=None, held: Mapping[int, UploadedPart] | None = None
                        ) -> list[UploadedPart]:
        """Hand ``(number, bytes)`` parts, read on this thread, to a bounded pool of uploaders.

        At most `concurrency` parts are being stored while this thread reads
        the next, which waits for a free uploader. The first failure of a part
        stops the reading; pending parts are cancelled, running ones finish.
        Exceptions of `parts` (the stream) propagate unchanged. A part already
        in `held` is not sent again when its bytes are the same (PartConflict
        when they differ).
        """
        futures: list[Future] = []
        slots = threading.BoundedSemaphore(self.concurrency)
        iterator = iter(parts)
        with ThreadPoolExecutor(max_workers=self.concurrency,
                                thread_name_prefix=f"{self.scheme or 'store'}-part") as pool:
            try:
                for number, part in iterator:
                    if digest is not None:
                        digest.update(part)
                    if held and number in held:
                        if not self._same_part(held[number], part):
                            raise PartConflict(f"part {number} is already stored with other "
                                               "bytes; parts cannot be replaced")
                        known: Future = Future()
                        known.set_result(UploadedPart(
                            number=number, size=len(part),
                            checksum=base64.b64encode(hashlib.sha256(part).digest()).decode(),
                            etag=held[number].etag))
                        futures.append(known)
                        del part
                        continue
                    slots.acquire()
                    try:
                        future = pool.submit(store_part, number, part)
                    except BaseException:
                        slots.release()
                        raise
                    future.add_done_callback(lambda _: slots.release())
                    futures.append(future)
                    del part  # the pool holds it until it is stored
                    _raise_first_failure(futures)
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
            finally:
                close = getattr(iterator, "close", None)
                if close is not None:
                    close()
        # Leaving the pool waited for every part.
        _raise_first_failure(futures)
        return [future.result() for future in futures]

    def list_parts(self, key: str, upload_id: str) -> list[UploadedPart]:
        """The parts the store holds for this upload, ordered by number.

        This is the source of truth when resuming: continue with
        ``first_part = n + 1`` where parts 1..n are listed without a gap.
        Raises FileNotFoundError when the upload is unknown (aborted,
        completed, or never started, or started under another key).
        """
        raise NotImplementedError

    def complete_upload(self, key: str, upload_id: str, parts: list[UploadedPart], *,
                        sha256: str | None = None) -> StoredObject:
        """Join the parts into the object under `key`; return what was stored.

        `parts` must be numbered 1..n in order without gaps (else ValueError);
        each must be held by the store, with the same size and, where given,
        the same checksum and etag (else StorageError; the upload stays open).
        Parts the store holds beyond n are discarded.

        Never overwrites: when the key holds an object, raises `ObjectExists`
        and aborts the upload, which could never complete. The join is
        conditional, so of two racing writers exactly one wins. A completion
        whose answer is lost is recognised where the store allows, and an
        upload that may have completed is never aborted.

        `sha256` is the hex SHA-256 of the whole object when the caller hashed
        every byte in one pass (the `digest` of `upload_parts`); when None (a
        resumed upload) the store reads the completed object back to compute
        it. The digest is recorded as `put()` records it and returned.
        FileNotFoundError when the upload is unknown.
        """
        raise NotImplementedError

    def abort_upload(self, key: str, upload_id: str) -> None:
        """Discard the upload and its parts. Idempotent: an unknown upload is fine.

        An upload that has completed is left alone (aborting a completed
        upload id destroys the object on some stores).
        """
        validate_key(key)
        if not isinstance(upload_id, str):
            raise ValueError("upload_id must be a string")
        self._abort_upload(key, upload_id)

    def _abort_upload(self, key: str, upload_id: str) -> bool:
        """Abort one upload; True when this call aborted it, False when it was not open."""
        raise NotImplementedError

    def list_uploads(self) -> list[dict]:
        """Open uploads, each ``{"key", "upload_id", "initiated"}`` (an aware datetime, UTC)."""
        raise NotImplementedError

    def sweep_incomplete_uploads(self, older_than_seconds: float,
                                 keep: Iterable[str] = ()) -> list[dict]:
        """Abort the uploads started more than `older_than_seconds` ago, except those in `keep`.

        `keep` holds the upload ids a user may still resume; they are never
        aborted, whatever their age. Uploads of a crashed worker stay open and
        keep their parts (SeaweedFS keeps them across restarts): choose a
        threshold well above the longest upload. Returns one
        ``{"key", "upload_id", "initiated"}`` per aborted upload.
        """
        if isinstance(keep, str):
            raise ValueError("keep must be a collection of upload ids, not one string")
        if not isinstance(older_than_seconds, (int, float)) or older_than_seconds < 0:
            raise ValueError("older_than_seconds must be a non-negative number")
        kept = set(keep)
        cutoff = datetime.now(timezone.utc) - timedelta(seconds=older_than_seconds)
        aborted = []
        for upload in self.list_uploads():
            if upload["upload_id"] in kept or upload["initiated"] > cutoff:
                continue
            if self._abort_upload(upload["key"], upload["upload_id"]):
                aborted.append(upload)
        return aborted

    @property
    def object_lock(self) -> bool:
        """Whether write-once is enforced by the store itself (not only by this code)."""
        return False
