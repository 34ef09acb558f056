"""The public disclosure pages (views/public.py), read with no login: the body and its remedies, the
officers with certificates valid today, the powers catalogue, published decisions with their search,
demolition notices, withdrawals, the keep-online period (410 after it), the Atom feed, the JSON,
bad query values, and what the public can never reach (drafts, holds, superseded drafts).

Publications are made the lawful way: a decision made through the factories drafts its publication
(services.disclosure masks it) and the officer publishes it through disclosure.publish.
"""
from __future__ import annotations

import json
import re
from datetime import date
from xml.etree import ElementTree as ET

import pytest
from flask_babel import force_locale
from sqlalchemy import event

from enforcement.extensions import db
from enforcement.models import CertificateStatus, HoldReason, PublicationKind, Role
from enforcement.services import catalogue, decisions, disclosure, people
from enforcement.services.cases import PartyData
from enforcement.views import public as public_view
from tests.factories import PASSWORD

pytestmark = pytest.mark.usefixtures("without_record_rules")

FILED = date(2026, 9, 1)
DAY = date(2026, 10, 20)
PUBLISHED = date(2026, 10, 22)
ATOM = "{http://www.w3.org/2005/Atom}"
KEEP_SENTENCE = "Published decisions stay online 36 months after publication, then come down."


@pytest.fixture(autouse=True)
def english(client):
    """The pages in English (the msgids), whatever translations are compiled."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    with force_locale("en"):
        yield


def decided(make, team, *, filed_on=FILED, today=DAY, matter=None, village="东村", party=None, **case_kw):
    """A demolition case decided the lawful way (review, discussion, the head's signature)."""
    if party is not None:
        case_kw["party"] = party
    case = make.case(team, approve=True, matter=matter, filed_on=filed_on, village=village, **case_kw)
    decision = make.decide(case, team, today=today)
    return case, decision


def draft_of(case, kind=PublicationKind.DECISION.value):
    return next(p for p in disclosure.publications_of(case) if p.kind == kind)


def published(make, team, *, on=PUBLISHED, **kw):
    case, decision = decided(make, team, **kw)
    pub = draft_of(case)
    disclosure.publish(pub, actor=team["officer"], today=on)
    db.session.commit()
    return pub


def page(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.data[:500])
    return response.get_data(as_text=True)


# --- every page, no login ----------------------------------------------------------------------------------

def test_every_public_page_opens_without_login_caches_and_sets_no_cookie(make, team, client):
    pub = published(make, team)
    case = pub.case
    notice = disclosure.post_demolition_notice(pub.decision, actor=team["officer"], self_demolition_by=date(2027, 1, 15))
    disclosure.publish(notice, actor=team["officer"])
    db.session.commit()
    body_id = team["body"].id
    urls = ["/public/", f"/public/bodies/{body_id}", "/public/officers", f"/public/officers?body={body_id}",
            "/public/powers", f"/public/powers?body={body_id}", "/public/decisions", f"/public/decisions/{pub.id}",
            "/public/demolition-notices", f"/public/demolition-notices/{notice.id}", "/public/withdrawals",
            "/public/decisions.atom", "/public/decisions.json"]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "public, max-age=300", url
        assert "Set-Cookie" not in response.headers, url
        assert "Accept-Language" in response.headers.get("Vary", ""), url
        text = response.get_data(as_text=True)
        assert "/cases/" not in text and "/disclosure/" not in text, url  # no staff-only links
        assert 'name="csrf_token"' not in text and 'name="csrf-token"' not in text, url
    # The staff's internal case id appears in no address of the pages.
    assert f"/cases/{case.id}" not in page(client, f"/public/decisions/{pub.id}")


def test_the_index_and_the_body_page_show_contacts_complaints_and_remedies(make, client):
    body = make.body("永平镇人民政府", address="永平镇人民路1号", phone="0577-65201234",
                     complaint_channel="向永平镇纪委投诉：0577-65209999")
    plain = make.body("清水镇人民政府")
    text = page(client, "/public/")
    assert "永平镇人民政府" in text and "永平镇人民路1号" in text and "0577-65201234" in text
    assert "向永平镇纪委投诉" in text
    assert "Audit trail head" in text
    assert f'href="/public/bodies/{body.id}"' in text and f'href="/public/officers?body={body.id}"' in text
    assert 'href="/public/decisions.atom"' in text and 'href="/public/decisions.json"' in text

    detail = page(client, f"/public/bodies/{plain.id}")
    assert "清水镇人民政府" in detail
    assert "within 60 days" in detail and "within 6 months" in detail  # the default remedy sentence
    people.update_body(plain, actor=None, remedy_info="可在六十日内向县人民政府申请行政复议。")
    db.session.commit()
    assert "可在六十日内向县人民政府申请行政复议。" in page(client, f"/public/bodies/{plain.id}")

    people.update_body(plain, actor=None, active=False)
    db.session.commit()
    page(client, f"/public/bodies/{plain.id}", 404)
    page(client, "/public/bodies/999999", 404)
    assert "清水镇人民政府" not in page(client, "/public/")


# --- officers: only certificates valid today --------------------------------------------------------------

def test_only_currently_valid_certificates_of_active_officers_are_listed(make, team, client):
    body = team["body"]
    today = date.today()
    valid = make.user(Role.OFFICER, body=body, name="持证有效", unit="综合执法办",
                      certificate={"number": "ZF-VALID-01", "valid_from": date(2024, 1, 1), "valid_until": date(2030, 1, 1)})
    suspended = make.user(Role.OFFICER, body=body, name="证件暂扣",
                          certificate={"number": "ZF-SUSP-02", "valid_from": date(2024, 1, 1), "valid_until": date(2030, 1, 1)})
    people.set_certificate_status(suspended.certificates[0], actor=None, status=CertificateStatus.SUSPENDED.value,
                                  reason="年度考核未通过")
    make.user(Role.OFFICER, body=body, name="证件过期",
              certificate={"number": "ZF-EXP-03", "valid_from": date(2020, 1, 1), "valid_until": date(2023, 12, 31)})
    make.user(Role.OFFICER, body=body, name="尚未生效",
              certificate={"number": "ZF-FUT-04", "valid_from": date(today.year + 1, 1, 1),
                           "valid_until": date(today.year + 4, 1, 1)})
    revoked = make.user(Role.OFFICER, body=body, name="证件注销",
                        certificate={"number": "ZF-REV-05", "valid_from": date(2024, 1, 1), "valid_until": date(2030, 1, 1)})
    people.set_certificate_status(revoked.certificates[0], actor=None, status=CertificateStatus.REVOKED.value,
                                  reason="调离执法岗位")
    gone = make.user(Role.OFFICER, body=body, name="已经离职",
                     certificate={"number": "ZF-GONE-06", "valid_from": date(2024, 1, 1), "valid_until": date(2030, 1, 1)})
    people.deactivate_user(gone, actor=None, reason="离职")
    db.session.commit()

    text = page(client, "/public/officers")
    assert "持证有效" in text and "ZF-VALID-01" in text and "综合执法办" in text and "2030-01-01" in text
    for absent in ("ZF-SUSP-02", "证件暂扣", "ZF-EXP-03", "证件过期", "ZF-FUT-04", "尚未生效", "ZF-REV-05", "证件注销",
                   "ZF-GONE-06", "已经离职"):
        assert absent not in text, absent
    # Nothing else about the user: no login name, no legal-qualification number.
    assert valid.username not in text and team["reviewer"].legal_qualification_no not in text
    # The same list, one body at a time.
    other = make.user(Role.OFFICER, body=make.body(), name="别镇人员")
    assert "别镇人员" in page(client, "/public/officers") and other.certificates[0].number in page(client, "/public/officers")
    only = page(client, f"/public/officers?body={body.id}")
    assert "持证有效" in only and "别镇人员" not in only


# --- powers -------------------------------------------------------------------------------------------------

def test_the_powers_catalogue_lists_active_matters_with_basis_procedure_and_delegation(make, team, client):
    body = team["body"]
    make.matter(body, name="未批先建住房", legal_basis="《中华人民共和国城乡规划法》第六十五条",
                procedure="立案、调查、告知、法制审核、决定、送达")
    make.matter(body, name="非法占地建住宅", route="land", legal_basis="《中华人民共和国土地管理法》第七十八条",
                power_source="delegated", delegation_document="浙政发〔2024〕5号 赋权乡镇行使部分行政执法事项",
                delegation_published_on=date(2024, 3, 1))
    old = make.matter(body, name="已经取消的事项")
    catalogue.update_matter(old, actor=None, active=False)
    db.session.commit()
    text = page(client, "/public/powers")
    assert "未批先建住房" in text and "第六十五条" in text and "立案、调查、告知、法制审核、决定、送达" in text
    assert "非法占地建住宅" in text and "浙政发〔2024〕5号" in text and "2024-03-01" in text
    assert "已经取消的事项" not in text
    assert "未批先建住房" not in page(client, f"/public/powers?body={make.body().id}")


# --- decisions: list, search, detail -----------------------------------------------------------------------

def test_the_decision_page_shows_the_masked_text_and_the_keep_online_period(make, team, client):
    pub = published(make, team)
    text = page(client, f"/public/decisions/{pub.id}")
    assert pub.masked_text.splitlines()[0] in text.replace("&amp;", "&")
    assert "张三" not in text and "110101199001011234" not in text and "13800138000" not in text
    assert pub.document_number in text and "张某" in text and "东村" in text
    assert KEEP_SENTENCE in text
    listing = page(client, "/public/decisions")
    assert KEEP_SENTENCE in listing and f'href="/public/decisions/{pub.id}"' in listing and "张某" in listing


def test_search_filters_by_year_matter_and_place(make, team, client):
    house = make.matter(team["body"], name="未批先建住房")
    land = make.matter(team["body"], name="违法占地建房")
    old = published(make, team, matter=house, village="东村", filed_on=date(2025, 3, 3), today=date(2025, 4, 21),
                    on=date(2025, 4, 24))
    east = published(make, team, matter=land, village="东村")
    west = published(make, team, matter=house, village="西村")

    def ids(query):
        data = json.loads(page(client, "/public/decisions.json" + query))
        return {item["id"] for item in data["items"]}

    def linked(query):
        text = page(client, "/public/decisions" + query)
        return {int(n) for n in re.findall(r'href="/public/decisions/(\d+)"', text)}

    everything = {old.id, east.id, west.id}
    for query, expected in (("", everything), ("?year=2025", {old.id}), ("?year=2026", {east.id, west.id}),
                            (f"?matter={house.id}", {old.id, west.id}), (f"?matter={land.id}", {east.id}),
                            ("?place=西村", {west.id}), ("?place=东", {old.id, east.id}),
                            (f"?year=2026&matter={house.id}", {west.id}), ("?year=2024", set()),
                            (f"?body={make.body().id}", set()), (f"?body={team['body'].id}", everything)):
        assert ids(query) == expected, query
        assert linked(query) == expected, query
    form = page(client, "/public/decisions")
    assert '<option value="2025">2025</option>' in form and f'<option value="{land.id}">违法占地建房</option>' in form
    assert '<option value="西村">' in form  # the places offered are the published villages


def test_the_list_pages_twenty_at_a_time(make, team, client, monkeypatch):
    monkeypatch.setattr(public_view, "PER_PAGE", 2)
    pubs = [published(make, team) for _ in range(3)]
    first = page(client, "/public/decisions")
    assert 'rel="next" href="/public/decisions?page=2"' in first
    assert f"/public/decisions/{pubs[0].id}" not in first  # newest first
    second = page(client, "/public/decisions?page=2")
    assert f"/public/decisions/{pubs[0].id}" in second and 'rel="prev"' in second
    data = json.loads(page(client, "/public/decisions.json?page=2"))
    assert (data["page"], data["pages"], data["total"], [i["id"] for i in data["items"]]) == (2, 2, 3, [pubs[0].id])
    # A page past the end shows the last page.
    assert json.loads(page(client, "/public/decisions.json?page=99"))["page"] == 2
    assert public_view.PER_PAGE == 2 and monkeypatch  # the real size is 20


def test_the_list_does_not_query_per_row(make, team, client):
    """One publication or four: the same number of statements (bodies and matters are loaded with the page)."""
    admin = make.user(Role.ADMIN, body=team["body"])
    disclosure.update_settings(actor=admin, keep_online_months=36)  # the settings row exists
    db.session.commit()
    published(make, team)
    other = make.team()
    for _ in range(4):
        published(make, other)  # each with a matter of its own
    one, four = team["body"].id, other["body"].id

    def count(url):
        statements = []

        def seen(_conn, _cursor, statement, *_args):
            statements.append(statement)
        db.session.remove()  # a fresh session: nothing loaded already
        event.listen(db.engine, "before_cursor_execute", seen)
        try:
            page(client, url)
        finally:
            event.remove(db.engine, "before_cursor_execute", seen)
        return len(statements)

    for url in ("/public/decisions?body={}", "/public/decisions.json?body={}", "/public/decisions.atom?body={}"):
        assert count(url.format(one)) == count(url.format(four)), url
    assert count("/public/officers") == count("/public/officers")


# --- withdrawals, demolition notices, the keep-online period ----------------------------------------------

def test_a_withdrawn_decision_shows_its_reason_and_date_instead_of_the_text(make, team, client):
    pub = published(make, team)
    text_line = pub.masked_text.splitlines()[-2]
    decisions.replace(pub.decision, actor=team["head"], password=PASSWORD, kind="revocation",
                      reason="经复核，认定事实不清，决定撤销原决定", today=date(2026, 11, 2))
    db.session.commit()
    assert text_line in page(client, f"/public/decisions/{pub.id}")  # still published until withdrawn
    disclosure.withdraw(pub, actor=team["officer"], reason="该决定已被本机关撤销，依法撤回公开信息。",
                        today=date(2026, 11, 3))
    db.session.commit()

    detail = page(client, f"/public/decisions/{pub.id}")
    assert "This publication was withdrawn" in detail and 'id="withdrawal"' in detail
    assert "该决定已被本机关撤销，依法撤回公开信息。" in detail and "2026-11-03" in detail
    assert text_line not in detail and "张某" not in detail and "经复核" not in detail  # the cause stays internal
    listing = page(client, "/public/decisions")
    assert f'href="/public/decisions/{pub.id}#withdrawal"' in listing and "Withdrawn on 2026-11-03" in listing
    withdrawals = page(client, "/public/withdrawals")
    assert "该决定已被本机关撤销，依法撤回公开信息。" in withdrawals and pub.document_number in withdrawals
    item = json.loads(page(client, "/public/decisions.json"))["items"][0]
    assert item["status"] == "withdrawn" and item["text"] is None and item["withdrawn_on"] == "2026-11-03"


def test_a_demolition_notice_shows_its_self_demolition_deadline(make, team, client):
    pub = published(make, team)
    notice = disclosure.post_demolition_notice(pub.decision, actor=team["officer"], self_demolition_by=date(2027, 1, 15))
    db.session.commit()
    page(client, f"/public/demolition-notices/{notice.id}", 404)  # a draft does not exist for the public
    assert "2027-01-15" not in page(client, "/public/demolition-notices")
    disclosure.publish(notice, actor=team["officer"])
    db.session.commit()
    listing = page(client, "/public/demolition-notices")
    assert re.search(r'class="deadline">Self-demolition deadline: <strong>2027-01-15</strong>', listing)
    assert f'href="/public/demolition-notices/{notice.id}"' in listing
    detail = page(client, f"/public/demolition-notices/{notice.id}")
    assert "<strong>2027-01-15</strong>" in detail and "张三" not in detail
    # A notice is not a decision: the lists keep them apart, the other address redirects.
    assert f"/public/decisions/{notice.id}\"" not in page(client, "/public/decisions")
    assert client.get(f"/public/decisions/{notice.id}").headers["Location"].endswith(
        f"/public/demolition-notices/{notice.id}")
    assert client.get(f"/public/demolition-notices/{pub.id}").status_code == 301


def test_after_the_keep_online_period_a_decision_answers_410_and_says_when_it_came_down(make, team, client):
    admin = make.user(Role.ADMIN, body=team["body"])
    disclosure.update_settings(actor=admin, keep_online_months=3)
    db.session.commit()
    old = published(make, team, filed_on=date(2026, 5, 4), today=date(2026, 6, 1), on=date(2026, 6, 5))
    fresh = published(make, team)
    response = client.get(f"/public/decisions/{old.id}")
    assert response.status_code == 410
    text = response.get_data(as_text=True)
    assert "came down on 2026-09-05, after the 3-month period" in text and "2026-06-05" in text
    assert "Published decisions stay online 3 months after publication, then come down." in text
    assert old.masked_text.splitlines()[0] not in text
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert f"/public/decisions/{old.id}\"" not in page(client, "/public/decisions")
    assert {i["id"] for i in json.loads(page(client, "/public/decisions.json"))["items"]} == {fresh.id}
    assert f"/public/decisions/{old.id}<" not in page(client, "/public/decisions.atom")


@pytest.mark.parametrize("state", ["draft", "held", "superseded", "minor"])
def test_drafts_holds_and_superseded_drafts_are_never_reachable(make, team, client, state):
    party = PartyData(kind="person", name="孙小未", id_number="110101201201011234", is_minor=True) \
        if state == "minor" else None
    case, decision = decided(make, team, party=party)
    pub = draft_of(case)
    if state == "held":
        disclosure.hold(pub, actor=team["head"], reason=HoldReason.PRIVACY.value, detail="涉及个人隐私")
    elif state == "superseded":
        decisions.replace(decision, actor=team["head"], password=PASSWORD, kind="revocation", reason="撤销",
                          today=date(2026, 10, 28))
    db.session.commit()
    expected = {"draft": "draft", "held": "held", "superseded": "superseded", "minor": "held"}[state]
    assert pub.status == expected
    for url in (f"/public/decisions/{pub.id}", f"/public/demolition-notices/{pub.id}"):
        assert client.get(url).status_code == 404
    assert json.loads(page(client, "/public/decisions.json"))["items"] == []
    assert pub.document_number not in page(client, "/public/decisions")
    assert pub.document_number not in page(client, "/public/withdrawals")
    assert pub.document_number not in page(client, "/public/decisions.atom")


# --- feed and JSON --------------------------------------------------------------------------------------

def test_the_feed_is_atom_with_one_entry_per_online_decision(make, team, client):
    first = published(make, team)
    second = published(make, team, village="西村")
    response = client.get("/public/decisions.atom")
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    root = ET.fromstring(response.data)
    assert root.tag == f"{ATOM}feed"
    assert root.find(f"{ATOM}id").text == "http://localhost/public/decisions"
    assert root.find(f"{ATOM}updated").text == "2026-10-22T00:00:00+08:00"
    assert root.find(f"{ATOM}link[@rel='self']").get("href") == "http://localhost/public/decisions.atom"
    entries = root.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}id").text for e in entries] == [
        f"http://localhost/public/decisions/{second.id}", f"http://localhost/public/decisions/{first.id}"]
    for entry in entries:
        for tag in ("title", "updated", "published", "summary", "content", "author"):
            assert entry.find(f"{ATOM}{tag}") is not None, tag
        assert entry.find(f"{ATOM}updated").text == "2026-10-22T00:00:00+08:00"
    assert entries[0].find(f"{ATOM}content").text == second.masked_text
    assert "西村" in entries[0].find(f"{ATOM}summary").text
    # The feed takes the page's filters.
    filtered = ET.fromstring(client.get("/public/decisions.atom?place=西村").data)
    assert len(filtered.findall(f"{ATOM}entry")) == 1
    assert filtered.find(f"{ATOM}link[@rel='self']").get("href") == "http://localhost/public/decisions.atom?place=%E8%A5%BF%E6%9D%91"


def test_the_json_has_its_documented_shape(make, team, client):
    pub = published(make, team)
    response = client.get("/public/decisions.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    data = response.get_json()
    assert set(data) == {"generated_at", "keep_online_months", "items", "page", "pages", "total"}
    assert data["keep_online_months"] == 36 and data["page"] == 1 and data["pages"] == 1 and data["total"] == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", data["generated_at"])
    item = data["items"][0]
    assert item == {**disclosure.public_record(pub), "url": f"http://localhost/public/decisions/{pub.id}"}
    assert set(item) == {"id", "kind", "title", "document_number", "body", "matter", "category", "party", "place",
                         "conclusion", "decided_on", "published_on", "self_demolition_by", "status", "text",
                         "withdrawn_on", "withdrawal_reason", "offline_on", "text_sha256", "url"}
    assert item["party"] == "张某" and item["place"] == "东村" and item["published_on"] == "2026-10-22"
    # Chinese is sent as UTF-8, not as escapes.
    assert "张某".encode() in response.data


# --- bad input ----------------------------------------------------------------------------------------------

BAD_QUERIES = ["year=abc", "year=20", "year=99999", "page=-1", "page=0", "page=1.5", "matter=x",
               "matter=99999999999999999999", "body=abc", "year=２０２６", "place=" + "村" * 81, "place=%00东村",
               "body=-3", "page=%F0%9F%98%80"]


def test_bad_query_values_are_answered_400_with_a_message_never_500(client):
    for path in ("/public/decisions", "/public/decisions.json", "/public/decisions.atom"):
        for query in BAD_QUERIES:
            response = client.get(f"{path}?{query}")
            assert response.status_code == 400, (path, query, response.status_code)
            if path.endswith(".json"):
                assert response.get_json()["error"], query
            else:
                text = response.get_data(as_text=True)
                assert "not a valid value" in text or "too long" in text, (path, query)
    for url in ("/public/officers?body=abc", "/public/powers?body=-1", "/public/withdrawals?page=x",
                "/public/demolition-notices?page=0"):
        assert client.get(url).status_code == 400, url


def test_odd_parameters_do_not_break_the_language_link(make, team, client):
    pub = published(make, team)
    for url in (f"/public/decisions/{pub.id}?pub_id=7&_external=1&_scheme=javascript&_anchor=x",
                "/public/decisions?lang=xx&page=1&page=2", "/public/?endpoint=public.feed&values=1"):
        response = client.get(url)
        assert response.status_code == 200, url
        links = re.findall(r'href="([^"]*lang=[^"]*)"', response.get_data(as_text=True))
        assert links and all(link.startswith("/public/") and link.count("lang=") == 1 for link in links), links


@pytest.mark.parametrize("url", ["/public/officers?body=424242", "/public/decisions/424242",
                                 "/public/demolition-notices/424242", "/public/bodies/424242"])
def test_unknown_things_are_404_on_the_public_layout(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert "Set-Cookie" not in response.headers and 'class="topbar public-top"' in response.get_data(as_text=True)


def test_an_id_beyond_the_column_is_404_not_a_database_error(client):
    assert client.get("/public/decisions/99999999999999").status_code == 404


def test_harmless_unknown_parameters_and_empty_values_are_ignored(make, team, client):
    pub = published(make, team)
    text = page(client, "/public/decisions?year=&matter=&place=&body=&page=&utm_source=x")
    assert f"/public/decisions/{pub.id}" in text


def test_the_language_can_be_switched_by_a_link(make, client):
    make.body("永平镇人民政府")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    text = page(client, "/public/decisions?year=2026")
    assert 'href="/public/decisions?year=2026&amp;lang=en"' in text
    english = client.get("/public/decisions?year=2026&lang=en")
    assert "Published decisions" in english.get_data(as_text=True)
    # Choosing a language is remembered in a cookie: such a page is not for shared caches.
    assert english.headers["Cache-Control"] == "private, max-age=300"
