"""The object-store contract shared by every backend.

An object store keeps opaque byte streams under keys. It is write-once: a key,
once written, is never overwritten and the store offers no delete. It knows
nothing of cases or records; callers build keys from their own ids.

Errors:
- `StorageError` for every failure of the backend (raised ``from`` the cause);
- `ObjectExists` (a `StorageError`) when `put()` meets a key that is taken;
- the builtin `FileNotFoundError` for a missing object or version;
- the builtin `ValueError` for a malformed argument (key, range, metadata).
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

#: Size of the reads used when streaming and hashing.
CHUNK_SIZE = 1024 * 1024

MAX_KEY_LENGTH = 1024

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


def validate_range(start: int, end_inclusive: int) -> None:
    """Check a byte range as used by HTTP Range (both ends included)."""
    if not isinstance(start, int) or not isinstance(end_inclusive, int):
        raise ValueError("range bounds must be integers")
    if start < 0 or end_inclusive < start:
        raise ValueError(f"invalid byte range {start}-{end_inclusive}")


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


def download_headers(content_type: str | None, filename: str | None = None) -> dict[str, str]:
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
    disposition = "inline" if is_inline_type(safe_type) else "attachment"
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
            content_type: str | None = None, version_id: str | None = None) -> str | None:
        """A short-lived URL from which a browser can download the object, or None.

        None means the backend cannot serve directly (local files): stream with
        `open()` and `download_headers()` instead. Where a URL is returned, its
        response content type and disposition are always fixed by the URL
        itself, following `download_headers()`: stored HTML or SVG never renders
        inline. `content_type` defaults to the stored one; `filename` names the
        download.
        """
        return None

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        """Yield every key starting with `prefix`, in lexicographic order, lazily."""
        raise NotImplementedError

    def ping(self) -> None:
        """Return when the store is reachable and usable; raise StorageError otherwise."""
        raise NotImplementedError

    @property
    def object_lock(self) -> bool:
        """Whether write-once is enforced by the store itself (not only by this code)."""
        return False
