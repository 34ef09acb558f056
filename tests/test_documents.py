"""The official documents as PDF (services.documents): the Chinese text is really in the file, the
font travels with it, long texts break into pages that each carry their footer, a missing font is
refused in words, and characters the font lacks do not break anything.

No database: plain functions, and a bare Flask app where configuration matters. The text is read
back with pypdf; pypdf decodes the embedded encoding CMap of a CFF CID font one byte at a time and
puts a NUL before every character (poppler's pdftotext reads the same file cleanly), so NULs and all
whitespace (line breaks, justification) are removed before comparing.
"""
from __future__ import annotations

import io
import logging
import re

import pytest
from flask import Flask
from pypdf import PdfReader

from enforcement.services import documents
from enforcement.services.documents import DecisionDoc, FontMissing, ReviewOpinionDoc
from tests.conftest import require_component

DIGEST = "9c1d4f0b7e2a5c8d3f6a9b0c1e4d7f2a5b8c0d3e6f9a1b4c7d0e3f6a9b2c5d8e"
LONG_FACTS = ("经查，当事人于2026年3月至5月期间，未取得乡村建设规划许可证，擅自在永平镇某某村委会某某村集体土地上"
              "建设砖混结构房屋一幢（三层，建筑面积约320平方米），违反了《中华人民共和国城乡规划法》第四十一条第一款"
              "的规定；本机关依法送达了《行政处罚事先告知书》，当事人在法定期限内未提出陈述、申辩，亦未申请听证，"
              "其违法事实以现场检查笔录、询问笔录及测量记录为证，违法所得无")
CHECKS = [("执法主体合法", True, ""), ("执法人员具备执法资格", True, "两名执法人员均持有效执法证件"),
          ("案件事实清楚", True, ""), ("证据确实充分", False, "缺少现场勘验图，测量记录未经当事人签字确认，建议补充。"),
          ("适用法律依据正确", True, ""), ("程序合法", True, "已告知陈述、申辩和听证权利。"),
          ("裁量基准适用适当", True, ""), ("文书完备规范", True, ""), ("没有超越职权或者滥用职权", True, "")]


@pytest.fixture(scope="module")
def cjk_font():
    try:
        return documents.font_path()
    except FontMissing as error:
        require_component(False, f"a CJK font for PDF documents ({error})")


@pytest.fixture(scope="module")
def review_pdf(cjk_font) -> bytes:
    return documents.review_opinion_pdf(review_doc())


@pytest.fixture(scope="module")
def decision_pdf(cjk_font) -> bytes:
    return documents.decision_pdf(decision_doc())


def review_doc(**changes) -> ReviewOpinionDoc:
    values = dict(
        body_name="永平镇人民政府", case_number="永综执罚〔2026〕12号", case_title="王某某未经批准擅自建房案",
        party="王某某", submitted_by="李执法、赵执法", submitted_at="2026-11-20 09:30",
        attestation="所附案卷材料真实、完整，我们对材料的真实性负责。",
        proposal="责令限期拆除违法建筑\n罚款 人民币5,000.00元\n法律依据：《中华人民共和国城乡规划法》第六十五条",
        major_reasons=["涉及重大公共利益", "拟作出较大数额罚款"], checks=list(CHECKS),
        opinion="经审核，本案事实清楚，证据基本充分，适用法律正确，程序合法，裁量适当，建议补正测量记录后作出决定。",
        outcome="同意（审核通过）", reviewer="周审核", reviewer_qualification="法律职业资格证书 A20201234567890",
        reviewed_at="2026-11-25 16:05", digest=DIGEST, record_count=14)
    values.update(changes)
    return ReviewOpinionDoc(**values)


def decision_doc(**changes) -> DecisionDoc:
    values = dict(
        body_name="永平镇人民政府", title="行政处罚决定书", document_number="永综执罚〔2026〕12号",
        party_lines=["当事人：王某某", "住址：云南省大理白族自治州永平县永平镇某某村委会某某村12号"],
        facts=LONG_FACTS, evidence=["现场检查笔录（2026-06-02）", "询问笔录", "测量记录及示意图"],
        legal_basis="《中华人民共和国城乡规划法》第六十五条", decision_text="一、责令限期拆除违法建筑；\n二、罚款人民币5,000.00元。",
        discretion="适用裁量基准：一般情节（罚款2,000元至10,000元）",
        review_note="本案已于2026-11-25经法制审核通过（审核人：周审核）。",
        collective_note="本案已于2026-11-26经集体讨论决定。",
        performance="当事人应当自收到本决定书之日起十五日内缴纳罚款。",
        remedy="如不服本决定，可以在收到本决定书之日起六十日内依法申请行政复议，或者在六个月内依法向人民法院提起行政诉讼。",
        signed_by="张镇长", decided_on="2026年11月27日", digest=DIGEST)
    values.update(changes)
    return DecisionDoc(**values)


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text.replace("\x00", ""))


def pages_text(data: bytes) -> list[str]:
    assert data.startswith(b"%PDF-")
    return [squeeze(page.extract_text()) for page in PdfReader(io.BytesIO(data)).pages]


# --- the text is in the file ------------------------------------------------------------------------

def test_review_opinion_carries_its_chinese_text(review_pdf):
    text = "".join(pages_text(review_pdf))
    for expected in ("永平镇人民政府", "法制审核意见书", "案号：永综执罚〔2026〕12号", "王某某未经批准擅自建房案",
                     "王某某", "李执法、赵执法", "证据确实充分", "存在问题", "缺少现场勘验图", "通过",
                     "涉及重大公共利益", "同意（审核通过）", "周审核", "A20201234567890", "2026-11-2516:05",
                     "共14份材料", f"案卷摘要SHA-256:{DIGEST}", squeeze(review_doc().opinion)):
        assert expected in text, expected
    # Every check is a row of the table, in order.
    positions = [text.index(name) for name, _ok, _note in CHECKS]
    assert positions == sorted(positions)


def test_decision_carries_its_chinese_text(decision_pdf):
    text = "".join(pages_text(decision_pdf))
    for expected in ("永平镇人民政府", "行政处罚决定书", "永综执罚〔2026〕12号", "当事人：王某某",
                     "某某村12号", "现场检查笔录（2026-06-02）", "第六十五条", "罚款人民币5,000.00元",
                     "经法制审核通过", "经集体讨论决定", "六个月内依法向人民法院提起行政诉讼", "2026年11月27日",
                     f"案卷摘要SHA-256:{DIGEST}"):
        assert expected in text, expected
    # The long paragraph wrapped over several lines and lost nothing, to its last words.
    assert squeeze(LONG_FACTS) in text


def test_empty_notes_leave_no_heading(cjk_font):
    text = "".join(pages_text(documents.decision_pdf(decision_doc(review_note="", collective_note="", discretion=""))))
    assert "法制审核" not in text and "集体讨论" not in text and "裁量理由" not in text
    assert "违法事实" in text and "救济途径" in text
    review = "".join(pages_text(documents.review_opinion_pdf(
        review_doc(major_reasons=[], attestation=None, reviewer_qualification=""))))
    assert "属于重大执法决定的情形无" in review
    assert "送审人承诺" not in review and "资格：" not in review


def test_font_is_embedded_as_a_subset_with_metadata(review_pdf, decision_pdf):
    for data in (review_pdf, decision_pdf):
        reader = PdfReader(io.BytesIO(data))
        assert reader.metadata.producer == documents.PRODUCER
        assert reader.metadata.creator == documents.CREATOR
        for page in reader.pages:
            fonts = page["/Resources"]["/Font"]
            assert fonts
            for font in fonts.values():
                font = font.get_object()
                assert font["/Subtype"] == "/Type0" and "+" in font["/BaseFont"]  # a subset, named so
                assert "/ToUnicode" in font  # copy and search give the characters back
                descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
                assert "/FontFile2" in descriptor or "/FontFile3" in descriptor


def test_long_text_runs_over_pages_each_with_its_footer(cjk_font):
    sentences = "".join(f"第{n}项：当事人在永平镇某某村集体土地上擅自建设房屋，未取得乡村建设规划许可证。" for n in range(1, 181))
    pages = pages_text(documents.decision_pdf(decision_doc(facts=sentences, evidence=[f"证据材料{n}" for n in range(60)])))
    total = len(pages)
    assert total >= 3
    for number, text in enumerate(pages, 1):
        assert f"第{number}页共{total}页" in text
    # Without the footers, the text runs on from page to page with nothing lost.
    assert squeeze(sentences) in re.sub(r"第\d+页共\d+页", "", "".join(pages))
    assert "第180项" in "".join(pages) and "证据材料59" in "".join(pages)
    assert f"案卷摘要SHA-256:{DIGEST}" in pages[-1]


# --- characters the font lacks ---------------------------------------------------------------------

def test_emoji_and_rare_characters_are_marked_not_fatal(cjk_font, caplog):
    caplog.set_level(logging.WARNING)
    data = documents.decision_pdf(decision_doc(
        party_lines=["当事人：王某某😀", "住址：永平镇\t某某村\x07"], facts="当事人称❤️不知情👨‍👩‍👧，见𪚥。" + LONG_FACTS))
    text = "".join(pages_text(data))
    assert "当事人：王某某□" in text
    assert "当事人称□不知情□□□" in text  # the heart's variation selector and the joiners leave no mark
    assert "住址：永平镇某某村" in text
    assert not [r for r in caplog.records if "missing the following glyphs" in r.getMessage()]
    review = documents.review_opinion_pdf(review_doc(opinion="同意🙂", checks=[("主体合法🏛️", True, "👍🏽")]))
    assert "同意□" in "".join(pages_text(review))


def test_printable_replaces_what_the_font_lacks():
    coverage = frozenset(map(ord, "王某甲乙 \u3000□"))
    assert documents.printable("王😀某", coverage) == "王□某"
    assert documents.printable("❤️\u200d👍🏽", coverage) == "□□"
    assert documents.printable("甲\r\n乙\t\x00", coverage) == "甲\n乙 "
    assert documents.printable(None, coverage) == ""


# --- line breaking ---------------------------------------------------------------------------------

def test_lines_never_start_with_closing_nor_end_with_opening_punctuation(cjk_font):
    sheet = documents._Sheet(title="测试", subject="")
    width = sheet.width("字" * 10)
    assert sheet.lines("字" * 10 + "，" + "字" * 5, width) == ["字" * 10 + "，", "字" * 5]  # the comma hangs
    assert sheet.lines("字" * 9 + "《法》", width) == ["字" * 9, "《法》"]
    assert sheet.lines("字" * 8 + "2026年", width) == ["字" * 8, "2026年"]  # a number moves on whole
    text = LONG_FACTS * 3
    lines = sheet.lines(text, width * 3)
    assert "".join(lines) == text
    for line in lines:
        assert line[0] not in documents.NO_LINE_START and line[-1] not in documents.NO_LINE_END
        assert sheet.width(line.rstrip("".join(documents.NO_LINE_START))) <= width * 3 + 0.01


# --- the font and its configuration ----------------------------------------------------------------

def test_no_font_found_is_refused_in_words(monkeypatch):
    monkeypatch.setattr(documents, "FONT_CANDIDATES", [("/nonexistent/fonts/NotoSerifCJK-Regular.ttc", 2),
                                                        ("/nonexistent/fonts/wqy-zenhei.ttc", 0)])
    with pytest.raises(FontMissing) as refused:
        documents.font_path()
    message = refused.value.message
    assert "/nonexistent/fonts/NotoSerifCJK-Regular.ttc" in message and "/nonexistent/fonts/wqy-zenhei.ttc" in message
    assert "fonts-noto-cjk" in message and "PDF_FONT_PATH" in message
    with pytest.raises(FontMissing):
        documents.decision_pdf(decision_doc())


def bare_app(**config) -> Flask:
    app = Flask("documents-test")
    app.config.update(config)
    return app


def test_configured_font_wins_and_a_wrong_one_is_refused(cjk_font, monkeypatch):
    path, index = cjk_font
    monkeypatch.setattr(documents, "FONT_CANDIDATES", [("/nonexistent/fonts/x.ttc", 0), (path, index)])
    with bare_app(PDF_FONT_PATH=path, PDF_FONT_INDEX=None).app_context():
        assert documents.font_path() == (path, index)  # unset index: the face known for that file
    with bare_app(PDF_FONT_PATH=path, PDF_FONT_INDEX="0").app_context():
        assert documents.font_path() == (path, 0)
    with bare_app(PDF_FONT_PATH="/srv/fonts/missing.ttf").app_context():
        with pytest.raises(FontMissing, match="PDF_FONT_PATH=/srv/fonts/missing.ttf"):
            documents.font_path()
    with bare_app(PDF_FONT_PATH="/etc/hostname").app_context():
        with pytest.raises(FontMissing, match="not a font file"):
            documents.font_path()
    with bare_app(PDF_FONT_PATH="", PDF_FONT_INDEX="0").app_context():
        assert documents.font_path() == (path, index)  # empty: search, each file with its known face


def test_a_font_without_chinese_is_refused(tmp_path):
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    pen = TTGlyphPen(None)
    pen.moveTo((0, 0)), pen.lineTo((500, 0)), pen.lineTo((250, 700)), pen.closePath()
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder([".notdef", "A"])
    builder.setupCharacterMap({ord("A"): "A"})
    builder.setupGlyf({".notdef": TTGlyphPen(None).glyph(), "A": pen.glyph()})
    builder.setupHorizontalMetrics({".notdef": (500, 0), "A": (500, 0)})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": "Latin Only", "styleName": "Regular"})
    builder.setupOS2()
    builder.setupPost()
    latin = tmp_path / "latin-only.ttf"
    builder.save(str(latin))
    with bare_app(PDF_FONT_PATH=str(latin)).app_context():
        with pytest.raises(FontMissing, match="no Chinese characters"):
            documents.review_opinion_pdf(review_doc())
