"""Specification of "major or not" (services.major.major_reasons), tested without HTTP.

A decision is major (重大执法决定, legal review compulsory, 行政处罚法 art. 58) when: its matter is in
the body's major-decision catalogue; the case is on a demolition route; its type is demolition,
licence revocation or an order to stop production or business; a fine reaches the matter's
threshold for a person or for an organisation, or the value confiscated reaches its threshold;
the fine lies outside the discretion band; a hearing was held; or the case was marked complex.
The reasons are kept, in words, on the review request and on the decision.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from flask_babel import force_locale

from enforcement.extensions import db
from enforcement.models import Stage
from enforcement.services import cases, catalogue, major, notice, workflow
from enforcement.services.cases import PartyData
from enforcement.services.major import major_reasons, outside_band

FILED = date(2026, 9, 1)
SERVED = date(2026, 9, 28)   # a Monday before National Day
DAY = date(2026, 10, 20)     # after the hearing period, within the 90 days

pytestmark = pytest.mark.usefixtures("without_record_rules")


@pytest.fixture(autouse=True)
def english(app):
    """Messages are asserted in English (the msgids), whatever translations are compiled."""
    with force_locale("en"):
        yield


def plain(make, team, **kw):
    """A matter that is major for none of its own properties (no route, not in the catalogue)."""
    values = {"route": "", "name": "一般处罚事项", "in_major_catalogue": False}
    values.update(kw)
    return make.matter(team["body"], **values)


def in_notice(make, team, matter, **kw):
    case = make.case(team, approve=True, matter=matter, filed_on=FILED, **kw)
    workflow.advance(case, Stage.NOTICE, actor=team["officer"], today=DAY)
    db.session.commit()
    return case


def proposal(decision_type="fine", fine=None, confiscation=None, band=None):
    return SimpleNamespace(decision_type=decision_type, fine_amount=fine, confiscation_value=confiscation,
                           discretion_band=band)


ORGANISATION = PartyData(kind="organisation", name="某某建材有限公司", id_number="91330100MA2XXXXX0X")


# --- the matter and the route -----------------------------------------------------------------

def test_nothing_major_gives_no_reasons(make, team):
    case = in_notice(make, team, plain(make, team))
    assert major_reasons(case) == []  # no notice yet
    make.notice(case, decision_type="warning", served_on=SERVED, today=DAY)
    assert major_reasons(case) == []
    assert major_reasons(case, proposal("fine", fine=Decimal("500"))) == []


def test_a_matter_in_the_major_catalogue_is_major(make, team):
    case = in_notice(make, team, plain(make, team, in_major_catalogue=True))
    assert major_reasons(case) == ["the matter is in the major-decision catalogue"]


def test_every_demolition_route_case_is_major_whatever_the_proposal(make, team):
    case = in_notice(make, team, make.matter(team["body"], route="planning"))
    assert case.route == "planning"
    assert major_reasons(case) == ["a demolition order is treated as major"]
    assert major_reasons(case, proposal("warning")) == ["a demolition order is treated as major"]


@pytest.mark.parametrize("kind, words", [("demolition", "order demolition within a time limit"),
                                         ("stop_production", "order to stop production or business"),
                                         ("licence_revocation", "revoke a licence")])
def test_a_major_decision_type_makes_a_non_route_case_major(make, team, kind, words):
    case = in_notice(make, team, plain(make, team))
    make.notice(case, decision_type=kind, served_on=SERVED, today=DAY)
    reasons = major_reasons(case)
    assert len(reasons) == 1
    assert reasons[0].startswith("the decision is of a major kind") and words in reasons[0]


@pytest.mark.parametrize("kind", ["warning", "fine", "confiscation", "correction", "no_penalty"])
def test_other_decision_types_are_not_major_by_their_kind(make, team, kind):
    case = in_notice(make, team, plain(make, team))
    assert major_reasons(case, proposal(kind, fine=Decimal("1") if kind == "fine" else None,
                                        confiscation=Decimal("1") if kind == "confiscation" else None)) == []


# --- thresholds ------------------------------------------------------------------------------------

def test_a_fine_for_a_person_is_major_from_the_persons_threshold(make, team):
    matter = plain(make, team, major_fine_person=Decimal("10000"), major_fine_org=Decimal("100000"))
    case = in_notice(make, team, matter)
    assert major_reasons(case, proposal(fine=Decimal("9999.99"))) == []
    assert major_reasons(case, proposal(fine=Decimal("10000"))) == [
        "a fine of ¥10,000.00 reaches the threshold of ¥10,000.00 for a person"]
    assert major_reasons(case, proposal(fine=Decimal("20000"))) == [
        "a fine of ¥20,000.00 reaches the threshold of ¥10,000.00 for a person"]


def test_a_fine_for_an_organisation_is_major_from_the_organisations_threshold(make, team):
    matter = plain(make, team, major_fine_person=Decimal("10000"), major_fine_org=Decimal("100000"))
    case = in_notice(make, team, matter, party=ORGANISATION)
    assert major_reasons(case, proposal(fine=Decimal("50000"))) == []  # the person's threshold does not apply
    assert major_reasons(case, proposal(fine=Decimal("99999.99"))) == []
    assert major_reasons(case, proposal(fine=Decimal("100000"))) == [
        "a fine of ¥100,000.00 reaches the threshold of ¥100,000.00 for an organisation"]


def test_a_fine_is_not_major_by_amount_when_no_threshold_is_configured(make, team):
    case = in_notice(make, team, plain(make, team))
    assert major_reasons(case, proposal(fine=Decimal("999999999"))) == []


def test_the_notices_fine_counts_by_default(make, team):
    matter = plain(make, team, major_fine_person=Decimal("10000"))
    case = in_notice(make, team, matter)
    make.notice(case, decision_type="fine", fine_amount="10000", served_on=SERVED, today=DAY)
    assert major_reasons(case) == ["a fine of ¥10,000.00 reaches the threshold of ¥10,000.00 for a person"]


def test_confiscation_is_major_from_its_threshold(make, team):
    case = in_notice(make, team, plain(make, team, major_confiscation_value=Decimal("50000")))
    assert major_reasons(case, proposal("confiscation", confiscation=Decimal("49999.99"))) == []
    assert major_reasons(case, proposal("confiscation", confiscation=Decimal("50000"))) == [
        "confiscation worth ¥50,000.00 reaches the threshold of ¥50,000.00"]


# --- discretion standard (裁量基准) ---------------------------------------------------------------------

def test_a_penalty_outside_the_discretion_band_is_major(make, team):
    matter = plain(make, team)
    band = catalogue.add_band(matter, actor=team["admin"], circumstance="一般", fine_min="1000", fine_max="5000")
    db.session.commit()
    case = in_notice(make, team, matter)
    assert major_reasons(case, proposal(fine=Decimal("1000"), band=band)) == []
    assert major_reasons(case, proposal(fine=Decimal("5000"), band=band)) == []
    for fine in ("999.99", "5000.01"):
        assert major_reasons(case, proposal(fine=Decimal(fine), band=band)) == [
            "the fine lies outside the discretion standard (一般)"], fine
    assert outside_band(None, Decimal("1")) is False and outside_band(band, None) is False


# --- hearing and complexity -----------------------------------------------------------------------

def test_a_hearing_held_makes_the_decision_major(make, team):
    case = in_notice(make, team, plain(make, team))
    officer = team["officer"]
    notice.record_notice(case, actor=officer, decision_type="fine", fine_amount="3000", content="罚款三千元",
                         legal_basis="某法第十条", served_on=SERVED, hearing_offered=True, today=DAY)
    notice.record_hearing_request(case, actor=officer, requested_on=date(2026, 9, 30), today=DAY)
    assert major_reasons(case) == []  # asked for, not yet held
    record = make.record(case, "hearing_record")
    notice.record_hearing(case, actor=officer, held_on=date(2026, 10, 15), record_id=record.id, today=DAY)
    db.session.commit()
    assert major_reasons(case) == ["a hearing was held"]


def test_a_case_marked_complex_is_major_with_the_reason_in_words(make, team):
    case = in_notice(make, team, plain(make, team))
    cases.mark_complex(case, actor=team["officer"], reason="涉及多个法律关系")
    db.session.commit()
    assert major_reasons(case) == ["marked complex: 涉及多个法律关系"]


def test_several_reasons_are_all_given(make, team):
    matter = plain(make, team, in_major_catalogue=True, major_fine_person=Decimal("10000"))
    case = in_notice(make, team, matter)
    cases.mark_complex(case, actor=team["head"], reason="事实复杂")
    reasons = major_reasons(case, proposal(fine=Decimal("10000")))
    assert reasons == ["the matter is in the major-decision catalogue",
                       "a fine of ¥10,000.00 reaches the threshold of ¥10,000.00 for a person",
                       "marked complex: 事实复杂"]


# --- the reasons are kept -------------------------------------------------------------------------

def test_the_reasons_are_stored_on_the_review_request_and_on_the_decision(make, team):
    matter = plain(make, team, major_fine_person=Decimal("10000"))
    case = in_notice(make, team, matter)
    make.notice(case, decision_type="fine", fine_amount="20000", served_on=SERVED, today=DAY)
    with force_locale("zh_Hans_CN"):  # stored in the documents' language, whatever the screen shows
        expected = major.major_reasons(case)
    assert len(expected) == 1 and "¥20,000.00" in expected[0] and "¥10,000.00" in expected[0]
    decision = make.decide(case, team, today=DAY)  # submits, passes, discusses and signs
    assert decision.review_request is not None
    assert decision.review_request.major_reason_list == expected
    assert decision.major is True
    assert decision.major_reason_list == expected


def test_a_non_major_decision_is_stored_as_not_major(make, team):
    case = in_notice(make, team, plain(make, team))
    make.notice(case, decision_type="warning", served_on=SERVED, today=DAY)
    decision = make.decide(case, team, today=DAY)
    assert decision.major is False and decision.major_reason_list == []
    assert decision.review_request_id is None
