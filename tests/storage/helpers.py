"""Helpers shared by the storage tests."""

from __future__ import annotations

import hashlib

from storage.s3 import MIN_PART_SIZE

#: S3 part size in the tests: the smallest S3 accepts, so multipart starts at 5 MiB.
PART_SIZE = MIN_PART_SIZE

class GeneratedStream:
    """A readable stream of `size` pseudo-random bytes made on the fly (never held whole).

    Returns short reads now and then, as sockets do, and can raise after
    `fail_after` bytes to play a client that disconnects midway. With `start`
    it serves the same bytes from that offset on (a resumed upload); `size` is
    where it ends (EOF), whatever the object's size.
    """

    def __init__(self, size: int, *, seed: int = 1, fail_after: int | None = None,
                 start: int = 0):
        self.size = size
        self.position = start
        self.fail_after = fail_after
        self._block = b"".join(  # 64 KiB of pseudo-random bytes, repeated
            hashlib.sha256(f"{seed}-{i}".encode()).digest() for i in range(2048)
        )
        self._digest = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        if self.fail_after is not None and self.position >= self.fail_after:
            raise ConnectionResetError("client went away")
        remaining = self.size - self.position
        if n is None or n < 0:
            n = remaining
        n = min(n, remaining, len(self._block))
        if self.position % 3 == 1:
            n = min(n, 1000)  # a short read
        offset = self.position % len(self._block)
        chunk = (self._block[offset:] + self._block[:offset])[:n]
        self.position += len(chunk)
        self._digest.update(chunk)
        return chunk

    def hexdigest(self) -> str:
        """SHA-256 of the bytes handed out so far."""
        return self._digest.hexdigest()


def generated_bytes(size: int, *, seed: int = 1) -> bytes:
    """The bytes a `GeneratedStream(size, seed=seed)` serves, all at once (for small objects)."""
    stream = GeneratedStream(size, seed=seed)
    chunks = []
    while chunk := stream.read(1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)
