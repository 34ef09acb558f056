"""Screens of the challenges to a decision: administrative reconsideration (行政复议) and suit (行政诉讼).

- The case page's panel "Reconsideration and suits" (templates/challenges/_case_panel.html): each
  challenge with its defence deadline, the form to record one, per open challenge the form to
  record its outcome, and the case-file export as the evidence package. The partial computes its
  own data through `challenge_panel_for(case)`, a template helper this blueprint provides.
- `challenges.case`: the same panel on a page of its own, where a refused form comes back with
  every unmet condition.
- `challenges.index`: the open challenges in the user's scope, the earliest defence deadline first.

Thin views: load (404 outside the user's scope), check who may act (403), call one service,
commit, redirect. The rules — the deadlines, the conditions, the withdrawal a revoking outcome
starts — live in services.challenges. The outcome form carries the version of the challenge the
user saw, so a concurrent change is reported, not overwritten.
"""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from werkzeug.routing import BuildError

from ..extensions import db
from ..forms.challenges import ChallengeForm, DefenceForm, OutcomeForm
from ..models import WITHDRAWING_OUTCOMES, Challenge
from ..services import cases as case_service
from ..services import challenges, disclosure
from ..services.clock import local_today
from ..services.decisions import current_decision
from ..services.errors import NotFound
from ..services.permissions import can_view_case, case_scope
from ..web import attempt, commit

bp = Blueprint("challenges", __name__, url_prefix="/challenges")

STATE_ORDER = ("overdue", "due_soon", "open")


def _user():
    return current_user._get_current_object()


def _label(labels: dict):
    def label(code):
        return labels.get(code, code or "")
    return label


def defence_words(obligation: challenges.DefenceObligation) -> tuple[str, str]:
    """The defence deadline in words (calendar days, as the period is counted) and its badge class."""
    left = obligation.days_left
    if left < 0:
        return ngettext("overdue by %(num)d day", "overdue by %(num)d days", -left), "bad"
    if left == 0:
        return _("due today"), "bad"
    return (ngettext("%(num)d day left", "%(num)d days left", left),
            "warn" if obligation.state == "due_soon" else "ok")


def evidence_package_url(case) -> str | None:
    """The case-file export, which serves as the evidence package (None while that screen is missing)."""
    try:
        return url_for("archive.export", case_id=case.id)
    except BuildError:
        return None


def _helpers() -> dict:
    return {"kind_label": _label(challenges.KIND_LABELS), "outcome_label": _label(challenges.OUTCOME_LABELS),
            "defence_words": defence_words, "withdrawing": {o.value for o in WITHDRAWING_OUTCOMES}}


# --- the panel ------------------------------------------------------------------------------------------

def case_panel(case, user, today: date, *, record_form: ChallengeForm | None = None,
               outcome_forms: dict[int, OutcomeForm] | None = None,
               defence_forms: dict[int, DefenceForm] | None = None) -> dict:
    """What the panel shows: each challenge with its defence deadline, and the forms the user may use."""
    manager = disclosure.can_manage(user, case)
    has_decision = current_decision(case) is not None
    outcome_forms, defence_forms = outcome_forms or {}, defence_forms or {}
    rows = []
    for row in challenges.challenges_of(case):
        form = defence = None
        if manager and row.outcome is None:
            form = outcome_forms.get(row.id) or OutcomeForm(
                formdata=None, challenge_id=row.id, labels=challenges.OUTCOME_LABELS, version=row.version)
        if manager and row.outcome is None and row.defence_submitted_on is None:
            defence = defence_forms.get(row.id) or DefenceForm(formdata=None, challenge_id=row.id,
                                                                version=row.version)
        rows.append({"challenge": row, "due": challenges.defence_obligation(row, today), "form": form,
                     "defence_form": defence, "defence_late": challenges.defence_late(row),
                     "withdrawals": challenges.withdrawals_started(row) if row.outcome else []})
    if manager and has_decision and record_form is None:
        record_form = ChallengeForm(formdata=None, labels=challenges.KIND_LABELS)
    return {"rows": rows, "manager": manager, "has_decision": has_decision,
            "record_form": record_form if manager else None, "evidence_url": evidence_package_url(case),
            "defence_days": challenges.DEFENCE_DAYS, "today": today, **_helpers()}


@bp.app_context_processor
def panel_helper():
    """`challenge_panel_for(case)` for the case page's partial, which then needs nothing passed."""
    def challenge_panel_for(case):
        return case_panel(case, _user(), local_today())
    return {"challenge_panel_for": challenge_panel_for}


# --- loading and refusing -------------------------------------------------------------------------------

def _case(case_id: int):
    try:
        return case_service.get_case(_user(), case_id)
    except NotFound:
        abort(404)


def _challenge(challenge_id: int) -> Challenge:
    row = db.session.get(Challenge, challenge_id)
    if row is None or not can_view_case(_user(), row.case):
        abort(404)  # its existence is not told
    return row


def _require_manager(case) -> None:
    if not disclosure.can_manage(_user(), case):
        abort(403)


def _page(case, *, record_form=None, outcome_forms=None, defence_forms=None, refused=(), refused_title=None,
          conflict=False, status: int = 200):
    today = local_today()
    panel = case_panel(case, _user(), today, record_form=record_form, outcome_forms=outcome_forms,
                       defence_forms=defence_forms)
    return render_template("challenges/case.html", case=case, challenge_panel=panel, refused=list(refused),
                           refused_title=refused_title, conflict=conflict), status


def _to_case(case_id: int):
    return redirect(url_for("cases.show", case_id=case_id, _anchor="challenges"))


# --- the screens ----------------------------------------------------------------------------------------

@bp.route("")
@login_required
def index():
    """Open challenges in the user's scope, the earliest defence deadline (so the overdue ones) first."""
    user = _user()
    scope = case_scope(user)
    if not scope:
        abort(403)
    today = local_today()
    due = challenges.defence_obligations(scope, today)
    counts = {state: sum(1 for o in due if o.state == state) for state in STATE_ORDER}
    return render_template("challenges/index.html", due=due, counts=counts, today=today,
                           many_bodies=len(scope) > 1, soon_days=challenges.DEFENCE_DUE_SOON_DAYS,
                           defence_days=challenges.DEFENCE_DAYS, **_helpers())


@bp.route("/cases/<int:case_id>")
@login_required
def case(case_id: int):
    return _page(_case(case_id))


@bp.route("/cases/<int:case_id>/record", methods=["POST"])
@login_required
def record(case_id: int):
    """Record a reconsideration or suit from the day its copy was received."""
    case_ = _case(case_id)
    _require_manager(case_)
    form = ChallengeForm(labels=challenges.KIND_LABELS)
    if not form.validate_on_submit():
        return _page(case_, record_form=form, status=422)
    made: dict = {}
    refused, _conflict = attempt(lambda: made.setdefault("row", challenges.record_challenge(
        case_, actor=_user(), kind=form.kind.data or "", forum=form.forum.data or "",
        received_on=form.received_on.data, reference=form.reference.data or "")))
    if refused:
        return _page(case_, record_form=form, refused=refused, status=422,
                     refused_title=_("Nothing was recorded. Unmet conditions:"))
    commit()
    row = made["row"]
    flash(_("%(kind)s recorded. The defence and all the evidence are due by %(day)s (%(days)d days after the copy "
            "was received).", kind=challenges.KIND_LABELS[row.kind], day=row.defence_due_on.isoformat(),
            days=challenges.DEFENCE_DAYS[row.kind]), "success")
    return _to_case(case_.id)


@bp.route("/<int:challenge_id>/outcome", methods=["POST"])
@login_required
def outcome(challenge_id: int):
    """Record the outcome; one that revokes, changes or finds the decision unlawful starts the withdrawal."""
    row = _challenge(challenge_id)
    case_ = row.case
    _require_manager(case_)
    form = OutcomeForm(challenge_id=row.id, labels=challenges.OUTCOME_LABELS)
    if not form.validate_on_submit():
        return _page(case_, outcome_forms={row.id: form}, status=422)

    def act():
        challenges.check_version(row, form.version.data)
        challenges.record_outcome(row, actor=_user(), outcome=form.outcome.data or "",
                                  outcome_on=form.outcome_on.data, note=form.note.data or "")

    refused, conflict = attempt(act)
    if refused:
        form.version.data = row.version
        return _page(case_, outcome_forms={row.id: form}, refused=refused, conflict=conflict,
                     refused_title=_("The outcome was not recorded. Unmet conditions:"),
                     status=409 if conflict else 422)
    commit()
    flash(_("Outcome recorded: %(outcome)s.", outcome=challenges.OUTCOME_LABELS[row.outcome]), "success")
    for pub in challenges.withdrawals_started(row):
        flash(_("The published notice %(title)s must now be withdrawn by %(day)s (3 working days, 行政处罚法 art. 48), "
                "with the reason the public reads.", title=pub.title, day=pub.withdraw_due_on.isoformat()), "warning")
    return _to_case(case_.id)


@bp.route("/<int:challenge_id>/defence", methods=["POST"])
@login_required
def defence(challenge_id: int):
    """Record the day the defence and all the evidence were handed in."""
    row = _challenge(challenge_id)
    case_ = row.case
    _require_manager(case_)
    form = DefenceForm(challenge_id=row.id)
    if not form.validate_on_submit():
        return _page(case_, defence_forms={row.id: form}, status=422)

    def act():
        challenges.check_version(row, form.version.data)
        challenges.record_defence(row, actor=_user(), submitted_on=form.submitted_on.data)

    refused, conflict = attempt(act)
    if refused:
        form.version.data = row.version
        return _page(case_, defence_forms={row.id: form}, refused=refused, conflict=conflict,
                     refused_title=_("The defence was not recorded. Unmet conditions:"),
                     status=409 if conflict else 422)
    commit()
    if challenges.defence_late(row):
        flash(_("Defence recorded as handed in on %(day)s, after its deadline of %(due)s.",
                day=row.defence_submitted_on.isoformat(), due=row.defence_due_on.isoformat()), "warning")
    else:
        flash(_("Defence recorded as handed in on %(day)s, within its deadline.",
                day=row.defence_submitted_on.isoformat()), "success")
    return _to_case(case_.id)
