"""Specification of the annual statistics (services.annual), tested without HTTP.

The previous year's statistics are published by 31 January (国办发〔2018〕118号). Each figure counts
the body's own cases of that calendar year and keeps the cases it counts; the report stores the
SHA-256 of exactly the rows counted, so regenerating from unchanged data gives the same digest and
a change to a counted row shows. The head or an admin generates (a new revision each time, never
for a year not ended); the head publishes the latest revision only.
"""
from __future__ import annotations

import io
import json
import re
from datetime import date, datetime
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import select, text

from enforcement.extensions import db
from enforcement.models import AnnualReport, AuditEvent, Challenge, Publication, ReviewRequest, Role, Stage
from enforcement.services import annual, decisions, documents, notice, review, workflow
from enforcement.services.errors import DomainError, NotFound, PermissionDenied
from tests.factories import PASSWORD

YEAR = 2025
AFTER = date(2026, 1, 10)  # a day in January when the 2025 report is made

pytestmark = pytest.mark.usefixtures("without_record_rules")


@pytest.fixture(autouse=True)
def english(app):
    with force_locale("en"):
        yield


@pytest.fixture(autouse=True)
def quick_statistics_pdf(request, monkeypatch):
    """The statistics PDF takes a second with the CJK font: a stub unless the test is `real_pdf`."""
    if request.node.get_closest_marker("real_pdf"):
        return
    monkeypatch.setattr(documents, "statistics_pdf",
                        lambda doc: b"%PDF-1.4\n" + f"{doc.title} {doc.digest}".encode() + b"\n%%EOF\n")


# --- building the year's data through the real services --------------------------------------------------

def in_notice(make, team, *, matter, filed_on, served_on, **notice_kw):
    source = notice_kw.pop("source", "grid_patrol")
    case = make.case(team, approve=True, matter=matter, filed_on=filed_on, source=source)
    workflow.advance(case, Stage.NOTICE, actor=team["officer"], today=served_on)
    db.session.commit()
    make.notice(case, served_on=served_on, today=served_on, **notice_kw)
    return case


def decided(make, team, *, matter, filed_on, day, **notice_kw):
    case = in_notice(make, team, matter=matter, filed_on=filed_on, served_on=day, **notice_kw)
    return case, make.decide(case, team, today=day)


def set_reviewed_at(request: ReviewRequest, at: datetime) -> None:
    """The sign-off time is the clock's; the statistics of a past year need it in that year."""
    db.session.execute(text("UPDATE review_requests SET reviewed_at = :at WHERE id = :id"),
                       {"at": at, "id": request.id})
    db.session.commit()
    db.session.expire_all()


def challenge(case, decision, kind, received_on, outcome=None, *, recorder):
    row = Challenge(case_id=case.id, decision_id=decision.id, kind=kind, forum="县人民政府" if kind == "reconsideration"
                    else "县人民法院", received_on=received_on, defence_due_on=received_on, outcome=outcome,
                    outcome_on=received_on if outcome else None, recorded_by_id=recorder.id)
    db.session.add(row)
    db.session.commit()
    return row


def publication(case, decision, *, published_on, due_on=None, withdrawn_on=None, kind="decision"):
    """The publication as published (and withdrawn) on those days: the decision's draft, when the
    decision made one, else a new row."""
    row = db.session.scalar(select(Publication).where(Publication.decision_id == decision.id,
                                                      Publication.kind == kind)) if kind == "decision" else None
    if row is None:
        row = Publication(
            case_id=case.id, body_id=case.body_id, decision_id=decision.id, kind=kind, category="penalty_permit",
            title="行政处罚决定书", document_number=case.number, matter_id=case.matter_id,
            decision_type=decision.decision_type, year=decision.decided_on.year, village=case.village,
            party_display="张某", decided_on=decision.decided_on, original_text="张三……", masked_text="张某……",
            self_demolition_by=published_on if kind == "demolition_notice" else None)
        db.session.add(row)
    row.status = "withdrawn" if withdrawn_on else "published"
    row.published_at = datetime.combine(published_on, datetime.min.time())
    row.published_on, row.due_on, row.withdrawn_on = published_on, due_on, withdrawn_on
    row.withdrawn_at = datetime.combine(withdrawn_on, datetime.min.time()) if withdrawn_on else None
    row.withdrawal_reason = "决定已被撤销" if withdrawn_on else ""
    db.session.commit()
    return row


@pytest.fixture
def year_data(make, team):
    """A body's 2025, with cases of 2024 and 2026 and another body's case around it."""
    t = team
    m1 = make.matter(t["body"], code="JS01", name="未取得乡村建设规划许可证进行建设")
    m2 = make.matter(t["body"], code="CF02", name="一般处罚事项", route="")
    officer, head = t["officer"], t["head"]

    # c1: a demolition (major: reviewed, discussed) on 10 April; reviewed on 8 April.
    c1, d1 = decided(make, t, matter=m1, filed_on=date(2025, 3, 3), day=date(2025, 4, 10))
    set_reviewed_at(review.latest_request(c1), datetime(2025, 4, 8, 2, 0))
    # c2: a fine of 5,000 on 1 June, changed in August; c3: a confiscation of 2,000, revoked in September.
    c2, d2 = decided(make, t, matter=m2, filed_on=date(2025, 5, 5), day=date(2025, 6, 1), source="complaint",
                     decision_type="fine", fine_amount=Decimal("5000"))
    c3, d3 = decided(make, t, matter=m2, filed_on=date(2025, 6, 2), day=date(2025, 6, 20), source="complaint",
                     decision_type="confiscation", confiscation_value=Decimal("2000"))
    decisions.replace(d2, actor=head, password=PASSWORD, kind="change", reason="复议机关建议调整罚款数额",
                      proposal=review.ProposalData("fine", Decimal("3000"), None, "罚款三千元", "《城乡规划法》第六十五条"),
                      performance="十五日内缴纳", today=date(2025, 8, 1))
    decisions.replace(d3, actor=head, password=PASSWORD, kind="revocation", reason="事实认定有误",
                      today=date(2025, 9, 1))
    db.session.commit()
    # c4: filed in 2024, hearing asked in 2024 and held in January 2025 (so major: reviewed on 18 January), a
    # fine of 800 decided in 2025.
    c4 = in_notice(make, t, matter=m2, filed_on=date(2024, 12, 2), served_on=date(2024, 12, 23),
                   decision_type="fine", fine_amount=Decimal("800"), hearing_offered=True)
    notice.record_hearing_request(c4, actor=officer, requested_on=date(2024, 12, 25))
    db.session.commit()
    record = make.record(c4, "hearing_record")
    notice.record_hearing(c4, actor=officer, held_on=date(2025, 1, 10), record_id=record.id)
    db.session.commit()
    d4 = make.decide(c4, t, today=date(2025, 1, 20))
    set_reviewed_at(review.latest_request(c4), datetime(2025, 1, 18, 2, 0))
    # c7: a demolition case whose review was returned in July; c8: a hearing asked in July, not held.
    c7 = in_notice(make, t, matter=m1, filed_on=date(2025, 7, 1), served_on=date(2025, 7, 7))
    returned = make.submit_review(c7, today=date(2025, 7, 10))
    make.sign_review(returned, t["reviewer"], outcome="returned", today=date(2025, 7, 10))
    set_reviewed_at(returned, datetime(2025, 7, 20, 2, 0))
    c8 = in_notice(make, t, matter=m2, filed_on=date(2025, 7, 10), served_on=date(2025, 7, 11), source="inspection",
                   decision_type="fine", fine_amount=Decimal("500"), hearing_offered=True)
    notice.record_hearing_request(c8, actor=officer, requested_on=date(2025, 7, 14))
    db.session.commit()
    # Outside the year: a case filed in 2026; another body's case of 2025.
    c6 = make.case(t, approve=True, matter=m1, filed_on=date(2026, 2, 1))
    other = make.team()
    c5 = make.case(other, approve=True, filed_on=date(2025, 3, 1))
    # Challenges and publications (their services are elsewhere: rows as they would record them).
    challenge(c1, d1, "reconsideration", date(2025, 5, 10), "upheld", recorder=officer)
    challenge(c2, d2, "suit", date(2025, 9, 1), recorder=officer)
    challenge(c2, d2, "reconsideration", date(2026, 1, 5), recorder=officer)
    publication(c2, d2, published_on=date(2025, 6, 5), due_on=date(2025, 6, 10))
    publication(c3, d3, published_on=date(2025, 7, 10), due_on=date(2025, 7, 1), withdrawn_on=date(2025, 9, 3))
    publication(c1, d1, published_on=date(2025, 5, 20), kind="demolition_notice")
    publication(c4, d4, published_on=date(2024, 12, 31), due_on=date(2025, 1, 5))  # (a year before: not counted)
    return {"team": t, "m1": m1, "m2": m2, "c1": c1, "c2": c2, "c3": c3, "c4": c4, "c5": c5, "c6": c6, "c7": c7,
            "c8": c8, "d2": d2, "other": other}


def values(figures: dict) -> dict:
    return {f["key"]: (f["value"], f["case_ids"]) for s in figures["sections"] for f in s["figures"]}


def ids(*cases) -> list[int]:
    return sorted(c.id for c in cases)


# --- the deadline ------------------------------------------------------------------------------------------

def test_the_statistics_are_due_on_31_january_of_the_next_year():
    assert annual.due_on(2025) == date(2026, 1, 31)
    assert annual.due_on(2027) == date(2028, 1, 31)  # a fixed day, in or out of the Spring Festival


def test_status_around_31_january(team):
    body, head = team["body"], team["head"]
    assert annual.status(body, YEAR, date(2026, 1, 5)).code == "not_generated"
    assert annual.status(body, YEAR, date(2026, 2, 1)).code == "overdue"
    report = annual.generate(body, YEAR, actor=head, today=date(2026, 1, 5))
    db.session.commit()
    assert annual.status(body, YEAR, date(2026, 1, 31)).code == "generated"
    assert annual.status(body, YEAR, date(2026, 2, 1)).code == "overdue"
    annual.publish(report, actor=head)
    db.session.commit()
    report.published_at = datetime(2026, 1, 31, 15, 59)  # 23:59 on 31 January in Beijing
    db.session.commit()
    state = annual.status(body, YEAR, date(2026, 3, 1))
    assert (state.code, state.first_published_on, state.published.id) == ("published_on_time", date(2026, 1, 31),
                                                                          report.id)
    report.published_at = datetime(2026, 1, 31, 16, 0)  # 00:00 on 1 February in Beijing
    db.session.commit()
    assert annual.status(body, YEAR, date(2026, 3, 1)).code == "published_late"


def test_a_corrected_revision_keeps_the_first_publication_date_for_the_deadline(team):
    body, head = team["body"], team["head"]
    first = annual.generate(body, YEAR, actor=head, today=date(2026, 1, 5))
    annual.publish(first, actor=head)
    first.published_at = datetime(2026, 1, 20, 2, 0)
    db.session.commit()
    second = annual.generate(body, YEAR, actor=head, today=date(2026, 2, 10))
    db.session.commit()
    state = annual.status(body, YEAR, date(2026, 2, 10))
    assert state.code == "published_on_time" and state.newer_unpublished and state.latest.id == second.id
    annual.publish(second, actor=head)
    db.session.commit()
    state = annual.status(body, YEAR, date(2026, 2, 10))
    assert state.code == "published_on_time" and state.published.id == second.id and not state.newer_unpublished


# --- the figures ---------------------------------------------------------------------------------------------

def test_each_figure_counts_the_bodys_own_cases_of_the_year(year_data):
    d = year_data
    c1, c2, c3, c4, c7, c8 = (d[k] for k in ("c1", "c2", "c3", "c4", "c7", "c8"))
    figures, digest = annual.build(d["team"]["body"], YEAR)
    got = values(figures)
    m1, m2 = d["m1"].id, d["m2"].id
    expected = {
        "cases.total": (5, ids(c1, c2, c3, c7, c8)),
        f"cases.matter.{m1}": (2, ids(c1, c7)),
        f"cases.matter.{m2}": (3, ids(c2, c3, c8)),
        "cases.source.grid_patrol": (2, ids(c1, c7)),
        "cases.source.complaint": (2, ids(c2, c3)),
        "cases.source.inspection": (1, ids(c8)),
        "cases.source.transfer": (0, []),
        "decisions.total": (4, ids(c1, c2, c3, c4)),
        "decisions.major": (2, ids(c1, c4)),
        "decisions.type.demolition": (1, ids(c1)),
        "decisions.type.fine": (2, ids(c2, c4)),
        "decisions.type.confiscation": (1, ids(c3)),
        "decisions.type.warning": (0, []),
        f"decisions.matter.{m1}": (1, ids(c1)),
        f"decisions.matter.{m2}": (3, ids(c2, c3, c4)),
        "penalties.fines": (2, ids(c2, c4)),
        "penalties.fine_amount": ("5800.00", ids(c2, c4)),
        "penalties.confiscations": (1, ids(c3)),
        "penalties.confiscation_value": ("2000.00", ids(c3)),
        "replacements.revocations": (1, ids(c3)),
        "replacements.changes": (1, ids(c2)),
        "reviews.total": (3, ids(c1, c4, c7)),
        "reviews.passed": (2, ids(c1, c4)),
        "reviews.returned": (1, ids(c7)),
        "reviews.failed": (0, []),
        "hearings.requested": (1, ids(c8)),
        "hearings.held": (1, ids(c4)),
        "challenges.reconsideration.total": (1, ids(c1)),
        "challenges.reconsideration.upheld": (1, ids(c1)),
        "challenges.reconsideration.revoked": (0, []),
        "challenges.reconsideration.pending": (0, []),
        "challenges.suit.total": (1, ids(c2)),
        "challenges.suit.pending": (1, ids(c2)),
        "challenges.suit.upheld": (0, []),
        "demolitions.decisions": (1, ids(c1)),
        "demolitions.notices": (1, ids(c1)),
        "publications.published": (2, ids(c2, c3)),
        "publications.on_time": (1, ids(c2)),
        "publications.withdrawn": (1, ids(c3)),
    }
    for key, want in expected.items():
        assert got[key] == want, key
    # Every matter and type shown by its Chinese words; no other body's or year's case anywhere.
    labels = {f["key"]: f["label"] for s in figures["sections"] for f in s["figures"]}
    assert labels[f"cases.matter.{m1}"] == "未取得乡村建设规划许可证进行建设（JS01）"
    assert labels["cases.total"] == "立案总数" and labels["penalties.fine_amount"] == "罚款金额（元）"
    counted = {i for value, case_ids in got.values() for i in case_ids}
    assert d["c5"].id not in counted and d["c6"].id not in counted
    assert figures["year"] == YEAR and figures["due_on"] == "2026-01-31" and len(digest) == 64


def test_a_review_counts_in_the_local_year_of_its_sign_off(year_data):
    body = year_data["team"]["body"]
    request = review.latest_request(year_data["c7"])
    set_reviewed_at(request, datetime(2025, 12, 31, 15, 59))  # 23:59 Beijing time: still 2025
    assert values(annual.build(body, YEAR)[0])["reviews.returned"][0] == 1
    set_reviewed_at(request, datetime(2025, 12, 31, 16, 0))  # 00:00 on 1 January 2026 in Beijing
    assert values(annual.build(body, YEAR)[0])["reviews.returned"][0] == 0
    assert values(annual.build(body, 2026)[0])["reviews.returned"][0] == 1


def test_an_empty_year_has_every_fixed_figure_at_zero(team):
    figures, digest = annual.build(team["body"], 2019)
    got = values(figures)
    assert got["cases.total"] == (0, []) and got["penalties.fine_amount"] == ("0.00", [])
    assert all(v == 0 or v == "0.00" for v, _ids in got.values())
    assert [s["key"] for s in figures["sections"]] == [
        "cases", "cases_by_matter", "cases_by_source", "decisions", "decisions_by_matter", "penalties",
        "replacements", "reviews", "hearings", "challenges", "demolitions", "publications"]


def test_cases_for_gives_the_cases_a_figure_counts(year_data):
    report = annual.generate(year_data["team"]["body"], YEAR, actor=year_data["team"]["head"], today=AFTER)
    db.session.commit()
    assert [c.id for c in annual.cases_for(report, "penalties.fines")] == ids(year_data["c2"], year_data["c4"])
    assert annual.cases_for(report, "reviews.failed") == []
    with pytest.raises(NotFound):
        annual.cases_for(report, "no.such.figure")


# --- the digest --------------------------------------------------------------------------------------------------

def test_the_digest_is_reproducible_and_changes_with_a_counted_row(year_data):
    body, head = year_data["team"]["body"], year_data["team"]["head"]
    first = annual.generate(body, YEAR, actor=head, today=AFTER)
    second = annual.generate(body, YEAR, actor=head, today=AFTER)
    db.session.commit()
    assert (first.revision, second.revision) == (1, 2)
    assert first.source_digest == second.source_digest and first.data == second.data
    assert json.loads(first.data) == annual.build(body, YEAR)[0]
    assert first.data == json.dumps(json.loads(first.data), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert annual.verify(first) == []

    # A field no figure counts: same digest.
    c2 = year_data["c2"]
    c2.summary = "补充的案情摘要"
    db.session.commit()
    assert annual.build(body, YEAR)[1] == first.source_digest

    # A counted field that moves no figure: the digest changes, and verify says the figures are the same.
    c2.filed_on = date(2025, 5, 6)
    db.session.commit()
    problems = annual.verify(first)
    assert problems and "changed since it was generated" in problems[0]
    assert any("figures are the same" in p for p in problems)

    # A counted row whose change moves figures: each changed figure is named with both values.
    c2.filed_on = date(2024, 12, 30)
    db.session.commit()
    problems = annual.verify(first)
    assert "立案总数: 5 then, 4 now." in problems
    assert annual.build(body, YEAR)[1] != first.source_digest


def test_a_challenge_outcome_recorded_later_changes_the_digest(year_data):
    body, head = year_data["team"]["body"], year_data["team"]["head"]
    report = annual.generate(body, YEAR, actor=head, today=AFTER)
    db.session.commit()
    suit = db.session.scalar(select(Challenge).where(Challenge.kind == "suit"))
    suit.outcome, suit.outcome_on = "upheld", date(2026, 1, 20)
    db.session.commit()
    problems = annual.verify(report)
    assert "行政诉讼：尚未审结: 1 then, 0 now." in problems
    assert "行政诉讼：维持或驳回: 0 then, 1 now." in problems


def test_a_row_of_another_year_or_body_does_not_touch_the_digest(year_data):
    body = year_data["team"]["body"]
    before = annual.build(body, YEAR)[1]
    year_data["c6"].source = "complaint"       # filed in 2026
    year_data["c5"].source = "complaint"       # another body
    db.session.commit()
    assert annual.build(body, YEAR)[1] == before


# --- generating ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["officer", "reviewer", "auditor", "other_head", "other_admin"])
def test_only_the_head_or_an_admin_of_the_body_generates(make, team, who):
    if who.startswith("other_"):
        actor = make.user(Role.HEAD if who == "other_head" else Role.ADMIN, body=make.body())
    else:
        actor = team[who]
    with pytest.raises(PermissionDenied):
        annual.generate(team["body"], YEAR, actor=actor, today=AFTER)
    db.session.rollback()
    assert db.session.scalar(select(AnnualReport.id)) is None


@pytest.mark.parametrize("who", ["head", "admin"])
def test_the_head_or_an_admin_generates_a_revision_with_an_audit_event(team, who):
    report = annual.generate(team["body"], YEAR, actor=team[who], today=AFTER)
    db.session.commit()
    assert (report.year, report.revision, report.generated_by_id, report.published_at) == (YEAR, 1, team[who].id, None)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "annual_report.generated"))
    assert event.object_id == str(report.id) and event.body_id == team["body"].id
    assert json.loads(event.after) == {"year": YEAR, "revision": 1, "source_digest": report.source_digest}


@pytest.mark.parametrize("today", [date(2025, 12, 31), date(2025, 6, 1)])
def test_a_year_not_ended_is_refused(team, today):
    with pytest.raises(DomainError, match="has not ended"):
        annual.generate(team["body"], YEAR, actor=team["head"], today=today)
    db.session.rollback()
    assert annual.generate(team["body"], YEAR, actor=team["head"], today=date(2026, 1, 1)).revision == 1


def test_a_year_before_any_record_is_refused(team):
    with pytest.raises(DomainError):
        annual.generate(team["body"], 1999, actor=team["head"], today=AFTER)


# --- publishing ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["officer", "reviewer", "auditor", "admin", "other_head"])
def test_only_the_head_of_the_body_publishes(make, team, who):
    report = annual.generate(team["body"], YEAR, actor=team["head"], today=AFTER)
    db.session.commit()
    actor = make.user(Role.HEAD, body=make.body()) if who == "other_head" else team[who]
    with pytest.raises(PermissionDenied):
        annual.publish(report, actor=actor)
    db.session.rollback()
    assert report.published_at is None and annual.latest_published(team["body"].id, YEAR) is None


def test_publishing_the_latest_revision_supersedes_the_older_one(team):
    body, head = team["body"], team["head"]
    first = annual.generate(body, YEAR, actor=head, today=AFTER)
    annual.publish(first, actor=head)
    db.session.commit()
    assert annual.latest_published(body.id, YEAR).id == first.id
    with pytest.raises(DomainError, match="published already"):
        annual.publish(first, actor=head)
    db.session.rollback()
    second = annual.generate(body, YEAR, actor=head, today=AFTER)
    db.session.commit()
    assert annual.latest_published(body.id, YEAR).id == first.id  # until the new one is published
    annual.publish(second, actor=head)
    db.session.commit()
    assert annual.latest_published(body.id, YEAR).id == second.id
    assert [r.id for r in annual.public_reports()] == [second.id]
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "annual_report.published")
                                .order_by(AuditEvent.id)).all()
    assert [json.loads(e.before)["published_revision"] for e in events] == [None, 1]
    assert json.loads(events[-1].after)["source_digest"] == second.source_digest


def test_an_older_revision_cannot_be_published(team):
    body, head = team["body"], team["head"]
    first = annual.generate(body, YEAR, actor=head, today=AFTER)
    annual.generate(body, YEAR, actor=head, today=AFTER)
    db.session.commit()
    with pytest.raises(DomainError, match="not the latest"):
        annual.publish(first, actor=head)
    db.session.rollback()
    assert annual.latest_published(body.id, YEAR) is None


def test_a_revision_whose_data_changed_is_not_published(year_data):
    body, head = year_data["team"]["body"], year_data["team"]["head"]
    report = annual.generate(body, YEAR, actor=head, today=AFTER)
    db.session.commit()
    year_data["c8"].source = "complaint"
    db.session.commit()
    with pytest.raises(DomainError, match="generate the statistics again"):
        annual.publish(report, actor=head)
    db.session.rollback()
    fresh = annual.generate(body, YEAR, actor=head, today=AFTER)
    annual.publish(fresh, actor=head)
    db.session.commit()
    assert values(fresh.figures)["cases.source.complaint"][0] == 3


def test_the_public_sections_carry_no_case_ids(year_data):
    report = annual.generate(year_data["team"]["body"], YEAR, actor=year_data["team"]["head"], today=AFTER)
    public = annual.sections(report, with_cases=False)
    assert all("case_ids" not in f for s in public for f in s["figures"])
    assert {f["key"]: f["shown"] for s in public for f in s["figures"]}["penalties.fine_amount"] == "5,800.00"


# --- exports -------------------------------------------------------------------------------------------------------

def test_the_excel_export_has_the_figures_and_case_numbers_only_when_given(year_data):
    from openpyxl import load_workbook

    report = annual.generate(year_data["team"]["body"], YEAR, actor=year_data["team"]["head"], today=AFTER)
    c2, c4 = year_data["c2"], year_data["c4"]
    rows = list(load_workbook(io.BytesIO(annual.xlsx(report))).active.iter_rows(values_only=True))
    flat = [cell for row in rows for cell in row if cell is not None]
    assert "罚款金额（元）" in flat and Decimal("5800") in [Decimal(str(v)) for v in flat if isinstance(v, (int, float))]
    assert report.source_digest in flat
    assert not any(str(c2.number) in str(v) for v in flat)
    staff = load_workbook(io.BytesIO(annual.xlsx(report, case_numbers={c2.id: c2.number, c4.id: c4.number}))).active
    fines = next(r for r in staff.iter_rows(values_only=True) if r[0] == "罚款（件）")
    assert fines[1] == 2 and fines[2] == f"{c2.number}、{c4.number}"


@pytest.mark.real_pdf("statistics_pdf")
def test_the_pdf_is_a_chinese_document_without_case_numbers(year_data):
    from pypdf import PdfReader

    try:
        documents.font_path()
    except documents.FontMissing:
        pytest.skip("no CJK font")
    report = annual.generate(year_data["team"]["body"], YEAR, actor=year_data["team"]["head"], today=AFTER)
    data = annual.pdf(report)
    assert data.startswith(b"%PDF")
    words = re.sub(r"\s", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).replace("\x00", ""))
    assert "2025年度行政执法数据" in words and "罚款金额（元）" in words and "5,800.00" in words
    assert report.source_digest in words
    assert year_data["c2"].number.replace(" ", "") not in words and "张三" not in words


# --- the command line ----------------------------------------------------------------------------------------------

def test_the_command_line_generates_publishes_and_verifies(year_data, runner):
    body = year_data["team"]["body"]
    result = runner.invoke(args=["reports", "generate", "--body", str(body.id), "--year", str(YEAR), "--publish"])
    assert result.exit_code == 0, result.output
    report = db.session.scalar(select(AnnualReport).where(AnnualReport.body_id == body.id))
    assert report.published_at is not None and report.source_digest in result.output
    assert runner.invoke(args=["reports", "verify", "--id", str(report.id)]).exit_code == 0
    year_data["c8"].source = "complaint"
    db.session.commit()
    result = runner.invoke(args=["reports", "verify", "--id", str(report.id)])
    assert result.exit_code == 1 and "CHANGED" in result.output


def test_the_command_line_refuses_a_year_not_ended_and_changes_nothing(team, runner):
    result = runner.invoke(args=["reports", "generate", "--body", str(team["body"].id), "--year", "2099"])
    assert result.exit_code == 1 and "Error:" in result.output
    assert db.session.scalar(select(AnnualReport.id)) is None
    result = runner.invoke(args=["reports", "generate", "--body", str(team["body"].id), "--year", str(YEAR),
                                 "--user", team["officer"].username])
    assert result.exit_code == 1 and db.session.scalar(select(AnnualReport.id)) is None
