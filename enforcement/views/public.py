"""Public disclosure pages (no login). The disclosure work fills these; this page shows the body
and the latest audit-chain head so anyone can compare it later."""
from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from ..extensions import db
from ..models import AuditHead, Body

bp = Blueprint("public", __name__, url_prefix="/public")


@bp.route("/")
def index():
    bodies = db.session.scalars(select(Body).where(Body.active.is_(True)).order_by(Body.id)).all()
    head = db.session.get(AuditHead, 1)
    return render_template("public/index.html", bodies=bodies, head=head)
