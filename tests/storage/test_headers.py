"""The one rule for serving stored objects to a browser (used by both backends)."""

from __future__ import annotations

import pytest

from storage import download_headers


@pytest.mark.parametrize(("content_type", "disposition"), [
    ("image/jpeg", "inline"),
    ("video/mp4", "inline"),
    ("application/pdf", "inline"),
    ("text/html", "attachment"),
    ("text/html; charset=utf-8", "attachment"),
    ("image/svg+xml", "attachment"),
    ("application/javascript", "attachment"),
    ("application/octet-stream", "attachment"),
])
def test_only_images_video_and_pdf_are_shown_inline(content_type, disposition):
    headers = download_headers(content_type)

    assert headers["Content-Type"] == content_type
    assert headers["Content-Disposition"] == disposition
    assert headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("content_type", [None, "", "html", "text/html\r\nSet-Cookie: a=b"])
def test_missing_or_malformed_type_downloads_as_octet_stream(content_type):
    headers = download_headers(content_type, "x.bin")

    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Disposition"] == 'attachment; filename="x.bin"'


def test_non_ascii_file_name_has_an_ascii_fallback_and_a_utf8_name():
    headers = download_headers("application/pdf", '处罚决定书 "final".pdf')

    assert headers["Content-Disposition"] == (
        'inline; filename="_____ _final_.pdf"; '
        "filename*=UTF-8''%E5%A4%84%E7%BD%9A%E5%86%B3%E5%AE%9A%E4%B9%A6%20%22final%22.pdf"
    )


def test_attachment_forces_a_download_even_for_an_inline_type():
    from storage import download_headers

    assert download_headers("image/jpeg", "现场.jpg")["Content-Disposition"].startswith("inline")
    forced = download_headers("image/jpeg", "现场.jpg", attachment=True)
    assert forced["Content-Disposition"].startswith("attachment") and forced["Content-Type"] == "image/jpeg"
