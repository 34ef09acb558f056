"""Factories for tests: master data and cases built through the real services."""
from __future__ import annotations

import itertools
from datetime import date, timedelta

from enforcement.extensions import db
from enforcement.models import Role
from enforcement.services import audit, cases, catalogue, people
from enforcement.services.cases import PartyData

PASSWORD = "correct-horse-42"
_seq = itertools.count(1)


class Factory:
    """Each call creates, flushes and commits one object through the service layer."""

    def __init__(self):
        audit.ensure_head()

    def body(self, name: str | None = None, **kw):
        n = next(_seq)
        body = people.create_body(actor=None, name=name or f"测试镇人民政府{n}", short_name=kw.pop("short_name", f"测{n}"),
                                  area=kw.pop("area", f"测试镇{n}"), **kw)
        db.session.commit()
        return body

    def user(self, *roles, body=None, certificate: bool | dict = True, name: str | None = None, **kw):
        n = next(_seq)
        body = body or self.body()
        roles = roles or (Role.OFFICER,)
        if Role.REVIEWER in roles or "reviewer" in roles:
            kw.setdefault("legal_qualification_no", f"A2020{n:06d}")
        user = people.create_user(actor=None, username=kw.pop("username", f"user{n}"), name=name or f"人员{n}",
                                  body=body, password=PASSWORD, roles=roles, **kw)
        is_officer = Role.OFFICER in roles or "officer" in roles
        if certificate and is_officer:
            cert = {"number": f"CERT{n:06d}", "issuer": "测试省人民政府", "category": "城乡建设、自然资源",
                    "area": body.area, "valid_from": date(2024, 1, 1), "valid_until": date(2030, 12, 31)}
            if isinstance(certificate, dict):
                cert.update(certificate)
            people.add_certificate(actor=None, user=user, **cert)
        db.session.commit()
        return user

    def matter(self, body, **kw):
        n = next(_seq)
        values = {"code": f"M{n:04d}", "name": f"未取得乡村建设规划许可证进行建设{n}", "category": "penalty",
                  "enforcement_category": "城乡建设", "legal_basis": "《中华人民共和国城乡规划法》第六十五条",
                  "route": "planning", "power_source": "own", "in_major_catalogue": False}
        values.update(kw)
        matter = catalogue.create_matter(actor=None, body=body, **values)
        db.session.commit()
        return matter

    def team(self, body=None):
        """A body with two certified officers, a head, a reviewer, an auditor and an admin."""
        body = body or self.body()
        return {
            "body": body,
            "officer": self.user(Role.OFFICER, body=body),
            "officer2": self.user(Role.OFFICER, body=body),
            "head": self.user(Role.HEAD, body=body),
            "reviewer": self.user(Role.REVIEWER, body=body),
            "auditor": self.user(Role.AUDITOR, body=body),
            "admin": self.user(Role.ADMIN, body=body),
        }

    def case(self, team: dict, *, approve: bool = False, matter=None, filed_on: date | None = None, **kw):
        body = team["body"]
        matter = matter or self.matter(body)
        filed_on = filed_on or date.today() - timedelta(days=3)
        party = kw.pop("party", None) or PartyData(kind="person", name="张三", id_number="110101199001011234",
                                                   phone="13800138000", address="永平镇东村1号")
        values = dict(route=matter.route, source="grid_patrol", source_detail="网格员巡查发现",
                      village="东村", place_detail="东村村委会北侧", summary="未取得乡村建设规划许可证建设住房",
                      act_began_on=filed_on - timedelta(days=20), act_ended_on=None,
                      discovered_on=filed_on - timedelta(days=1), filed_on=filed_on,
                      officer_ids=[team["officer"].id, team["officer2"].id])
        values.update(kw)
        case = cases.file_case(actor=team["officer"], body=body, matter=matter, party=party, **values)
        db.session.commit()
        if approve:
            cases.approve_filing(case, actor=team["head"])
            db.session.commit()
        return case

    def record(self, case, type_code: str, *, actor=None, content: bytes | None = None, filename: str | None = None,
               **fields):
        """A record added through the real upload services (begin, then the bytes in one go)."""
        return add_record(case, type_code, actor=actor, content=content, filename=filename, **fields)

    def required_records(self, case, *, actor=None):
        """Every record the rules require before the case leaves its current stage."""
        return add_required_records(case, actor=actor)


    # --- notice, review and decision, through the real services -----------------------------------

    def notice(self, case, *, actor=None, decision_type: str = "demolition", fine_amount=None,
               confiscation_value=None, served_on: date | None = None, statement: str = "",
               hearing_offered: bool = False, today: date | None = None):
        """The notice served and the party's statement (or its waiver) recorded; the case must be in notice."""
        from enforcement.services import notice as notice_service

        actor = actor or next(o.user for o in case.active_officers)
        today = today or date.today()
        row = notice_service.record_notice(
            case, actor=actor, decision_type=decision_type, fine_amount=fine_amount,
            confiscation_value=confiscation_value, content="责令当事人于十五日内自行拆除违法建设的住房",
            legal_basis="《中华人民共和国城乡规划法》第六十五条", served_on=served_on or today,
            service_method="直接送达", hearing_offered=hearing_offered, today=today)
        notice_service.record_statement(case, actor=actor, statement=statement, waived=not statement)
        db.session.commit()
        return row

    def submit_review(self, case, *, actor=None, today: date | None = None, **proposal):
        from enforcement.services import review
        from enforcement.services.major import latest_notice

        actor = actor or next(o.user for o in case.active_officers)
        notice = latest_notice(case)
        values = {"decision_type": notice.decision_type, "fine_amount": notice.fine_amount,
                  "confiscation_value": notice.confiscation_value, "content": notice.content,
                  "legal_basis": notice.legal_basis}
        band = proposal.pop("discretion_band_id", None)
        reason = proposal.pop("outside_band_reason", "")
        values.update(proposal)
        request = review.submit(case, actor=actor, password=PASSWORD, attest=True,
                                proposal=review.ProposalData(**values), discretion_band_id=band,
                                outside_band_reason=reason, handler_opinion="建议依法作出决定", today=today)
        db.session.commit()
        return request

    def sign_review(self, request, reviewer, *, outcome: str = "passed", today: date | None = None,
                    problem: str = "evidence_sufficient"):
        from enforcement.services import review

        checks = {code: (True, "") for code in review.CHECK_CODES}
        if outcome != "passed":
            checks[problem] = (False, "现场照片不足以证明建筑面积，请补充测量记录")
        review.review(request, actor=reviewer, password=PASSWORD, no_conflict=True, checks=checks,
                      opinion="同意" if outcome == "passed" else "请补充证据后重新提交", outcome=outcome, today=today)
        db.session.commit()
        return request

    def discussion(self, case, head, *, today: date | None = None, upholds_review=None):
        from enforcement.services import review

        today = today or date.today()
        record = add_record(case, "collective_discussion", actor=head)
        row = review.record_collective_discussion(case, actor=head, held_on=today, participants="镇长、副镇长、司法所长",
                                                  conclusion="同意作出决定", record_id=record.id,
                                                  upholds_review=upholds_review, today=today)
        db.session.commit()
        return row

    def decide(self, case, team: dict, *, today: date | None = None, **proposal):
        """Bring a case in investigation or notice to a final decision the lawful way (review when major)."""
        from enforcement.models import Stage
        from enforcement.services import decisions, review, workflow
        from enforcement.services.major import latest_notice, major_reasons

        if case.stage == Stage.INVESTIGATION.value:
            workflow.advance(case, Stage.NOTICE, actor=team["officer"], today=today)
            db.session.commit()
        if latest_notice(case) is None:
            self.notice(case, actor=team["officer"], today=today)
        if major_reasons(case):
            request = self.submit_review(case, actor=team["officer"], today=today)
            self.sign_review(request, team["reviewer"], today=today)
            self.discussion(case, team["head"], today=today)
        plan = decisions.proposal_for(case)
        for key, value in proposal.items():
            setattr(plan, key, value)
        decision = decisions.finalise(case, actor=team["head"], password=PASSWORD, proposal=plan,
                                      performance="自收到本决定书之日起十五日内履行", today=today)
        db.session.commit()
        return decision

    # --- service, execution and closing, through the real services ----------------------------------

    def serve(self, case, *, actor=None, document: str = "decision", method: str = "direct",
              served_on: date | None = None, today: date | None = None, **kw):
        """A service of the document recorded with its receipt (送达回证) uploaded first."""
        from enforcement.services import serving

        actor = actor or next(o.user for o in case.active_officers)
        today = today or date.today()
        if served_on is None:
            from enforcement.services.decisions import current_decision

            decision = current_decision(case)
            served_on = max(decision.decided_on, min(today, decision.decided_on)) if decision else today
        receipt = add_record(case, "service_receipt", actor=actor)
        kw.setdefault("recipient", "张三")
        if document == "reminder":
            kw.setdefault("comply_by", served_on + timedelta(days=3))
        row = serving.record_service(case, actor=actor, document=document, method=method, served_on=served_on,
                                     proof_record_id=receipt.id, today=today, **kw)
        db.session.commit()
        return row

    def comply(self, case, *, actor=None, complied_on: date | None = None, today: date | None = None):
        """The party's voluntary compliance recorded with its proof."""
        from enforcement.services import execution

        actor = actor or next(o.user for o in case.active_officers)
        today = today or date.today()
        proof = add_record(case, "compliance_proof", actor=actor)
        row = execution.record_compliance(case, actor=actor, complied_on=complied_on or today, record_id=proof.id,
                                          note="当事人已自行拆除", today=today)
        db.session.commit()
        return row

    def self_check(self, case, *, actor=None, today: date | None = None):
        from enforcement.services import closing

        actor = actor or next(o.user for o in case.active_officers)
        row = closing.run_self_check(case, actor=actor, today=today)
        db.session.commit()
        return row

    def close(self, case, *, actor=None, today: date | None = None):
        """From service or execution to closed: served, complied with (when needed), self-checked."""
        from enforcement.models import Stage
        from enforcement.services import execution, serving, workflow

        actor = actor or next(o.user for o in case.active_officers)
        today = today or date.today()
        if serving.decision_service(case, today).service is None:
            self.serve(case, actor=actor, today=today)
        fine = execution.fine_state(case, today)
        if fine is not None and not fine.settled:
            receipt = add_record(case, "fine_receipt", actor=actor)
            execution.record_payment(case, actor=actor, paid_on=today, amount=fine.outstanding,
                                     receipt_record_id=receipt.id, today=today)
            db.session.commit()
        if execution.path(case) not in ("voluntary", "none"):
            self.comply(case, actor=actor, today=today)
        add_required_records(case, actor=actor)
        self.self_check(case, actor=actor, today=today)
        workflow.advance(case, Stage.CLOSED, actor=actor, today=today)
        db.session.commit()


AV_FIELDS = {"av_method": "执法记录仪全程录制", "av_maker": "执法人员", "av_proves": "现场状况",
             "transcript": "录音文字记录"}


def add_record(case, type_code: str, *, actor=None, content: bytes | None = None, filename: str | None = None,
               **fields):
    import io

    from enforcement import sample_files
    from enforcement.services import records

    kind = records.get_record_type(type_code)
    if content is None:
        content, default_name = sample_files.for_kind(kind.kind, type_code)
        filename = filename or default_name
    actor = actor or next(o.user for o in case.active_officers)
    if kind.is_audiovisual:
        for key, value in AV_FIELDS.items():
            fields.setdefault(key, value)
    upload = records.begin_upload(case, actor, filename=filename or f"{type_code}.bin", size=len(content),
                                  type_code=type_code, **fields)
    db.session.commit()
    received = records.receive(upload, actor, io.BytesIO(content), offset=0, before_transfer=db.session.commit)
    db.session.commit()
    return received.record


def add_required_records(case, *, actor=None) -> list:
    from enforcement.services import records

    return [add_record(case, item.record_type.code, actor=actor) for item in records.missing_for(case, case.stage)]
