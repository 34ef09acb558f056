"""The annual enforcement statistics: staff screens (generate, publish, figures linked to their cases,
exports) and the public statistics pages.

Thin views: the figures, the deadline and who may generate or publish are services.annual's. Staff
read the reports of the bodies in their scope (a report elsewhere is "not found"); the head or an
admin generates, the head publishes; auditors read everything and change nothing. A refusal of
the service (an unfinished year, an old revision, changed data) is shown as a message. The public
pages need no login and show published reports only, without any case id or number.
"""
from __future__ import annotations

import io

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, session,
                   url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..extensions import db, limiter
from ..models import AnnualReport, Body, Case
from ..services import annual
from ..services.clock import local_today
from ..services.errors import DomainError, NotFound, PermissionDenied
from ..services.permissions import can_view_case
from ..web import commit, flash_refusal

bp = Blueprint("reports", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _public_pdf_limit() -> str:
    return current_app.config.get("PUBLIC_PDF_RATE_LIMIT", "30 per minute")


# --- loading ------------------------------------------------------------------------------------------

def _report(report_id: int) -> AnnualReport:
    """A report of a body in the user's scope (404 otherwise)."""
    report = db.session.get(AnnualReport, report_id)
    if report is None or not annual.can_view(current_user, report):
        abort(404)
    return report


def _published(report_id: int) -> AnnualReport:
    report = db.session.get(AnnualReport, report_id)
    if report is None or report.published_at is None:
        abort(404)
    return report


def _download(data: bytes, mimetype: str, name: str):
    return send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=name)


def _filename(report: AnnualReport, ext: str) -> str:
    return f"{report.body.short_name}-{report.year}年度行政执法数据-第{report.revision}版.{ext}"


# --- staff ----------------------------------------------------------------------------------------------

@bp.route("/disclosure/reports")
@login_required
def index():
    today = local_today()
    scope = annual.report_scope(current_user)
    bodies = db.session.scalars(select(Body).where(Body.id.in_(scope)).order_by(Body.id)).all() if scope else []
    rows = []
    for body in bodies:
        years = sorted(set(annual.years_of(body.id)) | {today.year - 1}, reverse=True)
        rows.append({"body": body, "may_generate": annual.can_generate(current_user, body.id),
                     "years": [{"status": annual.status(body, year, today),
                                "revisions": annual.revisions(body.id, year)} for year in years]})
    generators = [r["body"] for r in rows if r["may_generate"]]
    return render_template("reports/index.html", rows=rows, generators=generators, default_year=today.year - 1,
                           today=today)


@bp.route("/disclosure/reports/generate", methods=["POST"])
@login_required
def generate():
    today = local_today()
    body = db.session.get(Body, request.form.get("body_id", type=int) or 0)
    if body is None or body.id not in annual.report_scope(current_user):
        abort(404)
    if not annual.can_generate(current_user, body.id):
        abort(403)
    raw_year = (request.form.get("year") or "").strip()
    if raw_year and not raw_year.isdigit():
        flash(_("Give the year as four digits, e.g. %(year)s.", year=today.year - 1), "error")
        return redirect(url_for("reports.index"))
    year = int(raw_year) if raw_year else today.year - 1
    try:
        report = annual.generate(body, year, actor=current_user, today=today)
    except (PermissionDenied, NotFound):
        raise
    except DomainError as exc:
        db.session.rollback()
        flash_refusal(exc)
        return redirect(url_for("reports.index"))
    commit()
    flash(_("The statistics of %(year)s are generated (revision %(revision)s). Check them, then publish.",
            year=year, revision=report.revision), "success")
    return redirect(url_for("reports.show", report_id=report.id))


@bp.route("/disclosure/reports/<int:report_id>")
@login_required
def show(report_id: int):
    report = _report(report_id)
    state = annual.status(report.body, report.year)
    may_publish = (annual.can_publish(current_user, report.body_id) and report.published_at is None
                   and state.latest is not None and state.latest.id == report.id)
    return render_template("reports/show.html", report=report, state=state, sections=annual.sections(report),
                           revisions=annual.revisions(report.body_id, report.year), may_publish=may_publish,
                           may_generate=annual.can_generate(current_user, report.body_id),
                           published_on=annual.published_on(report))


@bp.route("/disclosure/reports/<int:report_id>/figures/<key>")
@login_required
def cases(report_id: int, key: str):
    report = _report(report_id)
    try:
        item = annual.figure(report, key)
    except NotFound:
        abort(404)
    counted = annual.cases_for(report, key)
    visible = [c for c in counted if can_view_case(current_user, c)]
    return render_template("reports/cases.html", report=report, figure=item, value=annual.shown(item["value"]),
                           cases=visible,
                           hidden=len(counted) - len(visible))


@bp.route("/disclosure/reports/<int:report_id>/publish", methods=["POST"])
@login_required
def publish(report_id: int):
    report = _report(report_id)
    if not annual.can_publish(current_user, report.body_id):
        abort(403)
    try:
        annual.publish(report, actor=current_user)
    except (PermissionDenied, NotFound):
        raise
    except DomainError as exc:
        db.session.rollback()
        flash_refusal(exc)
    else:
        commit()
        flash(_("Revision %(revision)s of the %(year)s statistics is published on the public pages.",
                revision=report.revision, year=report.year), "success")
    return redirect(url_for("reports.show", report_id=report_id))


@bp.route("/disclosure/reports/<int:report_id>/verify", methods=["GET", "POST"])
@login_required
def verify(report_id: int):
    report = _report(report_id)
    problems = annual.verify(report)
    return render_template("reports/verify.html", report=report, problems=problems)


def _case_numbers(report: AnnualReport) -> dict[int, str]:
    """Numbers of the counted cases the viewer may see."""
    ids = sorted({i for s in annual.sections(report) for f in s["figures"] for i in f["case_ids"]})
    if not ids:
        return {}
    rows = db.session.scalars(select(Case).where(Case.id.in_(ids))).all()
    return {c.id: c.number for c in rows if can_view_case(current_user, c)}


@bp.route("/disclosure/reports/<int:report_id>.xlsx")
@login_required
def xlsx(report_id: int):
    report = _report(report_id)
    return _download(annual.xlsx(report, case_numbers=_case_numbers(report)), XLSX, _filename(report, "xlsx"))


@bp.route("/disclosure/reports/<int:report_id>.pdf")
@login_required
def pdf(report_id: int):
    report = _report(report_id)
    return _download(annual.pdf(report), "application/pdf", _filename(report, "pdf"))


# --- public ------------------------------------------------------------------------------------------------

PUBLIC_CACHE_SECONDS = 300


@bp.after_request
def public_cache_headers(response):
    """The public statistics may be cached for five minutes, by shared caches only when no session is in
    play (the language chosen is kept in the session), as the other public pages."""
    if (request.endpoint or "").startswith("reports.public_") and request.method in ("GET", "HEAD") \
            and response.status_code == 200:
        shared = not session and not session.modified
        response.headers["Cache-Control"] = f"{'public' if shared else 'private'}, max-age={PUBLIC_CACHE_SECONDS}"
        response.vary.add("Accept-Language")
        response.vary.add("Cookie")
    return response


@bp.route("/public/statistics")
def public_index():
    reports = annual.public_reports()
    bodies: dict[int, dict] = {}
    for report in reports:
        bodies.setdefault(report.body_id, {"body": report.body, "reports": []})["reports"].append(report)
    return render_template("reports/public_index.html", groups=list(bodies.values()),
                           published_on=annual.published_on, due_on=annual.due_on)


@bp.route("/public/statistics/<int:report_id>")
def public_show(report_id: int):
    report = _published(report_id)
    current = annual.latest_published(report.body_id, report.year)
    return render_template("reports/public_show.html", report=report, current=current,
                           sections=annual.sections(report, with_cases=False),
                           published_on=annual.published_on(report), due_on=annual.due_on(report.year))


@bp.route("/public/statistics/<int:report_id>.xlsx")
def public_xlsx(report_id: int):
    report = _published(report_id)
    return _download(annual.xlsx(report), XLSX, _filename(report, "xlsx"))


@bp.route("/public/statistics/<int:report_id>.pdf")
@limiter.limit(_public_pdf_limit)
def public_pdf(report_id: int):
    report = _published(report_id)
    return _download(annual.pdf(report), "application/pdf", _filename(report, "pdf"))
