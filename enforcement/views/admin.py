"""Master data: enforcement bodies, users and roles, the certificate ledger, the powers catalogue
(权责清单), the user's own API tokens, and the audit trail.

Every logged-in user reads the master data of their own body (auditors and admins also of the
bodies below theirs); only admins change it, and never cases. An object outside the reader's
scope answers 404 so its existence is not revealed; a change by a non-admin answers 403.
"""
from __future__ import annotations


from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user
from sqlalchemy import func, or_, select
from wtforms.fields.choices import SelectChoice as C  # WTForms 3.3: options as SelectChoice, not tuples

from ..extensions import db, login_manager
from ..forms import admin as forms
from ..forms.auth import EmptyForm
from ..models import ApiToken, AuditEvent, Body, Certificate, Matter, User
from ..services import audit as audit_service
from ..services import calendar as calendar_service
from ..services import catalogue, people, permissions
from ..services.errors import Conflict, DomainError, NotFound
from ..store import get_store
from ..web import commit
from ..services.clock import local_today

bp = Blueprint("admin", __name__, url_prefix="/admin")

PER_PAGE = 50
EVENTS_PER_PAGE = 50


@bp.before_request
def require_login():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


@bp.context_processor
def labels():
    return {"ROLE_LABELS": forms.ROLE_LABELS, "BODY_KIND_LABELS": forms.BODY_KIND_LABELS,
            "MATTER_CATEGORY_LABELS": forms.MATTER_CATEGORY_LABELS,
            "POWER_SOURCE_LABELS": forms.POWER_SOURCE_LABELS, "ROUTE_LABELS": forms.ROUTE_LABELS,
            "CERT_STATE_LABELS": forms.CERT_STATE_LABELS, "CERT_STATE_BADGE": forms.CERT_STATE_BADGE,
            "CERT_STATUS_LABELS": forms.CERT_STATUS_LABELS, "can_manage": _can_manage_any()}


# --- access helpers ------------------------------------------------------------------------

def _scope() -> set[int]:
    return permissions.master_data_scope(current_user)


def _can_manage_any() -> bool:
    return permissions.can_manage_master_data(current_user)


def _require_manage(body_id: int | None = None) -> None:
    """403 unless the current user is an admin (of `body_id`, when given)."""
    allowed = _can_manage_any() if body_id is None else permissions.can_manage_body(current_user, body_id)
    permissions.require(allowed, _("Only an administrator may change master data."))


def _in_scope(body_id: int) -> None:
    if body_id not in _scope():
        raise NotFound(_("Not found."))


def _body(body_id: int) -> Body:
    body = people.get_body(body_id)
    _in_scope(body.id)
    return body


def _user(user_id: int) -> User:
    user = people.get_user(user_id)
    _in_scope(user.body_id)
    return user


def _matter(matter_id: int) -> Matter:
    matter = catalogue.get_matter(matter_id)
    _in_scope(matter.body_id)
    return matter


def _certificate(cert_id: int) -> Certificate:
    cert = people.get_certificate(cert_id)
    _in_scope(cert.user.body_id)
    return cert


def _body_choices(body_ids, *, with_none: str | None = None) -> list[C]:
    choices = [C(b.id, b.name) for b in people.bodies_in(body_ids) if b.active]
    return ([C(0, with_none)] if with_none is not None else []) + choices


def _manageable_body_ids() -> set[int]:
    return {b for b in _scope() if permissions.can_manage_body(current_user, b)}


def _args_without(key: str) -> dict:
    return {k: v for k, v in request.args.items() if k != key}


def _refresh_own_session(user: User) -> None:
    """After changing one's own password or roles the session version moved on: keep this browser in."""
    if user.id == current_user.id:
        login_user(user)


# --- overview ------------------------------------------------------------------------------

@bp.route("/")
def index():
    scope = _scope()
    today = local_today()
    ids = list(scope)
    counts = {
        "bodies": len(scope),
        "users": db.session.scalar(select(func.count()).select_from(User).where(User.body_id.in_(ids),
                                                                                User.active.is_(True))),
        "deactivated": db.session.scalar(select(func.count()).select_from(User).where(User.body_id.in_(ids),
                                                                                      User.active.is_(False))),
        "expired": _count(people.certificates_query(ids, on=today, state="expired")),
        "expiring": _count(people.certificates_query(ids, on=today, state="expiring")),
        "matters": db.session.scalar(select(func.count()).select_from(Matter).where(Matter.body_id.in_(ids),
                                                                                    Matter.active.is_(True))),
        "tokens": db.session.scalar(select(func.count()).select_from(ApiToken).where(
            ApiToken.user_id == current_user.id, ApiToken.revoked_at.is_(None))),
    }
    return render_template("admin/index.html", counts=counts)


def _count(query) -> int:
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))


# --- bodies --------------------------------------------------------------------------------

@bp.route("/bodies")
def bodies():
    rows = people.bodies_in(_scope())
    return render_template("admin/bodies.html", bodies=rows)


def _case_number_help(form: forms.BodyForm, body: Body | None) -> str | None:
    """The example case number, computed here from the submitted pattern (errors go beside the field)."""
    year = local_today().year
    seq = people.next_case_seq(body, year) if body is not None else 1
    try:
        example = people.case_number_example(form.case_number_pattern.data or "", form.short_name.data or "",
                                             year=year, seq=seq)
    except DomainError as exc:
        form.case_number_pattern.errors = [*form.case_number_pattern.errors, exc.message]
        return None
    return _("Example: %(example)s. Use {short} for the short name, {year} for the year and {seq} for the "
             "number ({seq:03d} pads it to three digits).", example=example)


def _body_form(body: Body | None) -> forms.BodyForm:
    form = forms.BodyForm(obj=body)
    manageable = _body_choices(_manageable_body_ids())
    if body is None:
        # A new body is placed under one the admin manages, so it stays within their scope.
        form.parent_id.choices = manageable
        if request.method == "GET":
            form.parent_id.data = current_user.body_id
        return form
    excluded = permissions.descendant_body_ids(body.id)
    choices = [c for c in manageable if c.value not in excluded]
    if body.parent_id is None:
        choices.insert(0, C(0, _("— none (top level) —")))
    elif body.parent_id not in {c.value for c in choices}:
        choices.insert(0, C(body.parent_id, body.parent.name))  # kept as is: outside the admin's scope
    form.parent_id.choices = choices
    if request.method == "GET":
        form.parent_id.data = body.parent_id or 0
    return form


def _body_values(form: forms.BodyForm) -> dict:
    return {"name": form.name.data, "short_name": form.short_name.data, "kind": form.kind.data,
            "area": form.area.data, "parent_id": form.parent_id.data or None, "address": form.address.data or "",
            "phone": form.phone.data or "", "complaint_channel": form.complaint_channel.data or "",
            "remedy_info": form.remedy_info.data or "", "case_number_pattern": form.case_number_pattern.data}


def _body_page(body: Body | None):
    """New and edit share one page; the "preview" button only recomputes the example case number."""
    form = _body_form(body)
    saving = request.method == "POST" and "preview" not in request.form
    valid = form.validate_on_submit()
    pattern_help = _case_number_help(form, body)
    if saving and valid and pattern_help is not None:
        values = _body_values(form)
        if values["parent_id"] is not None and (body is None or values["parent_id"] != body.parent_id):
            _require_manage(values["parent_id"])
        try:
            if body is None:
                saved = people.create_body(actor=current_user, **values)
            else:
                saved = people.update_body(body, actor=current_user, active=form.active.data, **values)
        except Conflict as exc:
            db.session.rollback()
            form.name.errors.append(exc.message)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            commit()
            flash(_("The body %(name)s was saved.", name=saved.name), "success")
            return redirect(url_for("admin.bodies"))
    return render_template("admin/body_form.html", form=form, body=body, pattern_help=pattern_help), (
        400 if saving else 200)


@bp.route("/bodies/new", methods=["GET", "POST"])
def body_new():
    _require_manage()
    return _body_page(None)


@bp.route("/bodies/<int:body_id>/edit", methods=["GET", "POST"])
def body_edit(body_id: int):
    body = _body(body_id)
    _require_manage(body.id)
    return _body_page(body)


# --- users ---------------------------------------------------------------------------------

@bp.route("/users")
def users():
    today = local_today()
    scope = _scope()
    filters = forms.UserFilterForm(request.args)
    filters.body.choices = [C(0, _("All"))] + [C(b.id, b.name) for b in people.bodies_in(scope)]
    body_id = filters.body.data if filters.body.data in scope else None
    role = filters.role.data if filters.role.data in forms.ROLE_LABELS else None
    active = {"1": True, "0": False}.get(filters.active.data or "")
    page = db.paginate(people.users_query(scope, body_id=body_id, role=role, active=active),
                       page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False)
    rows = []
    for user in page.items:
        badge = people.certificate_badge(user, today)
        # In words, for officers: the same sentence a gate would give when refusing them today.
        words = people.certificate_problem(user, today) if user.has_role("officer") else None
        rows.append((user, badge, words))
    return render_template("admin/users.html", rows=rows, page=page, filters=filters,
                           pager_args=_args_without("page"))


@bp.route("/users/<int:user_id>")
def user_show(user_id: int):
    user = _user(user_id)
    today = local_today()
    certs = [(c, people.certificate_state(c, today)) for c in user.certificates]
    history = []
    if permissions.can_view_audit(current_user):
        cert_ids = [str(c.id) for c in user.certificates]
        history = db.session.scalars(
            select(AuditEvent).where(or_(
                (AuditEvent.object_type == "user") & (AuditEvent.object_id == str(user.id)),
                (AuditEvent.object_type == "certificate") & AuditEvent.object_id.in_(cert_ids or ["-"]),
            )).order_by(AuditEvent.id.desc()).limit(200)).all()
    return render_template("admin/user_show.html", user=user, certs=certs, history=history,
                           badge=people.certificate_badge(user, today),
                           problem=people.certificate_problem(user, today),
                           can_change=permissions.can_manage_body(current_user, user.body_id),
                           can_view_audit=permissions.can_view_audit(current_user))


def _user_form_choices(form, user: User | None = None) -> None:
    choices = _body_choices(_manageable_body_ids())
    if user is not None and user.body_id not in {c.value for c in choices}:
        choices.insert(0, C(user.body_id, user.body.name))  # an inactive body stays selectable for its people
    form.body_id.choices = choices


@bp.route("/users/new", methods=["GET", "POST"])
def user_new():
    _require_manage()
    form = forms.UserForm()
    _user_form_choices(form)
    if request.method == "GET":
        form.body_id.data = current_user.body_id
        form.roles.data = ["officer"]
    valid = form.validate_on_submit()
    if request.method == "POST" and form.password.data:
        # The service checks again; asking here shows every problem of the form at once.
        problems = people.check_password_strength(form.password.data)
        shown = {str(e) for e in form.password.errors}
        form.password.errors = [*form.password.errors, *(p for p in problems if p not in shown)]
        valid = valid and not problems
    if valid:
        _require_manage(form.body_id.data)
        try:
            user = people.create_user(
                actor=current_user, username=form.username.data, name=form.name.data,
                body=people.get_body(form.body_id.data), password=form.password.data, roles=form.roles.data,
                **_profile_fields(form))
        except Conflict as exc:
            form.username.errors.append(exc.message)
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            commit()
            flash(_("The user %(name)s was created.", name=user.name), "success")
            return redirect(url_for("admin.user_show", user_id=user.id))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/user_form.html", form=form, user=None), status


def _profile_fields(form) -> dict:
    """The user form's fields that the create and edit services take alike."""
    return {"unit": form.unit.data or "", "legal_qualification_no": form.legal_qualification_no.data,
            "legal_adviser_appointment": form.legal_adviser_appointment.data, "auxiliary": form.auxiliary.data}


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
def user_edit(user_id: int):
    user = _user(user_id)
    _require_manage(user.body_id)
    form = forms.UserEditForm(obj=user)
    _user_form_choices(form, user)
    if request.method == "GET":
        form.roles.data = sorted(user.roles)
    if form.validate_on_submit():
        if form.body_id.data != user.body_id:
            _require_manage(form.body_id.data)
        try:
            people.update_user(user, actor=current_user, roles=form.roles.data, name=form.name.data,
                               body_id=form.body_id.data, **_profile_fields(form))
        except DomainError as exc:
            db.session.rollback()
            user = _user(user_id)
            form.roles.errors.append(exc.message)
        else:
            commit()
            _refresh_own_session(user)
            flash(_("The user %(name)s was saved.", name=user.name), "success")
            return redirect(url_for("admin.user_show", user_id=user.id))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/user_form.html", form=form, user=user), status


@bp.route("/users/<int:user_id>/deactivate", methods=["GET", "POST"])
def user_deactivate(user_id: int):
    user = _user(user_id)
    _require_manage(user.body_id)
    form = forms.DeactivateForm()
    if form.validate_on_submit():
        try:
            people.deactivate_user(user, actor=current_user, reason=form.reason.data)
        except DomainError as exc:
            db.session.rollback()
            form.reason.errors.append(exc.message)
        else:
            commit()
            flash(_("%(name)s was deactivated; their sessions and API tokens have ended.", name=user.name),
                  "success")
            return redirect(url_for("admin.user_show", user_id=user.id))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/user_deactivate.html", form=form, user=_user(user_id)), status


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
def user_reactivate(user_id: int):
    user = _user(user_id)
    _require_manage(user.body_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    people.reactivate_user(user, actor=current_user)
    commit()
    flash(_("%(name)s was reactivated.", name=user.name), "success")
    return redirect(url_for("admin.user_show", user_id=user.id))


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
def user_password(user_id: int):
    user = _user(user_id)
    _require_manage(user.body_id)
    form = forms.SetPasswordForm()
    if form.validate_on_submit():
        try:
            people.set_password(user, form.password.data, actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            user = _user(user_id)
            form.password.errors.append(exc.message)
        else:
            commit()
            _refresh_own_session(user)
            flash(_("The password of %(name)s was set; their other sessions have ended.", name=user.name),
                  "success")
            return redirect(url_for("admin.user_show", user_id=user.id))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/user_password.html", form=form, user=user), status


# --- certificate ledger --------------------------------------------------------------------

# --- the working-day calendar's local overrides ------------------------------------------------------

@bp.route("/calendar", methods=["GET", "POST"])
def calendar():
    """The days whose status differs from the national schedule, and a form to add one."""
    allowed = calendar_service.can_manage_calendar(current_user)
    form = forms.CalendarOverrideForm()
    if request.method == "POST":
        if not allowed:
            abort(403)
        if form.validate_on_submit():
            try:
                calendar_service.set_override(actor=current_user, day=form.day.data, workday=form.workday.data == "1",
                                              reason=form.reason.data)
            except DomainError as exc:
                db.session.rollback()
                form.reason.errors = [*form.reason.errors, exc.message]
            else:
                commit()
                flash(_("The calendar now treats %(day)s as set.", day=form.day.data.isoformat()), "success")
                return redirect(url_for("admin.calendar"))
    today = local_today()
    status = 400 if request.method == "POST" else 200
    return render_template("admin/calendar.html", form=form, allowed=allowed, today=today,
                           overrides=calendar_service.list_overrides(since=today.replace(month=1, day=1)),
                           warning=calendar_service.coverage_warning(today)), status


@bp.route("/calendar/<day>/remove", methods=["POST"])
def calendar_remove(day: str):
    from datetime import date

    if not calendar_service.can_manage_calendar(current_user):
        abort(403)
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        abort(404)
    calendar_service.remove_override(actor=current_user, day=parsed)
    commit()
    flash(_("The local change for %(day)s was removed.", day=parsed.isoformat()), "success")
    return redirect(url_for("admin.calendar"))


@bp.route("/certificates")
def certificates():
    today = local_today()
    filters = forms.CertificateFilterForm(request.args)
    state = filters.state.data if filters.state.data in people.CERTIFICATE_STATES + ("suspended", "revoked") else None
    page = db.paginate(people.certificates_query(_scope(), on=today, state=state),
                       page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False)
    rows = [(c, people.certificate_state(c, today)) for c in page.items]
    return render_template("admin/certificates.html", rows=rows, page=page, filters=filters, today=today,
                           expiring_days=people.EXPIRING_DAYS, pager_args=_args_without("page"))


@bp.route("/users/<int:user_id>/certificates/new", methods=["GET", "POST"])
def certificate_new(user_id: int):
    user = _user(user_id)
    _require_manage(user.body_id)
    form = forms.CertificateForm()
    if request.method == "GET":
        form.area.data = user.body.area
    if form.validate_on_submit():
        try:
            people.add_certificate(actor=current_user, user=user, number=form.number.data, issuer=form.issuer.data,
                                   category=form.category.data, area=form.area.data,
                                   valid_from=form.valid_from.data, valid_until=form.valid_until.data)
        except Conflict as exc:
            form.number.errors.append(exc.message)
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            commit()
            flash(_("The certificate was added to the ledger."), "success")
            return redirect(url_for("admin.user_show", user_id=user.id))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/certificate_form.html", form=form, user=user), status


@bp.route("/certificates/<int:cert_id>/status", methods=["GET", "POST"])
def certificate_status(cert_id: int):
    cert = _certificate(cert_id)
    _require_manage(cert.user.body_id)
    form = forms.CertificateStatusForm(obj=cert if request.method == "GET" else None)
    if request.method == "GET":
        form.reason.data = ""
    if form.validate_on_submit():
        try:
            people.set_certificate_status(cert, actor=current_user, status=form.status.data, reason=form.reason.data)
        except DomainError as exc:
            form.reason.errors.append(exc.message)
        else:
            commit()
            flash(_("The status of certificate %(number)s was changed.", number=cert.number), "success")
            return redirect(url_for("admin.user_show", user_id=cert.user_id))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/certificate_status.html", form=form, cert=cert,
                           state=people.certificate_state(cert, local_today())), status


# --- powers catalogue ----------------------------------------------------------------------

@bp.route("/matters")
def matters():
    scope = _scope()
    filters = forms.MatterFilterForm(request.args)
    filters.body.choices = [C(0, _("All"))] + [C(b.id, b.name) for b in people.bodies_in(scope)]
    body_id = filters.body.data if filters.body.data in scope else None
    category = filters.category.data if filters.category.data in forms.MATTER_CATEGORY_LABELS else None
    active = {"1": True, "0": False}.get(filters.active.data or "")
    page = db.paginate(catalogue.matters_query(scope, body_id=body_id, category=category, active=active),
                       page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False)
    return render_template("admin/matters.html", page=page, filters=filters, pager_args=_args_without("page"),
                           show_body=len(scope) > 1)


@bp.route("/matters/<int:matter_id>")
def matter_show(matter_id: int):
    matter = _matter(matter_id)
    return _matter_page(matter, forms.DiscretionBandForm(formdata=None))


def _matter_page(matter: Matter, band_form: forms.DiscretionBandForm, status: int = 200):
    from ..forms.review import band_fine

    return render_template("admin/matter_show.html", matter=matter, band_form=band_form, band_fine=band_fine,
                           can_change=permissions.can_manage_body(current_user, matter.body_id),
                           empty=EmptyForm()), status


@bp.route("/matters/<int:matter_id>/bands", methods=["POST"])
def band_add(matter_id: int):
    """Add a band to the matter's discretion standard (裁量基准)."""
    matter = _matter(matter_id)
    _require_manage(matter.body_id)
    form = forms.DiscretionBandForm()
    if form.validate_on_submit():
        _values, problems = catalogue.band_field_problems(matter, **form.values())
        for key, messages in problems.items():
            target = getattr(form, key)
            target.errors = [*target.errors, *messages]
        if not problems:
            band = catalogue.add_band(matter, actor=current_user, **form.values())
            commit()
            flash(_("The band %(circumstance)s was added to the discretion standard.",
                    circumstance=band.circumstance), "success")
            return redirect(url_for("admin.matter_show", matter_id=matter.id) + "#bands")
    return _matter_page(matter, form, 400)


@bp.route("/bands/<int:band_id>/deactivate", methods=["POST"])
def band_deactivate(band_id: int):
    band = catalogue.get_band(band_id)
    _in_scope(band.matter.body_id)
    _require_manage(band.matter.body_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        catalogue.deactivate_band(band, actor=current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        commit()
        flash(_("The band %(circumstance)s is no longer in use; reviews and decisions made under it keep it.",
                circumstance=band.circumstance), "success")
    return redirect(url_for("admin.matter_show", matter_id=band.matter_id) + "#bands")


def _attach_matter_problems(form: forms.MatterForm) -> bool:
    """Put the catalogue's own validation messages beside the fields; True when there were none."""
    problems = catalogue.matter_field_problems(form.values())
    for key, messages in problems.items():
        field = getattr(form, key, None)
        target = field if field is not None else form.name
        target.errors = [*target.errors, *messages]
    return not problems


@bp.route("/matters/new", methods=["GET", "POST"])
def matter_new():
    _require_manage()
    form = forms.MatterForm()
    form.body_id.choices = _body_choices(_manageable_body_ids())
    if request.method == "GET":
        form.body_id.data = current_user.body_id
    if request.method == "POST":
        valid = form.validate_on_submit()
        if _attach_matter_problems(form) and valid:
            _require_manage(form.body_id.data)
            try:
                matter = catalogue.create_matter(actor=current_user, body=people.get_body(form.body_id.data),
                                                 **{**form.values(), "active": True})
            except Conflict as exc:
                form.code.errors.append(exc.message)
            except DomainError as exc:
                flash(exc.message, "error")
            else:
                commit()
                flash(_("The matter %(name)s was added to the catalogue.", name=matter.name), "success")
                return redirect(url_for("admin.matter_show", matter_id=matter.id))
        return render_template("admin/matter_form.html", form=form, matter=None), 400
    return render_template("admin/matter_form.html", form=form, matter=None)


@bp.route("/matters/<int:matter_id>/edit", methods=["GET", "POST"])
def matter_edit(matter_id: int):
    matter = _matter(matter_id)
    _require_manage(matter.body_id)
    form = forms.MatterForm(obj=matter)
    form.body_id.choices = [C(matter.body_id, matter.body.name)]
    form.body_id.data = matter.body_id  # a matter stays with its body
    if request.method == "GET":
        form.route.data = matter.route or ""
    if request.method == "POST":
        valid = form.validate_on_submit()
        if _attach_matter_problems(form) and valid:
            try:
                catalogue.update_matter(matter, actor=current_user, **form.values())
            except Conflict as exc:
                db.session.rollback()
                form.code.errors.append(exc.message)
            except DomainError as exc:
                db.session.rollback()
                flash(exc.message, "error")
            else:
                commit()
                flash(_("The matter %(name)s was saved.", name=matter.name), "success")
                return redirect(url_for("admin.matter_show", matter_id=matter.id))
        return render_template("admin/matter_form.html", form=form, matter=_matter(matter_id)), 400
    return render_template("admin/matter_form.html", form=form, matter=matter)


# --- API tokens (the current user's own) ---------------------------------------------------

@bp.route("/tokens", methods=["GET", "POST"])
def tokens():
    form = forms.TokenForm()
    plain = None
    status = 200
    if form.validate_on_submit():
        try:
            _token, plain = people.create_api_token(current_user, actor=current_user, name=form.name.data)
        except DomainError as exc:
            form.name.errors.append(exc.message)
            status = 400
        else:
            commit()
            form = forms.TokenForm(formdata=None)
    elif request.method == "POST":
        status = 400
    # The plain token is rendered into this one response only; it is stored nowhere.
    response = render_template("admin/tokens.html", form=form, tokens=people.tokens_of(current_user), plain=plain,
                               empty=EmptyForm())
    return response, status, ({"Cache-Control": "no-store"} if plain else {})


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
def token_revoke(token_id: int):
    token = people.get_own_token(current_user, token_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    people.revoke_api_token(token, actor=current_user)
    commit()
    flash(_("The token %(name)s was revoked.", name=token.name), "success")
    return redirect(url_for("admin.tokens"))


# --- audit trail ---------------------------------------------------------------------------

def _events_query(filters: forms.AuditFilterForm):
    scope = permissions.master_data_scope(current_user)
    visible = AuditEvent.body_id.in_(scope or [-1])
    if permissions.sees_events_without_body(current_user):
        visible = or_(visible, AuditEvent.body_id.is_(None))
    query = select(AuditEvent).where(visible)
    if filters.action.data:
        prefix = filters.action.data.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(AuditEvent.action.like(prefix + "%", escape="\\"))
    if filters.object_type.data:
        query = query.where(AuditEvent.object_type == filters.object_type.data)
    if filters.case_id.data and not filters.case_id.errors:
        query = query.where(AuditEvent.case_id == filters.case_id.data)
    if filters.actor.data:
        query = query.where(AuditEvent.actor_id == filters.actor.data)
    return query


@bp.route("/audit")
def audit():
    permissions.require(permissions.can_view_audit(current_user), _("Only auditors and admins read the audit trail."))
    filters = forms.AuditFilterForm(request.args)
    filters.actor.choices = [C(0, _("Anyone"))] + [
        C(u.id, f"{u.name} ({u.username})") for u in db.session.scalars(people.users_query(_scope()))]
    filters.validate()
    query = _events_query(filters)
    before = request.args.get("before", type=int)
    after = request.args.get("after", type=int)
    # Keyset pagination on the chain sequence: deep pages stay as fast as the first one.
    if after:
        rows = list(db.session.scalars(query.where(AuditEvent.id > after).order_by(AuditEvent.id)
                                       .limit(EVENTS_PER_PAGE + 1)))
        has_newer = len(rows) > EVENTS_PER_PAGE
        rows = list(reversed(rows[:EVENTS_PER_PAGE]))
        has_older = bool(rows) and _any(query.where(AuditEvent.id < rows[-1].id))
    else:
        paged = query.where(AuditEvent.id < before) if before else query
        rows = list(db.session.scalars(paged.order_by(AuditEvent.id.desc()).limit(EVENTS_PER_PAGE + 1)))
        has_older = len(rows) > EVENTS_PER_PAGE
        rows = rows[:EVENTS_PER_PAGE]
        has_newer = bool(before) and _any(query.where(AuditEvent.id >= (rows[0].id + 1 if rows else before)))
    base_args = {k: v for k, v in request.args.items() if k not in ("before", "after")}
    return render_template("admin/audit.html", events=rows, filters=filters, base_args=base_args,
                           has_older=has_older, has_newer=has_newer, empty=EmptyForm(), report=None)


def _any(query) -> bool:
    return db.session.scalar(query.with_only_columns(AuditEvent.id).limit(1)) is not None


@bp.route("/audit/verify", methods=["POST"])
def audit_verify():
    permissions.require(permissions.can_view_audit(current_user), _("Only auditors and admins read the audit trail."))
    if not EmptyForm().validate_on_submit():
        abort(400)
    report = audit_service.verify_chain(get_store())
    return render_template("admin/audit_verify.html", report=report, empty=EmptyForm())

