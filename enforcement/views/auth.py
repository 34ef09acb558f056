"""Log in and out, change the password, choose the language."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select

from ..extensions import db, limiter
from ..forms.auth import EmptyForm, LoginForm, PasswordForm
from ..models import User
from ..services import audit, people
from ..services.errors import DomainError
from ..web import commit, safe_target

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(func.lower(User.username) == form.username.data.strip().lower()))
        if user is None:
            people.hash_password(form.password.data)  # as slow as a real check: timing tells no names
        if user is None or not people.verify_password(user, form.password.data) or not user.active:
            audit.record("auth.login_failed", "user", user.id if user else "", form.username.data.strip()[:60],
                         actor=None, body_id=user.body_id if user else None)
            commit()
            flash(_("Wrong username or password, or the account is deactivated."), "error")
            return render_template("auth/login.html", form=form), 401
        session.clear()  # a new session on login: nothing from before survives
        login_user(user)
        session.permanent = True
        audit.record("auth.login", "user", user.id, user.name, actor=user, body_id=user.body_id)
        commit()
        return redirect(safe_target(request.args.get("next")) or url_for("main.home"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    form = EmptyForm()
    if form.validate_on_submit():
        people.end_sessions(current_user, actor=current_user, reason="logout")
        commit()
        logout_user()
        session.clear()
        flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = PasswordForm()
    if form.validate_on_submit():
        if not people.verify_password(current_user, form.current.data):
            form.current.errors.append(_("The current password is wrong."))
        else:
            try:
                people.set_password(current_user, form.new.data, actor=current_user)
            except DomainError as exc:
                form.new.errors.append(exc.message)
            else:
                commit()
                login_user(current_user)  # the new session version, so this browser stays logged in
                flash(_("Your password was changed. Other sessions have been logged out."), "info")
                return redirect(url_for("main.home"))
    return render_template("auth/password.html", form=form)


@bp.route("/language/<lang>", methods=["POST"])
def set_language(lang: str):
    form = EmptyForm()
    if form.validate_on_submit() and lang in ("zh_CN", "en"):
        session["lang"] = lang
    return redirect(safe_target(request.form.get("next")) or url_for("main.home"))
