"""Offline check of an exported case file (案卷 ZIP): the four properties of DA/T 70 (四性检测).

Usage (Python 3.11 or later, standard library only — no Flask, no database, no network)::

    python -m enforcement.archive_check CASE.zip                 # from the project root
    python enforcement/archive_check.py CASE.zip                 # or this file alone, copied anywhere
    python -m enforcement.archive_check CASE.zip --report R.json # the report somewhere else
    flask --app app archive check CASE.zip                       # the same check from the tracker

It prints every check with PASS or FAIL, grouped by property, and keeps the result as JSON
(default: CASE.zip.check.json beside the ZIP). Exit status: 0 when every check passes, 1 when
any fails (or the report cannot be written), 2 when the command is used wrongly.

What is checked, against the ZIP's own manifest.json:

- 真实性 authenticity: each file's SHA-256 and SM3 equal the manifest's; manifest.sha256 and
  manifest.sm3 hold the manifest's digests; the index PDF's digests; every audit event's hash
  recomputed from its fields equals its stored hash; each file's SHA-256 equals the one its
  upload event recorded in the hash-chained audit trail; each legal review's signed dossier
  digest matches its dossier, whose records are in the package unchanged; the metadata (size,
  format by its magic bytes, path) matches the files.
- 完整性 integrity: file count and total bytes; every required metadata field of every file and
  of the case; sequence numbers 1..N without gaps; no entry missing or extra; the process history
  (the filing and every stage change up to the case's current stage); the audit events chain
  where consecutive; every file's upload event present.
- 可用性 usability: every entry readable (its CRC checks out); formats on the accepted list and
  the bytes in that format; no encrypted ZIP entry; no encrypted PDF.
- 安全性 safety: no absolute or ".." paths (zip-slip) and no symbolic links in the ZIP; every check
  ran to its end; the report written and read back; the tool's version and the time recorded.

The manifest's digest files prove the manifest unchanged only together with the digest the
tracker recorded when it exported the file (audit event "case.exported", also in the report as
manifest_sha256): whoever can rewrite a ZIP can rewrite both. Compare them when it matters.
SM3 comes from hashlib where the local OpenSSL has it, else from the pure-Python SM3 below (the
same digest, slowly).
"""
from __future__ import annotations

import os
import sys

if __name__ == "__main__" and not __package__ and sys.path \
        and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)  # run as a file: the application's modules beside it must not shadow the standard library

import argparse  # noqa: E402
import datetime as _dt  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import stat  # noqa: E402
import struct  # noqa: E402
import traceback  # noqa: E402
import zipfile  # noqa: E402
import zlib  # noqa: E402

TOOL = "enforcement.archive_check"
VERSION = "1.0"
FORMAT = "enforcement-case-file"
FORMAT_VERSIONS = (1,)

MANIFEST = "manifest.json"
MANIFEST_SHA256 = "manifest.sha256"
MANIFEST_SM3 = "manifest.sm3"
RECORDS_DIR = "records/"

PROPERTIES = (
    ("authenticity", "真实性 Authenticity"),
    ("integrity", "完整性 Integrity"),
    ("usability", "可用性 Usability"),
    ("safety", "安全性 Safety"),
)

# Metadata every file entry must carry, whatever the manifest's own list says.
REQUIRED_FILE_FIELDS = ("seq", "path", "record_id", "type_code", "type_name", "stage", "kind", "mime", "size",
                        "sha256", "sm3", "original_filename", "created_at", "uploaded_by")
# Present in every entry, but may be null or false.
OPTIONAL_FILE_FIELDS = ("supersedes_record_id", "post_decision")
REQUIRED_CASE_FIELDS = ("id", "number", "body", "matter", "stage", "filed_on")
REQUIRED_TOP_FIELDS = ("format", "format_version", "exported_at", "exporter", "case", "files", "file_count",
                       "total_bytes", "events", "required_metadata", "index")
STAGES = ("filing", "investigation", "notice", "review", "decision", "service", "execution", "closed", "archived")
CREATION_ACTIONS = ("record.added", "record.superseded", "record.generated")
GENESIS_HASH = "0" * 64
EVENT_SEPARATOR = "\x1f"
HEAD_BYTES = 8192
CHUNK = 1024 * 1024
_HEX64 = re.compile(r"[0-9a-f]{64}")


# --- SM3 (GB/T 32905-2016), for Pythons whose OpenSSL lacks it ---------------------------------------

def _rotl(x: int, n: int) -> int:
    n %= 32
    return ((x << n) | (x >> (32 - n))) & 0xFFFFFFFF


_SM3_IV = (0x7380166F, 0x4914B2B9, 0x172442D7, 0xDA8A0600, 0xA96F30BC, 0x163138AA, 0xE38DEE4D, 0xB0FB0E4E)
_SM3_T = tuple(_rotl(0x79CC4519 if j < 16 else 0x7A879D8A, j) for j in range(64))


class PureSM3:
    """SM3 in plain Python, with hashlib's update/digest/hexdigest interface (slow: well under 1 MB/s)."""

    name = "sm3"
    digest_size = 32
    block_size = 64

    def __init__(self, data: bytes = b""):
        self._state = list(_SM3_IV)
        self._pending = b""
        self._length = 0
        if data:
            self.update(data)

    def update(self, data) -> None:
        data = bytes(data)
        self._length += len(data)
        data = self._pending + data
        whole = len(data) - len(data) % 64
        for start in range(0, whole, 64):
            self._compress(data[start:start + 64])
        self._pending = data[whole:]

    def _compress(self, block: bytes) -> None:
        # Rotations written out inline: this loop is the whole cost of hashing in plain Python.
        m = 0xFFFFFFFF
        w = list(struct.unpack(">16I", block))
        for j in range(16, 68):
            v = w[j - 3]
            x = w[j - 16] ^ w[j - 9] ^ (((v << 15) | (v >> 17)) & m)
            y = w[j - 13]
            w.append(x ^ (((x << 15) | (x >> 17)) & m) ^ (((x << 23) | (x >> 9)) & m)
                     ^ (((y << 7) | (y >> 25)) & m) ^ w[j - 6])
        a, b, c, d, e, f, g, h = self._state
        t = _SM3_T
        for j in range(64):
            a12 = ((a << 12) | (a >> 20)) & m
            s = (a12 + e + t[j]) & m
            ss1 = ((s << 7) | (s >> 25)) & m
            if j < 16:
                ff, gg = a ^ b ^ c, e ^ f ^ g
            else:
                ff, gg = (a & b) | (a & c) | (b & c), (e & f) | (~e & g)
            tt1 = (ff + d + (ss1 ^ a12) + (w[j] ^ w[j + 4])) & m
            tt2 = (gg + h + ss1 + w[j]) & m
            d, c, b, a = c, ((b << 9) | (b >> 23)) & m, a, tt1
            h, g, f = g, ((f << 19) | (f >> 13)) & m, e
            e = tt2 ^ (((tt2 << 9) | (tt2 >> 23)) & m) ^ (((tt2 << 17) | (tt2 >> 15)) & m)
        self._state = [x ^ y for x, y in zip(self._state, (a, b, c, d, e, f, g, h))]

    def copy(self) -> "PureSM3":
        other = PureSM3()
        other._state, other._pending, other._length = list(self._state), self._pending, self._length
        return other

    def digest(self) -> bytes:
        other = self.copy()
        bits = self._length * 8
        padding = b"\x80" + b"\x00" * ((55 - self._length) % 64) + struct.pack(">Q", bits)
        other.update(padding)
        return struct.pack(">8I", *other._state)

    def hexdigest(self) -> str:
        return self.digest().hex()


def new_sm3():
    """An SM3 hash object: OpenSSL's through hashlib when it has SM3, else `PureSM3`."""
    try:
        return hashlib.new("sm3")
    except ValueError:
        return PureSM3()


def sm3_implementation() -> str:
    return "hashlib" if not isinstance(new_sm3(), PureSM3) else "pure-python"


# --- the audit trail's event hash, re-implemented -----------------------------------------------------

def event_hash(event: dict) -> str:
    """The SHA-256 of one audit event as the tracker computes it (services/audit.event_hash):
    the fields in a fixed order, joined by U+001F, UTF-8; empty text for a missing value.

    `event` is an entry of the manifest's "events": id, at (ISO time with microseconds, as hashed),
    actor {id, name}, action, object {type, id, label}, body_id, case_id, before and after (the
    stored canonical JSON text, or null), prev_hash.
    """
    actor = event.get("actor") or {}
    obj = event.get("object") or {}

    def text(value) -> str:
        return "" if value is None else str(value)

    parts = (text(event.get("id")), text(event.get("at")), text(actor.get("id")), actor.get("name") or "",
             text(event.get("action")), text(obj.get("type")), obj.get("id") or "", obj.get("label") or "",
             text(event.get("body_id")), text(event.get("case_id")), event.get("before") or "",
             event.get("after") or "", text(event.get("prev_hash")))
    return hashlib.sha256(EVENT_SEPARATOR.join(parts).encode("utf-8")).hexdigest()


# --- formats: what records may be, told by their first bytes ------------------------------------------

def _riff(head: bytes, *forms: bytes) -> bool:
    return head[:4] in (b"RIFF", b"RF64", b"BW64") and head[8:12] in forms


_BRANDS = (
    (("heic", "heix", "heim", "heis"), "image/heic"),
    (("hevc", "hevx"), "image/heic-sequence"),
    (("mif1", "mif2"), "image/heif"),
    (("msf1",), "image/heif-sequence"),
    (("avif", "avis"), "image/avif"),
    (("M4A ", "M4B "), "audio/mp4"),
    (("M4V ", "M4VH", "M4VP"), "video/x-m4v"),
    (("qt  ",), "video/quicktime"),
    (("3gp", "3ge", "3gg", "3gs", "3gr"), "video/3gpp"),
    (("3g2",), "video/3gpp2"),
    (("iso", "mp41", "mp42", "avc1", "dash", "mmp4", "MSNV", "XAVC"), "video/mp4"),
)
# A sound-only file of a video brand is filed as audio.
_SOUND_OF = {"video/mp4": "audio/mp4", "video/3gpp": "audio/3gpp", "video/3gpp2": "audio/3gpp2"}
_QUICKTIME_ATOMS = (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")


def _iso_types(head: bytes) -> set[str]:
    """The types an ISO base media file (MP4, MOV, 3GP, M4A, HEIC, AVIF) may be, by its ftyp brands."""
    if head[4:8] != b"ftyp":
        return {"video/quicktime"} if head[4:8] in _QUICKTIME_ATOMS else set()
    size = struct.unpack(">I", head[:4])[0]
    brands = [head[8:12]] + [head[i:i + 4] for i in range(16, min(size, len(head)) - 3, 4)]
    for raw in brands:
        brand = raw.decode("latin-1")
        for prefixes, mime in _BRANDS:
            if any(brand == p or (len(p) == 3 and brand[:3] == p) for p in prefixes):
                return {mime, _SOUND_OF[mime]} if mime in _SOUND_OF else {mime}
    return set()


def _mpeg_audio(head: bytes) -> bool:
    return head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


def _ts(head: bytes) -> bool:
    for start, stride in ((0, 188), (4, 192)):
        positions = range(start, min(len(head), start + 5 * stride), stride)
        if len(positions) >= 3 and all(head[p] == 0x47 for p in positions):
            return True
    return False


_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

# The formats accepted for records (the tracker's upload allowlist), each with the test of its bytes.
ACCEPTED_FORMATS: dict[str, object] = {
    "application/pdf": lambda h: h.startswith(b"%PDF-"),
    "image/jpeg": lambda h: h.startswith(b"\xff\xd8\xff"),
    "image/png": lambda h: h.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/gif": lambda h: h.startswith((b"GIF87a", b"GIF89a")),
    "image/webp": lambda h: _riff(h, b"WEBP"),
    "image/tiff": lambda h: h.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")),
    "image/heic": lambda h: "image/heic" in _iso_types(h),
    "image/heic-sequence": lambda h: "image/heic-sequence" in _iso_types(h),
    "image/heif": lambda h: "image/heif" in _iso_types(h),
    "image/heif-sequence": lambda h: "image/heif-sequence" in _iso_types(h),
    "image/avif": lambda h: "image/avif" in _iso_types(h),
    "video/mp4": lambda h: "video/mp4" in _iso_types(h),
    "video/quicktime": lambda h: "video/quicktime" in _iso_types(h),
    "video/x-m4v": lambda h: "video/x-m4v" in _iso_types(h),
    "video/3gpp": lambda h: "video/3gpp" in _iso_types(h),
    "video/3gpp2": lambda h: "video/3gpp2" in _iso_types(h),
    "audio/mp4": lambda h: "audio/mp4" in _iso_types(h),
    "audio/3gpp": lambda h: "audio/3gpp" in _iso_types(h),
    "audio/3gpp2": lambda h: "audio/3gpp2" in _iso_types(h),
    "video/x-msvideo": lambda h: _riff(h, b"AVI ", b"AVIX"),
    "video/webm": lambda h: h.startswith(b"\x1a\x45\xdf\xa3") and b"webm" in h[:80],
    "video/x-matroska": lambda h: h.startswith(b"\x1a\x45\xdf\xa3") and b"matroska" in h[:80],
    "video/mpeg": lambda h: h.startswith((b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")),
    "video/mp2t": _ts,
    "video/ogg": lambda h: h.startswith(b"OggS"),
    "audio/ogg": lambda h: h.startswith(b"OggS"),
    "audio/wav": lambda h: _riff(h, b"WAVE"),
    "audio/flac": lambda h: h.startswith((b"fLaC", b"ID3")),
    "audio/mpeg": _mpeg_audio,
    "audio/aac": lambda h: h.startswith(b"ID3") or (len(h) > 1 and h[0] == 0xFF and h[1] & 0xF6 == 0xF0),
    "audio/amr": lambda h: h.startswith(b"#!AMR\n"),
    "audio/amr-wb": lambda h: h.startswith(b"#!AMR-WB\n"),
    "application/msword": lambda h: h.startswith(_OLE),
    "application/vnd.ms-excel": lambda h: h.startswith(_OLE),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": lambda h: h.startswith(_ZIP),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": lambda h: h.startswith(_ZIP),
    "application/ofd": lambda h: h.startswith(_ZIP),
}


def format_matches(mime: str, head: bytes) -> bool:
    """Whether `head` (a file's first bytes) is in the format `mime`; False for a format not accepted."""
    test = ACCEPTED_FORMATS.get(str(mime).split(";", 1)[0].strip().lower())
    try:
        return bool(test and test(head))
    except (IndexError, ValueError, struct.error):
        return False


def detect_format(head: bytes) -> str | None:
    """The first accepted format whose test the bytes pass (a name for messages), or None."""
    for mime in ACCEPTED_FORMATS:
        if format_matches(mime, head):
            return mime
    return None


# --- reading the ZIP ------------------------------------------------------------------------------

class _Scan:
    """What one pass over an entry's bytes found."""

    def __init__(self, name: str):
        self.name = name
        self.size = 0
        self.sha256 = ""
        self.sm3 = ""
        self.head = b""
        self.pdf_encrypted = False
        self.error: str | None = None
        self.data: bytes | None = None  # kept for the small files the checker reads (manifest, digests)


_ENCRYPT = re.compile(rb"/Encrypt(?![A-Za-z0-9])")
_SMALL = (MANIFEST, MANIFEST_SHA256, MANIFEST_SM3)


def _scan_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> _Scan:
    """Read the entry once, in chunks: size, SHA-256, SM3, its first bytes, /Encrypt, and the CRC."""
    scan = _Scan(info.filename)
    if info.flag_bits & 0x1:
        scan.error = "encrypted entry: cannot be read without a password"
        return scan
    sha, sm3 = hashlib.sha256(), new_sm3()
    head = bytearray()
    keep = info.filename in _SMALL
    kept = bytearray()
    tail = b""
    try:
        with archive.open(info) as handle:
            while True:
                chunk = handle.read(CHUNK)
                if not chunk:
                    break
                scan.size += len(chunk)
                sha.update(chunk)
                sm3.update(chunk)
                if len(head) < HEAD_BYTES:
                    head += chunk[:HEAD_BYTES - len(head)]
                if keep:
                    kept += chunk
                if _ENCRYPT.search(tail + chunk):
                    scan.pdf_encrypted = True
                tail = chunk[-16:]
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError) as exc:
        scan.error = f"unreadable: {exc}"
    scan.sha256, scan.sm3, scan.head = sha.hexdigest(), sm3.hexdigest(), bytes(head)
    if keep:
        scan.data = bytes(kept)
    if not bytes(head).startswith(b"%PDF-"):
        scan.pdf_encrypted = False  # the word means something only in a PDF
    return scan


def _unsafe_path(name: str) -> str | None:
    """Why an entry name could write outside the folder it is extracted to (zip-slip), or None."""
    if not name:
        return "empty name"
    if "\\" in name:
        return "backslash in the path"
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "absolute path"
    if any(part == ".." for part in name.split("/")):
        return "'..' in the path"
    if "\x00" in name:
        return "NUL in the name"
    return None


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    return info.create_system == 3 and stat.S_ISLNK(mode)


# --- the checks -----------------------------------------------------------------------------------

class _NoManifest(Exception):
    """A check that needs the manifest fails when there is none to read."""


class _Check:
    def __init__(self, prop: str, code: str, title: str):
        self.prop, self.code, self.title = prop, code, title
        self.problems: list[str] = []
        self.notes: list[str] = []
        self.error: str | None = None

    def fail(self, message: str) -> None:
        if len(self.problems) < 200:
            self.problems.append(message)
        elif len(self.problems) == 200:
            self.problems.append("… (more problems not listed)")

    @property
    def passed(self) -> bool:
        return not self.problems and self.error is None

    def as_dict(self) -> dict:
        out = {"id": self.code, "title": self.title, "result": "PASS" if self.passed else "FAIL"}
        if self.problems:
            out["problems"] = self.problems
        if self.notes:
            out["notes"] = self.notes
        if self.error:
            out["error"] = self.error
        return out


class Checker:
    """Runs every check on one ZIP; `report()` gives the result as plain data."""

    def __init__(self, path: str):
        self.path = path
        self.started = _now()
        self.archive: zipfile.ZipFile | None = None
        self.open_error: str | None = None
        self.infos: list[zipfile.ZipInfo] = []
        self.scans: dict[str, _Scan] = {}
        self.manifest: dict | None = None
        self.manifest_error: str | None = None
        self.checks: list[_Check] = []
        self.archive_sha256 = ""
        self.archive_size = 0

    # phase 1: read everything once
    def load(self) -> None:
        sha = hashlib.sha256()
        try:
            with open(self.path, "rb") as handle:
                for chunk in iter(lambda: handle.read(CHUNK), b""):
                    sha.update(chunk)
                    self.archive_size += len(chunk)
            self.archive_sha256 = sha.hexdigest()
            self.archive = zipfile.ZipFile(self.path)
            self.infos = self.archive.infolist()
        except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, ValueError) as exc:
            self.open_error = f"the ZIP cannot be opened: {exc}"
            self.archive = None
            return
        for info in self.infos:
            if info.is_dir():
                continue
            self.scans.setdefault(info.filename, _scan_entry(self.archive, info))
        scan = self.scans.get(MANIFEST)
        if scan is None:
            self.manifest_error = f"{MANIFEST} is missing"
        elif scan.error or scan.data is None:
            self.manifest_error = f"{MANIFEST} cannot be read: {scan.error}"
        else:
            try:
                value = json.loads(scan.data.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                self.manifest_error = f"{MANIFEST} is not UTF-8 JSON: {exc}"
            else:
                if isinstance(value, dict):
                    self.manifest = value
                else:
                    self.manifest_error = f"{MANIFEST} is not a JSON object"

    def close(self) -> None:
        if self.archive is not None:
            self.archive.close()

    # helpers
    def need_manifest(self) -> dict:
        if self.manifest is None:
            raise _NoManifest(self.manifest_error or self.open_error or "no manifest")
        return self.manifest

    def files(self) -> list[dict]:
        files = self.need_manifest().get("files")
        if not isinstance(files, list):
            raise _NoManifest("the manifest has no list of files")
        return [f if isinstance(f, dict) else {} for f in files]

    def events(self) -> list[dict]:
        events = self.need_manifest().get("events")
        if not isinstance(events, list):
            raise _NoManifest("the manifest has no list of audit events")
        return [e if isinstance(e, dict) else {} for e in events]

    def index_entry(self) -> dict:
        index = self.need_manifest().get("index")
        if not isinstance(index, dict) or not index.get("path"):
            raise _NoManifest("the manifest does not describe the index (卷内目录)")
        return index

    def scan_of(self, path) -> _Scan | None:
        return self.scans.get(path) if isinstance(path, str) else None

    def case_id(self):
        case = self.need_manifest().get("case")
        return case.get("id") if isinstance(case, dict) else None

    # phase 2: the checks
    def run(self) -> None:
        for prop, code, title, method in CHECKS:
            if prop == "safety" and code in ("checks_complete", "report_kept", "tool_recorded"):
                continue  # these look at the run itself: added by `finish`
            check = _Check(prop, code, title)
            self.checks.append(check)
            if self.open_error:
                check.fail(self.open_error)
                continue
            try:
                method(self, check)
            except _NoManifest as exc:
                check.fail(f"cannot be checked: {exc}")
            except Exception as exc:  # noqa: BLE001 - a crashing check fails, and the run says so
                check.error = f"the check stopped: {type(exc).__name__}: {exc}"
                check.notes.append(traceback.format_exc(limit=3))

    # -- authenticity
    def check_manifest_digests(self, check: _Check) -> None:
        scan = self.scans.get(MANIFEST)
        if scan is None or scan.error:
            check.fail(self.manifest_error or f"{MANIFEST} is missing")
            return
        for name, expected in ((MANIFEST_SHA256, scan.sha256), (MANIFEST_SM3, scan.sm3)):
            side = self.scans.get(name)
            if side is None or side.data is None:
                check.fail(f"{name} is missing or unreadable")
                continue
            found = side.data.decode("utf-8", "replace").split()
            if not found or found[0].lower() != expected:
                check.fail(f"{name} does not hold the digest of {MANIFEST} (found {found[0] if found else 'nothing'}, "
                           f"the manifest hashes to {expected})")
            elif len(found) > 1 and found[1].lstrip("*") != MANIFEST:
                check.fail(f"{name} names {found[1]}, not {MANIFEST}")
        check.notes.append(f"manifest SHA-256 {scan.sha256}; compare with the tracker's case.exported event")

    def check_file_sha256(self, check: _Check) -> None:
        self._file_digest(check, "sha256")

    def check_file_sm3(self, check: _Check) -> None:
        self._file_digest(check, "sm3")

    def _file_digest(self, check: _Check, algorithm: str) -> None:
        files = self.files()
        for entry in files:
            scan = self.scan_of(entry.get("path"))
            if scan is None:
                check.fail(f"{entry.get('path')}: not in the ZIP")
            elif scan.error:
                check.fail(f"{scan.name}: {scan.error}")
            elif str(entry.get(algorithm, "")).lower() != getattr(scan, algorithm):
                check.fail(f"{scan.name}: {algorithm.upper()} {getattr(scan, algorithm)} differs from the manifest's "
                           f"{entry.get(algorithm)}")
        check.notes.append(f"{len(files)} files; SM3 by {sm3_implementation()}" if algorithm == "sm3"
                           else f"{len(files)} files")

    def check_index_digest(self, check: _Check) -> None:
        index = self.index_entry()
        scan = self.scan_of(index.get("path"))
        if scan is None:
            check.fail(f"{index.get('path')}: not in the ZIP")
            return
        if scan.error:
            check.fail(f"{scan.name}: {scan.error}")
            return
        for algorithm in ("sha256", "sm3"):
            if str(index.get(algorithm, "")).lower() != getattr(scan, algorithm):
                check.fail(f"{scan.name}: {algorithm.upper()} differs from the manifest's")
        if index.get("size") != scan.size:
            check.fail(f"{scan.name}: {scan.size} bytes, the manifest says {index.get('size')}")

    def check_event_hashes(self, check: _Check) -> None:
        events = self.events()
        for event in events:
            stored = event.get("hash")
            if event_hash(event) != stored:
                check.fail(f"audit event {event.get('id')} ({event.get('action')}): its fields no longer match "
                           f"its hash")
        check.notes.append(f"{len(events)} audit events recomputed")

    def check_upload_digests(self, check: _Check) -> None:
        created = self._creation_events()
        for entry in self.files():
            event = created.get(str(entry.get("record_id")))
            if event is None:
                continue  # integrity reports the missing event
            after = _json_field(event, "after")
            recorded = after.get("sha256") if isinstance(after, dict) else None
            if recorded is None:
                check.fail(f"{entry.get('path')}: its upload event {event.get('id')} records no SHA-256")
            elif recorded != entry.get("sha256"):
                check.fail(f"{entry.get('path')}: SHA-256 {entry.get('sha256')} differs from {recorded} recorded "
                           f"by its upload event {event.get('id')}")
            else:
                scan = self.scan_of(entry.get("path"))
                if scan is not None and not scan.error and scan.sha256 != recorded:
                    check.fail(f"{entry.get('path')}: the bytes differ from those recorded at upload")

    def check_signed_dossiers(self, check: _Check) -> None:
        manifest = self.need_manifest()
        reviews = manifest.get("reviews") or []
        by_record = {str(f.get("record_id")): f for f in self.files()}
        signed = 0
        for review in reviews:
            if not isinstance(review, dict) or not review.get("dossier"):
                continue
            signed += 1
            text = review["dossier"]
            if hashlib.sha256(str(text).encode("utf-8")).hexdigest() != review.get("digest"):
                check.fail(f"legal review {review.get('id')}: its dossier does not hash to the digest it signed")
                continue
            try:
                dossier = json.loads(text)
            except json.JSONDecodeError:
                check.fail(f"legal review {review.get('id')}: its dossier is not JSON")
                continue
            for item in dossier.get("records") or []:
                entry = by_record.get(str(item.get("id")))
                if entry is None:
                    check.fail(f"legal review {review.get('id')}: record {item.get('id')} of the signed dossier is "
                               f"not in the package")
                elif entry.get("sha256") != item.get("sha256") or entry.get("size") != item.get("size"):
                    check.fail(f"legal review {review.get('id')}: record {item.get('id')} differs from the one "
                               f"signed off")
        reviews_by_id = {r.get("id"): r for r in reviews if isinstance(r, dict)}
        for decision in manifest.get("decisions") or []:
            if not isinstance(decision, dict) or decision.get("review_id") is None:
                continue
            review = reviews_by_id.get(decision["review_id"])
            if review is None:
                check.fail(f"decision {decision.get('id')}: its legal review {decision['review_id']} is not in the "
                           f"manifest")
            elif review.get("digest") != decision.get("digest"):
                check.fail(f"decision {decision.get('id')}: made on another dossier than the review passed")
        check.notes.append(f"{signed} signed dossiers" if signed else "no legal review signed a dossier in this case")

    def check_file_metadata(self, check: _Check) -> None:
        for entry in self.files():
            path = entry.get("path")
            scan = self.scan_of(path)
            if scan is None or scan.error:
                continue  # reported as missing or unreadable elsewhere
            if entry.get("size") != scan.size:
                check.fail(f"{path}: {scan.size} bytes, the manifest says {entry.get('size')}")
            info = self.archive.getinfo(path)
            if info.file_size != scan.size:
                check.fail(f"{path}: the ZIP directory says {info.file_size} bytes, {scan.size} were read")
            mime = entry.get("mime")
            if mime in ACCEPTED_FORMATS and not format_matches(mime, scan.head):
                found = detect_format(scan.head) or "something else"
                check.fail(f"{path}: the manifest says {mime}, the bytes are {found}")
            seq, code = entry.get("seq"), entry.get("type_code")
            prefix = f"{RECORDS_DIR}{seq:04d}_{code}_" if isinstance(seq, int) else None
            if prefix and isinstance(path, str) and not path.startswith(prefix):
                check.fail(f"{path}: the name does not match sequence {seq} and type {code}")

    # -- integrity
    def check_counts(self, check: _Check) -> None:
        manifest = self.need_manifest()
        files = self.files()
        in_zip = [s for n, s in self.scans.items() if n.startswith(RECORDS_DIR)]
        if manifest.get("file_count") != len(files):
            check.fail(f"the manifest says {manifest.get('file_count')} files and lists {len(files)}")
        if len(in_zip) != len(files):
            check.fail(f"the ZIP holds {len(in_zip)} record files, the manifest lists {len(files)}")
        listed = sum(f.get("size") for f in files if isinstance(f.get("size"), int))
        read = sum(s.size for s in in_zip)
        if manifest.get("total_bytes") != listed:
            check.fail(f"the manifest says {manifest.get('total_bytes')} bytes in all, its files add up to {listed}")
        if read != listed:
            check.fail(f"the record files hold {read} bytes, the manifest lists {listed}")
        check.notes.append(f"{len(in_zip)} files, {read} bytes")

    def check_required_metadata(self, check: _Check) -> None:
        manifest = self.need_manifest()
        for name in REQUIRED_TOP_FIELDS:
            if name not in manifest:
                check.fail(f"the manifest lacks {name}")
        if manifest.get("format") != FORMAT or manifest.get("format_version") not in FORMAT_VERSIONS:
            check.fail(f"unknown manifest format {manifest.get('format')} {manifest.get('format_version')}")
        case = manifest.get("case") if isinstance(manifest.get("case"), dict) else {}
        for name in REQUIRED_CASE_FIELDS:
            if _empty(case.get(name)):
                check.fail(f"the case lacks {name}")
        declared = manifest.get("required_metadata")
        required = list(REQUIRED_FILE_FIELDS)
        if isinstance(declared, list):
            required += [str(n) for n in declared if str(n) not in required and str(n) not in OPTIONAL_FILE_FIELDS]
        for entry in self.files():
            label = entry.get("path") or f"file {entry.get('seq')}"
            missing = [n for n in required if _empty(entry.get(n))]
            missing += [n for n in OPTIONAL_FILE_FIELDS if n not in entry]
            if missing:
                check.fail(f"{label}: no {', '.join(missing)}")
            for name in ("sha256", "sm3"):
                if not _empty(entry.get(name)) and not _HEX64.fullmatch(str(entry.get(name))):
                    check.fail(f"{label}: {name} is not a 64-digit hexadecimal digest")
            if entry.get("stage") not in STAGES and not _empty(entry.get("stage")):
                check.fail(f"{label}: unknown stage {entry.get('stage')}")

    def check_sequence(self, check: _Check) -> None:
        files = self.files()
        seqs = [f.get("seq") for f in files]
        if seqs != list(range(1, len(files) + 1)):
            expected = set(range(1, len(files) + 1))
            present = {s for s in seqs if isinstance(s, int)}
            gaps = sorted(expected - present)
            duplicates = sorted({s for s in present if seqs.count(s) > 1})
            check.fail(f"sequence numbers are not 1..{len(files)} in order"
                       + (f"; missing {gaps[:20]}" if gaps else "")
                       + (f"; repeated {duplicates[:20]}" if duplicates else ""))
        for field in ("path", "record_id"):
            values = [f.get(field) for f in files]
            repeated = sorted({str(v) for v in values if values.count(v) > 1})
            if repeated:
                check.fail(f"the same {field} more than once: {', '.join(repeated[:10])}")

    def check_entries(self, check: _Check) -> None:
        names = [i.filename for i in self.infos if not i.is_dir()]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            check.fail(f"entries stored twice: {', '.join(repeated[:10])}")
        expected = {MANIFEST, MANIFEST_SHA256, MANIFEST_SM3}
        if self.manifest is not None:
            expected |= {f.get("path") for f in self.files() if isinstance(f.get("path"), str)}
            expected.add(self.index_entry().get("path"))
        for name in sorted(expected - set(names)):
            check.fail(f"missing from the ZIP: {name}")
        for name in sorted(set(names) - expected):
            check.fail(f"not in the manifest: {name}")
        folders = {name.rsplit("/", 1)[0] + "/" for name in expected if isinstance(name, str) and "/" in name}
        for info in self.infos:
            if info.is_dir() and info.filename not in folders:
                check.fail(f"unexpected folder entry {info.filename}")

    def check_process_history(self, check: _Check) -> None:
        manifest = self.need_manifest()
        case = manifest.get("case") if isinstance(manifest.get("case"), dict) else {}
        events = sorted(self.events(), key=lambda e: e.get("id") if isinstance(e.get("id"), int) else 0)
        filed = [e for e in events if e.get("action") == "case.filed"]
        if len(filed) != 1:
            check.fail(f"{len(filed)} filing events (case.filed), expected one")
        stage = "filing"
        changes = 0
        for event in events:
            if event.get("action") != "case.stage_changed":
                continue
            changes += 1
            before, after = _json_field(event, "before"), _json_field(event, "after")
            came_from = before.get("stage") if isinstance(before, dict) else None
            went_to = after.get("stage") if isinstance(after, dict) else None
            if came_from != stage:
                check.fail(f"stage change {event.get('id')} starts from {came_from}, but the case was in {stage}: "
                           f"a stage change is missing before it")
            if went_to not in STAGES:
                check.fail(f"stage change {event.get('id')} goes to an unknown stage {went_to}")
            stage = went_to
        if case.get("stage") != stage:
            check.fail(f"the case is in {case.get('stage')}, but its stage changes end in {stage}: a stage change is "
                       f"missing")
        check.notes.append(f"filing and {changes} stage changes, ending in {stage}")

    def check_event_chain(self, check: _Check) -> None:
        events = self.events()
        case_id = self.case_id()
        ids = [e.get("id") for e in events]
        if not all(isinstance(i, int) for i in ids) or ids != sorted(set(ids)):
            check.fail("audit events are not in ascending order of their sequence numbers, or repeat one")
        previous = None
        for event in events:
            if event.get("case_id") != case_id:
                check.fail(f"audit event {event.get('id')} belongs to case {event.get('case_id')}, not {case_id}")
            for name in ("hash", "prev_hash"):
                if not _HEX64.fullmatch(str(event.get(name))):
                    check.fail(f"audit event {event.get('id')}: {name} is not a SHA-256")
            if (previous is not None and isinstance(event.get("id"), int) and isinstance(previous.get("id"), int)
                    and event["id"] == previous["id"] + 1 and event.get("prev_hash") != previous.get("hash")):
                check.fail(f"audit event {event.get('id')} does not link to event {previous.get('id')}")
            if event.get("id") == 1 and event.get("prev_hash") != GENESIS_HASH:
                check.fail("audit event 1 does not start the chain")
            previous = event

    def check_record_events(self, check: _Check) -> None:
        created = self._creation_events()
        files = self.files()
        ids = {str(f.get("record_id")) for f in files}
        for entry in files:
            if str(entry.get("record_id")) not in created:
                check.fail(f"{entry.get('path')}: no upload event (record.added / superseded / generated) for record "
                           f"{entry.get('record_id')}")
            supersedes = entry.get("supersedes_record_id")
            if supersedes is not None and str(supersedes) not in ids:
                check.fail(f"{entry.get('path')}: corrects record {supersedes}, which is not in the package")
        for record_id in sorted(set(created) - ids, key=str):
            check.fail(f"record {record_id} was added to the case (event {created[record_id].get('id')}) but is not "
                       f"in the package")

    def _creation_events(self) -> dict[str, dict]:
        found = {}
        for event in self.events():
            obj = event.get("object") or {}
            if event.get("action") in CREATION_ACTIONS and obj.get("type") == "record":
                found.setdefault(str(obj.get("id")), event)
        return found

    # -- usability
    def check_readable(self, check: _Check) -> None:
        for scan in self.scans.values():
            if scan.error:
                check.fail(f"{scan.name}: {scan.error}")
        check.notes.append(f"{len(self.scans)} entries read to their end")

    def check_formats(self, check: _Check) -> None:
        for entry in self.files():
            mime = entry.get("mime")
            if mime not in ACCEPTED_FORMATS:
                check.fail(f"{entry.get('path')}: {mime} is not an accepted format")
                continue
            scan = self.scan_of(entry.get("path"))
            if scan is not None and not scan.error and not format_matches(mime, scan.head):
                check.fail(f"{entry.get('path')}: not a readable {mime} file")
        scan = self.scan_of(self.index_entry().get("path"))
        if scan is not None and not scan.error and not scan.head.startswith(b"%PDF-"):
            check.fail(f"{scan.name}: the index is not a PDF")
        if self.manifest is not None and self.manifest.get("format") != FORMAT:
            check.fail(f"{MANIFEST}: not a {FORMAT} manifest")

    def check_no_encrypted_entries(self, check: _Check) -> None:
        for info in self.infos:
            if info.flag_bits & 0x1:
                check.fail(f"{info.filename}: encrypted ZIP entry")

    def check_no_encrypted_pdf(self, check: _Check) -> None:
        for scan in self.scans.values():
            if scan.pdf_encrypted:
                check.fail(f"{scan.name}: encrypted PDF (/Encrypt)")

    # -- safety
    def check_paths(self, check: _Check) -> None:
        for info in self.infos:
            why = _unsafe_path(info.filename)
            if why:
                check.fail(f"{info.filename!r}: {why}")

    def check_no_symlinks(self, check: _Check) -> None:
        for info in self.infos:
            if _is_symlink(info):
                check.fail(f"{info.filename}: a symbolic link")

    # phase 3: the run itself, then the report
    def finish(self, report_path: str | None) -> dict:
        ran = len(self.checks)
        complete = _Check("safety", "checks_complete", _TITLES["checks_complete"])
        expected = sum(1 for c in CHECKS if c[1] not in ("checks_complete", "report_kept", "tool_recorded"))
        crashed = [c for c in self.checks if c.error]
        if ran != expected:
            complete.fail(f"{ran} of {expected} checks ran")
        for c in crashed:
            complete.fail(f"{c.code}: {c.error}")
        complete.notes.append(f"{ran} checks ran")
        tool = _Check("safety", "tool_recorded", _TITLES["tool_recorded"])
        tool.notes.append(f"{TOOL} {VERSION}, Python {platform.python_version()}, {self.started}")
        kept = _Check("safety", "report_kept", _TITLES["report_kept"])
        kept.notes.append(f"report: {report_path}" if report_path else "no report file asked for")
        self.checks += [complete, tool, kept]
        return self.report(report_path)

    def report(self, report_path: str | None) -> dict:
        properties = {}
        for prop, title in PROPERTIES:
            checks = [c for c in self.checks if c.prop == prop]
            properties[prop] = {"title": title, "result": "PASS" if all(c.passed for c in checks) else "FAIL",
                                "checks": [c.as_dict() for c in checks]}
        manifest = self.manifest or {}
        case = manifest.get("case") if isinstance(manifest.get("case"), dict) else {}
        scan = self.scans.get(MANIFEST)
        return {
            "tool": TOOL, "tool_version": VERSION, "python": platform.python_version(),
            "sm3_implementation": sm3_implementation(), "checked_at": self.started, "finished_at": _now(),
            "standard": "DA/T 70-2018 四性检测 (authenticity, integrity, usability, safety)",
            "archive": {"path": os.path.abspath(self.path), "size": self.archive_size, "sha256": self.archive_sha256},
            "manifest_sha256": scan.sha256 if scan is not None and not scan.error else None,
            "case_number": case.get("number"), "exported_at": manifest.get("exported_at"),
            "report_path": os.path.abspath(report_path) if report_path else None,
            "result": "PASS" if all(p["result"] == "PASS" for p in properties.values()) else "FAIL",
            "properties": properties,
        }


def _json_field(event: dict, name: str):
    value = event.get(name)
    if not value:
        return {}
    try:
        return json.loads(value) if isinstance(value, str) else value
    except json.JSONDecodeError:
        return {}


def _empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


CHECKS = (
    ("authenticity", "manifest_digests", "manifest.sha256 and manifest.sm3 hold the manifest's digests",
     Checker.check_manifest_digests),
    ("authenticity", "file_sha256", "every file's SHA-256 equals the manifest's", Checker.check_file_sha256),
    ("authenticity", "file_sm3", "every file's SM3 equals the manifest's", Checker.check_file_sm3),
    ("authenticity", "index_digest", "the index (卷内目录) PDF's digests equal the manifest's",
     Checker.check_index_digest),
    ("authenticity", "event_hashes", "every audit event's hash recomputed from its fields equals its stored hash",
     Checker.check_event_hashes),
    ("authenticity", "upload_digests", "every file's SHA-256 equals the one its upload event recorded",
     Checker.check_upload_digests),
    ("authenticity", "signed_dossiers", "legal reviews' signed dossier digests are valid and their records unchanged",
     Checker.check_signed_dossiers),
    ("authenticity", "file_metadata", "metadata (size, format by magic bytes, name) matches the files",
     Checker.check_file_metadata),
    ("integrity", "counts", "file count and total bytes equal the manifest's", Checker.check_counts),
    ("integrity", "required_metadata", "every required metadata field is present for the case and every file",
     Checker.check_required_metadata),
    ("integrity", "sequence", "sequence numbers run 1..N without gaps or repeats", Checker.check_sequence),
    ("integrity", "entries", "no entry missing from or extra to the manifest", Checker.check_entries),
    ("integrity", "process_history", "the process history has the filing and every stage change to the current stage",
     Checker.check_process_history),
    ("integrity", "event_chain", "audit events belong to the case, in order, and chain where consecutive",
     Checker.check_event_chain),
    ("integrity", "record_events", "every file has its upload event, and every uploaded record is in the package",
     Checker.check_record_events),
    ("usability", "readable", "every entry is readable (CRC correct)", Checker.check_readable),
    ("usability", "formats", "every file is in an accepted format and its bytes are that format",
     Checker.check_formats),
    ("usability", "no_encrypted_entries", "no encrypted ZIP entry", Checker.check_no_encrypted_entries),
    ("usability", "no_encrypted_pdf", "no encrypted PDF", Checker.check_no_encrypted_pdf),
    ("safety", "paths", "no absolute or '..' paths (zip-slip)", Checker.check_paths),
    ("safety", "no_symlinks", "no symbolic links", Checker.check_no_symlinks),
    ("safety", "checks_complete", "every check ran to its end", None),
    ("safety", "tool_recorded", "the tool's version and the time of the check are recorded", None),
    ("safety", "report_kept", "the report is written and read back", None),
)
_TITLES = {code: title for _prop, code, title, _method in CHECKS}


def check(path: str, report_path: str | None = None) -> dict:
    """Check the ZIP at `path`; write the report to `report_path` (None: do not write). Returns the report.

    The report's "result" is "PASS" only when every check passed, the report file included.
    """
    checker = Checker(path)
    try:
        checker.load()
        checker.run()
    finally:
        checker.close()
    report = checker.finish(report_path)
    if report_path:
        problem = _write_report(report, report_path)
        if problem:
            kept = next(c for c in checker.checks if c.code == "report_kept")
            kept.fail(problem)
            report = checker.report(report_path)
    return report


def _write_report(report: dict, report_path: str) -> str | None:
    """Write the report (atomically) and read it back; the reason when that failed, else None."""
    temporary = f"{report_path}.tmp-{os.getpid()}"
    data = json.dumps(report, ensure_ascii=False, indent=2).encode("utf-8")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, report_path)
        with open(report_path, "rb") as handle:
            if handle.read() != data:
                return f"the report read back from {report_path} differs from what was written"
    except OSError as exc:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        return f"the report could not be written to {report_path}: {exc}"
    return None


def format_report(report: dict) -> str:
    lines = [f"DA/T 70 四性检测: {report['archive']['path']}",
             f"case {report.get('case_number') or '?'}, exported {report.get('exported_at') or '?'}; "
             f"manifest SHA-256 {report.get('manifest_sha256') or '?'}"]
    for prop, _title in PROPERTIES:
        section = report["properties"][prop]
        lines.append(f"{section['title']}: {section['result']}")
        for item in section["checks"]:
            lines.append(f"  {item['result']}  {item['title']}")
            for problem in item.get("problems", [])[:20]:
                lines.append(f"        - {problem}")
            if len(item.get("problems", [])) > 20:
                lines.append(f"        … {len(item['problems']) - 20} more in the report")
            if item.get("error"):
                lines.append(f"        ! {item['error']}")
    kept = f" (report: {report['report_path']})" if report.get("report_path") else ""
    lines.append(f"RESULT: {report['result']}{kept}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m enforcement.archive_check",
        description="Check an exported case file (案卷 ZIP) offline against its manifest: authenticity, integrity, "
                    "usability and safety (DA/T 70 四性检测).")
    parser.add_argument("zip", help="the exported case file (.zip)")
    parser.add_argument("--report", help="where to keep the report as JSON (default: ZIP.check.json)")
    args = parser.parse_args(argv)
    if not os.path.isfile(args.zip):
        parser.error(f"no such file: {args.zip}")
    report_path = args.report or f"{args.zip}.check.json"
    report = check(args.zip, report_path)
    print(format_report(report))
    return 0 if report["result"] == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
