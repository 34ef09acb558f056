"""The staff screens of publication and withdrawal (行政执法公示), over HTTP, for every role.

The list of what is due, the masked copy beside the original, save / check / publish, the head's
hold, release and "found unlawful", the withdrawal with its public reason, the demolition notice,
the disclosure settings, the case page's panel and the home page's box. Pages are read in English
(Accept-Language: en). The rules themselves are specified in tests/test_disclosure.py; these
tests check that each screen calls them, shows every refusal and never shows personal data to
those who may not read it.
"""
from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from enforcement.extensions import db
from enforcement.models import AuditEvent, Publication, PublicationStatus, Role, Stage
from enforcement.services import disclosure, workflow
from enforcement.services.cases import PartyData
from enforcement.services.clock import local_today
from tests.conftest import csrf_token

pytestmark = pytest.mark.usefixtures("without_record_rules")

ID_NUMBER = "110101199001011234"
PHONE = "13800138000"
ADDRESS = "永平镇东村1号"
CSRF_MESSAGE = "The form expired or was not sent by this site"


# --- helpers --------------------------------------------------------------------------------------------

def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def fresh(pub_id: int) -> Publication:
    db.session.expire_all()
    return db.session.get(Publication, pub_id)


def decided(make, team, *, days_ago: int = 0, decision_type: str = "fine", matter=None, party=None) -> Publication:
    """A case decided `days_ago` days before today (a fine of 5000 by default, not major); its draft."""
    today = local_today()
    day = today - timedelta(days=days_ago)
    matter = matter or make.matter(team["body"], route=None, name="一般处罚事项")
    case = make.case(team, approve=True, matter=matter, filed_on=day - timedelta(days=20), party=party)
    workflow.advance(case, Stage.NOTICE, actor=team["officer"], today=day)
    db.session.commit()
    make.notice(case, decision_type=decision_type, fine_amount="5000" if decision_type == "fine" else None,
                served_on=day - timedelta(days=10), today=day)
    make.decide(case, team, today=day)
    pubs = disclosure.publications_of(case)
    assert len(pubs) == 1
    return pubs[0]


def demolition_decided(make, team) -> Publication:
    """A demolition decision (the planning route: major, reviewed) in force; its draft."""
    return decided(make, team, decision_type="demolition", matter=make.matter(team["body"]))


def set_due(pub: Publication, days_from_today: int) -> None:
    """Move the publishing deadline (the deadline's computation is specified in tests/test_disclosure.py)."""
    pub.due_on, pub.due_exact = local_today() + timedelta(days=days_from_today), True
    db.session.commit()


def token(client, pub: Publication) -> str:
    return csrf_token(client, f"/disclosure/{pub.id}")


def post(client, pub: Publication, action: str, **data):
    """POST to an action of the publication with the CSRF token and its current version."""
    payload = {"csrf_token": token(client, pub), "version": str(fresh(pub.id).version), **data}
    return client.post(f"/disclosure/{pub.id}/{action}", data=payload)


def published(make, team) -> Publication:
    pub = decided(make, team)
    disclosure.publish(pub, actor=team["officer"], version=pub.version)
    db.session.commit()
    return pub


def section(page: str, anchor: str) -> str:
    return page.split(f'id="{anchor}"', 1)[1].split("</section>", 1)[0]


def flashes(page: str) -> str:
    return page.split('<div class="flashes"', 1)[1].split("</div>\n", 2)[0] if '<div class="flashes"' in page else ""


# --- login and scope ------------------------------------------------------------------------------------

def test_every_screen_needs_a_login(client, make, team):
    pub = decided(make, team)
    for path in ("/disclosure/", f"/disclosure/{pub.id}", f"/disclosure/cases/{pub.case_id}/demolition-notice",
                 "/disclosure/settings"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    token_ = csrf_token(client, "/login")
    for action in ("save", "publish", "remask", "hold", "release", "found-unlawful", "withdraw"):
        response = client.post(f"/disclosure/{pub.id}/{action}", data={"csrf_token": token_, "version": "1"})
        assert response.status_code == 302 and "/login" in response.headers["Location"], action
    assert fresh(pub.id).status == PublicationStatus.DRAFT.value


def test_a_user_of_another_body_finds_nothing(make, team, as_user):
    pub = decided(make, team)
    other = make.team()
    for who in ("reviewer", "officer", "head", "auditor"):
        client = as_user(other[who])
        assert client.get(f"/disclosure/{pub.id}").status_code == 404, who
        assert client.get(f"/disclosure/cases/{pub.case_id}/demolition-notice").status_code == 404, who
        assert post(client, pub, "publish", text=pub.masked_text).status_code == 404, who
        assert pub.document_number not in text(client.get("/disclosure/")), who
    assert fresh(pub.id).status == PublicationStatus.DRAFT.value


def test_an_admin_without_cases_is_sent_to_the_rules(make, team, as_user):
    response = as_user(team["admin"]).get("/disclosure/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/disclosure/settings")


# --- who sees what --------------------------------------------------------------------------------------

def test_the_officer_on_the_case_sees_the_original_beside_the_masked_copy(make, team, as_user):
    pub = decided(make, team)
    page = text(as_user(team["officer"]).get(f"/disclosure/{pub.id}"))
    original, masked = section(page, "original"), section(page, "masked")
    assert ID_NUMBER in original and PHONE in original and "张三" in original
    assert "<textarea" in masked and "张某" in masked and ID_NUMBER not in masked and PHONE not in masked
    changes = section(page, "changes")
    assert ID_NUMBER in changes and "身份证号码已隐去" in changes  # original → replacement
    assert "Every condition is met" in section(page, "gate")
    for button in ("Save", "Check without saving", "Publish this text", "Make again from the rules"):
        assert button in page
    assert "Hold back" not in page  # the head's
    assert "publish by" in section(page, "deadline")


def test_an_auditor_sees_the_masked_copy_only_and_no_personal_data_anywhere(make, team, as_user):
    pub = decided(make, team)
    page = text(as_user(team["auditor"]).get(f"/disclosure/{pub.id}"))
    for secret in (ID_NUMBER, PHONE, ADDRESS, "张三"):
        assert secret not in page, secret
    assert 'id="original"' not in page and 'id="changes"' not in page
    assert "张某" in section(page, "masked")
    assert "<textarea" not in page and "<form method=\"post\" action=\"/disclosure" not in page
    assert "Publish this text" not in page and "Hold back" not in page


def test_an_auditor_is_not_shown_a_draft_that_still_holds_personal_data(make, team, as_user):
    pub = decided(make, team)
    disclosure.save_masked(pub, actor=team["officer"], text=pub.masked_text + f"\n电话{PHONE}", version=pub.version)
    db.session.commit()
    page = text(as_user(team["auditor"]).get(f"/disclosure/{pub.id}"))
    assert PHONE not in page and "still holds personal data" in page
    assert "1 item of personal data is still in the text." in section(page, "gate") and "8000" not in page
    assert PHONE in text(as_user(team["officer"]).get(f"/disclosure/{pub.id}"))


def test_the_reviewer_of_the_body_reads_the_original_but_changes_nothing(make, team, as_user):
    pub = decided(make, team)
    client = as_user(team["reviewer"])
    page = text(client.get(f"/disclosure/{pub.id}"))
    assert ID_NUMBER in section(page, "original") and "<textarea" not in page
    assert post(client, pub, "save", text="改动").status_code == 403
    assert post(client, pub, "publish", text=pub.masked_text).status_code == 403
    assert fresh(pub.id).status == PublicationStatus.DRAFT.value


# --- save, check and publish ------------------------------------------------------------------------------

def test_the_officer_saves_a_corrected_copy_then_publishes_it(make, team, as_user):
    pub = decided(make, team)
    client = as_user(team["officer"])
    corrected = fresh(pub.id).masked_text + "\n（经承办人复核）"
    response = post(client, pub, "save", text=corrected)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/disclosure/{pub.id}")
    page = text(client.get(f"/disclosure/{pub.id}"))
    assert "The masked copy is saved" in flashes(page) and "（经承办人复核）" in section(page, "masked")
    assert fresh(pub.id).masked_text == corrected and "张三" in fresh(pub.id).original_text

    response = post(client, pub, "publish", text=corrected)
    assert response.status_code == 302
    row = fresh(pub.id)
    assert row.status == PublicationStatus.PUBLISHED.value and row.published_on == local_today()
    assert row.published_by_id == team["officer"].id
    page = text(client.get(f"/disclosure/{pub.id}"))
    assert "Published on" in flashes(page) and "<textarea" not in page
    assert f'href="/public/decisions/{pub.id}"' in page  # the public page of the notice
    public = text(client.get(f"/public/decisions/{pub.id}"))
    assert "（经承办人复核）" in public and ID_NUMBER not in public


def test_publishing_saves_the_text_in_the_box_in_the_same_step(make, team, as_user):
    pub = decided(make, team)
    client = as_user(team["officer"])
    typed = fresh(pub.id).masked_text + "\n（一并发布）"
    assert post(client, pub, "publish", text=typed).status_code == 302
    row = fresh(pub.id)
    assert row.status == PublicationStatus.PUBLISHED.value and row.masked_text == typed


def test_publishing_with_the_party_data_put_back_is_refused_and_lists_each_item(make, team, as_user):
    pub = decided(make, team)
    client = as_user(team["officer"])
    before = fresh(pub.id).masked_text
    leaky = before + f"\n当事人张三，身份证{ID_NUMBER}，电话{PHONE}"
    response = post(client, pub, "publish", text=leaky)
    assert response.status_code == 422
    page = text(response)
    block = page.split('id="refused"', 1)[1].split("</div>", 1)[0]
    assert "Not published, and nothing was saved" in block
    assert "full name" in block and "ID number (ending …1234)" in block and "phone number (ending …8000)" in block
    assert leaky in page  # the typed text stays in the box
    row = fresh(pub.id)
    assert row.status == PublicationStatus.DRAFT.value and row.masked_text == before


def test_check_without_saving_lists_what_the_typed_text_still_holds(make, team, as_user):
    pub = decided(make, team)
    client = as_user(team["officer"])
    before = fresh(pub.id).masked_text
    response = post(client, pub, "save", text=before + f"\n联系电话{PHONE}", check="1")
    assert response.status_code == 200
    leaks = text(response).split('id="leaks"', 1)[1].split("</div>", 1)[0]
    assert "phone number (ending …8000)" in leaks
    assert fresh(pub.id).masked_text == before
    clean = post(client, pub, "save", text=before + "\n（无个人信息）", check="1")
    assert "holds no personal data" in text(clean)


def test_a_saved_copy_with_personal_data_shows_what_blocks_publishing(make, team, as_user):
    pub = decided(make, team)
    client = as_user(team["officer"])
    response = post(client, pub, "save", text=fresh(pub.id).masked_text + f"\n身份证{ID_NUMBER}")
    assert response.status_code == 302
    gate = section(text(client.get(f"/disclosure/{pub.id}")), "gate")
    assert "Publishing would be refused now" in gate and "ID number (ending …1234)" in gate


def test_an_empty_text_is_refused_beside_the_box(make, team, as_user):
    pub = decided(make, team)
    response = post(as_user(team["officer"]), pub, "save", text="   ")
    assert response.status_code == 422 and "The text to publish is empty." in text(response)


def test_make_again_from_the_rules_drops_the_corrections(make, team, as_user):
    pub = decided(make, team)
    client = as_user(team["officer"])
    original_mask = fresh(pub.id).masked_text
    post(client, pub, "save", text=original_mask + "\n（手工修改）")
    response = post(client, pub, "remask")
    assert response.status_code == 302
    assert fresh(pub.id).masked_text == original_mask
    assert "made again from the original" in flashes(text(client.get(f"/disclosure/{pub.id}")))


def test_a_stale_version_is_a_conflict_and_changes_nothing(make, team, as_user):
    pub = decided(make, team)
    client = as_user(team["officer"])
    page_token, old_version = token(client, pub), fresh(pub.id).version
    disclosure.save_masked(fresh(pub.id), actor=team["officer2"], text=pub.masked_text + "\n（同事修改）")
    db.session.commit()
    response = client.post(f"/disclosure/{pub.id}/save", data={
        "csrf_token": page_token, "version": str(old_version), "text": "我的修改"})
    assert response.status_code == 409
    page = text(response)
    assert "Someone else changed this publication in the meantime" in page
    assert "（同事修改）" in page.split('id="conflict-text"', 1)[1]  # what is saved now, to compare
    assert "我的修改" in page  # the user's text is kept in the box
    assert fresh(pub.id).masked_text.endswith("（同事修改）")
    head = as_user(team["head"])
    for who, action, data in ((client, "publish", {"text": "我的修改"}), (client, "remask", {}),
                              (head, "hold", {"reason": "privacy", "detail": "涉及个人隐私"})):
        response = who.post(f"/disclosure/{pub.id}/{action}", data={
            "csrf_token": page_token if who is client else token(head, pub), "version": str(old_version), **data})
        if response.status_code == 302:  # the steps of the version alone say so on the next page
            assert "Someone else changed this publication" in flashes(text(who.get(f"/disclosure/{pub.id}"))), action
        else:
            assert response.status_code == 409, action
            assert "Someone else changed this publication" in text(response), action
    assert fresh(pub.id).status == PublicationStatus.DRAFT.value
    assert fresh(pub.id).masked_text.endswith("（同事修改）")


def test_every_post_needs_the_csrf_token(make, team, as_user):
    pub = decided(make, team)
    officer, head = as_user(team["officer"]), as_user(team["head"])
    version = str(pub.version)
    for client, action, data in ((officer, "save", {"text": "x"}), (officer, "publish", {"text": pub.masked_text}),
                                 (officer, "remask", {}), (head, "hold", {"reason": "privacy", "detail": "隐私"}),
                                 (head, "found-unlawful", {"cause": "监督认定违法"})):
        response = client.post(f"/disclosure/{pub.id}/{action}", data={"version": version, **data})
        assert response.status_code == 400 and CSRF_MESSAGE in text(response), action
    response = officer.post(f"/disclosure/cases/{pub.case_id}/demolition-notice",
                            data={"self_demolition_by": (local_today() + timedelta(days=20)).isoformat()})
    assert response.status_code == 400
    response = as_user(team["admin"]).post("/disclosure/settings", data={"publish_scope": "social_impact"})
    assert response.status_code == 400
    row = fresh(pub.id)
    assert row.status == PublicationStatus.DRAFT.value and row.version == pub.version
    assert disclosure.get_settings().publish_scope == "all"


# --- the head: hold, release, found unlawful --------------------------------------------------------------

def test_only_the_head_holds_a_case_back_and_only_with_a_reason(make, team, as_user):
    pub = decided(make, team)
    data = {"reason": "privacy", "detail": "主要事实涉及当事人家庭隐私"}
    assert post(as_user(team["officer"]), pub, "hold", **data).status_code == 403
    assert post(as_user(team["auditor"]), pub, "hold", **data).status_code == 403
    head = as_user(team["head"])
    page = text(head.get(f"/disclosure/{pub.id}"))
    assert "Hold back from publication" in page and "The main facts are personal privacy" in page
    assert "without social impact" not in page.split('id="hold-form"', 1)[1].split("</form>", 1)[0]
    response = post(head, pub, "hold", reason="privacy", detail="")
    assert response.status_code == 422 and "Explain in words why this case is not published." in text(response)
    response = post(head, pub, "hold", reason="", detail="理由")
    assert response.status_code == 422 and "Choose the reason the case is not published." in text(response)
    assert fresh(pub.id).status == PublicationStatus.DRAFT.value

    response = post(head, pub, "hold", **data)
    assert response.status_code == 302
    row = fresh(pub.id)
    assert row.status == PublicationStatus.HELD.value and row.hold_reason == "privacy"
    assert row.held_by_id == team["head"].id
    page = text(as_user(team["auditor"]).get(f"/disclosure/{pub.id}"))
    reason = page.split('id="hold-reason"', 1)[1].split("</dd>", 1)[0]
    assert "The main facts are personal privacy" in reason and "主要事实涉及当事人家庭隐私" in reason
    listing = section(text(as_user(team["auditor"]).get("/disclosure/")), "held")
    assert pub.document_number in listing and "主要事实涉及当事人家庭隐私" in listing


def test_no_social_impact_is_offered_only_when_the_rules_publish_those_with_impact(make, team, as_user):
    disclosure.update_settings(actor=team["admin"], publish_scope="social_impact")
    db.session.commit()
    pub = decided(make, team)
    head = as_user(team["head"])
    form = text(head.get(f"/disclosure/{pub.id}")).split('id="hold-form"', 1)[1].split("</form>", 1)[0]
    assert "A general-procedure penalty without social impact" in form
    assert post(head, pub, "hold", reason="no_social_impact", detail="一般程序罚款，无社会影响").status_code == 302
    assert fresh(pub.id).hold_reason == "no_social_impact"


def test_the_head_releases_a_hold(make, team, as_user):
    pub = decided(make, team)
    disclosure.hold(pub, actor=team["head"], reason="security", detail="可能危及社会稳定", version=pub.version)
    db.session.commit()
    assert post(as_user(team["officer"]), pub, "release").status_code == 403
    head = as_user(team["head"])
    assert "Release the hold" in text(head.get(f"/disclosure/{pub.id}"))
    response = post(head, pub, "release")
    assert response.status_code == 302
    assert fresh(pub.id).status == PublicationStatus.DRAFT.value
    assert "The hold is taken back" in flashes(text(head.get(f"/disclosure/{pub.id}")))


def test_a_minors_case_cannot_be_released(make, team, as_user):
    party = PartyData(kind="person", name="李小明", id_number="110101201001011234", phone="", address="东村2号",
                      is_minor=True)
    pub = decided(make, team, party=party)
    assert fresh(pub.id).status == PublicationStatus.HELD.value
    head = as_user(team["head"])
    post(head, pub, "release")
    page = text(head.get(f"/disclosure/{pub.id}"))
    assert "The step was refused" in flashes(page) and "minor" in flashes(page)
    assert "held back automatically" in page
    assert fresh(pub.id).status == PublicationStatus.HELD.value


def test_found_unlawful_then_withdrawn_with_the_public_reason(make, team, as_user):
    pub = published(make, team)
    officer, head = as_user(team["officer"]), as_user(team["head"])
    assert post(officer, pub, "found-unlawful", cause="x").status_code == 403
    response = post(head, pub, "found-unlawful", cause="")
    assert response.status_code == 422 and "Say why the decision is found unlawful or invalid." in text(response)
    assert post(head, pub, "found-unlawful", cause="县司法局执法监督认定程序违法").status_code == 302
    row = fresh(pub.id)
    assert row.status == PublicationStatus.PUBLISHED.value and row.withdraw_due_on is not None

    page = text(officer.get(f"/disclosure/{pub.id}"))
    assert "withdraw by" in section(page, "deadline") and "县司法局执法监督认定程序违法" in page
    form = page.split('id="withdraw-form"', 1)[1].split("</form>", 1)[0]
    assert disclosure.suggested_withdrawal_reason(row) in form  # pre-filled
    listing = text(officer.get("/disclosure/"))
    assert pub.document_number in section(listing, "withdrawal_due")

    response = post(officer, pub, "withdraw", reason="")
    assert response.status_code == 422 and "Give the reason the public will read." in text(response)
    response = post(officer, pub, "withdraw", reason=f"该决定被确认违法，当事人张三身份证{ID_NUMBER}")
    assert response.status_code == 422 and "ID number" in text(response)
    assert fresh(pub.id).status == PublicationStatus.PUBLISHED.value

    response = post(officer, pub, "withdraw", reason="该决定被依法确认违法，依法撤回公开信息。")
    assert response.status_code == 302
    row = fresh(pub.id)
    assert row.status == PublicationStatus.WITHDRAWN.value and row.withdrawn_on == local_today()
    page = text(officer.get(f"/disclosure/{pub.id}"))
    assert "该决定被依法确认违法，依法撤回公开信息。" in page.split('id="withdrawn"', 1)[1]
    assert pub.document_number in section(text(officer.get("/disclosure/")), "withdrawn")


def test_a_notice_whose_decision_is_in_force_is_not_withdrawn(make, team, as_user):
    pub = published(make, team)
    officer = as_user(team["officer"])
    assert 'id="withdraw-form"' not in text(officer.get(f"/disclosure/{pub.id}"))
    response = post(officer, pub, "withdraw", reason="想撤回")
    assert response.status_code == 422 and "Nothing requires this notice to come down" in text(response)
    assert fresh(pub.id).status == PublicationStatus.PUBLISHED.value


def test_a_draft_found_unlawful_is_never_published(make, team, as_user):
    pub = decided(make, team)
    head = as_user(team["head"])
    assert post(head, pub, "found-unlawful", cause="上级机关认定违法").status_code == 302
    assert fresh(pub.id).status == PublicationStatus.SUPERSEDED.value
    page = text(head.get(f"/disclosure/{pub.id}"))
    assert "This draft will not be published" in flashes(page) and "<textarea" not in page


# --- the lists ------------------------------------------------------------------------------------------

def test_the_list_sorts_what_is_due_into_its_sections_with_the_days_in_words(make, team, as_user):
    late, soon, later = decided(make, team), decided(make, team), decided(make, team)
    set_due(late, -2)
    set_due(soon, 1)
    set_due(later, 30)
    held = decided(make, team)
    disclosure.hold(held, actor=team["head"], reason="business_secret", detail="涉及商业秘密", version=held.version)
    done = decided(make, team)
    disclosure.publish(done, actor=team["officer"], version=done.version)
    db.session.commit()
    page = text(as_user(team["auditor"]).get("/disclosure/"))
    overdue, due_soon, drafts = section(page, "overdue"), section(page, "due_soon"), section(page, "drafts")
    assert late.document_number in overdue and "overdue by 2 days" in overdue
    assert soon.document_number in due_soon and "1 working day left" in due_soon
    assert later.document_number in drafts and re.search(r"\d+ (working )?days left", drafts)
    assert soon.document_number not in overdue and late.document_number not in drafts
    assert "涉及商业秘密" in section(page, "held")
    assert done.document_number in section(page, "published")
    assert f'href="/cases/{late.case_id}"' in overdue and f'href="/disclosure/{late.id}"' in overdue
    assert re.search(r'id="count-overdue">\s*1\s*<', page)
    assert "You read these lists" in page  # the auditor acts on nothing


def test_the_list_filters_by_kind_and_body(make, team, as_user):
    decision_pub = decided(make, team)
    notice_pub = demolition_decided(make, team)
    notice = disclosure.post_demolition_notice(notice_pub.decision, actor=team["officer"],
                                               self_demolition_by=local_today() + timedelta(days=20))
    db.session.commit()
    client = as_user(team["officer"])
    page = text(client.get("/disclosure/?kind=demolition_notice"))
    assert f'href="/disclosure/{notice.id}"' in page and f'href="/disclosure/{decision_pub.id}"' not in page
    page = text(client.get("/disclosure/?kind=decision"))
    assert f'href="/disclosure/{notice.id}"' not in page and f'href="/disclosure/{decision_pub.id}"' in page


def test_a_county_auditor_filters_the_towns_by_body(make, as_user):
    county = make.body("青山县人民政府")
    town_a, town_b = make.team(make.body("甲镇人民政府", parent_id=county.id)), make.team(
        make.body("乙镇人民政府", parent_id=county.id))
    pub_a, pub_b = decided(make, town_a), decided(make, town_b)
    client = as_user(make.user(Role.AUDITOR, body=county))
    page = text(client.get("/disclosure/"))
    assert f'href="/disclosure/{pub_a.id}"' in page and f'href="/disclosure/{pub_b.id}"' in page
    page = text(client.get(f"/disclosure/?body={town_a['body'].id}"))
    assert f'href="/disclosure/{pub_a.id}"' in page and f'href="/disclosure/{pub_b.id}"' not in page


# --- the demolition notice ------------------------------------------------------------------------------

def test_the_demolition_notice_is_drafted_for_a_demolition_decision(make, team, as_user):
    pub = demolition_decided(make, team)
    client = as_user(team["officer"])
    case_page = text(client.get(f"/cases/{pub.case_id}"))
    assert "Post a notice to demolish by a date" in section(case_page, "publications")
    assert client.get(f"/disclosure/cases/{pub.case_id}/demolition-notice").status_code == 200
    day = local_today() + timedelta(days=20)
    response = client.post(f"/disclosure/cases/{pub.case_id}/demolition-notice", data={
        "csrf_token": csrf_token(client, f"/disclosure/cases/{pub.case_id}/demolition-notice"),
        "self_demolition_by": day.isoformat(), "note": "咨询请到镇综合执法办"})
    assert response.status_code == 302
    notice = next(p for p in disclosure.publications_of(pub.case) if p.kind == "demolition_notice")
    assert response.headers["Location"].endswith(f"/disclosure/{notice.id}")
    assert notice.self_demolition_by == day and notice.status == PublicationStatus.DRAFT.value
    page = text(client.get(f"/disclosure/{notice.id}"))
    assert "咨询请到镇综合执法办" in section(page, "masked") and "张三" not in section(page, "masked")
    assert "Publish before the demolition" in page


def test_the_demolition_notice_is_refused_for_another_decision_and_for_a_past_date(make, team, as_user):
    fine = decided(make, team)
    client = as_user(team["officer"])
    assert "Post a notice to demolish" not in text(client.get(f"/cases/{fine.case_id}"))
    path = f"/disclosure/cases/{fine.case_id}/demolition-notice"
    response = client.post(path, data={"csrf_token": csrf_token(client, path),
                                       "self_demolition_by": (local_today() + timedelta(days=20)).isoformat()})
    assert response.status_code == 422
    assert "Only a demolition decision is announced with a self-demolition deadline." in text(response)

    demolition = demolition_decided(make, team)
    path = f"/disclosure/cases/{demolition.case_id}/demolition-notice"
    response = client.post(path, data={"csrf_token": csrf_token(client, path),
                                       "self_demolition_by": (local_today() - timedelta(days=1)).isoformat()})
    assert response.status_code == 422 and "must be a day after today" in text(response)
    response = client.post(path, data={"csrf_token": csrf_token(client, path), "self_demolition_by": ""})
    assert response.status_code == 422 and "Enter the self-demolition deadline." in text(response)
    assert len(disclosure.publications_of(demolition.case)) == 1
    assert as_user(team["auditor"]).get(path).status_code == 403


# --- settings -------------------------------------------------------------------------------------------

def settings_data(**overrides) -> dict:
    data = {"publish_scope": "all", "keep_online_months": "36", "due_soon_days": "3", "mask_party_name": "y",
            "remove_id_numbers": "y", "remove_phones": "y", "remove_bank_accounts": "y", "remove_health": "y",
            "remove_other_names": "y", "village_level_address": "y", "health_terms": "", "name_cues": "",
            "extra_terms": "", "loaded": ""}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_the_admin_changes_the_rules_and_the_change_is_in_the_audit_trail(make, team, as_user):
    client = as_user(team["admin"])
    page = text(client.get("/disclosure/settings"))
    assert "Only penalties with social impact" in page and "<form" in page
    response = client.post("/disclosure/settings", data=settings_data(
        csrf_token=csrf_token(client, "/disclosure/settings"), publish_scope="social_impact", keep_online_months="24",
        remove_health=None, extra_terms="某某合作社\n\n某某合作社\n"))
    assert response.status_code == 302, text(response)
    row = disclosure.get_settings()
    db.session.refresh(row)
    assert (row.publish_scope, row.keep_online_months, row.remove_health) == ("social_impact", 24, False)
    assert row.extra_terms == "某某合作社"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "disclosure.settings_changed")).one()
    assert event.actor_id == team["admin"].id
    trail = text(client.get("/admin/audit?action=disclosure"))
    assert "<code>disclosure.settings_changed</code>" in trail and team["admin"].name in trail


def test_bad_settings_are_refused_beside_the_fields(make, team, as_user):
    client = as_user(team["admin"])
    response = client.post("/disclosure/settings", data=settings_data(
        csrf_token=csrf_token(client, "/disclosure/settings"), keep_online_months="0", due_soon_days="30"))
    assert response.status_code == 422
    page = text(response)
    assert "between 1 and 600 months" in page and "between 0 and 20 working days" in page
    assert disclosure.get_settings().keep_online_months == 36


def test_rules_changed_meanwhile_are_not_overwritten(make, team, as_user):
    client = as_user(team["admin"])
    page = client.get("/disclosure/settings").get_data(as_text=True)
    loaded = re.search(r'name="loaded"[^>]*value="([^"]*)"', page).group(1)  # when the page's copy was made
    disclosure.update_settings(actor=team["admin"], keep_online_months=12)
    db.session.commit()
    response = client.post("/disclosure/settings", data=settings_data(
        csrf_token=csrf_token(client, "/disclosure/settings"), keep_online_months="48",
        loaded=loaded))
    assert response.status_code == 422 and "Someone else changed the disclosure rules" in text(response)
    db.session.expire_all()
    assert disclosure.get_settings().keep_online_months == 12


@pytest.mark.parametrize("role", ["officer", "head", "auditor", "reviewer"])
def test_others_read_the_rules_but_cannot_change_them(make, team, as_user, role):
    client = as_user(team[role])
    page = text(client.get("/disclosure/settings"))
    assert "Only an administrator changes these rules" in page and 'id="settings-form"' not in page
    response = client.post("/disclosure/settings", data=settings_data(
        csrf_token=csrf_token(client, "/disclosure/settings"), publish_scope="social_impact"))
    assert response.status_code == 403
    assert disclosure.get_settings().publish_scope == "all"


# --- the case page and the home page --------------------------------------------------------------------

def test_the_case_page_lists_the_publications_with_their_deadline(make, team, as_user):
    pub = decided(make, team)
    set_due(pub, -1)
    panel = section(text(as_user(team["auditor"]).get(f"/cases/{pub.case_id}")), "publications")
    assert f'href="/disclosure/{pub.id}"' in panel and "Draft" in panel
    assert 'class="badge bad">overdue by 1 day' in panel
    assert "Post a notice to demolish" not in panel


def test_the_home_page_counts_what_is_overdue_and_due_soon(make, team, as_user):
    page = text(as_user(team["officer"]).get("/home"))
    assert "No publication or withdrawal is overdue or due soon." in section(page, "disclosure-due")
    late, soon, later = decided(make, team), decided(make, team), decided(make, team)
    set_due(late, -3)
    set_due(soon, 0)
    set_due(later, 40)
    box = section(text(as_user(team["officer"]).get("/home")), "disclosure-due")
    assert re.search(r'id="disclosure-overdue">1<', box) and "decision not published in time" in box
    assert re.search(r'id="disclosure-due-soon">1<', box) and "decision to publish soon" in box
    assert 'href="/disclosure/#overdue"' in box and 'id="disclosure-withdraw"' not in box
    gone = published(make, team)
    disclosure.found_unlawful(gone, actor=team["head"], cause="监督认定违法")
    db.session.commit()
    box = section(text(as_user(team["auditor"]).get("/home")), "disclosure-due")
    assert re.search(r'id="disclosure-withdraw">1<', box) and "notice to withdraw" in box
    assert 'id="disclosure-due"' not in text(as_user(team["admin"]).get("/home"))
