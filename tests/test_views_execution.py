"""The screens of service (送达), execution (执行) and the closing self-check (案卷自查), over HTTP.

The case page's panels show where the service of the decision stands, every service recorded, the
fine with its late penalty and payments, the forced demolition's go/no-go list (planning route), the
court window (land route) and the self-checks; each form comes back refused with every unmet
condition (422), stale (409), or forbidden to the wrong role (403). Pages are read in English. The
rules themselves are specified by the services' own tests.
"""
from __future__ import annotations

import html
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from enforcement.extensions import db
from enforcement.models import Role, Stage
from enforcement.models.execution import DocumentService, Execution, FinePayment, SelfCheck
from enforcement.services import calendar as calendar_service
from enforcement.services import execution, serving, workflow
from enforcement.services.calendar import add_calendar_days
from enforcement.services.clock import local_today
from tests.conftest import csrf_token
from tests.test_disclosure import decided

pytestmark = pytest.mark.usefixtures("without_record_rules")

CSRF_MESSAGE = "The form expired or was not sent by this site"
DAY = date(2026, 10, 20)          # the fine decision of tests.test_disclosure.decided
SERVED = date(2026, 10, 21)
DECIDED = date(2026, 4, 1)        # demolition decisions: their periods to challenge have run out
REMINDED = date(2026, 4, 20)


# --- helpers --------------------------------------------------------------------------------------------

def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def section(page: str, anchor: str) -> str:
    return page.split(f'id="{anchor}"', 1)[1].split("</section>", 1)[0]


def refused(response) -> str:
    return text(response).split('id="refused"', 1)[1].split("</div>", 1)[0]


def panel(client, case, anchor: str) -> str:
    response = client.get(f"/cases/{case.id}")
    assert response.status_code == 200
    return section(text(response), anchor)


def post(client, case, path: str, prefix: str | None = None, *, with_token: bool = True, **fields):
    data = {(f"{prefix}-{k}" if prefix else k): v for k, v in fields.items()}
    if with_token:
        data["csrf_token"] = csrf_token(client, "/home")
    return client.post(f"/execution/cases/{case.id}/{path}", data=data)


def version(case) -> int:
    db.session.expire_all()
    row = execution.execution_of(case)
    return row.version if row is not None else 0


def fresh(case) -> Execution | None:
    db.session.expire_all()
    return execution.execution_of(case)


def count(model) -> int:
    return db.session.scalar(select(func.count(model.id)))


def serve_decision(make, case, served_on=SERVED):
    return make.serve(case, served_on=served_on, today=served_on)


def in_service(make, team, **kw):
    """A fine of 5000 decided on DAY, served on SERVED, the case in the service stage."""
    case, decision = decided(make, team, **kw)
    serve_decision(make, case)
    workflow.advance(case, Stage.SERVICE, actor=team["officer"], today=SERVED + timedelta(days=1))
    db.session.commit()
    return case, decision


def demolition_case(make, team, *, route="planning"):
    """A demolition decided on DECIDED, served the next day, the case in execution."""
    extra = {}
    if route == "land":
        extra = {"power_source": "delegated", "delegation_document": "浙政发〔2024〕5号 赋权乡镇行使部分行政执法事项",
                 "delegation_published_on": date(2024, 3, 1), "legal_basis": "《中华人民共和国土地管理法》第七十八条"}
    matter = make.matter(team["body"], route=route, **extra)
    case = make.case(team, approve=True, matter=matter, filed_on=DECIDED - timedelta(days=30))
    workflow.advance(case, Stage.NOTICE, actor=team["officer"], today=DECIDED - timedelta(days=12))
    db.session.commit()
    make.notice(case, served_on=DECIDED - timedelta(days=10), today=DECIDED - timedelta(days=10))
    make.decide(case, team, today=DECIDED)
    serve_decision(make, case, DECIDED + timedelta(days=1))
    workflow.advance(case, Stage.SERVICE, actor=team["officer"], today=DECIDED + timedelta(days=2))
    workflow.advance(case, Stage.EXECUTION, actor=team["officer"])
    db.session.commit()
    return case


def later(days: int, hour: int = 10) -> datetime:
    return datetime.combine(local_today() + timedelta(days=days), time(hour, 0))


# --- service --------------------------------------------------------------------------------------------

def test_the_service_panel_shows_the_overdue_decision_and_asks_for_the_receipt_first(make, team, as_user):
    case, decision = decided(make, team)
    client = as_user(team["officer"])
    service = panel(client, case, "service")
    due, _exact = serving.decision_due_on(decision)
    late = (local_today() - due).days
    assert 'data-state="overdue"' in service
    assert f"Not served and overdue: it was due by {due.isoformat()}, {late} days ago." in service
    assert 'id="no-services"' in service and 'id="service-form"' in service
    assert "Left at the home after a refusal (留置送达)" in service and "Reminder (催告书)" in service
    hint = service.split('id="no-proof-hint"', 1)[1].split("</p>", 1)[0]
    assert "upload the signed receipt first" in hint and f'href="/cases/{case.id}/records/new"' in hint
    # Before the decision there is nothing to serve: no panel.
    early = make.case(team, approve=True)
    assert 'id="service"' not in text(client.get(f"/cases/{early.id}"))


def test_an_officer_records_the_service_of_the_decision_and_sees_it(make, team, as_user):
    case, decision = decided(make, team)
    receipt = make.record(case, "service_receipt")
    client = as_user(team["officer"])
    assert f'<option value="{receipt.id}">#{receipt.id} Proof of service' in panel(client, case, "service")
    response = post(client, case, "service", "service", document="decision", method="direct",
                    served_on=SERVED.isoformat(), recipient="张三", proof_record=str(receipt.id))
    assert response.status_code == 302, text(response)
    assert response.headers["Location"].endswith(f"/cases/{case.id}#service")
    row = db.session.scalar(select(DocumentService))
    assert (row.document, row.method, row.served_on, row.deemed_served_on) == ("decision", "direct", SERVED, SERVED)
    assert row.recipient == "张三" and row.proof_record_id == receipt.id and row.decision_id == decision.id
    page = text(client.get(f"/cases/{case.id}"))
    assert "Service recorded: Decision, Handed over, receipt signed (直接送达), on 2026-10-21." in page
    service = section(page, "service")
    due, _exact = serving.decision_due_on(decision)
    assert f"Served on 2026-10-21, in time (due by {due.isoformat()})." in service
    listed = service.split('id="service-list"', 1)[1].split("</table>", 1)[0]
    assert "张三" in listed and listed.count('<time datetime="2026-10-21">') == 2
    assert f'href="/records/{receipt.id}"' in listed and 'id="no-proof-hint"' not in service


def test_a_public_notice_counts_as_served_thirty_days_later(make, team, as_user):
    case, _ = decided(make, team)
    receipt = make.record(case, "service_receipt")
    client = as_user(team["head"])
    response = post(client, case, "service", "service", document="decision", method="public_notice",
                    served_on=SERVED.isoformat(), proof_record=str(receipt.id), note="当事人下落不明，无法直接送达")
    assert response.status_code == 302
    deemed = add_calendar_days(SERVED, serving.PUBLIC_NOTICE_DAYS)
    assert db.session.scalar(select(DocumentService)).deemed_served_on == deemed
    service = panel(client, case, "service")
    assert f'<time datetime="{deemed.isoformat()}">' in service
    assert f"As a public notice it counts as served on {deemed.isoformat()}." in service


def test_a_refused_service_lists_every_unmet_condition_and_saves_nothing(make, team, as_user):
    case, _ = decided(make, team)
    client = as_user(team["officer"])
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    response = post(client, case, "service", "service", document="decision", method="left", served_on=tomorrow)
    assert response.status_code == 422
    box = refused(response)
    assert "The service was not recorded. Unmet conditions:" in box
    assert "A service cannot be dated in the future." in box
    assert "Attach the proof of service (送达回证) as a record of the case first, then choose it." in box
    assert "Name who signed for or received the document." in box
    assert "Leaving the document (留置送达) needs a witness or a video of it." in box
    assert 'id="service-form"' in text(response)  # the form comes back as posted
    response = post(client, case, "service", "service", document="", method="electronic", served_on="")
    box = refused(response)
    assert response.status_code == 422 and "Choose which document was served." in box
    assert "Give the day it was served." in box and "Electronic service needs the party's signed consent" in box
    response = post(client, case, "service", "service", served_on="not a date", proof_record="abc")
    assert response.status_code == 422 and "Not a valid date value" in text(response)
    assert 'id="field-errors"' in text(response)
    assert count(DocumentService) == 0


def test_only_the_officers_on_the_case_and_the_head_record_a_service(make, team, as_user):
    case, _ = decided(make, team)
    receipt = make.record(case, "service_receipt")
    stranger = make.user(Role.OFFICER, body=team["body"])
    for user in (team["auditor"], team["reviewer"], stranger):
        client = as_user(user)
        service = panel(client, case, "service")
        assert "Not served and overdue" in service and 'id="service-form"' not in service, user.username
        response = post(client, case, "service", "service", document="decision", method="direct",
                        served_on=SERVED.isoformat(), recipient="张三", proof_record=str(receipt.id))
        assert response.status_code == 403, user.username
    assert count(DocumentService) == 0
    other = make.team()
    assert post(as_user(other["officer"]), case, "service", "service").status_code == 404


def test_every_screen_needs_a_login_and_every_post_the_csrf_token(client, make, team, as_user):
    case, _ = decided(make, team)
    response = client.get(f"/execution/cases/{case.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    token = csrf_token(client, "/login")
    for path in ("service", "compliance", "plan", "start", "payment", "self-check"):
        response = client.post(f"/execution/cases/{case.id}/{path}", data={"csrf_token": token})
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    officer = as_user(team["officer"])
    response = post(officer, case, "service", "service", with_token=False, document="decision")
    assert response.status_code == 400 and CSRF_MESSAGE in text(response)
    assert post(officer, case, "self-check", with_token=False).status_code == 400
    assert count(DocumentService) == 0 and count(SelfCheck) == 0


# --- compliance and the fine ----------------------------------------------------------------------------

def test_the_fine_box_shows_the_late_penalty_and_a_payment_is_recorded(make, team, as_user):
    case, _ = in_service(make, team)
    client = as_user(team["officer"])
    state = execution.fine_state(case, local_today())
    fine = panel(client, case, "execution").split('id="fine"', 1)[1]
    due = add_calendar_days(SERVED, execution.FINE_DAYS)
    assert state.due_on == due and f'id="fine-due">{due.isoformat()}<' in fine
    assert 'id="fine-amount">5000.00 yuan' in fine and f'id="fine-days-late">{state.days_late}<' in fine
    assert f'id="fine-penalty">{state.late_penalty} yuan' in fine and f"<strong>{state.outstanding} yuan" in fine
    assert 'id="no-payments"' in fine and 'id="payment-form"' in fine and "Late penalty (3 per cent a day" in fine
    receipt = make.record(case, "fine_receipt")
    today = local_today()
    response = post(client, case, "payment", "payment", paid_on=today.isoformat(), amount="5000",
                    receipt=str(receipt.id))
    assert response.status_code == 302 and response.headers["Location"].endswith("#fine")
    payment = db.session.scalar(select(FinePayment))
    assert payment.amount == 5000 and payment.paid_on == today and payment.receipt_record_id == receipt.id
    page = text(client.get(f"/cases/{case.id}"))
    after = execution.fine_state(case, today)
    assert f"Payment of 5000.00 yuan recorded; {after.outstanding} yuan outstanding." in page
    fine = section(page, "execution").split('id="fine"', 1)[1]
    assert 'id="fine-paid">5000.00 yuan' in fine and f'href="/records/{receipt.id}"' in fine
    assert f"<strong>{after.outstanding} yuan" in fine  # the late penalty is still owed


def test_a_payment_without_an_amount_or_a_receipt_is_refused(make, team, as_user):
    case, _ = in_service(make, team)
    response = post(as_user(team["officer"]), case, "payment", "payment", paid_on=SERVED.isoformat(),
                    amount="abc", receipt="")
    assert response.status_code == 422
    box = refused(response)
    assert "The payment was not recorded. Unmet conditions:" in box
    assert "Give the amount paid, in yuan, more than zero." in box
    assert "Attach the receipt for the fine (罚款缴纳凭证) as a record of the case first, then choose it." in box
    assert count(FinePayment) == 0
    response = post(as_user(team["auditor"]), case, "payment", "payment", paid_on=SERVED.isoformat(), amount="10")
    assert response.status_code == 403


def test_a_fine_is_carried_out_by_paying_it_not_by_a_compliance(make, team, as_user):
    case, _ = in_service(make, team)
    page = panel(as_user(team["officer"]), case, "execution")
    assert 'id="compliance-form"' not in page and "No compliance of the party" not in page
    assert 'id="payment-form"' in page


def test_the_party_complied_of_their_own_accord(make, team, as_user):
    case, _ = in_service(make, team, decision_type="correction")
    proof = make.record(case, "compliance_proof")
    client = as_user(team["officer"])
    assert 'id="compliance-form"' in panel(client, case, "execution")
    response = post(client, case, "compliance", "comply", version="0", complied_on=SERVED.isoformat(),
                    record=str(proof.id), note="当事人已自行拆除")
    assert response.status_code == 302 and response.headers["Location"].endswith("#execution")
    row = fresh(case)
    assert row.complied_on == SERVED and row.compliance_record_id == proof.id and row.compliance_note == "当事人已自行拆除"
    execution_panel = panel(client, case, "execution")
    assert "The party complied with the decision of their own accord on 2026-10-21." in execution_panel
    assert 'id="compliance-form"' not in execution_panel
    # The auditor reads it, without any form.
    read_only = panel(as_user(team["auditor"]), case, "execution")
    assert 'id="complied"' in read_only and "<form" not in read_only


def test_a_refused_compliance_lists_every_condition(make, team, as_user):
    case, _ = in_service(make, team)
    client = as_user(team["officer"])
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    response = post(client, case, "compliance", "comply", version="0", complied_on=tomorrow, record="")
    assert response.status_code == 422
    box = refused(response)
    assert "Compliance cannot be dated in the future." in box
    assert "Attach the proof of compliance (履行情况证明) as a record of the case first, then choose it." in box
    response = post(client, case, "compliance", "comply", complied_on=SERVED.isoformat())  # no version
    assert response.status_code == 422 and 'id="field-errors"' in text(response)
    assert fresh(case) is None
    assert post(as_user(team["reviewer"]), case, "compliance", "comply", version="0").status_code == 403


def test_a_stale_version_of_the_execution_is_a_conflict(make, team, as_user):
    case, _ = in_service(make, team, decision_type="correction")
    proof = make.record(case, "compliance_proof")
    client = as_user(team["officer"])
    # The page was read before anyone touched the execution (version 0); meanwhile a row was made.
    row = execution.execution_of(case, create=True)
    db.session.commit()
    response = post(client, case, "compliance", "comply", version="0", complied_on=SERVED.isoformat(),
                    record=str(proof.id))
    assert response.status_code == 409
    assert "Someone else changed the execution of this case meanwhile" in refused(response)
    assert 'id="conflict"' in text(response)
    old = row.version
    row.compliance_note = "另一人修改"
    db.session.commit()
    response = post(client, case, "compliance", "comply", version=str(old), complied_on=SERVED.isoformat(),
                    record=str(proof.id))
    assert response.status_code == 409 and fresh(case).complied_on is None
    # The form comes back with the version now saved: sent again, it goes through.
    assert f'name="comply-version" type="hidden" value="{version(case)}"' in text(response)
    response = post(client, case, "compliance", "comply", version=str(version(case)),
                    complied_on=SERVED.isoformat(), record=str(proof.id))
    assert response.status_code == 302 and fresh(case).complied_on == SERVED


# --- the forced demolition (planning route) --------------------------------------------------------------

def test_the_go_no_go_list_shows_every_unmet_condition_and_the_start_is_refused_with_it(make, team, as_user):
    case = demolition_case(make, team)
    client = as_user(team["officer"])
    demolition = panel(client, case, "execution").split('id="demolition"', 1)[1]
    go = demolition.split('id="go-no-go"', 1)[1].split("</div>", 1)[0]
    assert "Not yet: the demolition may not go ahead. Unmet conditions:" in go
    for words in ("No public notice to demolish by a deadline (强制拆除公告) has been published.",
                  "The reminder (催告书) has not been served.",
                  "At least two officers must be assigned to the demolition; 0 assigned.",
                  "No time is scheduled for the demolition."):
        assert f"<li>{words}</li>" in go
    assert "Every condition is met" not in demolition
    assert 'id="start-form"' in demolition and 'id="plan-form"' in demolition and 'id="statement-form"' in demolition
    assert 'id="urgent-form"' not in demolition  # the head's only
    response = post(client, case, "start", "start", version="0")
    assert response.status_code == 422
    box = refused(response)
    assert "The demolition may not start. Unmet conditions:" in box and "The reminder (催告书) has not been served." in box
    assert "The party has not been notified to attend the demolition." in box  # checked at the moment of the start
    assert fresh(case) is None  # nothing was planned, and the refused start made no execution either
    assert client.get(f"/cases/{case.id}?lang=zh_CN").status_code == 200  # the default language renders too


def test_the_demolition_is_planned_with_officers_and_a_camera(make, team, as_user):
    case = demolition_case(make, team)
    client = as_user(team["officer"])
    plan = panel(client, case, "execution").split('id="plan-form"', 1)[1].split("</form>", 1)[0]
    assert f'value="{team["officer"].id}"' in plan and 'type="checkbox"' in plan and team["officer2"].name in plan
    at = later(7, hour=23)  # at night: accepted as a plan, shown as a condition unmet
    response = post(client, case, "plan", "plan", version="0", scheduled_at=at.strftime("%Y-%m-%dT%H:%M"),
                    camera="执法记录仪03号", officers=[str(team["officer"].id), str(team["officer2"].id)])
    assert response.status_code == 302 and response.headers["Location"].endswith("#demolition")
    row = fresh(case)
    assert row.scheduled_at == at and row.camera == "执法记录仪03号"
    assert {u.id for u in row.officers} == {team["officer"].id, team["officer2"].id}
    demolition = panel(client, case, "execution").split('id="demolition"', 1)[1]
    assert f'id="scheduled-at">{at.strftime("%Y-%m-%d %H:%M")}<' in demolition
    go = demolition.split('id="go-no-go"', 1)[1].split("</div>", 1)[0]
    assert "No time is scheduled" not in go and "At least two officers" not in go and "No camera" not in go
    assert f"{at.strftime('%Y-%m-%d %H:%M')} is at night (22:00–06:00)" in go


def test_a_refused_plan_and_a_stale_plan(make, team, as_user):
    case = demolition_case(make, team)
    other = make.team()
    client = as_user(team["head"])
    response = post(client, case, "plan", "plan", version="0",
                    scheduled_at=(later(-3)).strftime("%Y-%m-%dT%H:%M"), camera=" ",
                    officers=[str(team["officer"].id), str(other["officer"].id)])
    assert response.status_code == 422
    box = refused(response)
    assert "The demolition cannot be scheduled in the past." in box
    assert "Name the camera (body camera number) that films the whole demolition." in box
    assert f"{other['officer'].name} is not an active member of {team['body'].name}." in box
    assert fresh(case) is None
    response = post(client, case, "plan", "plan", version="0", scheduled_at="tomorrow")
    assert response.status_code == 422 and "Not a valid datetime value" in text(response)
    # Two users plan from the same page: the second is told, not silently overwriting.
    officers = [str(team["officer"].id), str(team["officer2"].id)]
    first = post(as_user(team["officer"]), case, "plan", "plan", version="0",
                 scheduled_at=later(5).strftime("%Y-%m-%dT%H:%M"), camera="01", officers=officers)
    assert first.status_code == 302
    response = post(client, case, "plan", "plan", version="0", scheduled_at=later(6).strftime("%Y-%m-%dT%H:%M"),
                    camera="02", officers=officers)
    assert response.status_code == 409 and fresh(case).camera == "01"
    stale = version(case)
    assert post(client, case, "plan", "plan", version=str(stale), scheduled_at=later(6).strftime("%Y-%m-%dT%H:%M"),
                camera="02", officers=officers).status_code == 302
    response = post(as_user(team["officer"]), case, "plan", "plan", version=str(stale),
                    scheduled_at=later(8).strftime("%Y-%m-%dT%H:%M"), camera="03", officers=officers)
    assert response.status_code == 409 and fresh(case).camera == "02"


def test_only_the_head_marks_the_execution_urgent(make, team, as_user):
    case = demolition_case(make, team)
    officer = as_user(team["officer"])
    assert post(officer, case, "urgent", "urgent", version="0", reason="台风将至，危房随时倒塌").status_code == 403
    head = as_user(team["head"])
    assert 'id="urgent-form"' in panel(head, case, "execution")
    response = post(head, case, "urgent", "urgent", version="0", reason="  ")
    assert response.status_code == 422
    assert "Give the reason why the execution cannot wait (it is kept with the case)." in refused(response)
    response = post(head, case, "urgent", "urgent", version="0", reason="台风将至，危房随时倒塌")
    assert response.status_code == 302
    row = fresh(case)
    assert row.urgent_reason == "台风将至，危房随时倒塌" and row.urgent_by_id == team["head"].id
    assert 'id="urgent-reason">台风将至，危房随时倒塌' in panel(officer, case, "execution")


def test_the_statement_on_the_reminder(make, team, as_user):
    case = demolition_case(make, team)
    client = as_user(team["officer"])
    response = post(client, case, "statement", "statement", version="0", heard_on=REMINDED.isoformat(),
                    statement="")
    assert response.status_code == 422
    box = refused(response)
    assert "Serve the reminder (催告书) first: the party states their case on it." in box
    assert "Write down what the party said, or mark that they waived their statement." in box
    make.serve(case, document="reminder", served_on=REMINDED, today=REMINDED)
    response = post(client, case, "statement", "statement", version="0",
                    heard_on=(REMINDED + timedelta(days=2)).isoformat(), statement="当事人称房屋系自住")
    assert response.status_code == 302
    row = fresh(case)
    assert row.statement_on == REMINDED + timedelta(days=2) and row.statement == "当事人称房屋系自住"
    demolition = panel(client, case, "execution").split('id="demolition"', 1)[1]
    assert "当事人称房屋系自住" in demolition
    assert "The party's statement and defence on the reminder have not been heard" not in demolition


@pytest.fixture
def go_ahead(monkeypatch):
    """Every condition of the demolition met (the conditions themselves are the service's tests), at 10:00 today."""
    start = datetime.combine(local_today(), time(10, 0))
    monkeypatch.setattr(execution, "demolition_unmet", lambda *args, **kwargs: [])
    monkeypatch.setattr("enforcement.views.execution.local_now", lambda: start)
    monkeypatch.setattr("enforcement.services.execution.local_now", lambda: start)
    return start


def test_the_demolition_starts_when_every_condition_is_met_and_ends_with_its_full_recording(make, team, as_user,
                                                                                            go_ahead):
    case = demolition_case(make, team)
    execution.plan_demolition(case, actor=team["officer"], scheduled_at=go_ahead, camera="01",
                              officer_ids=[team["officer"].id, team["officer2"].id], today=go_ahead.date())
    db.session.commit()
    client = as_user(team["officer"])
    demolition = panel(client, case, "execution").split('id="demolition"', 1)[1]
    assert "Every condition is met: the demolition may go ahead at the planned time." in demolition
    response = post(client, case, "start", "start", version=str(version(case)))
    assert response.status_code == 302 and response.headers["Location"].endswith("#demolition")
    assert fresh(case).started_at == go_ahead
    page = text(client.get(f"/cases/{case.id}"))
    assert f"The demolition started at {go_ahead.strftime('%Y-%m-%d %H:%M')}." in page
    demolition = section(page, "execution").split('id="demolition"', 1)[1]
    assert 'id="start-form"' not in demolition and 'id="plan-form"' not in demolition and 'id="done-form"' in demolition
    av = make.record(case, "execution_av", captured_at=(go_ahead - timedelta(minutes=5)).isoformat())
    ended = go_ahead + timedelta(hours=2)
    fields = {"version": str(version(case)), "ended_at": ended.strftime("%Y-%m-%dT%H:%M"), "av_record": str(av.id)}
    response = post(client, case, "finished", "done", av_until=(ended - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
                    **fields)
    assert response.status_code == 422
    assert f"The audio/video record ends at {(ended - timedelta(hours=1)).strftime('%Y-%m-%d %H:%M')}, before the " \
           f"demolition ended ({ended.strftime('%Y-%m-%d %H:%M')})." in refused(response)
    assert fresh(case).ended_at is None  # rolled back
    response = post(client, case, "finished", "done", av_until=(ended + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M"),
                    **fields)
    assert response.status_code == 302
    row = fresh(case)
    assert row.ended_at == ended and row.av_record_id == av.id
    demolition = panel(client, case, "execution").split('id="demolition"', 1)[1]
    assert f'id="ended-at">{ended.strftime("%Y-%m-%d %H:%M")}<' in demolition and 'id="done-form"' not in demolition


def test_the_execution_forms_refuse_the_wrong_roles(make, team, as_user, go_ahead):
    case = demolition_case(make, team)
    stranger = make.user(Role.OFFICER, body=team["body"])
    for user in (team["auditor"], team["reviewer"], stranger):
        client = as_user(user)
        read_only = panel(client, case, "execution")
        assert 'id="go-no-go"' in read_only and "<form" not in read_only, user.username
        for path, prefix in (("start", "start"), ("plan", "plan"), ("statement", "statement"), ("finished", "done"),
                             ("urgent", "urgent"), ("court", "court"), ("court-outcome", "court-outcome")):
            assert post(client, case, path, prefix, version="0").status_code == 403, (user.username, path)
    assert fresh(case) is None


# --- the land route: the court --------------------------------------------------------------------------

def test_the_court_window_and_the_application_to_the_court(make, team, as_user):
    case = demolition_case(make, team, route="land")
    client = as_user(team["officer"])
    execution_panel = panel(client, case, "execution")
    assert 'id="demolition"' not in execution_panel
    court = execution_panel.split('id="court"', 1)[1]
    assert "The period to apply has not begun:" in court and "The reminder (催告书) has not been served." in court
    make.serve(case, document="reminder", served_on=REMINDED, today=REMINDED)
    window = execution.court_window(case)
    court = panel(client, case, "execution").split('id="court"', 1)[1]
    assert (f"The body may apply to the court from {window.earliest.isoformat()} until {window.latest.isoformat()}."
            in court)
    applied = window.earliest.isoformat()
    response = post(client, case, "court", "court", version="0", applied_on=applied, court_name="")
    assert response.status_code == 422
    box = refused(response)
    assert "Name the court." in box and "The application (强制执行申请书) is not among the case's records." in box
    make.record(case, "court_application")
    response = post(client, case, "court", "court", version="0", applied_on=applied, court_name="永平县人民法院",
                    reference="(2026)浙0101行审12号")
    assert response.status_code == 302 and response.headers["Location"].endswith("#court")
    row = fresh(case)
    assert row.court_applied_on == window.earliest and row.court_name == "永平县人民法院"
    court = panel(client, case, "execution").split('id="court"', 1)[1]
    assert "永平县人民法院 ((2026)浙0101行审12号)" in court and 'id="court-outcome-form"' in court
    response = post(client, case, "court-outcome", "court-outcome", version=str(version(case)),
                    outcome_on=(window.earliest - timedelta(days=1)).isoformat(), outcome="准予执行")
    assert response.status_code == 422
    assert "The court's decision cannot come before the application." in refused(response)
    response = post(client, case, "court-outcome", "court-outcome", version=str(version(case)),
                    outcome_on=local_today().isoformat(), outcome="裁定准予执行，已由法院组织拆除")
    assert response.status_code == 302
    court = panel(client, case, "execution").split('id="court"', 1)[1]
    assert "裁定准予执行，已由法院组织拆除" in court and "<form" not in court


# --- the self-check -------------------------------------------------------------------------------------

def test_the_self_check_shows_its_findings_what_was_checked_and_every_run(make, team, as_user):
    case, _ = in_service(make, team)
    client = as_user(team["officer"])
    closing = panel(client, case, "closing")
    assert 'id="self-check-form"' in closing and 'id="no-self-check"' in closing
    response = post(client, case, "self-check")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/cases/{case.id}#closing")
    run = db.session.scalar(select(SelfCheck))
    assert not run.passed and run.finding_list
    page = text(client.get(f"/cases/{case.id}"))
    assert f"The self-check found {len(run.finding_list)} problem" in page
    closing = section(page, "closing")
    findings = closing.split('id="self-check-findings"', 1)[1].split("</div>", 1)[0]
    assert "Not passed. Findings:" in findings
    assert all(f"<li>{finding}</li>" in findings for finding in run.finding_list)
    assert "The fine is not paid in full" in findings
    items = closing.split('id="self-check-items"', 1)[1].split("</table>", 1)[0]
    assert "Required records of every stage" in items and "Conditions for closing" in items
    assert 'data-state="missing"' in items and 'class="badge bad">Missing' in items
    assert post(client, case, "self-check").status_code == 302
    history = section(text(client.get(f"/cases/{case.id}")), "closing").split('id="self-check-history"', 1)[1]
    assert history.count("<li>") == 2
    # Read-only for the auditor; refused to others.
    auditor = as_user(team["auditor"])
    assert 'id="self-check-form"' not in panel(auditor, case, "closing")
    assert post(auditor, case, "self-check").status_code == 403
    assert count(SelfCheck) == 2


def test_a_passed_self_check_and_a_self_check_too_early(make, team, as_user, monkeypatch):
    case, _ = decided(make, team)
    client = as_user(team["officer"])
    response = post(client, case, "self-check")  # still in the decision stage
    assert response.status_code == 422
    assert "The self-check is for a case after service, before it is archived" in refused(response)
    assert count(SelfCheck) == 0
    serve_decision(make, case)
    workflow.advance(case, Stage.SERVICE, actor=team["officer"], today=SERVED + timedelta(days=1))
    db.session.commit()
    from enforcement.services import closing
    monkeypatch.setattr(closing, "findings", lambda case, today: ([{"item": "Required records of every stage",
                                                                    "state": "ok", "detail": "Every required record is there."}], []))
    assert post(client, case, "self-check").status_code == 302
    page = text(client.get(f"/cases/{case.id}"))
    assert "The self-check passed: the case file is complete." in page
    result = section(page, "closing").split('id="self-check-result"', 1)[1].split("</p>", 1)[0]
    assert 'data-passed="1"' in result and "Passed: the case file is complete" in result


def test_the_case_page_survives_a_year_the_working_day_calendar_does_not_know(make, team, as_user, monkeypatch):
    case = demolition_case(make, team)

    def unknown(*_args, **_kwargs):
        raise calendar_service.CalendarUnknown("The working-day calendar does not cover 2027 yet.")

    monkeypatch.setattr(execution, "challenge_periods", unknown)
    response = as_user(team["officer"]).get(f"/cases/{case.id}")
    assert response.status_code == 200
    execution_panel = section(text(response), "execution")
    assert "The working-day calendar does not cover 2027 yet." in execution_panel.split('id="execution-problems"')[1]
    go = execution_panel.split('id="go-no-go"', 1)[1].split("</div>", 1)[0]
    assert "Every condition is met" not in go and "does not cover 2027" in go


def test_the_home_page_lists_what_is_due_after_the_decision(make, team, as_user):
    case, _ = decided(make, team)  # a fine decided on DAY, not served: the 7 working days ran out long ago
    page = text(as_user(team["officer"]).get("/home"))
    due = section(page, "follow-ups")
    assert case.number in due and "Serve the decision (7 working days)" in due and "overdue since 2026-10-29" in due
    serve_decision(make, case)
    due = section(text(as_user(team["head"]).get("/home")), "follow-ups")
    assert "Fine unpaid: the late penalty runs" in due and case.number in due
    assert 'id="follow-ups"' not in text(as_user(team["auditor"]).get("/home"))


def test_follow_ups_sort_overdue_first_and_stay_within_the_officers_cases(make, team):
    from enforcement.models import Role as R

    mine, _ = decided(make, team)
    stranger = make.user(R.OFFICER, body=team["body"])
    assert execution.follow_ups(stranger, DAY + timedelta(days=30)) == []
    items = execution.follow_ups(team["officer"], DAY + timedelta(days=1))
    assert [(i.case.id, i.state) for i in items] == [(mine.id, "open")]
    items = execution.follow_ups(team["officer"], DAY + timedelta(days=30))
    assert [(i.case.id, i.state) for i in items] == [(mine.id, "overdue")]


def test_a_reminder_is_served_with_the_deadline_it_gives_through_the_form(make, team, as_user):
    case, _ = in_service(make, team)  # the decision served on SERVED
    receipt = make.record(case, "service_receipt")
    client = as_user(team["officer"])
    assert 'name="service-comply_by"' in panel(client, case, "service")
    reminded = SERVED + timedelta(days=20)
    missing = post(client, case, "service", "service", document="reminder", method="direct",
                   served_on=reminded.isoformat(), recipient="张三", proof_record=str(receipt.id))
    assert missing.status_code == 422
    assert "Give the deadline the reminder sets the party to perform" in refused(missing)
    response = post(client, case, "service", "service", document="reminder", method="direct",
                    served_on=reminded.isoformat(), recipient="张三", proof_record=str(receipt.id),
                    comply_by=(reminded + timedelta(days=10)).isoformat())
    assert response.status_code == 302, text(response)
    row = serving.served(case, "reminder")
    assert row.comply_by == reminded + timedelta(days=10)
    assert f"to perform by {(reminded + timedelta(days=10)).isoformat()}" in panel(client, case, "service")
