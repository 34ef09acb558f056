"""The annual enforcement statistics (年度行政执法数据), published by 31 January (国办发〔2018〕118号).

`build(body, year)` counts, from the tables, the body's own cases (case.body_id) of one calendar
year: cases filed, decisions and penalties, revocations and changes, legal reviews, hearings,
reconsiderations and suits, demolitions and the publications of decisions. It returns the figures
and the SHA-256 digest of exactly the source rows it counted (their ids and the fields counted,
ordered by id), so regenerating from unchanged data gives the same digest and any change to a
counted row shows (`verify`).

`generate` keeps each run as a new revision (a row is never edited except to publish it); the
head publishes the latest revision, which then replaces any older one on the public page. Each
figure keeps the ids of the cases it counts, for staff; the public pages and exports drop them.

Labels are stored in Chinese, the language of the published report. Dates of a year are local
dates (Beijing time) where the row keeps a date; a review's time of sign-off is a UTC timestamp and
counts in the local year it falls in.
"""
from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import (AnnualReport, Body, Case, Challenge, ChallengeKind, ChallengeOutcome, Decision, DecisionKind,
                      DecisionType, Notice, Publication, PublicationKind, ReviewRequest, ReviewStatus, Role, Source,
                      User)
from ..models._types import utcnow
from ..models.catalogue import Matter
from . import audit
from .clock import local_today, to_local
from .errors import Conflict, DomainError, NotFound, PermissionDenied
from .permissions import can_manage_body, case_scope, is_head_of, master_data_scope

FORMAT = 1          # the layout of `data`; bumped when the figures change meaning
DIGEST_VERSION = 1  # the layout of the source rows hashed
FIRST_YEAR = 2000   # nothing was recorded in this system before
CENT = Decimal("0.01")


# --- the deadline ---------------------------------------------------------------------------------------

def due_on(year: int) -> date:
    """The previous year's statistics are published by 31 January (国办发〔2018〕118号).

    A fixed calendar day, not a period: it does not move when it falls in the Spring Festival holiday.
    """
    return date(year + 1, 1, 31)


STATUS_LABELS = {
    "not_generated": _l("not generated"),
    "generated": _l("generated, not published"),
    "published_on_time": _l("published on time"),
    "published_late": _l("published late"),
    "overdue": _l("overdue: not published by 31 January"),
}


@dataclass
class ReportStatus:
    code: str                         # one of STATUS_LABELS
    year: int
    due_on: date
    latest: AnnualReport | None       # the newest revision
    published: AnnualReport | None    # the revision the public reads (newest published)
    first_published_on: date | None   # when the statistics first went public (what the deadline judges)

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self.code])

    @property
    def late(self) -> bool:
        return self.code in ("published_late", "overdue")

    @property
    def newer_unpublished(self) -> bool:
        """A revision newer than the published one awaits publication."""
        return self.published is not None and self.latest is not None and self.latest.id != self.published.id


def published_on(report: AnnualReport) -> date | None:
    return to_local(report.published_at).date() if report.published_at else None


def status(body: Body, year: int, today: date | None = None) -> ReportStatus:
    """Where the body's statistics of `year` stand against the 31 January deadline."""
    today = today or local_today()
    rows = revisions(body.id, year)
    latest = rows[-1] if rows else None
    published = [r for r in rows if r.published_at is not None]
    current = published[-1] if published else None
    first = min((published_on(r) for r in published), default=None)
    due = due_on(year)
    if first is not None:
        code = "published_on_time" if first <= due else "published_late"
    elif today > due:
        code = "overdue"
    elif latest is not None:
        code = "generated"
    else:
        code = "not_generated"
    return ReportStatus(code, year, due, latest, current, first)


# --- who may do what --------------------------------------------------------------------------------------

def report_scope(user) -> set[int]:
    """Bodies whose reports the user reads: the bodies of the cases they see; admins, their bodies."""
    scope = set(case_scope(user))
    if user is not None and getattr(user, "is_authenticated", False) and user.active and user.has_role(Role.ADMIN):
        scope |= master_data_scope(user)
    return scope


def can_view(user, report: AnnualReport) -> bool:
    return report.body_id in report_scope(user)


def can_generate(user, body_id: int) -> bool:
    """The head of the body, or an admin of it."""
    return is_head_of(user, body_id) or can_manage_body(user, body_id)


def can_publish(user, body_id: int) -> bool:
    return is_head_of(user, body_id)


# --- reading ------------------------------------------------------------------------------------------------

def revisions(body_id: int, year: int) -> list[AnnualReport]:
    return list(db.session.scalars(select(AnnualReport).where(AnnualReport.body_id == body_id,
                                                              AnnualReport.year == year)
                                   .order_by(AnnualReport.revision)))


def latest(body_id: int, year: int) -> AnnualReport | None:
    return db.session.scalar(select(AnnualReport).where(AnnualReport.body_id == body_id, AnnualReport.year == year)
                             .order_by(AnnualReport.revision.desc()).limit(1))


def latest_published(body_id: int, year: int) -> AnnualReport | None:
    """The revision the public reads: the newest one published."""
    return db.session.scalar(select(AnnualReport).where(
        AnnualReport.body_id == body_id, AnnualReport.year == year, AnnualReport.published_at.is_not(None))
        .order_by(AnnualReport.revision.desc()).limit(1))


def years_of(body_id: int) -> list[int]:
    return list(db.session.scalars(select(AnnualReport.year).where(AnnualReport.body_id == body_id)
                                   .distinct().order_by(AnnualReport.year.desc())))


def public_reports() -> list[AnnualReport]:
    """Per body and year, the newest published revision; bodies by id, newest year first."""
    rows = db.session.scalars(select(AnnualReport).where(AnnualReport.published_at.is_not(None))
                              .order_by(AnnualReport.body_id, AnnualReport.year.desc(),
                                        AnnualReport.revision.desc())).all()
    seen, shown = set(), []
    for row in rows:
        if (row.body_id, row.year) not in seen:
            seen.add((row.body_id, row.year))
            shown.append(row)
    return shown


def shown(value) -> str:
    """A figure's value as printed: counts as they are, amounts (decimal strings) as 12,345.00."""
    return "{:,.2f}".format(Decimal(value)) if isinstance(value, str) else str(value)


def sections(report: AnnualReport, *, with_cases: bool = True) -> list[dict]:
    """The report's sections, each figure with its value as printed (`shown`); for the public
    (`with_cases=False`) without any case ids."""
    return [{"key": s["key"], "title": s["title"],
             "figures": [{**{k: v for k, v in f.items() if with_cases or k != "case_ids"}, "shown": shown(f["value"])}
                         for f in s["figures"]]}
            for s in report.figures.get("sections", [])]


def figure(report: AnnualReport, key: str) -> dict:
    for section in report.figures.get("sections", []):
        for item in section["figures"]:
            if item["key"] == key:
                return item
    raise NotFound(_("The report has no figure %(key)s.", key=key))


def cases_for(report: AnnualReport, key: str) -> list[Case]:
    """The cases a figure counts, by id (the caller shows only those the viewer may see)."""
    ids = figure(report, key)["case_ids"]
    if not ids:
        return []
    return list(db.session.scalars(select(Case).where(Case.id.in_(ids)).order_by(Case.id)))


# --- computing ------------------------------------------------------------------------------------------------

def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _amount(value) -> str | None:
    return None if value is None else str(Decimal(value).quantize(CENT))


def _in_year(day: date | None, year: int) -> bool:
    return day is not None and day.year == year


def _figure(key: str, label: str, case_ids, value=None) -> dict:
    ids = list(case_ids)
    return {"key": key, "label": label, "value": len(ids) if value is None else value,
            "case_ids": sorted(set(ids))}


def _section(key: str, title: str, figures: list[dict]) -> dict:
    return {"key": key, "title": title, "figures": figures}


def _sources(body: Body, year: int) -> dict:
    """The source rows, as plain values, ordered by id: what the figures count and the digest covers."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    own = Case.body_id == body.id

    cases = [{"id": i, "filed_on": _iso(f), "matter_id": m, "source": s} for i, f, m, s in db.session.execute(
        select(Case.id, Case.filed_on, Case.matter_id, Case.source)
        .where(own, Case.filed_on.between(start, end)).order_by(Case.id))]

    decisions = [{"id": i, "case_id": c, "matter_id": m, "kind": k, "decision_type": t, "decided_on": _iso(d),
                  "fine_amount": _amount(fa), "confiscation_value": _amount(cv), "major": bool(mj)}
                 for i, c, m, k, t, d, fa, cv, mj in db.session.execute(
                     select(Decision.id, Decision.case_id, Case.matter_id, Decision.kind, Decision.decision_type,
                            Decision.decided_on, Decision.fine_amount, Decision.confiscation_value, Decision.major)
                     .join(Case, Case.id == Decision.case_id)
                     .where(own, Decision.decided_on.between(start, end)).order_by(Decision.id))]

    # A review's sign-off is a UTC timestamp: take a day either side, then keep the local year.
    reviews = [{"id": i, "case_id": c, "status": s, "reviewed_at": r.isoformat()}
               for i, c, s, r in db.session.execute(
                   select(ReviewRequest.id, ReviewRequest.case_id, ReviewRequest.status, ReviewRequest.reviewed_at)
                   .join(Case, Case.id == ReviewRequest.case_id)
                   .where(own, ReviewRequest.status != ReviewStatus.PENDING.value,
                          ReviewRequest.reviewed_at >= datetime(year, 1, 1) - timedelta(days=1),
                          ReviewRequest.reviewed_at < datetime(year + 1, 1, 1) + timedelta(days=1))
                   .order_by(ReviewRequest.id))
               if to_local(r).year == year]

    hearings = [{"id": i, "case_id": c, "hearing_requested_on": _iso(rq) if _in_year(rq, year) else None,
                 "hearing_held_on": _iso(h) if _in_year(h, year) else None}
                for i, c, rq, h in db.session.execute(
                    select(Notice.id, Notice.case_id, Notice.hearing_requested_on, Notice.hearing_held_on)
                    .join(Case, Case.id == Notice.case_id)
                    .where(own, or_(Notice.hearing_requested_on.between(start, end),
                                    Notice.hearing_held_on.between(start, end)))
                    .order_by(Notice.id))]

    challenges = [{"id": i, "case_id": c, "kind": k, "received_on": _iso(r), "outcome": o}
                  for i, c, k, r, o in db.session.execute(
                      select(Challenge.id, Challenge.case_id, Challenge.kind, Challenge.received_on, Challenge.outcome)
                      .join(Case, Case.id == Challenge.case_id)
                      .where(own, Challenge.received_on.between(start, end)).order_by(Challenge.id))]

    publications = [{"id": i, "case_id": c, "kind": k,
                     "published_on": _iso(p) if _in_year(p, year) else None,
                     "due_on": _iso(d) if _in_year(p, year) else None,
                     "withdrawn_on": _iso(w) if _in_year(w, year) else None}
                    for i, c, k, p, d, w in db.session.execute(
                        select(Publication.id, Publication.case_id, Publication.kind, Publication.published_on,
                               Publication.due_on, Publication.withdrawn_on)
                        .join(Case, Case.id == Publication.case_id)
                        .where(own, or_(Publication.published_on.between(start, end),
                                        Publication.withdrawn_on.between(start, end)))
                        .order_by(Publication.id))]

    # The matters named in the report: their names are its labels.
    matter_ids = sorted({r["matter_id"] for r in cases} | {r["matter_id"] for r in decisions})
    matters = [{"id": i, "code": c, "name": n} for i, c, n in db.session.execute(
        select(Matter.id, Matter.code, Matter.name).where(Matter.id.in_(matter_ids)).order_by(Matter.id))] \
        if matter_ids else []

    return {"digest_version": DIGEST_VERSION, "body_id": body.id, "year": year, "cases": cases,
            "decisions": decisions, "reviews": reviews, "hearings": hearings, "challenges": challenges,
            "publications": publications, "matters": matters}


def canonical(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def source_digest(sources: dict) -> str:
    return hashlib.sha256(canonical(sources).encode("utf-8")).hexdigest()


OUTCOME_WORDS = {
    ChallengeOutcome.UPHELD.value: "维持或驳回",
    ChallengeOutcome.REVOKED.value: "撤销",
    ChallengeOutcome.CHANGED.value: "变更",
    ChallengeOutcome.UNLAWFUL.value: "确认违法或无效",
    ChallengeOutcome.WITHDRAWN.value: "撤回申请或撤诉",
    ChallengeOutcome.OTHER.value: "其他结果",
}
CHALLENGE_WORDS = {ChallengeKind.RECONSIDERATION.value: "行政复议", ChallengeKind.SUIT.value: "行政诉讼"}


def _figures(body: Body, year: int, src: dict) -> dict:
    from .cases import source_label
    from .major import decision_type_label

    matters = {m["id"]: m for m in src["matters"]}

    def by_matter(rows, prefix: str) -> list[dict]:
        ids = sorted({r["matter_id"] for r in rows}, key=lambda i: (matters[i]["code"], i))
        return [_figure(f"{prefix}.matter.{i}", f"{matters[i]['name']}（{matters[i]['code']}）",
                        [r["case_id"] for r in rows if r["matter_id"] == i]) for i in ids]

    cases = [dict(row, case_id=row["id"]) for row in src["cases"]]
    with force_locale("zh_Hans_CN"):
        source_words = {s.value: str(source_label(s.value)) for s in Source}
        type_words = {t.value: str(decision_type_label(t.value)) for t in DecisionType}

    decisions = [d for d in src["decisions"] if d["kind"] == DecisionKind.DECISION.value]
    fines = [d for d in decisions if d["fine_amount"] is not None and Decimal(d["fine_amount"]) > 0]
    confiscations = [d for d in decisions if d["confiscation_value"] is not None
                     and Decimal(d["confiscation_value"]) > 0]
    demolitions = [d for d in decisions if d["decision_type"] == DecisionType.DEMOLITION.value]
    revocations = [d for d in src["decisions"] if d["kind"] == DecisionKind.REVOCATION.value]
    changes = [d for d in src["decisions"] if d["kind"] == DecisionKind.CHANGE.value]

    reviews = src["reviews"]
    requested = [h for h in src["hearings"] if h["hearing_requested_on"]]
    held = [h for h in src["hearings"] if h["hearing_held_on"]]

    challenge_figures = []
    for kind in ChallengeKind:
        rows = [c for c in src["challenges"] if c["kind"] == kind.value]
        words = CHALLENGE_WORDS[kind.value]
        challenge_figures.append(_figure(f"challenges.{kind.value}.total", f"{words}：收到", [c["case_id"] for c in rows]))
        for outcome in ChallengeOutcome:
            challenge_figures.append(_figure(
                f"challenges.{kind.value}.{outcome.value}", f"{words}：{OUTCOME_WORDS[outcome.value]}",
                [c["case_id"] for c in rows if c["outcome"] == outcome.value]))
        challenge_figures.append(_figure(f"challenges.{kind.value}.pending", f"{words}：尚未审结",
                                         [c["case_id"] for c in rows if c["outcome"] is None]))

    decision_pubs = [p for p in src["publications"] if p["kind"] == PublicationKind.DECISION.value]
    published = [p for p in decision_pubs if p["published_on"]]
    on_time = [p for p in published if p["due_on"] and p["published_on"] <= p["due_on"]]
    withdrawn = [p for p in decision_pubs if p["withdrawn_on"]]
    notices = [p for p in src["publications"]
               if p["kind"] == PublicationKind.DEMOLITION_NOTICE.value and p["published_on"]]

    def total(rows, field: str) -> str:
        return str(sum((Decimal(r[field]) for r in rows), Decimal("0")).quantize(CENT))

    def ids(rows) -> list[int]:
        return [r["case_id"] for r in rows]

    def by_status(outcome: ReviewStatus) -> list[dict]:
        return [r for r in reviews if r["status"] == outcome.value]

    return {
        "format": FORMAT,
        "body": {"id": body.id, "name": body.name},
        "year": year,
        "due_on": due_on(year).isoformat(),
        "sections": [
            _section("cases", "立案情况", [_figure("cases.total", "立案总数", ids(cases))]),
            _section("cases_by_matter", "立案数（按执法事项）", by_matter(cases, "cases")),
            _section("cases_by_source", "立案数（按案件来源）", [
                _figure(f"cases.source.{s.value}", source_words[s.value],
                        [c["id"] for c in cases if c["source"] == s.value]) for s in Source]),
            _section("decisions", "作出的行政执法决定", [
                _figure("decisions.total", "决定总数", ids(decisions)),
                _figure("decisions.major", "其中：重大执法决定", ids([d for d in decisions if d["major"]])),
                *[_figure(f"decisions.type.{t.value}", f"决定类型：{type_words[t.value]}",
                          ids([d for d in decisions if d["decision_type"] == t.value])) for t in DecisionType]]),
            _section("decisions_by_matter", "决定数（按执法事项）", by_matter(decisions, "decisions")),
            _section("penalties", "罚款和没收", [
                _figure("penalties.fines", "罚款（件）", ids(fines)),
                _figure("penalties.fine_amount", "罚款金额（元）", ids(fines), total(fines, "fine_amount")),
                _figure("penalties.confiscations", "没收（件）", ids(confiscations)),
                _figure("penalties.confiscation_value", "没收财物价值（元）", ids(confiscations),
                        total(confiscations, "confiscation_value"))]),
            _section("replacements", "决定的撤销和变更", [
                _figure("replacements.revocations", "撤销决定", ids(revocations)),
                _figure("replacements.changes", "变更决定", ids(changes))]),
            _section("reviews", "重大执法决定法制审核", [
                _figure("reviews.total", "审核完成", ids(reviews)),
                _figure("reviews.passed", "审核通过", ids(by_status(ReviewStatus.PASSED))),
                _figure("reviews.returned", "退回补充或修改", ids(by_status(ReviewStatus.RETURNED))),
                _figure("reviews.failed", "审核不通过", ids(by_status(ReviewStatus.FAILED)))]),
            _section("hearings", "听证", [
                _figure("hearings.requested", "当事人申请听证", ids(requested)),
                _figure("hearings.held", "举行听证", ids(held))]),
            _section("challenges", "行政复议和行政诉讼", challenge_figures),
            _section("demolitions", "拆除违法建设", [
                _figure("demolitions.decisions", "限期拆除决定", ids(demolitions)),
                _figure("demolitions.notices", "公告限期自行拆除", ids(notices))]),
            _section("publications", "执法决定公示", [
                _figure("publications.published", "公开执法决定", ids(published)),
                _figure("publications.on_time", "其中：按期公开", ids(on_time)),
                _figure("publications.withdrawn", "撤回已公开的决定", ids(withdrawn))]),
        ],
    }


def build(body: Body, year: int) -> tuple[dict, str]:
    """The figures of the body's `year` and the digest of the rows they were counted from."""
    src = _sources(body, year)
    digest = source_digest(src)
    return _figures(body, year, src), digest


# --- generating and publishing ----------------------------------------------------------------------------------

def _lock_body(body_id: int) -> None:
    """Serialise generating and publishing per body (an UPDATE that changes nothing takes the row lock)."""
    db.session.execute(update(Body).where(Body.id == body_id).values(id=Body.id)
                       .execution_options(synchronize_session=False))


def generate(body: Body, year: int, *, actor: User | None, today: date | None = None) -> AnnualReport:
    """Compute the year's figures and keep them as a new revision.

    `actor` None is the system (the command line, run by the server's operator).
    """
    today = today or local_today()
    if actor is not None and not can_generate(actor, body.id):
        raise PermissionDenied(_("Only the head or an administrator of %(body)s generates its annual statistics.",
                                 body=body.name))
    if year < FIRST_YEAR:
        raise DomainError(_("There are no statistics for the year %(year)s.", year=year))
    if year >= today.year:
        raise DomainError(_("The year %(year)s has not ended: its statistics are generated from 1 January %(next)s.",
                            year=year, next=year + 1))
    _lock_body(body.id)
    figures, digest = build(body, year)
    revision = (db.session.scalar(select(func.max(AnnualReport.revision)).where(
        AnnualReport.body_id == body.id, AnnualReport.year == year)) or 0) + 1
    report = AnnualReport(body_id=body.id, year=year, revision=revision, data=canonical(figures),
                          source_digest=digest, generated_by_id=actor.id if actor is not None else None,
                          generated_at=utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(report)
            db.session.flush()
    except IntegrityError:
        raise Conflict(_("Someone generated the statistics of %(year)s at the same moment; reload and try again.",
                         year=year)) from None
    audit.record("annual_report.generated", "annual_report", report.id, _label(body, year, revision), actor=actor,
                 after={"year": year, "revision": revision, "source_digest": digest}, body_id=body.id)
    return report


def _label(body: Body, year: int, revision: int) -> str:
    return f"{body.short_name} {year}年度行政执法数据 第{revision}版"


def publish(report: AnnualReport, *, actor: User | None) -> AnnualReport:
    """The head publishes the latest revision; it replaces any older one on the public page.

    Refused when a newer revision exists, when it is published already, or when the data it counted
    changed since it was generated (generate it again first). `actor` None is the system.
    """
    body = report.body
    if actor is not None and not can_publish(actor, report.body_id):
        raise PermissionDenied(_("Only the head of %(body)s publishes its annual statistics.", body=body.name))
    _lock_body(report.body_id)
    db.session.refresh(report)
    if report.published_at is not None:
        raise DomainError(_("Revision %(revision)s of %(year)s is published already.", revision=report.revision,
                            year=report.year))
    newest = latest(report.body_id, report.year)
    if newest is not None and newest.id != report.id:
        raise DomainError(_("Revision %(revision)s is not the latest: publish revision %(latest)s of %(year)s instead.",
                            revision=report.revision, latest=newest.revision, year=report.year))
    changes = verify(report)
    if changes:
        raise DomainError(_("The data changed since this revision was generated: generate the statistics again, "
                            "then publish the new revision. %(changes)s", changes=" ".join(changes)))
    previous = latest_published(report.body_id, report.year)
    report.published_at = utcnow()
    report.published_by_id = actor.id if actor is not None else None
    db.session.flush()
    audit.record("annual_report.published", "annual_report", report.id,
                 _label(body, report.year, report.revision), actor=actor,
                 before={"published_revision": previous.revision if previous else None},
                 after={"year": report.year, "revision": report.revision, "source_digest": report.source_digest,
                        "due_on": due_on(report.year), "published_on": published_on(report)},
                 body_id=report.body_id)
    return report


def verify(report: AnnualReport) -> list[str]:
    """Recompute the source digest now: empty when the data is unchanged, else what changed, in words."""
    figures, digest = build(report.body, report.year)
    if digest == report.source_digest:
        return []
    problems = [_("The data the report was made from changed since it was generated (digest then %(then)s…, "
                  "now %(now)s…).", then=report.source_digest[:12], now=digest[:12])]
    old = {f["key"]: f for s in report.figures.get("sections", []) for f in s["figures"]}
    new = {f["key"]: f for s in figures["sections"] for f in s["figures"]}
    differing = 0
    for key in list(old) + [k for k in new if k not in old]:
        before, after = old.get(key), new.get(key)
        if before is not None and after is not None and before["value"] == after["value"]:
            continue
        differing += 1
        label = (after or before)["label"]
        problems.append(_("%(label)s: %(before)s then, %(after)s now.", label=label,
                          before=before["value"] if before else "—", after=after["value"] if after else "—"))
    if not differing:
        problems.append(_("The figures are the same, but rows they count changed (a date, an amount or an outcome "
                          "within the year)."))
    return problems


# --- exports ----------------------------------------------------------------------------------------------------------

def title(report: AnnualReport) -> str:
    return f"{report.year}年度行政执法数据"


def _number(value):
    """A figure's value as a number for a spreadsheet (amounts are decimal strings)."""
    return Decimal(value) if isinstance(value, str) else value


def xlsx(report: AnnualReport, *, case_numbers: dict[int, str] | None = None) -> bytes:
    """The report as an Excel workbook. With `case_numbers` (staff), a column lists the numbers of the
    counted cases found in that map (those the viewer may see); without it, no case appears."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    sheet.title = "年度数据"
    bold = Font(bold=True)
    sheet.append([f"{report.body.name}{title(report)}"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(["年度", report.year])
    sheet.append(["版本", f"第{report.revision}版"])
    sheet.append(["生成时间", to_local(report.generated_at).strftime("%Y-%m-%d %H:%M")])
    sheet.append(["公开时间", to_local(report.published_at).strftime("%Y-%m-%d %H:%M") if report.published_at else "未公开"])
    sheet.append(["公开期限", due_on(report.year).isoformat()])
    sheet.append(["数据摘要 SHA-256", report.source_digest])
    heading = ["项目", "数值"] + (["统计的案件"] if case_numbers is not None else [])
    for section in sections(report, with_cases=case_numbers is not None):
        sheet.append([])
        sheet.append([section["title"]])
        sheet.cell(row=sheet.max_row, column=1).font = bold
        sheet.append(heading)
        for cell in sheet[sheet.max_row]:
            cell.font = bold
        for item in section["figures"]:
            row = [item["label"], _number(item["value"])]
            if case_numbers is not None:
                row.append("、".join(case_numbers[i] for i in item["case_ids"] if i in case_numbers))
            sheet.append(row)
            if isinstance(item["value"], str):
                sheet.cell(row=sheet.max_row, column=2).number_format = "#,##0.00"
    sheet.column_dimensions["A"].width = 44
    sheet.column_dimensions["B"].width = 18
    if case_numbers is not None:
        sheet.column_dimensions["C"].width = 60
        for row in sheet.iter_rows(min_col=3, max_col=3):
            row[0].alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def pdf(report: AnnualReport) -> bytes:
    """The report as a PDF in the documents' font (services.documents); it names no case."""
    from . import documents

    state = (f"公开于{published_on(report).isoformat()}" if report.published_at else "未公开")
    doc = documents.StatisticsDoc(
        body_name=report.body.name, title=title(report),
        subtitle=f"第{report.revision}版 · {state}",
        sections=[(s["title"], [(f["label"], f["shown"]) for f in s["figures"]])
                  for s in sections(report, with_cases=False)],
        note=(f"统计范围：本机关{report.year}年1月1日至12月31日的案件数据；依照国办发〔2018〕118号，"
              f"于{due_on(report.year).isoformat()}前公开。"),
        generated_at=to_local(report.generated_at).strftime("%Y-%m-%d %H:%M"),
        digest=report.source_digest)
    return documents.statistics_pdf(doc)

