"""What an uploaded file is, what its name may be, and what its photo metadata says.

Plain functions, without HTTP or database. `services.records` calls them on the *head* of an
upload (its first bytes) before anything is stored:

- `sniff(head, filename)` decides the content type from the bytes, never from the name, and
  refuses everything that is not on the list of what evidence can be (`RULES`);
- `check_filename(name)` validates the name the officer's device gave the file;
- `read_exif(head)` takes the capture time, GPS position and camera of a photo.

Why a hand-written allowlist rather than libmagic (python-magic) or a magic-number library:

- The list of formats evidence may have *is* the policy. It is written here as a table, read in
  one place, and a format is added on purpose, with a test — not because a library learned it.
- A general identifier names thousands of formats, most of which we must refuse (installers,
  archives, scripts, web pages), and answers "text/plain" or "application/octet-stream" for what
  it does not know; we would then need a deny list on top of its answers, which fails open.
  python-magic also needs the system's libmagic and its magic database, whose version changes
  the answers under us from one server to the next.
- Refusing what is not recognised is the safe default. Programs and content a browser could run
  are recognised explicitly only so that the refusal can say why.
- The filetype package (pure Python) is such a table too: it would still need this allowlist on
  top, and it knows neither OFD nor Mach-O programs, scripts, shortcuts, HTML or SVG.

`read_exif` uses Pillow's EXIF parser (`PIL.Image.Exif`) on the EXIF block, which we take out of
the container ourselves (JPEG APP1, PNG eXIf, WebP EXIF chunk, TIFF, HEIF/AVIF Exif item). The
image itself is never opened, so its pixels are never decoded or allocated: the claimed size of
the picture does not matter (`Image.open` refuses photos above ~179 megapixels as "decompression
bombs", and 200-megapixel phone cameras exist), a head cut in the middle of the picture data
still yields its EXIF, and HEIC photos (iPhones) are read without a HEIF decoder.
"""
from __future__ import annotations

import enum
import math
import re
import struct
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from flask_babel import gettext as _
from PIL import Image

from .errors import DomainError

# --- sniffing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sniffed:
    """What the bytes are: a MIME type, one of "image", "video", "audio", "document", and the
    usual file extension (without a dot) of that type."""

    content_type: str
    kind: str
    extension: str


class Refusal(enum.Enum):
    PROGRAM = "program"  # executables, scripts, shortcuts, installers
    ACTIVE = "active"    # HTML, SVG, XML, JavaScript: content a browser could run


Verdict = Sniffed | Refusal


@dataclass(frozen=True)
class Rule:
    """One line of the detection table. With a `verdict`, `test` answers yes or no; without one,
    `test` looks deeper into the bytes and returns the verdict itself, or None."""

    what: str
    test: Callable[[bytes], object]
    verdict: Verdict | None = None

    def apply(self, head: bytes) -> Verdict | None:
        try:
            result = self.test(head)
        except (IndexError, ValueError, struct.error, UnicodeError):
            return None  # bytes too short or malformed for this rule: not this format
        if self.verdict is None:
            return result if isinstance(result, (Sniffed, Refusal)) else None
        return self.verdict if result else None


def starts(*prefixes: bytes) -> Callable[[bytes], bool]:
    return lambda head: head.startswith(prefixes)


def riff(*forms: bytes) -> Callable[[bytes], bool]:
    """A RIFF container (or its 64-bit variants) of one of the given form types."""
    return lambda head: head[:4] in (b"RIFF", b"RF64", b"BW64") and head[8:12] in forms


# Types named by more than one rule.
JPEG = Sniffed("image/jpeg", "image", "jpg")
MP4 = Sniffed("video/mp4", "video", "mp4")
MOV = Sniffed("video/quicktime", "video", "mov")
MP3 = Sniffed("audio/mpeg", "audio", "mp3")
AAC = Sniffed("audio/aac", "audio", "aac")
FLAC = Sniffed("audio/flac", "audio", "flac")
MPEG_TS = Sniffed("video/mp2t", "video", "ts")
DOC = Sniffed("application/msword", "document", "doc")
XLS = Sniffed("application/vnd.ms-excel", "document", "xls")
DOCX = Sniffed("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "document", "docx")
XLSX = Sniffed("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "document", "xlsx")
OFD = Sniffed("application/ofd", "document", "ofd")

# ISO base media files (MP4, MOV, 3GP, M4A, HEIC, AVIF) say what they are in the brands of their
# `ftyp` box: the major brand decides; when it is unknown, the first known compatible brand.
# A trailing "*" matches any last character.
ISO_BRANDS: tuple[tuple[tuple[str, ...], Sniffed], ...] = (
    (("heic", "heix", "heim", "heis"), Sniffed("image/heic", "image", "heic")),
    (("hevc", "hevx"), Sniffed("image/heic-sequence", "image", "heics")),
    (("mif1", "mif2"), Sniffed("image/heif", "image", "heif")),
    (("msf1",), Sniffed("image/heif-sequence", "image", "heifs")),
    (("avif", "avis"), Sniffed("image/avif", "image", "avif")),
    (("M4A ", "M4B "), Sniffed("audio/mp4", "audio", "m4a")),
    (("M4V ", "M4VH", "M4VP"), Sniffed("video/x-m4v", "video", "m4v")),
    (("qt  ",), MOV),
    (("3gp*", "3ge*", "3gg*", "3gs*", "3gr*"), Sniffed("video/3gpp", "video", "3gp")),
    (("3g2*",), Sniffed("video/3gpp2", "video", "3g2")),
    (("iso*", "mp41", "mp42", "avc1", "dash", "mmp4", "MSNV", "XAVC"), MP4),
)
# A file of those video brands whose tracks are all sound (visible when its `moov` box lies in
# the head, as in most voice recorders' files) is audio.
SOUND_ONLY = {"video/mp4": Sniffed("audio/mp4", "audio", "m4a"),
              "video/3gpp": Sniffed("audio/3gpp", "audio", "3gp"),
              "video/3gpp2": Sniffed("audio/3gpp2", "audio", "3g2")}
# Top-level atoms a QuickTime movie written without `ftyp` (older cameras) may start with.
QUICKTIME_ATOMS = (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")

# What an Ogg stream carries, from the start of its first packet.
OGG_CODECS = (
    (b"OpusHead", Sniffed("audio/ogg", "audio", "opus")),
    (b"\x01vorbis", Sniffed("audio/ogg", "audio", "ogg")),
    (b"\x7fFLAC", Sniffed("audio/ogg", "audio", "oga")),
    (b"Speex   ", Sniffed("audio/ogg", "audio", "spx")),
    (b"\x80theora", Sniffed("video/ogg", "video", "ogv")),
)

# ZIP entries that make a ZIP a program: Java archives, Android and Windows app packages.
PROGRAM_ZIP_ENTRIES = (b"META-INF/MANIFEST.MF", b"classes.dex", b"AndroidManifest.xml", b"AppxManifest.xml")

# Root storage CLSIDs of Windows Installer files (OLE2 compound files, like .doc): package,
# transform, patch. Stored little-endian at offset 80 of the root directory entry.
INSTALLER_CLSIDS = tuple(bytes.fromhex(h) for h in (
    "84100c000000000000c0000000000046",   # {000C1084-…} .msi, .msm
    "82100c000000000000c0000000000046",   # {000C1082-…} .mst
    "86100c000000000000c0000000000046",   # {000C1086-…} .msp
))

WINDOWS_SHORTCUT = bytes.fromhex("4c0000000114020000000000c000000000000046")


def _iso_bmff(head: bytes) -> Verdict | None:
    if head[4:8] != b"ftyp":
        if head[4:8] in QUICKTIME_ATOMS and (_be32(head, 0) in (0, 1) or _be32(head, 0) >= 8):
            return MOV
        return None
    size = _be32(head, 0)
    if size < 16:
        return None
    brands = [head[8:12]] + [head[i:i + 4] for i in range(16, min(size, len(head)) - 3, 4)]
    for brand in brands:
        found = _brand(brand.decode("latin-1"))
        if found is not None:
            if found.content_type in SOUND_ONLY and _sound_only(head):
                return SOUND_ONLY[found.content_type]
            return found
    return None


def _brand(brand: str) -> Sniffed | None:
    for patterns, sniffed in ISO_BRANDS:
        for pattern in patterns:
            if brand == pattern or (pattern.endswith("*") and brand[:3] == pattern[:3]):
                return sniffed
    return None


def _sound_only(head: bytes) -> bool:
    """Whether the `moov` box lies whole in the head and its tracks are all sound."""
    for kind, start, end in _boxes(head, 0, len(head)):
        if kind == b"moov":
            if end > len(head):
                return False
            moov = head[start:end]
            handlers = {moov[i + 12:i + 16] for i in _find_all(moov, b"hdlr")}
            return b"soun" in handlers and b"vide" not in handlers
    return False


# MPEG audio frame headers: bit rates (kbit/s, indexes 1–14) by (MPEG-1?, layer), sample rates by
# version bits (3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5).
MPEG_BITRATES = {
    (True, 1): (32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
MPEG_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mpeg_frame(head: bytes, pos: int) -> tuple[int, tuple[int, int, int]] | None:
    """The length and (version, layer, sample rate) of an MPEG audio frame header at `pos`."""
    b = head[pos:pos + 4]
    if len(b) < 4 or b[0] != 0xFF or b[1] & 0xE0 != 0xE0:
        return None
    version, layer_bits = (b[1] >> 3) & 3, (b[1] >> 1) & 3
    bitrate_index, rate_index, padding = b[2] >> 4, (b[2] >> 2) & 3, (b[2] >> 1) & 1
    if version == 1 or layer_bits == 0 or not 1 <= bitrate_index <= 14 or rate_index == 3:
        return None
    layer = 4 - layer_bits
    bitrate = MPEG_BITRATES[(version == 3, layer)][bitrate_index - 1] * 1000
    rate = MPEG_RATES[version][rate_index]
    if layer == 1:
        length = (12 * bitrate // rate + padding) * 4
    elif layer == 3 and version != 3:
        length = 72 * bitrate // rate + padding
    else:
        length = 144 * bitrate // rate + padding
    return length, (version, layer, rate)


def _mpeg_audio(head: bytes) -> Verdict | None:
    """Two consecutive MPEG audio frames of the same kind (one could be chance)."""
    first = _mpeg_frame(head, 0)
    if first is None:
        return None
    second = _mpeg_frame(head, first[0])
    if second is None or second[1] != first[1]:
        return None
    return Sniffed("audio/mpeg", "audio", {3: "mp3", 2: "mp2", 1: "mp1"}[first[1][1]])


def _adts_frame(head: bytes, pos: int) -> int | None:
    """The length of an AAC ADTS frame whose header is at `pos`."""
    b = head[pos:pos + 7]
    if len(b) < 7 or b[0] != 0xFF or b[1] & 0xF6 != 0xF0 or (b[2] >> 2) & 0xF > 12:
        return None
    length = ((b[3] & 3) << 11) | (b[4] << 3) | (b[5] >> 5)
    return length if length >= 7 else None


def _adts(head: bytes) -> Verdict | None:
    first = _adts_frame(head, 0)
    return AAC if first and _adts_frame(head, first) else None


def _id3(head: bytes) -> Verdict | None:
    """An ID3v2 tag, then MP3 — or FLAC or AAC, which some programs also tag with ID3."""
    if len(head) < 10 or head[3] not in (2, 3, 4) or any(b >= 0x80 for b in head[6:10]):
        return None
    size = 10 + (head[6] << 21 | head[7] << 14 | head[8] << 7 | head[9]) + (10 if head[5] & 0x10 else 0)
    after = head[size:]
    if after.startswith(b"fLaC"):
        return FLAC
    if _adts(after):
        return AAC
    return MP3


def _ogg(head: bytes) -> Verdict | None:
    if len(head) < 28 or head[4] != 0:
        return None
    payload = head[27 + head[26]:]
    for prefix, sniffed in OGG_CODECS:
        if payload.startswith(prefix):
            return sniffed
    return None


_EBML_DOCTYPE = re.compile(rb"\x42\x82(?:[\x81-\xff]|[\x40-\x7f][\x00-\xff])(webm|matroska)")


def _ebml(head: bytes) -> Verdict | None:
    match = _EBML_DOCTYPE.search(head, 4, 80)
    if match is None:
        return None
    if match.group(1) == b"webm":
        return Sniffed("video/webm", "video", "webm")
    return Sniffed("video/x-matroska", "video", "mkv")


def _mpeg_ts(head: bytes) -> Verdict | None:
    """A sync byte 0x47 every 188 bytes (every 192 in M2TS, after a 4-byte time code), at least
    three times and up to five."""
    for start, stride in ((0, 188), (4, 192)):
        positions = range(start, min(len(head), start + 5 * stride), stride)
        if len(positions) >= 3 and all(head[p] == 0x47 for p in positions):
            return MPEG_TS
    return None


def _zip(head: bytes) -> Verdict | None:
    names = _zip_names(head)
    if any(name in PROGRAM_ZIP_ENTRIES for name in names):
        return Refusal.PROGRAM
    if b"OFD.xml" in names:
        return OFD
    if b"[Content_Types].xml" in names:
        if any(name.startswith(b"word/") for name in names):
            return DOCX
        if any(name.startswith(b"xl/") for name in names):
            return XLSX
    return None


def _zip_names(head: bytes) -> list[bytes]:
    """The names of the ZIP entries whose local headers lie in the head, in order."""
    names = []
    for pos in _find_all(head, b"PK\x03\x04"):
        if pos + 30 > len(head):
            break
        length = struct.unpack_from("<H", head, pos + 26)[0]
        names.append(head[pos + 30:pos + 30 + length])
    return names


def _ole(head: bytes) -> Verdict | None:
    """A legacy Office file (OLE2 compound file): Word or Excel by the names of its streams in the
    directory, or — when the directory lies beyond the head — by the header of the first stream,
    which Office writes right after the file header. A Windows Installer package is a program."""
    shift = struct.unpack_from("<H", head, 30)[0]
    if shift not in (9, 12):
        return None
    sector = 1 << shift
    if any(pos % 128 == 80 for clsid in INSTALLER_CLSIDS for pos in _find_all(head, clsid)):
        return Refusal.PROGRAM
    first_stream = head[sector:sector + 4]
    if _ole_entry(head, "WordDocument") or first_stream == b"\xec\xa5\xc1\x00":
        return DOC
    if _ole_entry(head, "Workbook") or _ole_entry(head, "Book") or first_stream[:2] == b"\x09\x08":
        return XLS
    return None


def _ole_entry(head: bytes, name: str) -> bool:
    """Whether a directory entry (128-byte aligned, UTF-16 name with terminator) has this name."""
    return any(pos % 128 == 0 for pos in _find_all(head, name.encode("utf-16-le") + b"\x00\x00"))


# Text that a browser could run: markup (HTML, SVG, XML, also behind a BOM, blanks or an XML
# prolog) or script.
_TEXT_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
              (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_MARKUP_START = re.compile(r"<[a-z!?/%]", re.I)
_MARKUP_ANYWHERE = re.compile(
    r"<\s*(?:script|html|svg|iframe|frame|object|embed|body|head|meta|link|style|form|img|a\s|!doctype|\?xml)"
    r"|javascript:|vbscript:|\bon[a-z]+\s*=\s*[\"']", re.I)
_SCRIPT = re.compile(
    r"\bfunction\s*[\w$]*\s*\(|=>|\b(?:var|let|const)\s+[\w$]+\s*=|\b(?:document|window)\s*\.\s*\w"
    r"|\beval\s*\(|\brequire\s*\(|\bimport\s[^;\n]{0,200}?\bfrom\s*[\"']|\bActiveXObject\b|\bWScript\.", re.I)


def _as_text(head: bytes) -> str | None:
    """The head decoded as text, or None when it is binary."""
    sample = head[:65536]
    for bom, codec in _TEXT_BOMS:
        if sample.startswith(bom):
            text = sample[len(bom):].decode(codec, errors="replace")
            break
    else:
        if b"\x00" in sample[:4096]:
            return None
        text = sample.decode("utf-8", errors="replace")  # GB 18030 text keeps its ASCII as is
    window = text[:4096]
    controls = sum(1 for c in window if c < " " and c not in "\t\n\r\f\v\x1b")
    return None if controls > len(window) // 100 else text


def _active(head: bytes) -> Verdict | None:
    text = _as_text(head)
    if text is None:
        return None
    if _MARKUP_START.match(text.lstrip("\ufeff \t\r\n\f\v")) or _MARKUP_ANYWHERE.search(text) \
            or _SCRIPT.search(text):
        return Refusal.ACTIVE
    return None


# The detection table, read top to bottom; the first rule that recognises the head decides.
RULES: tuple[Rule, ...] = (
    # Programs first: an executable is refused whatever else its bytes or its name suggest.
    Rule("Windows or DOS program (MZ)", starts(b"MZ"), Refusal.PROGRAM),
    Rule("ELF program (Linux, Android)", starts(b"\x7fELF"), Refusal.PROGRAM),
    Rule("Mach-O program (macOS, iOS), 32 and 64 bit, either byte order",
         starts(b"\xfe\xed\xfa\xce", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xcf\xfa\xed\xfe"), Refusal.PROGRAM),
    Rule("Mach-O universal program, or Java class (both CAFEBABE)",
         starts(b"\xca\xfe\xba\xbe", b"\xbe\xba\xfe\xca", b"\xca\xfe\xba\xbf", b"\xbf\xba\xfe\xca"), Refusal.PROGRAM),
    Rule("Android Dalvik program", starts(b"dex\n"), Refusal.PROGRAM),
    Rule("WebAssembly program", starts(b"\x00asm"), Refusal.PROGRAM),
    Rule("Windows shortcut (.lnk)", starts(WINDOWS_SHORTCUT), Refusal.PROGRAM),
    # AMR starts with "#!" too: it must come before scripts.
    Rule("AMR-WB audio", starts(b"#!AMR-WB\n"), Sniffed("audio/amr-wb", "audio", "awb")),
    Rule("AMR audio", starts(b"#!AMR\n"), Sniffed("audio/amr", "audio", "amr")),
    Rule("script with an interpreter line (#!)", starts(b"#!", b"\xef\xbb\xbf#!"), Refusal.PROGRAM),
    # Pictures.
    Rule("JPEG", starts(b"\xff\xd8\xff"), JPEG),
    Rule("PNG", starts(b"\x89PNG\r\n\x1a\n"), Sniffed("image/png", "image", "png")),
    Rule("GIF", starts(b"GIF87a", b"GIF89a"), Sniffed("image/gif", "image", "gif")),
    Rule("WebP", riff(b"WEBP"), Sniffed("image/webp", "image", "webp")),
    Rule("TIFF, also BigTIFF", starts(b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"),
         Sniffed("image/tiff", "image", "tiff")),
    # ISO base media: HEIC/HEIF/AVIF pictures, MP4/MOV/3GP videos, M4A audio.
    Rule("ISO base media file (ftyp brands) or QuickTime movie", _iso_bmff),
    # Other videos.
    Rule("AVI", riff(b"AVI ", b"AVIX"), Sniffed("video/x-msvideo", "video", "avi")),
    Rule("Matroska or WebM (by the EBML DocType)", lambda h: h.startswith(b"\x1a\x45\xdf\xa3") and _ebml(h)),
    Rule("MPEG program stream or MPEG video", starts(b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"),
         Sniffed("video/mpeg", "video", "mpg")),
    Rule("MPEG transport stream (TS, M2TS)", _mpeg_ts),
    # Sound.
    Rule("WAV", riff(b"WAVE"), Sniffed("audio/wav", "audio", "wav")),
    Rule("FLAC", starts(b"fLaC"), FLAC),
    Rule("Ogg (Opus, Vorbis, FLAC, Speex; Theora video)", lambda h: h.startswith(b"OggS") and _ogg(h)),
    Rule("MP3 with an ID3 tag", lambda h: h.startswith(b"ID3") and _id3(h)),
    Rule("MP3 (MPEG audio frames)", _mpeg_audio),
    Rule("AAC (ADTS frames)", _adts),
    # Documents.
    Rule("PDF", starts(b"%PDF-"), Sniffed("application/pdf", "document", "pdf")),
    Rule("ZIP: OFD, DOCX or XLSX (JAR and app packages are programs)",
         lambda h: h.startswith(b"PK\x03\x04") and _zip(h)),
    Rule("OLE2 compound file: DOC or XLS (Windows Installer is a program)",
         lambda h: h.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") and _ole(h)),
    # Last: text a browser could run. Anything else is refused as not accepted.
    Rule("HTML, SVG, XML or script", _active),
)


def sniff(head: bytes, filename: str) -> Sniffed:
    """The type of a file from its first bytes (up to 64 KiB or more), never from its name.

    Raises DomainError, naming `filename`, for an empty file, a program, content a browser could
    run, and anything else not in `RULES`."""
    if not head:
        raise DomainError(_("The file %(name)s is empty.", name=filename))
    for rule in RULES:
        verdict = rule.apply(head)
        if isinstance(verdict, Sniffed):
            return verdict
        if verdict is Refusal.PROGRAM:
            raise DomainError(_("The file %(name)s is a program, not evidence, whatever its name says. "
                                "Programs cannot be added to a record.", name=filename))
        if verdict is Refusal.ACTIVE:
            raise DomainError(_("The file %(name)s contains a web page, SVG, XML or script, which could run in "
                                "a browser; such files are not accepted in records. Save it as PDF instead.",
                                name=filename))
    raise DomainError(_("The content of %(name)s is not a format accepted for records (photos, videos, audio, "
                        "PDF or office documents).", name=filename))


# --- file names --------------------------------------------------------------------------------

MAX_FILENAME = 200
# Control and format characters (NUL, line breaks, tab, direction marks such as U+202E, zero-width
# characters), line and paragraph separators, and lone surrogates.
FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def check_filename(name: str) -> str:
    """The original name of a file as the user's device gave it, validated; returned stripped of
    surrounding blanks. Chinese and other scripts are fine; folders, "." and "..", names over
    200 characters and invisible characters are refused."""
    if any(unicodedata.category(c) in FORBIDDEN_CATEGORIES for c in name):
        raise DomainError(_("The file name contains invisible or control characters (such as a line break or "
                            "a text direction mark); rename the file and try again."))
    name = name.strip()
    if not name:
        raise DomainError(_("The file name is missing."))
    if len(name) > MAX_FILENAME:
        raise DomainError(_("The file name is longer than %(limit)s characters; rename the file and try again.",
                            limit=MAX_FILENAME))
    if "/" in name or "\\" in name:
        raise DomainError(_("The file name %(name)s contains a slash or backslash; give the name of the file "
                            "alone, without its folder.", name=name))
    if name in (".", ".."):
        raise DomainError(_("%(name)s is not a file name.", name=name))
    return name


# --- EXIF --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExifInfo:
    """What a photo's EXIF says. `captured_at` is naive, in the camera's local time as written
    (DateTimeOriginal, else DateTime); the position is in decimal degrees, south and west
    negative, and both are None unless both are known; `device` is Make and Model."""

    captured_at: datetime | None = None
    latitude: float | None = None
    longitude: float | None = None
    device: str = ""


EXIF_IFD, GPS_IFD = 0x8769, 0x8825
TAG_MAKE, TAG_MODEL, TAG_DATETIME, TAG_DATETIME_ORIGINAL = 0x010F, 0x0110, 0x0132, 0x9003
GPS_LATITUDE_REF, GPS_LATITUDE, GPS_LONGITUDE_REF, GPS_LONGITUDE, GPS_STATUS = 1, 2, 3, 4, 9


def read_exif(head: bytes) -> ExifInfo:
    """The EXIF capture time, GPS position and camera of a JPEG, HEIC/HEIF/AVIF, PNG, WebP or TIFF
    picture from its first bytes. Never raises: junk, a truncated head or no EXIF give an empty
    ExifInfo, and each field that cannot be read is left empty on its own."""
    try:
        block = _exif_block(head)
        if not block:
            return ExifInfo()
        exif = Image.Exif()
        exif.load(block)
    except Exception:  # noqa: BLE001 — any parse failure of untrusted bytes means "no EXIF"
        return ExifInfo()
    latitude, longitude = _guarded(_position, exif, (None, None))
    return ExifInfo(captured_at=_guarded(_captured_at, exif, None), latitude=latitude, longitude=longitude,
                    device=_guarded(_device, exif, ""))


def _guarded(read, exif, empty):
    try:
        return read(exif)
    except Exception:  # noqa: BLE001 — a damaged field is an empty field
        return empty


def _ifd(exif: Image.Exif, tag: int) -> dict:
    try:
        return exif.get_ifd(tag) or {}
    except Exception:  # noqa: BLE001
        return {}


_EXIF_TIME = re.compile(r"\s*(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})", re.ASCII)


def _captured_at(exif: Image.Exif) -> datetime | None:
    for value in (_ifd(exif, EXIF_IFD).get(TAG_DATETIME_ORIGINAL), exif.get(TAG_DATETIME)):
        match = _EXIF_TIME.match(_string(value))
        if match:
            try:
                return datetime(*(int(part) for part in match.groups()))
            except ValueError:  # "0000:00:00 00:00:00" and other impossible dates
                continue
    return None


def _position(exif: Image.Exif) -> tuple[float | None, float | None]:
    gps = _ifd(exif, GPS_IFD)
    if _string(gps.get(GPS_STATUS)).upper() == "V":  # the receiver says: no valid fix
        return None, None
    latitude = _coordinate(gps.get(GPS_LATITUDE), gps.get(GPS_LATITUDE_REF), "N", "S", 90)
    longitude = _coordinate(gps.get(GPS_LONGITUDE), gps.get(GPS_LONGITUDE_REF), "E", "W", 180)
    if latitude is None or longitude is None or (latitude == 0 and longitude == 0):  # 0,0: no fix written as zeros
        return None, None
    return latitude, longitude


def _coordinate(value, ref, positive: str, negative: str, limit: float) -> float | None:
    """Degrees from EXIF's (degrees, minutes, seconds) and hemisphere; None when either is missing
    or impossible (a wrong hemisphere is worse than none)."""
    parts = value if isinstance(value, tuple) else (value,)
    if value is None or not 1 <= len(parts) <= 3:
        return None
    degrees = sum(float(part) / 60 ** i for i, part in enumerate(parts))
    hemisphere = _string(ref).upper()
    if not math.isfinite(degrees) or not 0 <= degrees <= limit or hemisphere not in (positive, negative):
        return None
    return round(-degrees if hemisphere == negative else degrees, 7)


def _device(exif: Image.Exif) -> str:
    make, model = _string(exif.get(TAG_MAKE)), _string(exif.get(TAG_MODEL))
    if make and model.lower().startswith(make.lower()):  # "Canon" + "Canon EOS R5"
        return model
    return " ".join(part for part in (make, model) if part)


def _string(value) -> str:
    """An EXIF text value, without NULs, control characters or surrounding blanks."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return ""
    value = "".join(c for c in value if not unicodedata.category(c).startswith("C"))
    return " ".join(value.split())


def _exif_block(head: bytes) -> bytes | None:
    """The EXIF block (a small TIFF structure) from the container that holds it."""
    if head.startswith(b"\xff\xd8"):
        return _jpeg_exif(head)
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _png_exif(head)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _webp_exif(head)
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return head  # a TIFF file is itself the EXIF structure (offsets from its start)
    if head[4:8] == b"ftyp":
        return _heif_exif(head)
    return None


def _jpeg_exif(head: bytes) -> bytes | None:
    """The APP1 "Exif" segment, walking the markers up to the start of the picture data."""
    pos = 2
    while pos + 4 <= len(head):
        if head[pos] != 0xFF:
            return None
        marker = head[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # markers without a length
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no EXIF before it
            return None
        length = _be16(head, pos + 2)
        if length < 2:
            return None
        body = head[pos + 4:pos + 2 + length]
        if marker == 0xE1 and body.startswith(b"Exif\x00"):
            return body[6:]
        pos += 2 + length
    return None


def _png_exif(head: bytes) -> bytes | None:
    pos = 8
    while pos + 8 <= len(head):
        length, kind = struct.unpack_from(">I4s", head, pos)
        if kind == b"eXIf":
            return head[pos + 8:pos + 8 + length]
        if kind == b"IEND":
            return None
        pos += 12 + length
    return None


def _webp_exif(head: bytes) -> bytes | None:
    pos = 12
    while pos + 8 <= len(head):
        kind, length = struct.unpack_from("<4sI", head, pos)
        if kind == b"EXIF":
            return head[pos + 8:pos + 8 + length]
        pos += 8 + length + (length & 1)
    return None


def _heif_exif(head: bytes) -> bytes | None:
    """The "Exif" item of a HEIF/AVIF picture: its type in `iinf`, its place in `iloc`, both in
    the top-level `meta` box; the item holds a 4-byte offset to the TIFF header, then the EXIF."""
    meta = next(((start, end) for kind, start, end in _boxes(head, 0, len(head)) if kind == b"meta"), None)
    if meta is None:
        return None
    exif_items: set[int] = set()
    locations: dict[int, list[tuple[int, int]]] = {}
    for kind, start, end in _boxes(head, meta[0] + 4, meta[1]):  # meta is a full box: skip version/flags
        if kind == b"iinf":
            first = start + 4 + (2 if head[start] == 0 else 4)
            for entry_kind, entry, _entry_end in _boxes(head, first, end):
                version = head[entry]
                if entry_kind == b"infe" and version >= 2:
                    item_id, type_at = (_be16(head, entry + 4), entry + 8) if version == 2 else \
                        (_be32(head, entry + 4), entry + 10)
                    if head[type_at:type_at + 4] == b"Exif":
                        exif_items.add(item_id)
        elif kind == b"iloc":
            locations = _iloc(head, start)
    for item_id in sorted(exif_items):
        extents = locations.get(item_id)
        if extents:
            data = b"".join(head[offset:offset + length] for offset, length in extents)
            skip = _be32(data, 0)
            return data[4 + skip:] if data[4 + skip:4 + skip + 2] in (b"II", b"MM") else data[4:]
    return None


def _iloc(head: bytes, start: int) -> dict[int, list[tuple[int, int]]]:
    """Item id → extents (absolute offset, length) of the items stored in the file itself."""
    version = head[start]
    pos = start + 4
    offset_size, length_size = head[pos] >> 4, head[pos] & 15
    base_size, index_size = head[pos + 1] >> 4, (head[pos + 1] & 15 if version in (1, 2) else 0)
    pos += 2
    wide = version == 2
    count, pos = _uint(head, pos, 4 if wide else 2)
    items: dict[int, list[tuple[int, int]]] = {}
    for _item in range(count):
        item_id, pos = _uint(head, pos, 4 if wide else 2)
        method = 0
        if version in (1, 2):
            method, pos = _uint(head, pos, 2)
            method &= 15
        pos += 2  # data reference index
        base, pos = _uint(head, pos, base_size)
        extent_count, pos = _uint(head, pos, 2)
        extents = []
        for _extent in range(extent_count):
            pos += index_size
            offset, pos = _uint(head, pos, offset_size)
            length, pos = _uint(head, pos, length_size)
            extents.append((base + offset, length))
        if method == 0:  # 0: in the file; 1 (in `idat`) and 2 (from other items) are not read
            items[item_id] = extents
    return items


# --- bytes helpers -----------------------------------------------------------------------------

def _be16(data: bytes, pos: int) -> int:
    return struct.unpack_from(">H", data, pos)[0]


def _be32(data: bytes, pos: int) -> int:
    return struct.unpack_from(">I", data, pos)[0]


def _uint(data: bytes, pos: int, size: int) -> tuple[int, int]:
    """A big-endian unsigned integer of `size` bytes (0, 2, 4 or 8) at `pos`, and the next position."""
    if size not in (0, 1, 2, 4, 8) or pos + size > len(data):
        raise ValueError("out of bounds")
    return int.from_bytes(data[pos:pos + size], "big"), pos + size


def _find_all(data: bytes, needle: bytes):
    pos = data.find(needle)
    while pos != -1:
        yield pos
        pos = data.find(needle, pos + 1)


def _boxes(data: bytes, start: int, end: int):
    """(type, content start, box end) of the ISO-BMFF boxes between `start` and `end`; the end of
    the last box may lie beyond the data when the head is truncated."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if pos + 16 > end:
                return
            size, header = struct.unpack_from(">Q", data, pos + 8)[0], 16
        elif size == 0:
            size = end - pos
        if size < header:
            return
        yield kind, pos + header, pos + size
        pos += size
