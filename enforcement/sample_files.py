"""Small, real files of each kind, for the demo town and the tests: a PDF, a JPEG with EXIF, an
MP4 header, an MP3 header. They pass the upload checks (the type is detected from the bytes);
the video and audio are headers only and do not play.
"""
from __future__ import annotations

import io
from datetime import datetime


def pdf(*lines: str) -> bytes:
    """A one-page PDF showing `lines` (ASCII; other characters become '?')."""
    text = " ".join(line.encode("ascii", "replace").decode("ascii") for line in lines) or "record"
    text = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def _rational(value: float):
    from PIL.TiffImagePlugin import IFDRational

    return IFDRational(round(value * 1000000), 1000000)


def jpeg(*, taken: datetime | None = None, latitude: float | None = None, longitude: float | None = None,
         device: str = "", color=(120, 140, 90), size=(64, 48)) -> bytes:
    """A small JPEG photo, with EXIF capture time, GPS and camera when given."""
    from PIL import Image

    image = Image.new("RGB", size, color)
    exif = Image.Exif()
    if device:
        make, _, model = device.partition(" ")
        exif[0x010F] = make
        exif[0x0110] = model or make
    if taken is not None:
        stamp = taken.strftime("%Y:%m:%d %H:%M:%S")
        exif[0x0132] = stamp
        exif.get_ifd(0x8769)[0x9003] = stamp
    if latitude is not None and longitude is not None:
        gps = exif.get_ifd(0x8825)

        def dms(value: float):
            value = abs(value)
            degrees = int(value)
            minutes = int((value - degrees) * 60)
            seconds = (value - degrees - minutes / 60) * 3600
            return (_rational(degrees), _rational(minutes), _rational(seconds))

        gps[1] = "N" if latitude >= 0 else "S"
        gps[2] = dms(latitude)
        gps[3] = "E" if longitude >= 0 else "W"
        gps[4] = dms(longitude)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=80)
    return out.getvalue()


def mp4(size: int = 4096) -> bytes:
    """An MP4 file header (ftyp box) padded with an mdat box to `size` bytes."""
    ftyp = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
    mdat_len = max(size - len(ftyp), 8)
    return ftyp + mdat_len.to_bytes(4, "big") + b"mdat" + bytes(mdat_len - 8)


def mp3(size: int = 2048) -> bytes:
    """An MP3 file: an ID3v2 tag header followed by zeroes."""
    header = b"ID3\x04\x00\x00\x00\x00\x00\x00"
    return header + bytes(max(size - len(header), 0))


def for_kind(kind: str, label: str = "record") -> tuple[bytes, str]:
    """(content, filename) of a sample for a record type's kind: document, photo, video or audio."""
    if kind == "photo":
        return jpeg(), f"{label}.jpg"
    if kind == "video":
        return mp4(), f"{label}.mp4"
    if kind == "audio":
        return mp3(), f"{label}.mp3"
    return pdf(label), f"{label}.pdf"
