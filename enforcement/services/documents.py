"""Official documents as PDF: the 法制审核意见书 and the decisions (行政处罚决定书, 限期拆除决定书 …).

The callers fill plain dataclasses with Chinese text; this module only lays them out, with fpdf2
and a CJK font embedded as a subset (viewers never substitute a font, so what is printed is what
was signed). The font is Noto Serif CJK SC from Debian's `fonts-noto-cjk` when present — a Song
face, as official documents use — or the font named by `PDF_FONT_PATH`.

Typesetting rules kept here, because fpdf2 has none for Chinese: lines break between any two
characters, but never before closing punctuation (。，、）” … hang into the margin instead) nor
after an opening one, and a short run of Latin letters or digits (an amount, a date, "SHA-256")
moves to the next line whole; full lines are justified by spreading the characters. Characters
the font cannot show (emoji, very rare ideographs) are printed as □ rather than failing.

Speed: a document takes 1.3–2 s on our machines (0.4 s to parse the font, about 1 s for fpdf2 to
subset and compile it at output; the first call adds the module imports, ~0.5 s). fpdf2 cannot
share a parsed font between documents — `output()` subsets the fontTools object in place and closes
it — and a font cloned through its internals saved only ~0.2 s, because the tables it skips are then
parsed at output. What can be reused is kept here: the font's character coverage, read once per file.
"""
from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from fontTools import ttLib
from fpdf import FPDF
from fpdf.enums import Align, TableBordersLayout, WrapMode, XPos, YPos
from fpdf.fonts import FontFace

from .errors import DomainError

# Where Debian puts the usual CJK fonts, best first, with the face to use in a collection:
# the Noto CJK collections hold JP, KR, SC, TC, HK faces in this order (SC is number 2).
FONT_CANDIDATES: list[tuple[str, int]] = [
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),  # fonts-noto-cjk: Noto Serif CJK SC
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),  # fonts-noto-cjk: Noto Sans CJK SC
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),  # fonts-wqy-zenhei
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),  # fonts-wqy-microhei
]
FONT_EXTENSIONS = (".ttc", ".ttf", ".otf", ".otc")
# A font that cannot show these is no font for our documents.
REQUIRED_CHARACTERS = "行政处罚决定书法制审核意见当事人第页共"

PRODUCER = "enforcement (fpdf2)"
CREATOR = "enforcement case tracker"
MISSING_MARK = "□"  # printed for a character the font lacks, as 缺字 are marked in Chinese texts

FAMILY = "cjk"
MARGIN = 25.0  # mm, all four sides
BODY_PT = 12.0
LEADING = 1.7  # line pitch as a multiple of the font size
SMALL_PT = 8.0
FOOTER_PT = 9.0

# Never at the start of a line (they hang into the right margin instead) …
NO_LINE_START = frozenset("，。、；：？！…—‥）》」』】〕〉〗”’·%‰℃,.;:?!)]}>")
# … never at the end of one (they move to the next line with what they open).
NO_LINE_END = frozenset("（《「『【〔〈〖“‘([{<")
LATIN_RUN_MAX = 16  # a run of letters/digits up to this length is not split across lines


class FontMissing(DomainError):
    """No CJK font to embed: the documents cannot be made."""

    status_code = 500


# --- the font --------------------------------------------------------------------------------------

def _configured() -> tuple[str, int | None]:
    """PDF_FONT_PATH and PDF_FONT_INDEX from the app's config, when there is an app."""
    from flask import current_app, has_app_context

    if not has_app_context():
        return "", None
    path = str(current_app.config.get("PDF_FONT_PATH") or "").strip()
    index = current_app.config.get("PDF_FONT_INDEX")
    if index in (None, ""):
        return path, None
    try:
        return path, int(index)
    except (TypeError, ValueError):
        raise FontMissing(f"PDF_FONT_INDEX must be a face number (0, 1, 2 …), not {index!r}.") from None


def _known_index(path: str) -> int:
    real = os.path.realpath(path)
    for candidate, index in FONT_CANDIDATES:
        if os.path.realpath(candidate) == real:
            return index
    return 0


def font_path() -> tuple[str, int]:
    """The font file to embed and its face number inside a collection.

    PDF_FONT_PATH wins when set (a wrong one is an error, not a reason to search), with the face
    PDF_FONT_INDEX; otherwise the first of FONT_CANDIDATES that exists, with its known face.
    Raises FontMissing, naming every path tried.
    """
    configured, index = _configured()
    if configured:
        if not configured.lower().endswith(FONT_EXTENSIONS):
            raise FontMissing(f"PDF_FONT_PATH={configured} is not a font file ({', '.join(FONT_EXTENSIONS)}).")
        if not os.path.isfile(configured):
            raise FontMissing(f"No CJK font for PDF documents: PDF_FONT_PATH={configured} does not exist. "
                              "Install fonts-noto-cjk or set PDF_FONT_PATH to a .ttc/.ttf/.otf font with "
                              "Chinese characters.")
        return configured, index if index is not None else _known_index(configured)
    for candidate, known_index in FONT_CANDIDATES:
        if os.path.isfile(candidate):
            return candidate, known_index
    tried = ", ".join(path for path, _index in FONT_CANDIDATES) or "(none)"
    raise FontMissing(f"No CJK font for PDF documents: tried {tried}. "
                      "Install fonts-noto-cjk (apt-get install fonts-noto-cjk) or set PDF_FONT_PATH "
                      "to a .ttc/.ttf/.otf font with Chinese characters.")


@lru_cache(maxsize=8)
def _coverage_of(path: str, index: int, _mtime_ns: int) -> frozenset[int]:
    font = ttLib.TTFont(path, fontNumber=index, lazy=True)
    try:
        return frozenset(font.getBestCmap() or ())
    finally:
        font.close()


def font_coverage(path: str, index: int) -> frozenset[int]:
    """The code points the font can show (read once per file and face, cached in this module)."""
    try:
        coverage = _coverage_of(path, index, os.stat(path).st_mtime_ns)
    except Exception as error:  # a damaged or foreign file: fontTools raises many kinds
        raise FontMissing(f"The font {path} (face {index}) cannot be read: {error}. "
                          "Install fonts-noto-cjk or set PDF_FONT_PATH to another font.") from error
    lacking = [c for c in REQUIRED_CHARACTERS if ord(c) not in coverage]
    if lacking:
        raise FontMissing(f"The font {path} (face {index}) has no Chinese characters ({''.join(lacking)} "
                          "are missing). Install fonts-noto-cjk or set PDF_FONT_PATH to a CJK font.")
    return coverage


def printable(text: str, coverage: frozenset[int]) -> str:
    """`text` with what the font cannot show replaced by □ (or dropped, for invisible characters).

    Line breaks stay; tabs and odd spaces become spaces; control, format and joiner characters,
    variation selectors and emoji skin tones are dropped (❤️ is one mark, not two).
    """
    text = unicodedata.normalize("NFC", str(text or "")).replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for char in text:
        code = ord(char)
        if char == "\n" or code in coverage:
            out.append(char)
            continue
        category = unicodedata.category(char)
        if char == "\t" or category == "Zs":
            out.append(" " if 0x20 in coverage else "\u3000")
        elif category in ("Cc", "Cf", "Mn", "Me", "Zl", "Zp") or 0x1F3FB <= code <= 0x1F3FF:
            continue
        else:
            out.append(MISSING_MARK)
    return "".join(out)


# --- the documents ---------------------------------------------------------------------------------

@dataclass
class ReviewOpinionDoc:
    """法制审核意见书: the legal reviewer's opinion on a proposed decision."""

    body_name: str
    case_number: str
    case_title: str
    party: str
    submitted_by: str
    submitted_at: str
    attestation: str
    proposal: str  # 拟作出的处理决定, several lines
    major_reasons: list[str]
    checks: list[tuple[str, bool, str]]  # (what was checked, passed?, note)
    opinion: str
    outcome: str  # in words: 同意（审核通过）/ 退回补充调查 / 不同意
    reviewer: str
    reviewer_qualification: str
    reviewed_at: str
    digest: str  # SHA-256 of the dossier reviewed
    record_count: int


@dataclass
class DecisionDoc:
    """A decision document: 行政处罚决定书, 限期拆除决定书, 不予行政处罚决定书 …"""

    body_name: str
    title: str
    document_number: str
    party_lines: list[str]  # 当事人：…  住址：… (composed by the caller)
    facts: str
    evidence: list[str]
    legal_basis: str
    decision_text: str
    discretion: str
    review_note: str  # "" when no legal review was needed
    collective_note: str  # "" when no collective discussion was needed
    performance: str
    remedy: str
    signed_by: str
    decided_on: str  # 2026年11月27日
    digest: str


def review_opinion_pdf(doc: ReviewOpinionDoc) -> bytes:
    sheet = _Sheet(title="法制审核意见书", subject=f"{doc.case_number} {doc.case_title}")
    sheet.masthead(doc.body_name, "法制审核意见书", f"案号：{doc.case_number}")
    sheet.form([("案件名称", doc.case_title), ("当事人", doc.party), ("送审人", doc.submitted_by),
                ("送审时间", doc.submitted_at)])
    if _text(doc.attestation):
        sheet.paragraph(f"送审人承诺：{_text(doc.attestation)}", indent=False)
    sheet.section("拟作出的处理决定", doc.proposal)
    sheet.section("属于重大执法决定的情形",
                  "\n".join(f"{n}. {reason}" for n, reason in enumerate(doc.major_reasons, 1)) or "无",
                  indent=False)
    sheet.heading("审核事项")
    sheet.checks(doc.checks)
    sheet.section("审核意见", doc.opinion)
    sheet.section("审核结论", doc.outcome, indent=False)
    sheet.gap(0.5)
    sheet.paragraph(f"审核人员：{doc.reviewer}", indent=False)
    if _text(doc.reviewer_qualification):
        sheet.paragraph(f"资格：{_text(doc.reviewer_qualification)}", indent=False)
    sheet.signature([doc.body_name, doc.reviewed_at])
    sheet.small_print(f"本意见书审核的案卷共 {doc.record_count} 份材料。\n案卷摘要 SHA-256: {doc.digest}")
    return sheet.finish()


def decision_pdf(doc: DecisionDoc) -> bytes:
    sheet = _Sheet(title=doc.title, subject=doc.document_number)
    sheet.masthead(doc.body_name, doc.title, doc.document_number)
    for line in doc.party_lines:
        sheet.paragraph(line, indent=False)
    sheet.gap(0.5)
    sheet.section("违法事实", doc.facts)
    sheet.section("证据", "\n".join(f"{n}. {item}" for n, item in enumerate(doc.evidence, 1)), indent=False)
    sheet.section("法律依据", doc.legal_basis)
    sheet.section("裁量理由", doc.discretion)
    sheet.section("法制审核", doc.review_note)
    sheet.section("集体讨论", doc.collective_note)
    sheet.section("决定内容", doc.decision_text)
    sheet.section("履行方式和期限", doc.performance)
    sheet.section("救济途径", doc.remedy)
    lines = [doc.body_name]
    if _text(doc.signed_by) and _text(doc.signed_by) != _text(doc.body_name):
        lines.insert(0, f"签发人：{_text(doc.signed_by)}")
    sheet.signature([*lines, doc.decided_on])
    sheet.small_print(f"案卷摘要 SHA-256: {doc.digest}")
    return sheet.finish()


@dataclass
class StatisticsDoc:
    """年度行政执法数据: a body's statistics of one year, as tables of label and value."""

    body_name: str
    title: str
    subtitle: str  # the revision and whether (when) it was published
    sections: list[tuple[str, list[tuple[str, str]]]]  # (section title, [(label, value)])
    note: str
    generated_at: str
    digest: str  # SHA-256 of the data the figures were counted from


def statistics_pdf(doc: StatisticsDoc) -> bytes:
    sheet = _Sheet(title=f"{doc.body_name}{doc.title}", subject=doc.subtitle)
    sheet.masthead(doc.body_name, doc.title, doc.subtitle)
    if _text(doc.note):
        sheet.paragraph(doc.note)
    for heading, rows in doc.sections:
        sheet.heading(heading)
        sheet._table([("项目", "数值"), *rows], col_widths=(120, 40), headings=True, align=("LEFT", "RIGHT"))
    sheet.small_print(f"生成于 {doc.generated_at}。\n数据摘要 SHA-256: {doc.digest}")
    return sheet.finish()


@dataclass
class CaseIndexDoc:
    """卷内目录: the index of an exported case file, one row per file in the package's order."""

    body_name: str
    case_number: str
    case_title: str
    facts: list[tuple[str, str]]  # (label, value) rows above the index: 案号, 案由, 当事人 …
    rows: list[tuple[str, str, str, str, str, str, str]]  # 序号, 题名, 责任者, 日期, 页数/大小, 阶段, 备注
    note: str
    generated_at: str


def case_index_pdf(doc: CaseIndexDoc) -> bytes:
    sheet = _Sheet(title=f"{doc.case_number} 卷内目录", subject=doc.case_title)
    sheet.masthead(doc.body_name, "卷内目录", doc.case_number)
    sheet.form(doc.facts)
    sheet._table([("序号", "题名", "责任者", "日期", "页数/大小", "阶段", "备注"), *doc.rows],
                 col_widths=(11, 42, 16, 22, 24, 19, 26), headings=True,
                 align=("CENTER", "LEFT", "CENTER", "CENTER", "CENTER", "CENTER", "LEFT"))
    sheet.small_print(f"{doc.note}\n生成于 {doc.generated_at}。")
    return sheet.finish()


# --- layout ----------------------------------------------------------------------------------------

def _numeral(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")


class _Page(FPDF):
    def footer(self) -> None:
        self.set_y(-MARGIN + 8)
        self.set_font(FAMILY, size=FOOTER_PT)
        self.set_char_spacing(0)
        self.cell(0, 5, f"第 {self.page_no()} 页 共 {{nb}} 页", align=Align.C)


class _Sheet:
    """One document being laid out: fpdf2 plus the typesetting rules of an official paper."""

    def __init__(self, *, title: str, subject: str):
        path, index = font_path()
        self.coverage = font_coverage(path, index)
        pdf = _Page(orientation="P", unit="mm", format="A4")
        try:
            pdf.add_font(FAMILY, fname=path, collection_font_number=index)
        except Exception as error:
            raise FontMissing(f"The font {path} (face {index}) cannot be embedded: {error}. "
                              "Install fonts-noto-cjk or set PDF_FONT_PATH to another font.") from error
        pdf.set_margins(MARGIN, MARGIN, MARGIN)
        pdf.set_auto_page_break(True, margin=MARGIN)
        pdf.c_margin = 0
        pdf.set_creator(CREATOR)
        pdf.set_producer(PRODUCER)
        pdf.set_title(self.clean(title))
        pdf.set_subject(self.clean(subject))
        pdf.set_lang("zh-CN")
        pdf.add_page()
        self.pdf = pdf
        self.sections = 0
        self._widths: dict[tuple[str, float], float] = {}
        self.size(BODY_PT)

    # text and measures
    def clean(self, text: str) -> str:
        return printable(text, self.coverage)

    def size(self, points: float) -> None:
        self.pdf.set_font(FAMILY, size=points)
        self.points = points

    @property
    def leading(self) -> float:
        return self.points * LEADING / self.pdf.k

    def width(self, text: str) -> float:
        total = 0.0
        for char in text:
            key = (char, self.points)
            if key not in self._widths:
                self._widths[key] = self.pdf.get_string_width(char)
            total += self._widths[key]
        return total

    def room(self) -> float:
        return self.pdf.page_break_trigger - self.pdf.get_y()

    def keep(self, height: float) -> None:
        """Start a new page unless `height` fits on this one."""
        if self.room() < height:
            self.pdf.add_page()

    def gap(self, lines: float) -> None:
        self.pdf.ln(self.leading * lines)

    # line breaking
    def lines(self, text: str, width: float) -> list[str]:
        """One paragraph broken into lines of at most `width` (closing punctuation may hang past it)."""
        lines: list[str] = []
        line, used = "", 0.0
        for char in text:
            advance = self.width(char)
            if line and used + advance > width + 0.01 and char not in NO_LINE_START:
                line, carried = self._split(line, char)
                lines.append(line.rstrip(" "))
                if char == " " and not carried:
                    line, used = "", 0.0
                    continue
                line, used = carried, self.width(carried)
            line += char
            used += advance
        lines.append(line.rstrip(" "))
        return lines

    @staticmethod
    def _split(line: str, next_char: str) -> tuple[str, str]:
        """Where to end `line` when `next_char` no longer fits: (what stays, what moves on)."""
        cut = len(line)
        if _latin(next_char):
            start = cut
            while start > 0 and _latin(line[start - 1]):
                start -= 1
            if 0 < start and cut - start <= LATIN_RUN_MAX:
                cut = start
        while cut > 1 and line[cut - 1] in NO_LINE_END:
            cut -= 1
        if cut <= 0:
            cut = len(line)
        return line[:cut], line[cut:]

    def write_line(self, line: str, width: float, *, justify: bool, x: float | None = None,
                   align: Align = Align.L) -> None:
        pdf = self.pdf
        natural = self.width(line)
        spacing = 0.0
        if justify and len(line) > 1 and 0 < width - natural <= 2.5 * self.points / pdf.k:
            spacing = (width - natural) * pdf.k / (len(line) - 1)
        if pdf.will_page_break(self.leading):
            pdf.add_page()
        pdf.set_x(pdf.l_margin if x is None else x)
        pdf.set_char_spacing(spacing)
        pdf.cell(width, self.leading, line, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_char_spacing(0)

    # blocks
    def paragraph(self, text: str, *, indent: bool = True, width: float | None = None) -> None:
        """Wrapped, justified text; each line of `text` is a paragraph (indented two characters)."""
        width = width or self.pdf.epw
        for part in self.clean(text).split("\n"):
            part = part.strip()
            if not part:
                continue
            if indent:
                part = "\u3000\u3000" + part
            lines = self.lines(part, width)
            for number, line in enumerate(lines, 1):
                self.write_line(line, width, justify=number < len(lines))

    def masthead(self, body_name: str, title: str, number: str) -> None:
        pdf = self.pdf
        self.size(16)
        for line in self.lines(self.clean(body_name), pdf.epw):
            self.write_line(line, pdf.epw, justify=False, align=Align.C)
        self.gap(0.2)
        self.size(22)
        with self._bold(0.35):
            for line in self.lines(self.clean(title), pdf.epw):
                self.write_line(line, pdf.epw, justify=False, align=Align.C)
        self.size(BODY_PT)
        if _text(number):
            self.gap(0.2)
            for line in self.lines(self.clean(_text(number)), pdf.epw):
                self.write_line(line, pdf.epw, justify=False, align=Align.C)
        y = pdf.get_y() + self.leading * 0.3
        pdf.set_line_width(0.4)
        pdf.line(pdf.l_margin, y, pdf.w - pdf.r_margin, y)
        pdf.set_line_width(0.2)
        pdf.set_y(y + self.leading * 0.6)

    def heading(self, words: str) -> None:
        self.sections += 1
        self.size(BODY_PT + 1)
        self.keep(self.leading * 1.4 + BODY_PT * LEADING / self.pdf.k)  # never a heading alone at the foot
        self.gap(0.4)
        with self._bold(0.25):
            self.write_line(self.clean(f"{_numeral(self.sections)}、{words}"), self.pdf.epw, justify=False)
        self.size(BODY_PT)

    def section(self, words: str, text: str, *, indent: bool = True) -> None:
        """A numbered heading and its text; nothing at all when the text is empty."""
        if not _text(text):
            return
        self.heading(words)
        self.paragraph(text, indent=indent)

    def form(self, rows: list[tuple[str, str]]) -> None:
        """Label/value rows in a ruled box, as on a printed form."""
        self._table([(label, value) for label, value in rows], col_widths=(28, 132), headings=False,
                    align=("CENTER", "LEFT"))
        self.gap(0.4)

    def checks(self, rows: list[tuple[str, bool, str]]) -> None:
        body = [(str(n), name, "通过" if passed else "存在问题", note or "")
                for n, (name, passed, note) in enumerate(rows, 1)]
        self._table([("序号", "审核事项", "结论", "说明"), *body], col_widths=(12, 58, 22, 68), headings=True,
                    align=("CENTER", "LEFT", "CENTER", "LEFT"))

    def _table(self, rows, *, col_widths, headings: bool, align) -> None:
        pdf = self.pdf
        self.size(BODY_PT - 1.5)
        heading_style = FontFace(family=FAMILY, emphasis="", size_pt=self.points, fill_color=(236, 236, 236))
        with pdf.table(col_widths=col_widths, width=pdf.epw, first_row_as_headings=headings,
                       num_heading_rows=1 if headings else 0, headings_style=heading_style,
                       line_height=self.points * 1.5 / pdf.k, padding=(1.2, 1.6), wrapmode=WrapMode.CHAR,
                       text_align=align, v_align="MIDDLE",
                       borders_layout=TableBordersLayout.ALL) as table:
            for values in rows:
                row = table.row()
                for value in values:
                    row.cell(self.clean(value))
        self.size(BODY_PT)

    def signature(self, lines: list[str]) -> None:
        """The signing block (body name, date): a block at the right, two characters in from the
        margin, its lines centred on each other as on a sealed paper, kept on one page."""
        pdf = self.pdf
        lines = [self.clean(_text(line)) for line in lines if _text(line)]
        self.keep(self.leading * (len(lines) + 1.5))
        self.gap(1.2)
        block = min(max(self.width(line) for line in lines), pdf.epw)
        left = pdf.w - pdf.r_margin - 2 * self.points / pdf.k - block
        for line in lines:
            self.write_line(line, block, justify=False, x=max(left, pdf.l_margin), align=Align.C)

    def small_print(self, text: str) -> None:
        self.gap(1)
        self.size(SMALL_PT)
        self.pdf.set_text_color(60)
        self.paragraph(text, indent=False)
        self.pdf.set_text_color(0)
        self.size(BODY_PT)

    def _bold(self, stroke_pt: float):
        """Fake bold (fill and stroke the glyphs): only the regular face is embedded."""
        return self.pdf.local_context(text_mode="FILL_STROKE", line_width=stroke_pt)

    def finish(self) -> bytes:
        return bytes(self.pdf.output())


def _text(value) -> str:
    """Any value (None, a lazy translation) as stripped text."""
    return "" if value is None else str(value).strip()


def _latin(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char in "-_./@#%+")
