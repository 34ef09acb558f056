"""Nothing leaks: parties with known names, ID numbers, phones and house-number addresses go through
the whole disclosure path (decision → masked draft → published; a demolition notice; a revocation and
its withdrawal; a change; a hold; a minor; a draft never published), then every public page, the
feed and the JSON are crawled from /public/ to a fixed point, and none of those values may appear
in any response — neither as sent, nor after decoding HTML entities, JSON escapes or URL escapes,
nor with its digits regrouped by spaces or dashes.
"""
from __future__ import annotations

import html
import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

import pytest
from flask import url_for

from enforcement.extensions import db
from enforcement.models import HoldReason, Publication, PublicationKind, PublicationStatus
from enforcement.services import decisions, disclosure
from enforcement.services.cases import PartyData
from enforcement.services.review import ProposalData
from tests.factories import PASSWORD


FILED = date(2026, 9, 1)
DAY = date(2026, 10, 20)
WITNESS = "李大山"


@dataclass
class Party:
    kind: str
    name: str
    id_number: str
    phone: str
    address: str        # with the house number
    village: str
    place_detail: str   # where the building stands, finer than the village
    house: tuple        # the parts of the address finer than the village
    minor: bool = False
    extra: list = field(default_factory=list)  # more text that must never be shown

    def data(self) -> PartyData:
        return PartyData(kind=self.kind, name=self.name, id_number=self.id_number, phone=self.phone,
                         address=self.address, is_minor=self.minor)

    def summary(self) -> str:
        spaced_id = f"{self.id_number[:6]} {self.id_number[6:14]} {self.id_number[14:]}"
        dashed_phone = f"{self.phone[:3]}-{self.phone[3:7]}-{self.phone[7:]}"
        return (f"经查，当事人{self.name}（身份证号 {spaced_id}，联系电话{dashed_phone}，住{self.address}）"
                f"未取得乡村建设规划许可证，在{self.place_detail}建设住房；证人{WITNESS}证实该房屋于2026年7月开工，"
                f"当事人称因患有糖尿病长期住院治疗未及时办理手续。")

    def content(self) -> str:
        return (f"责令当事人{self.name}（身份证号码{self.id_number}，电话{self.phone}）于十五日内自行拆除位于"
                f"{self.place_detail}的违法建设住房，证人{WITNESS}在场见证。")


WANG = Party("person", "王小明", "330327198805162739", "13957781234", "永平镇东村388号", "东村", "东村388号东侧",
             ("388号", "东村388号"))
OUYANG = Party("person", "欧阳春花", "33032719910304582X", "15868823456", "永平镇西村5组217号", "西村",
               "西村5组217号后院", ("5组217号", "217号"))
MINOR = Party("person", "李小宝", "330327201003157416", "13600577788", "永平镇北村9组46号", "北村", "北村9组46号西侧",
              ("9组46号", "46号"), minor=True)
HELD = Party("person", "钱多多", "330327197702283318", "13705771357", "永平镇南村12组751号", "南村", "南村12组751号",
             ("12组751号", "751号"))
DRAFT = Party("person", "赵有才", "330327196512120415", "18857712468", "永平镇中村3组602号", "中村", "中村3组602号",
              ("3组602号", "602号"))
CHANGED = Party("person", "孙秀英", "330327195803036621", "13819873456", "永平镇上村7组135号", "上村", "上村7组135号北侧",
                ("7组135号", "135号"))
ORG_CONTACT = "赵铁柱"
ORG_ACCOUNT = "6222021234567890123"
ORG = Party("organisation", "永平镇宏达建材有限公司", "", "13566772288", "永平镇工业区纬三路56号", "下村", "下村砖厂南侧",
            (), extra=[ORG_CONTACT, "铁柱"])
PERSONS = (WANG, OUYANG, MINOR, HELD, DRAFT, CHANGED)


def needles() -> list[str]:
    """Every string the public must never read."""
    out = [WITNESS, "大山", "糖尿病", ORG_ACCOUNT, ORG_ACCOUNT[-8:], ORG.phone, ORG_CONTACT]
    for p in PERSONS:
        out += [p.name, p.name[-2:], p.address, p.place_detail, *p.house]
        if p.id_number:
            i = p.id_number
            out += [i, i.lower(), i[-6:], i[-6:].lower(), f"{i[:6]} {i[6:14]} {i[14:]}"]
        out += [p.phone, f"{p.phone[:3]}-{p.phone[3:7]}-{p.phone[7:]}", f"{p.phone[:3]} {p.phone[3:7]} {p.phone[7:]}"]
    out += ORG.extra
    return sorted(set(out), key=len, reverse=True)


def digits_only(text: str) -> str:
    """Runs of digits with the spaces, dashes and dots between them removed (a regrouped number shows)."""
    return re.sub(r"(?<=\d)[\s\-.·]+(?=\d)", "", text)


def decoded_views(raw: str) -> list[str]:
    json_unescaped = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), raw)
    views = [raw, json_unescaped, html.unescape(raw), html.unescape(json_unescaped), unquote(raw)]
    return views + [digits_only(v) for v in views]


def leaks_in(raw: str) -> list[str]:
    found = []
    digit_needles = [n for n in needles() if re.fullmatch(r"[\dXx]+", n)]
    for view in decoded_views(raw):
        for needle in needles():
            if needle in view:
                found.append(needle)
        for needle in digit_needles:  # also with every separator inside the number removed
            if needle in digits_only(view):
                found.append(needle)
    return sorted(set(found))


# --- the data -------------------------------------------------------------------------------------------

def decide(make, team, party: Party, *, summary: str | None = None):
    case = make.case(team, approve=True, filed_on=FILED, party=party.data(), village=party.village,
                     place_detail=party.place_detail, summary=summary or party.summary())
    decision = make.decide(case, team, today=DAY, content=party.content())
    return case, decision


def publication(case, kind=PublicationKind.DECISION.value, decision=None) -> Publication:
    return next(p for p in disclosure.publications_of(case)
                if p.kind == kind and (decision is None or p.decision_id == decision.id))


@pytest.fixture
def world(make):
    """Every path a publication can take, with the parties above."""
    team = make.team(make.body("永平镇人民政府", address="永平镇人民路1号", phone="0577-65201234",
                               complaint_channel="来信来访：永平镇人民政府信访办"))
    officer, head = team["officer"], team["head"]
    pubs = {}

    # Published decisions.
    case, decision = decide(make, team, WANG)
    pubs["wang"] = disclosure.publish(publication(case), actor=officer)
    # …with a demolition notice.
    notice = disclosure.post_demolition_notice(
        decision, actor=officer, self_demolition_by=date(2027, 1, 15),
        note=f"如有疑问请与当事人{WANG.name}（{WANG.phone}）或证人{WITNESS}联系。")
    pubs["notice"] = disclosure.publish(notice, actor=officer)

    # Published, then revoked and withdrawn with a public reason.
    case, decision = decide(make, team, OUYANG)
    pubs["withdrawn"] = disclosure.publish(publication(case), actor=officer)
    db.session.commit()
    decisions.replace(decision, actor=head, password=PASSWORD, kind="revocation", today=date(2026, 11, 2),
                      reason=f"{OUYANG.name}（{OUYANG.id_number}）提交了新证据，原决定认定事实不清")
    disclosure.withdraw(pubs["withdrawn"], actor=officer,
                        reason=disclosure.suggested_withdrawal_reason(pubs["withdrawn"]))

    # Published, then changed: the old one withdrawn, the changed decision published.
    case, decision = decide(make, team, CHANGED)
    pubs["before_change"] = disclosure.publish(publication(case), actor=officer)
    db.session.commit()
    changed = decisions.replace(
        decision, actor=head, password=PASSWORD, kind="change", today=date(2026, 11, 3),
        reason=f"{CHANGED.name}（电话{CHANGED.phone}）已自行拆除部分建筑",
        proposal=ProposalData(decision.decision_type, None, None,
                              f"责令当事人{CHANGED.name}于三十日内自行拆除{CHANGED.place_detail}剩余的违法建设部分",
                              decision.legal_basis))
    disclosure.withdraw(pubs["before_change"], actor=officer,
                        reason=disclosure.suggested_withdrawal_reason(pubs["before_change"]))
    pubs["changed"] = disclosure.publish(publication(case, decision=changed), actor=officer)

    # An organisation: its name is published, its contact person and bank account are not.
    case, decision = decide(make, team, ORG, summary=(
        f"经查，{ORG.name}（联系人{ORG_CONTACT}，电话{ORG.phone}，开户银行账号{ORG_ACCOUNT[:4]} {ORG_ACCOUNT[4:8]} "
        f"{ORG_ACCOUNT[8:12]} {ORG_ACCOUNT[12:16]} {ORG_ACCOUNT[16:]}）未经批准在{ORG.place_detail}建设厂房，"
        f"证人{WITNESS}证实。"))
    pubs["org"] = disclosure.publish(publication(case), actor=officer)

    # Never published: a minor's case (held automatically), a case held for privacy, a mere draft.
    case, decision = decide(make, team, MINOR)
    pubs["minor"] = publication(case)
    pubs["minor_notice"] = disclosure.post_demolition_notice(decision, actor=officer,
                                                             self_demolition_by=date(2027, 2, 1))
    case, _decision = decide(make, team, HELD)
    pubs["held"] = disclosure.hold(publication(case), actor=head, reason=HoldReason.PRIVACY.value,
                                   detail=f"涉及{HELD.name}的个人隐私")
    case, _decision = decide(make, team, DRAFT)
    pubs["draft"] = publication(case)
    db.session.commit()

    # The year's statistics, generated after the year ended and published (with their exports).
    from enforcement.services import annual

    report = annual.generate(team["body"], DAY.year, actor=None, today=date(DAY.year + 1, 1, 10))
    db.session.commit()
    annual.publish(report, actor=None)
    db.session.commit()

    assert [pubs[k].status for k in ("minor", "minor_notice", "held", "draft")] == [
        PublicationStatus.HELD.value, PublicationStatus.HELD.value, PublicationStatus.HELD.value,
        PublicationStatus.DRAFT.value]
    assert pubs["withdrawn"].status == pubs["before_change"].status == PublicationStatus.WITHDRAWN.value
    return {"team": team, "pubs": pubs}


# --- the crawl ------------------------------------------------------------------------------------------

LINK = re.compile(r"""(?:href|src)\s*=\s*["']([^"']+)["']""")
ABSOLUTE = re.compile(r"""https?://localhost(/public[^\s"'<>\\]*)""")


def links(base: str, text: str) -> set[str]:
    found = set()
    for raw in LINK.findall(text) + ABSOLUTE.findall(text):
        target, _fragment = urldefrag(urljoin(base, html.unescape(raw)))
        parts = urlsplit(target)
        if parts.scheme in ("http", "https") and parts.netloc not in ("localhost", ""):
            continue
        if parts.scheme not in ("http", "https", ""):
            continue  # tel:, mailto:
        if not parts.path.startswith("/public"):
            continue
        found.add(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def readable(data: bytes) -> str:
    """The text a response carries: a zip (an .xlsx export) is opened and each part read; in a PDF the
    compressed streams are inflated (text set in an embedded CJK font is glyph ids, which this cannot
    read: PDF exports are checked only as far as their text is plain)."""
    parts = [data.decode("utf-8", "replace")]
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts += [archive.read(name).decode("utf-8", "replace") for name in archive.namelist()]
    elif data[:5] == b"%PDF-":
        for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
            try:
                parts.append(zlib.decompress(match.group(1)).decode("latin-1"))
            except zlib.error:
                continue
    return "\n".join(parts)


def crawl(client, seeds) -> dict[str, tuple[int, str]]:
    """Every same-site address under /public reachable from the seeds: {address: (status, text)}."""
    seen: dict[str, tuple[int, str]] = {}
    queue = list(seeds)
    while queue:
        address = queue.pop(0)
        if address in seen:
            continue
        response = client.get(address)
        body = readable(response.get_data())
        seen[address] = (response.status_code, body)
        assert len(seen) < 2000, "the crawl does not converge"
        if response.status_code in (301, 302, 303, 307, 308):
            queue += sorted(links("http://localhost" + address, f'href="{response.headers["Location"]}"'))
        if response.mimetype in ("text/html", "application/json", "application/atom+xml", "application/xml",
                                 "text/xml", "text/csv", "text/plain"):
            queue += sorted(links("http://localhost" + address, body) - set(seen))
    return seen


@pytest.mark.usefixtures("without_record_rules")
def test_no_public_page_feed_or_json_shows_personal_data(app, world):
    pubs = world["pubs"]
    client = app.test_client(use_cookies=False)
    seeds = ["/public/"]
    # Also knock on every publication's door directly (drafts, holds, the minor's, withdrawn ones).
    for pub in pubs.values():
        seeds += [f"/public/decisions/{pub.id}", f"/public/demolition-notices/{pub.id}"]
    pages = crawl(client, seeds)

    errors = {a: status for a, (status, _body) in pages.items() if status >= 500}
    assert not errors, errors
    problems = {address: found for address, (_status, body) in pages.items() if (found := leaks_in(body))}
    assert not problems, problems

    reached = {a for a, (status, _body) in pages.items() if status == 200}
    for key, endpoint in (("wang", "decisions"), ("notice", "demolition-notices"), ("withdrawn", "decisions"),
                          ("changed", "decisions"), ("org", "decisions")):
        assert f"/public/{endpoint}/{pubs[key].id}" in reached, key
    for address in ("/public/decisions.atom", "/public/decisions.json", "/public/withdrawals",
                    "/public/demolition-notices", "/public/officers", "/public/powers", "/public/decisions"):
        assert any(a.split("?")[0] == address for a in reached), address
    if "reports.public_index" in app.view_functions:
        with app.test_request_context():
            statistics = url_for("reports.public_index")
        assert statistics in reached, "the statistics pages are linked from the public pages"
    # What was never published answers 404 at both addresses.
    for key in ("minor", "minor_notice", "held", "draft"):
        for endpoint in ("decisions", "demolition-notices"):
            assert pages[f"/public/{endpoint}/{pubs[key].id}"][0] == 404, key

    # The published pages show what they should: masked names, the organisation, villages, tokens.
    wang = pages[f"/public/decisions/{pubs['wang'].id}"][1]
    assert "王某" in wang and "东村" in wang and "〔身份证号码已隐去〕" in wang and "〔电话号码已隐去〕" in wang
    assert "欧阳某" not in wang
    assert ORG.name in pages[f"/public/decisions/{pubs['org'].id}"][1]
    assert "该决定已被本机关撤销" in pages[f"/public/decisions/{pubs['withdrawn'].id}"][1]
    assert "2027-01-15" in pages[f"/public/demolition-notices/{pubs['notice'].id}"][1]
    # Both languages were crawled.
    assert any("lang=en" in a for a in reached) and any("lang=zh_CN" in a for a in reached)


def test_the_checker_itself_finds_each_kind_of_leak():
    """The assertions above are only as good as `leaks_in`: it must see every disguise."""
    i, phone = WANG.id_number, WANG.phone
    for text in (WANG.name, "&#29579;&#23567;&#26126;", "\\u738b\\u5c0f\\u660e", i, f"{i[:6]}-{i[6:14]}-{i[14:]}",
                 f"尾号{i[-6:]}", f"{phone[:3]} {phone[3:7]} {phone[7:]}", f"{phone[:3]}-{phone[3:7]}-{phone[7:]}",
                 "住388号", "%E7%8E%8B%E5%B0%8F%E6%98%8E", OUYANG.id_number.lower(), WITNESS,
                 "6222 0212 3456 7890 123"):
        assert leaks_in(f"<p>{text}</p>"), text
    assert leaks_in("<p>王某，东村，〔身份证号码已隐去〕，测1罚〔2026〕3号</p>") == []
