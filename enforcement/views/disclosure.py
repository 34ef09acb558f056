"""Staff screens of public disclosure (行政执法公示, 事后公开): what is due, the masked copy beside the
original, publish, hold, withdraw; demolition notices; the disclosure settings.

Thin views: load the publication (404 outside the user's scope), call one service, commit,
redirect. The rules — what is due, the masking, the publish gate, who may act — live in
services.disclosure; a refusal lists every unmet condition. Every action carries the version of
the publication the user saw, so a concurrent change is reported, not overwritten.

Personal data: the original text and the list of masking changes are shown only to those who may
read the party's personal data (services.disclosure.can_read_original); everyone else sees the
masked copy only.
"""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import func, select
from werkzeug.routing import BuildError

from ..extensions import db
from ..forms.disclosure import (DemolitionNoticeForm, FoundUnlawfulForm, HoldForm, MaskedTextForm,
                                PublicationActionForm, SettingsForm, WithdrawForm)
from ..models import (Body, DecisionKind, DecisionType, Publication, PublicationKind,
                      PublicationStatus, Role)
from ..services import calendar
from ..services import cases as case_service
from ..services import access, disclosure
from ..services.calendar import CalendarUnknown
from ..services.clock import local_today
from ..services.decisions import current_decision
from ..services.errors import NotFound
from ..services.permissions import can_view_case, case_scope, is_head_of
from ..web import attempt, commit

bp = Blueprint("disclosure", __name__, url_prefix="/disclosure")

# The sections of the list, in the order a clerk works through them.
SECTIONS = ("overdue", "due_soon", "withdrawal_due", "drafts", "held", "published", "withdrawn", "superseded")
# Sections listed from the database (the others come from services.disclosure.obligations).
LISTED = {"drafts": PublicationStatus.DRAFT.value, "held": PublicationStatus.HELD.value,
          "published": PublicationStatus.PUBLISHED.value, "withdrawn": PublicationStatus.WITHDRAWN.value,
          "superseded": PublicationStatus.SUPERSEDED.value}
PER_SECTION = 50
# What a masking change removed (services.masking's kinds), for the restricted list of changes.
CHANGE_LABELS = {"party_name": _l("party's name"), "id_number": _l("ID number"), "phone": _l("phone number"),
                 "bank_account": _l("bank account"), "address": _l("address"), "health": _l("health information"),
                 "extra_term": _l("configured term"), "other_name": _l("another person's name")}
STATUS_BADGE = {PublicationStatus.DRAFT.value: "warn", PublicationStatus.HELD.value: "",
                PublicationStatus.PUBLISHED.value: "ok", PublicationStatus.WITHDRAWN.value: "bad",
                PublicationStatus.SUPERSEDED.value: ""}


@bp.context_processor
def helpers():
    return {"status_label": _label(disclosure.STATUS_LABELS), "kind_label": _label(disclosure.KIND_LABELS),
            "hold_label": _label(disclosure.HOLD_REASON_LABELS), "status_badge": STATUS_BADGE,
            "change_label": _label(CHANGE_LABELS)}


def _label(labels: dict):
    def label(code):
        return labels.get(code, code or "")
    return label


def _user():
    return current_user._get_current_object()


class DueWords:
    """A deadline in words as of `today`: working days left (the periods are working days), or how
    many days it is overdue."""

    def __init__(self, today: date):
        self.today = today
        self._left: dict[date, int | None] = {}  # many rows share a deadline

    def _workdays_until(self, day: date) -> int | None:
        if day not in self._left:
            try:
                self._left[day] = calendar.working_days_between(self.today, day)
            except CalendarUnknown:
                self._left[day] = None
        return self._left[day]

    def __call__(self, day: date) -> tuple[str, str]:
        """(the words, the badge class)."""
        if day < self.today:
            late = (self.today - day).days
            return ngettext("overdue by %(num)d day", "overdue by %(num)d days", late), "bad"
        if day == self.today:
            return _("due today"), "bad"
        left = self._workdays_until(day)
        if left is None:  # a year the calendar does not know: calendar days
            left = (day - self.today).days
            return ngettext("%(num)d day left", "%(num)d days left", left), "warn" if left <= 5 else "ok"
        left = max(left, 1)  # a deadline on a rest day (never computed so) still leaves that day
        return (ngettext("%(num)d working day left", "%(num)d working days left", left),
                "warn" if left <= 3 else "ok")


# --- loading and refusing -----------------------------------------------------------------------------

def _load(pub_id: int) -> Publication:
    """The publication, if its case is one the user may see (404 otherwise: its existence is not told)."""
    try:
        pub = disclosure.get_publication(pub_id)
    except NotFound:
        abort(404)
    if not can_view_case(current_user, pub.case):
        abort(404)
    return pub


def _to_show(pub_id: int):
    return redirect(url_for("disclosure.show", pub_id=pub_id))


class _Outcome:
    """What one service call gave: every unmet condition, and whether it was a stale version."""

    def __init__(self):
        self.refused: list[str] = []
        self.conflict = False


def _attempt(action) -> _Outcome:
    """Call one service; on a refusal roll back and keep every unmet condition (none: done)."""
    outcome = _Outcome()
    outcome.refused, outcome.conflict = attempt(action)
    return outcome


def _form_errors_flash(form) -> None:
    for field in form:
        for error in field.errors:
            flash(error if field.name in ("version", "csrf_token") else f"{field.label.text}: {error}", "error")


def public_url(pub: Publication) -> str | None:
    """The public page of a published (or withdrawn) notice, when the public site has that page."""
    if pub.status not in (PublicationStatus.PUBLISHED.value, PublicationStatus.WITHDRAWN.value):
        return None
    try:
        rule = next(iter(current_app.url_map.iter_rules("public.decision")))
    except (KeyError, StopIteration):
        return None
    names = sorted(rule.arguments)
    if len(names) != 1:
        return None
    try:
        return url_for("public.decision", **{names[0]: pub.id})
    except BuildError:
        return None


# --- what is due --------------------------------------------------------------------------------------

def _count(query) -> int:
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


@bp.route("/")
@login_required
def index():
    user = _user()
    scope = case_scope(user)
    if not scope:
        if user.has_role(Role.ADMIN):  # an administrator without cases keeps the rules only
            return redirect(url_for("disclosure.settings"))
        abort(403)
    today = local_today()
    bodies = list(db.session.scalars(select(Body).where(Body.id.in_(scope)).order_by(Body.id)))
    body_id = request.args.get("body", type=int)
    body_id = body_id if body_id in scope else None
    kind = request.args.get("kind") or None
    kind = kind if kind in disclosure.KIND_LABELS else None
    only = request.args.get("section")
    only = only if only in SECTIONS else None
    page = max(request.args.get("page", 1, type=int) or 1, 1)

    due = [o for o in disclosure.obligations([body_id] if body_id else scope, today)
           if kind is None or o.publication.kind == kind]
    publish = [o for o in due if o.action == "publish"]
    urgent = {o.publication.id for o in publish if o.state in ("overdue", "due_soon")}
    by_pub = {o.publication.id: o for o in due}
    sections = {
        "overdue": {"rows": [o for o in publish if o.state == "overdue"]},
        "due_soon": {"rows": [o for o in publish if o.state == "due_soon"]},
        "withdrawal_due": {"rows": [o for o in due if o.action == "withdraw"]},
    }
    for name, found in sections.items():
        found["total"] = len(found["rows"])
        found["urgent"] = any(o.state == "overdue" for o in found["rows"])
    for name, status in LISTED.items():
        query = disclosure.staff_query(user, status=status, kind=kind)
        if body_id:
            query = query.where(Publication.body_id == body_id)
        if name == "drafts" and urgent:
            query = query.where(Publication.id.not_in(urgent))  # listed above, under overdue or due soon
        if name == "published":
            query = query.where(Publication.withdraw_due_on.is_(None))  # listed under withdrawal due
        offset = (page - 1) * PER_SECTION if only == name else 0
        rows = list(db.session.scalars(query.offset(offset).limit(PER_SECTION + 1)))
        sections[name] = {"rows": rows[:PER_SECTION], "more": len(rows) > PER_SECTION, "total": _count(query)}
    args = {k: v for k, v in (("body", body_id), ("kind", kind)) if v}
    return render_template(
        "disclosure/index.html", sections=sections, order=SECTIONS, only=only, page=page, args=args,
        bodies=bodies, body_id=body_id, kind=kind, kinds=disclosure.KIND_LABELS, by_pub=by_pub, today=today,
        settings=disclosure.get_settings(), manager=user.has_role(Role.OFFICER, Role.HEAD),
        many_bodies=len(scope) > 1, due_words=DueWords(today))


# --- one publication ----------------------------------------------------------------------------------

def _obligation(pub: Publication, today: date):
    return next((o for o in disclosure.obligations([pub.body_id], today, case_ids=[pub.case_id])
                 if o.publication.id == pub.id), None)


def _page(pub: Publication, *, text_form: MaskedTextForm | None = None, hold_form: HoldForm | None = None,
          unlawful_form: FoundUnlawfulForm | None = None, withdraw_form: WithdrawForm | None = None,
          refused=(), refused_title: str | None = None, checked: bool = False, conflict: bool = False,
          status: int = 200):
    user = _user()
    case = pub.case
    today = local_today()
    manager = disclosure.can_manage(user, case)
    reader = disclosure.can_read_original(user, case)
    head = is_head_of(user, case.body_id)
    draft = pub.status == PublicationStatus.DRAFT.value
    held = pub.status == PublicationStatus.HELD.value
    published = pub.status == PublicationStatus.PUBLISHED.value
    if manager and draft and text_form is None:
        text_form = MaskedTextForm(formdata=None, text=pub.masked_text, version=pub.version)
    if text_form is not None and not (manager and draft):
        text_form = None
    hold_reasons = disclosure.hold_reasons()
    if head and draft and hold_form is None:
        hold_form = HoldForm(formdata=None, version=pub.version, reasons=hold_reasons,
                             labels=disclosure.HOLD_REASON_LABELS)
    may_declare_unlawful = head and (draft or held or (published and pub.withdraw_due_on is None))
    if may_declare_unlawful and unlawful_form is None:
        unlawful_form = FoundUnlawfulForm(formdata=None, version=pub.version)
    if manager and pub.withdrawal_pending and withdraw_form is None:
        withdraw_form = WithdrawForm(formdata=None, version=pub.version,
                                     reason=disclosure.suggested_withdrawal_reason(pub))
    # What would block publishing: the text as typed when the officer asked for a check, else as saved.
    typed = text_form.text.data if (checked and text_form is not None) else None
    leaks = disclosure.leak_problems(pub, typed) if draft else []
    unmet = disclosure.publication_problems(pub, today) if draft else []
    # A saved draft that still holds personal data is not shown to those who may not read it, nor
    # are the leak messages (they quote names and the tails of numbers): only how many there are.
    saved_leaks = disclosure.leak_problems(pub) if draft else []
    hide_text = not reader and bool(saved_leaks)
    if hide_text:
        unmet = [u for u in unmet if u not in saved_leaks] + [ngettext(
            "%(num)d item of personal data is still in the text.",
            "%(num)d items of personal data are still in the text.", len(saved_leaks))]
    return render_template(
        "disclosure/show.html", pub=pub, case=case, today=today, manager=manager, reader=reader, head=head,
        obligation=_obligation(pub, today), text_form=text_form, hold_form=hold_form,
        release_form=PublicationActionForm(formdata=None, version=pub.version) if head and held else None,
        remask_form=PublicationActionForm(formdata=None, version=pub.version) if manager and draft else None,
        unlawful_form=unlawful_form if may_declare_unlawful else None,
        withdraw_form=withdraw_form if manager and pub.withdrawal_pending else None,
        leaks=leaks, unmet=unmet, checked=checked, refused=list(refused), refused_title=refused_title,
        conflict=conflict, hide_text=hide_text, changes=pub.masking_changes if reader else [],
        public_url=public_url(pub), offline_on=disclosure.offline_on(pub), late=disclosure.is_late(pub),
        withdraw_late=bool(pub.withdrawn_on and pub.withdraw_due_on and pub.withdrawn_on > pub.withdraw_due_on),
        may_hold_reasons=hold_reasons, settings=disclosure.get_settings(), due_words=DueWords(today)), status


@bp.route("/<int:pub_id>")
@login_required
def show(pub_id: int):
    pub = _load(pub_id)
    if access.log_personal_data_view(_user(), pub.case, access.DISCLOSURE_PAGE): commit()  # noqa: E701
    return _page(pub)


@bp.route("/<int:pub_id>/save", methods=["POST"])
@login_required
def save(pub_id: int):
    """Save the corrected masked copy; with `check`, only show what would still block publishing."""
    pub = _load(pub_id)
    if not disclosure.can_manage(_user(), pub.case):
        abort(403)
    form = MaskedTextForm()
    if not form.validate_on_submit():
        return _page(pub, text_form=form, status=422)
    if "check" in request.form:
        return _page(pub, text_form=form, checked=True)
    outcome = _attempt(lambda: disclosure.save_masked(pub, actor=_user(), text=form.text.data,
                                                      version=form.version.data))
    if outcome.refused:
        form.version.data = pub.version
        return _page(pub, text_form=form, refused=outcome.refused, conflict=outcome.conflict,
                     refused_title=_("Nothing was saved."), status=409 if outcome.conflict else 422)
    commit()
    flash(_("The masked copy is saved. It is not public until it is published."), "success")
    return _to_show(pub.id)


@bp.route("/<int:pub_id>/publish", methods=["POST"])
@login_required
def publish(pub_id: int):
    """Publish the masked copy as shown in the text box (saved first, in the same step)."""
    pub = _load(pub_id)
    if not disclosure.can_manage(_user(), pub.case):
        abort(403)
    form = MaskedTextForm()
    if not form.validate_on_submit():
        return _page(pub, text_form=form, status=422)
    user = _user()

    def both():
        disclosure.save_masked(pub, actor=user, text=form.text.data, version=form.version.data)
        disclosure.publish(pub, actor=user)

    outcome = _attempt(both)
    if outcome.refused:
        form.version.data = pub.version
        return _page(pub, text_form=form, refused=outcome.refused, conflict=outcome.conflict, checked=True,
                     refused_title=_("Not published, and nothing was saved. Unmet conditions:"),
                     status=409 if outcome.conflict else 422)
    commit()
    flash(_("Published on %(day)s. The public reads the masked copy until %(until)s.",
            day=pub.published_on.isoformat(), until=disclosure.offline_on(pub).isoformat()), "success")
    return _to_show(pub.id)


def _simple(pub_id: int, action, success: str):
    """A step whose form is the version only: run it, flash the outcome, back to the publication."""
    pub = _load(pub_id)
    form = PublicationActionForm()
    if not form.validate_on_submit():
        _form_errors_flash(form)
        return _to_show(pub.id)
    outcome = _attempt(lambda: action(pub, form.version.data))
    if outcome.conflict:
        flash(outcome.refused[0], "error")
    elif outcome.refused:
        flash(_("The step was refused. Unmet conditions:"), "error")
        for item in outcome.refused:
            flash(item, "unmet")
    else:
        commit()
        flash(success, "success")
    return _to_show(pub.id)


@bp.route("/<int:pub_id>/remask", methods=["POST"])
@login_required
def remask(pub_id: int):
    return _simple(pub_id, lambda pub, version: disclosure.remask(pub, actor=_user(), version=version),
                   _("The masked copy was made again from the original by the rules in force. Hand corrections "
                     "were dropped: check it again before publishing."))


@bp.route("/<int:pub_id>/release", methods=["POST"])
@login_required
def release(pub_id: int):
    return _simple(pub_id, lambda pub, version: disclosure.release(pub, actor=_user(), version=version),
                   _("The hold is taken back: the draft is open again. Its deadline still runs from the decision."))


@bp.route("/<int:pub_id>/hold", methods=["POST"])
@login_required
def hold(pub_id: int):
    pub = _load(pub_id)
    if not is_head_of(_user(), pub.case.body_id):
        abort(403)
    form = HoldForm(reasons=disclosure.hold_reasons(), labels=disclosure.HOLD_REASON_LABELS)
    if not form.validate_on_submit():
        return _page(pub, hold_form=form, status=422)
    outcome = _attempt(lambda: disclosure.hold(pub, actor=_user(), reason=form.reason.data,
                                               detail=form.detail.data, version=form.version.data))
    if outcome.refused:
        form.version.data = pub.version
        return _page(pub, hold_form=form, refused=outcome.refused, conflict=outcome.conflict,
                     refused_title=_("The case was not held back. Unmet conditions:"),
                     status=409 if outcome.conflict else 422)
    commit()
    flash(_("The case is held back from publication: %(reason)s.",
            reason=disclosure.HOLD_REASON_LABELS[pub.hold_reason]), "success")
    return _to_show(pub.id)


@bp.route("/<int:pub_id>/found-unlawful", methods=["POST"])
@login_required
def found_unlawful(pub_id: int):
    pub = _load(pub_id)
    if not is_head_of(_user(), pub.case.body_id):
        abort(403)
    form = FoundUnlawfulForm()
    if not form.validate_on_submit():
        return _page(pub, unlawful_form=form, status=422)
    if form.version.data != pub.version:
        form.version.data = pub.version
        return _page(pub, unlawful_form=form, conflict=True, status=409, refused=[
            _("Someone else changed this publication in the meantime; reload and check it again.")])
    was_published = pub.status == PublicationStatus.PUBLISHED.value
    outcome = _attempt(lambda: disclosure.found_unlawful(pub, actor=_user(), cause=form.cause.data))
    if outcome.refused:
        return _page(pub, unlawful_form=form, refused=outcome.refused, status=422,
                     refused_title=_("Nothing was recorded. Unmet conditions:"))
    commit()
    if was_published:
        flash(_("Recorded. The notice must be withdrawn by %(day)s (3 working days, 行政处罚法 art. 48): give the "
                "public reason below.", day=pub.withdraw_due_on.isoformat()), "success")
    else:
        flash(_("Recorded. This draft will not be published."), "success")
    return _to_show(pub.id)


@bp.route("/<int:pub_id>/withdraw", methods=["POST"])
@login_required
def withdraw(pub_id: int):
    pub = _load(pub_id)
    if not disclosure.can_manage(_user(), pub.case):
        abort(403)
    form = WithdrawForm()
    if not form.validate_on_submit():
        return _page(pub, withdraw_form=form, status=422)
    outcome = _attempt(lambda: disclosure.withdraw(pub, actor=_user(), reason=form.reason.data,
                                                   version=form.version.data))
    if outcome.refused:
        form.version.data = pub.version
        return _page(pub, withdraw_form=form, refused=outcome.refused, conflict=outcome.conflict,
                     refused_title=_("Not withdrawn. Unmet conditions:"), status=409 if outcome.conflict else 422)
    commit()
    flash(_("The notice is withdrawn. The public page now shows the reason instead of the text."), "success")
    return _to_show(pub.id)


# --- the demolition notice ------------------------------------------------------------------------------

def offers_demolition_notice(user, case, decision=None) -> bool:
    """Whether the case page offers the notice: the decision in force orders a demolition."""
    decision = decision if decision is not None else current_decision(case)
    return (decision is not None and decision.kind != DecisionKind.REVOCATION.value
            and decision.decision_type == DecisionType.DEMOLITION.value and disclosure.can_manage(user, case))


@bp.route("/cases/<int:case_id>/demolition-notice", methods=["GET", "POST"])
@login_required
def demolition_notice(case_id: int):
    """限期自行拆除公告 (行政强制法 art. 44): a draft to review and publish like any other."""
    user = _user()
    case = case_service.get_case(user, case_id)  # 404 outside the user's scope
    if not disclosure.can_manage(user, case):
        abort(403)
    decision = current_decision(case)
    form = DemolitionNoticeForm()
    refused: list[str] = []
    if form.validate_on_submit():
        if decision is None or decision.kind == DecisionKind.REVOCATION.value:
            refused = [_("The case has no decision in force to announce.")]
        else:
            made = {}
            outcome = _attempt(lambda: made.setdefault("pub", disclosure.post_demolition_notice(
                decision, actor=user, self_demolition_by=form.self_demolition_by.data, note=form.note.data or "")))
            refused = outcome.refused
            if not refused:
                commit()
                flash(_("The demolition notice is drafted with the personal data masked. Check the masked copy, "
                        "then publish it."), "success")
                return _to_show(made["pub"].id)
    status = 422 if form.is_submitted() else 200
    return render_template("disclosure/demolition_notice.html", case=case, decision=decision, form=form,
                           refused=refused, today=local_today(),
                           existing=[p for p in disclosure.publications_of(case)
                                     if p.kind == PublicationKind.DEMOLITION_NOTICE.value]), status


# --- settings -------------------------------------------------------------------------------------------

def _stamp(row) -> str:
    """When the settings were last changed, as the page carries it (stale-page check)."""
    return row.updated_at.isoformat() if getattr(row, "updated_at", None) else ""


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    user = _user()
    row = disclosure.get_settings()
    admin = user.has_role(Role.ADMIN)
    if request.method == "POST" and not admin:
        abort(403)
    form = SettingsForm(obj=row) if request.method == "GET" else SettingsForm()
    if request.method == "GET":
        form.loaded.data = _stamp(row)
    refused: list[str] = []
    if admin and form.validate_on_submit():
        if (form.loaded.data or "") != _stamp(row):
            form.loaded.data = _stamp(row)
            refused = [_("Someone else changed the disclosure rules in the meantime. Check the page as it is now "
                         "and save again.")]
        else:
            outcome = _attempt(lambda: disclosure.update_settings(
                actor=user, **form.values(disclosure.SETTING_FIELDS)))
            refused = outcome.refused
            if not refused:
                commit()
                flash(_("The disclosure rules are saved. New drafts are masked by them; existing drafts keep their "
                        "text until an officer makes it again from the rules."), "success")
                return redirect(url_for("disclosure.settings"))
    status = 422 if request.method == "POST" else 200
    return render_template("disclosure/settings.html", form=form, row=row, admin=admin, refused=refused,
                           booleans=SettingsForm.BOOLEAN_FIELDS), status


# --- the case page's panel and the home page's box ------------------------------------------------------

def case_panel(case, user, today: date) -> dict:
    """The publications of a case for its page: status, deadline, and the demolition-notice offer."""
    pubs = disclosure.publications_of(case)
    due = {o.publication.id: o for o in disclosure.obligations([case.body_id], today, case_ids=[case.id])}
    decision = current_decision(case)
    return {"rows": pubs, "due": due, "can_notice": offers_demolition_notice(user, case, decision),
            "due_words": DueWords(today),
            "has_decision": decision is not None, "status_label": _label(disclosure.STATUS_LABELS),
            "kind_label": _label(disclosure.KIND_LABELS), "hold_label": _label(disclosure.HOLD_REASON_LABELS),
            "status_badge": STATUS_BADGE}


def due_counts(user, today: date) -> dict | None:
    """What is overdue or due soon in the user's scope, as the home page counts it (None: no scope)."""
    if not case_scope(user):
        return None
    due = disclosure.obligations_for(user, today)
    publish = [o for o in due if o.action == "publish"]
    withdraw = [o for o in due if o.action == "withdraw"]
    return {"overdue": sum(1 for o in publish if o.state == "overdue"),
            "due_soon": sum(1 for o in publish if o.state == "due_soon"),
            "withdraw": len(withdraw), "withdraw_overdue": sum(1 for o in withdraw if o.state == "overdue")}
