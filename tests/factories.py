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
