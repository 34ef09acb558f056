"""Master data about people: bodies, users, roles, the certificate ledger, passwords, API tokens.

People are deactivated, never deleted (their past acts stay explained).
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import date, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, exists, func, select

from ..extensions import db
from ..models import ApiToken, Body, BodyKind, Certificate, CertificateStatus, Role, User, UserRole
from ..models._types import utcnow
from . import audit
from .errors import Conflict, DomainError, NotFound

USER_FIELDS = ("username", "name", "body_id", "unit", "active", "legal_qualification_no",
               "legal_adviser_appointment", "auxiliary")
BODY_FIELDS = ("name", "short_name", "kind", "area", "parent_id", "address", "phone", "complaint_channel",
               "remedy_info", "case_number_pattern", "active")
CERT_FIELDS = ("user_id", "number", "issuer", "category", "area", "valid_from", "valid_until", "status",
               "status_reason")


# --- passwords ------------------------------------------------------------------------

def _hasher() -> PasswordHasher:
    if current_app.config.get("PASSWORD_FAST_HASH"):
        return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    return PasswordHasher()  # argon2id, library defaults (about 50–150 ms here)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def check_password_strength(password: str) -> list[str]:
    problems = []
    if len(password) < 10:
        problems.append(_("The password must have at least 10 characters."))
    if password.isdigit() or password.isalpha():
        problems.append(_("The password must mix letters with digits or symbols."))
    return problems


def verify_password(user: User, password: str) -> bool:
    """Check a password; rehash when the hashing parameters changed."""
    hasher = _hasher()
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return True


def set_password(user: User, password: str, *, actor) -> None:
    problems = check_password_strength(password)
    if problems:
        raise DomainError(" ".join(problems))
    user.password_hash = hash_password(password)
    user.session_version += 1  # every other session of this user ends
    audit.record("user.password_changed", "user", user.id, user.name, actor=actor, body_id=user.body_id)


def end_sessions(user: User, *, actor, reason: str = "logout") -> None:
    """Invalidate every session cookie of the user (logout, deactivation)."""
    user.session_version += 1
    audit.record(f"user.{reason}", "user", user.id, user.name, actor=actor, body_id=user.body_id)


# --- bodies ---------------------------------------------------------------------------

def validate_case_number_pattern(pattern: str) -> None:
    if "{short}" not in pattern or "{year}" not in pattern or "{seq" not in pattern:
        raise DomainError(_("The case number pattern must contain {short}, {year} and {seq}."))
    try:
        pattern.format(short="X", year=2026, seq=1)
    except (KeyError, ValueError, IndexError) as exc:
        raise DomainError(_("The case number pattern is not valid: %(error)s", error=str(exc))) from exc


def case_number_example(pattern: str, short_name: str, *, year: int, seq: int = 1) -> str:
    """The case number `pattern` gives for one sequence number, e.g. 永平罚〔2026〕12号 (shown on the body form)."""
    validate_case_number_pattern(pattern)
    return pattern.format(short=short_name, year=year, seq=seq)


def next_case_seq(body: Body, year: int) -> int:
    """The sequence number the body's next case of `year` would get (for the example; not reserved)."""
    from ..models.case import CaseCounter

    last = db.session.scalar(select(CaseCounter.last_seq).where(CaseCounter.body_id == body.id,
                                                                CaseCounter.year == year))
    return (last or 0) + 1


def get_body(body_id: int) -> Body:
    body = db.session.get(Body, body_id)
    if body is None:
        raise NotFound(_("No such body."))
    return body


def bodies_in(body_ids) -> list[Body]:
    """The bodies with these ids, by name (active first)."""
    if not body_ids:
        return []
    return list(db.session.scalars(select(Body).where(Body.id.in_(body_ids))
                                   .order_by(Body.active.desc(), Body.name)))


def _check_short_name_free(short_name: str, *, body_id: int | None = None) -> None:
    """Case numbers start with the short name, so two bodies sharing one would number alike."""
    query = select(Body.name).where(Body.short_name == short_name)
    if body_id is not None:
        query = query.where(Body.id != body_id)
    other = db.session.scalar(query)
    if other:
        raise Conflict(_("The short name %(short)s is used by %(body)s already; case numbers would collide.",
                         short=short_name, body=other))


def create_body(*, actor, name: str, short_name: str, area: str, kind: str = BodyKind.TOWN.value,
                parent_id: int | None = None, **extra) -> Body:
    if db.session.scalar(select(Body.id).where(Body.name == name)):
        raise Conflict(_("A body named %(name)s exists already.", name=name))
    _check_short_name_free(short_name)
    if kind not in {k.value for k in BodyKind}:
        raise DomainError(_("Unknown kind of body."))
    body = Body(name=name, short_name=short_name, area=area, kind=kind, parent_id=parent_id, **extra)
    validate_case_number_pattern(body.case_number_pattern or "{short}罚〔{year}〕{seq}号")
    db.session.add(body)
    db.session.flush()
    audit.record("body.created", "body", body.id, body.name, actor=actor,
                 after=audit.snapshot(body, BODY_FIELDS), body_id=body.id)
    return body


def update_body(body: Body, *, actor, **changes) -> Body:
    before = audit.snapshot(body, BODY_FIELDS)
    if "case_number_pattern" in changes:
        validate_case_number_pattern(changes["case_number_pattern"])
    if "name" in changes and changes["name"] != body.name and db.session.scalar(
            select(Body.id).where(Body.name == changes["name"], Body.id != body.id)):
        raise Conflict(_("A body named %(name)s exists already.", name=changes["name"]))
    if "short_name" in changes and changes["short_name"] != body.short_name:
        _check_short_name_free(changes["short_name"], body_id=body.id)
    if "kind" in changes and changes["kind"] not in {k.value for k in BodyKind}:
        raise DomainError(_("Unknown kind of body."))
    if changes.get("parent_id") is not None:
        from .permissions import descendant_body_ids
        if changes["parent_id"] in descendant_body_ids(body.id):
            raise DomainError(_("A body cannot be placed under itself or one of its own bodies."))
    for key, value in changes.items():
        if key not in BODY_FIELDS:
            raise DomainError(f"unknown field {key}")
        setattr(body, key, value)
    after = audit.snapshot(body, BODY_FIELDS)
    if after != before:
        audit.record("body.updated", "body", body.id, body.name, actor=actor, before=before, after=after,
                     body_id=body.id)
    return body


# --- users ----------------------------------------------------------------------------

def _check_roles(roles) -> set[str]:
    known = {r.value for r in Role}
    wanted = {r.value if isinstance(r, Role) else r for r in roles}
    unknown = wanted - known
    if unknown:
        raise DomainError(_("Unknown role: %(roles)s", roles=", ".join(sorted(unknown))))
    if not wanted:
        raise DomainError(_("A user needs at least one role."))
    return wanted


def create_user(*, actor, username: str, name: str, body: Body, password: str, roles, unit: str = "",
                legal_qualification_no: str | None = None, legal_adviser_appointment: str | None = None,
                auxiliary: bool = False) -> User:
    username = username.strip()
    if not username:
        raise DomainError(_("A username is required."))
    if db.session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        raise Conflict(_("The username %(username)s is taken.", username=username))
    wanted = _check_roles(roles)
    problems = check_password_strength(password)
    if problems:
        raise DomainError(" ".join(problems))
    user = User(username=username, name=name, body_id=body.id, unit=unit, password_hash=hash_password(password),
                legal_qualification_no=legal_qualification_no or None,
                legal_adviser_appointment=legal_adviser_appointment or None, auxiliary=auxiliary,
                active=True, session_version=1)
    user.role_rows = [UserRole(role=r) for r in sorted(wanted)]
    db.session.add(user)
    db.session.flush()
    audit.record("user.created", "user", user.id, user.name, actor=actor,
                 after={**audit.snapshot(user, USER_FIELDS), "roles": sorted(wanted)}, body_id=body.id)
    return user


def update_user(user: User, *, actor, roles=None, **changes) -> User:
    before = {**audit.snapshot(user, USER_FIELDS), "roles": sorted(user.roles)}
    for key, value in changes.items():
        if key not in USER_FIELDS or key in {"active", "username"}:
            raise DomainError(f"field {key} cannot be changed here")
        setattr(user, key, value or None if key in {"legal_qualification_no", "legal_adviser_appointment"} else value)
    if roles is not None:
        wanted = _check_roles(roles)
        if (actor is not None and actor.id == user.id and Role.ADMIN.value in user.roles
                and Role.ADMIN.value not in wanted):
            # Nobody locks themselves (and possibly everyone) out of the master data.
            raise DomainError(_("You cannot remove your own admin role; ask another admin."))
        if wanted != user.roles:
            user.role_rows = [UserRole(role=r) for r in sorted(wanted)]
            user.session_version += 1  # fresh session with the new rights
    db.session.flush()
    after = {**audit.snapshot(user, USER_FIELDS), "roles": sorted(user.roles)}
    if after != before:
        audit.record("user.updated", "user", user.id, user.name, actor=actor, before=before, after=after,
                     body_id=user.body_id)
    return user


def deactivate_user(user: User, *, actor, reason: str) -> None:
    """Deactivate (never delete): the user can no longer log in, every session ends at once."""
    if not reason.strip():
        raise DomainError(_("Give the reason for deactivating the user."))
    if actor is not None and actor.id == user.id:
        raise DomainError(_("You cannot deactivate yourself."))
    if not user.active:
        return
    user.active = False
    user.deactivated_at = utcnow()
    user.session_version += 1
    for token in db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))):
        token.revoked_at = utcnow()
    audit.record("user.deactivated", "user", user.id, user.name, actor=actor,
                 before={"active": True}, after={"active": False, "reason": reason}, body_id=user.body_id)


def reactivate_user(user: User, *, actor) -> None:
    if user.active:
        return
    user.active = True
    user.deactivated_at = None
    audit.record("user.reactivated", "user", user.id, user.name, actor=actor,
                 before={"active": False}, after={"active": True}, body_id=user.body_id)


def users_query(body_ids, *, body_id: int | None = None, role: str | None = None,
                active: bool | None = None) -> Select:
    """Users of the given bodies, active first, by name; optionally filtered."""
    query = select(User).where(User.body_id.in_(body_ids or [-1]))
    if body_id is not None:
        query = query.where(User.body_id == body_id)
    if role:
        query = query.where(exists().where(UserRole.user_id == User.id, UserRole.role == role))
    if active is not None:
        query = query.where(User.active.is_(active))
    return query.order_by(User.active.desc(), User.name, User.id)


def find_user(username: str) -> User:
    user = db.session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
    if user is None:
        raise NotFound(_("No user named %(username)s.", username=username))
    return user


# --- certificates ---------------------------------------------------------------------

def add_certificate(*, actor, user: User, number: str, issuer: str, category: str, area: str,
                    valid_from: date, valid_until: date) -> Certificate:
    number = number.strip()
    if not number:
        raise DomainError(_("The certificate number is required."))
    if valid_until < valid_from:
        raise DomainError(_("The certificate cannot expire before it becomes valid."))
    if db.session.scalar(select(Certificate.id).where(Certificate.number == number)):
        raise Conflict(_("Certificate number %(number)s is in the ledger already.", number=number))
    cert = Certificate(user_id=user.id, number=number, issuer=issuer, category=category, area=area,
                       valid_from=valid_from, valid_until=valid_until, status=CertificateStatus.VALID.value)
    db.session.add(cert)
    db.session.flush()
    audit.record("certificate.added", "certificate", cert.id, f"{user.name} {number}", actor=actor,
                 after=audit.snapshot(cert, CERT_FIELDS), body_id=user.body_id)
    return cert


def set_certificate_status(cert: Certificate, *, actor, status: str, reason: str) -> None:
    if status not in {s.value for s in CertificateStatus}:
        raise DomainError(_("Unknown certificate status."))
    if not reason.strip():
        raise DomainError(_("Give the reason for the change of status."))
    before = {"status": cert.status, "status_reason": cert.status_reason}
    cert.status, cert.status_reason = status, reason
    audit.record("certificate.status_changed", "certificate", cert.id, cert.number, actor=actor,
                 before=before, after={"status": status, "status_reason": reason}, body_id=cert.user.body_id)


def _area_names(body: Body) -> set[str]:
    return {body.area} | {b.area for b in body.ancestors()}


def certificate_for(user: User, on: date, *, category: str | None = None, body: Body | None = None) -> Certificate | None:
    """A certificate of the user valid on `on`, covering `category` and the body's area, or None."""
    areas = _area_names(body) if body is not None else None
    for cert in user.certificates:
        if cert.status != CertificateStatus.VALID.value or not (cert.valid_from <= on <= cert.valid_until):
            continue
        if category and category not in cert.categories and "综合行政执法" not in cert.categories:
            continue
        if areas is not None and cert.area not in areas:
            continue
        return cert
    return None


def certificate_problem(user: User, on: date, *, category: str | None = None, body: Body | None = None) -> str | None:
    """Why the user cannot act as an officer on `on` (None when they can), in words."""
    if not user.active:
        return _("%(name)s is deactivated.", name=user.name)
    if user.auxiliary:
        return _("%(name)s is auxiliary staff (协管) and cannot act as an enforcement officer.", name=user.name)
    if not user.has_role(Role.OFFICER):
        return _("%(name)s does not hold the officer role.", name=user.name)
    if certificate_for(user, on, category=category, body=body):
        return None
    certs = user.certificates
    if not certs:
        return _("%(name)s has no enforcement certificate in the ledger.", name=user.name)
    valid_status = [c for c in certs if c.status == CertificateStatus.VALID.value]
    if not valid_status:
        return _("%(name)s's certificate is suspended or revoked.", name=user.name)
    in_period = [c for c in valid_status if c.valid_from <= on <= c.valid_until]
    if not in_period:
        latest = max(valid_status, key=lambda c: c.valid_until)
        if latest.valid_until < on:
            return _("%(name)s's certificate %(number)s expired on %(date)s.", name=user.name,
                     number=latest.number, date=latest.valid_until.isoformat())
        return _("%(name)s's certificate %(number)s is not valid until %(date)s.", name=user.name,
                 number=latest.number, date=latest.valid_from.isoformat())
    if category and not any(category in c.categories or "综合行政执法" in c.categories for c in in_period):
        return _("%(name)s's certificate does not cover the enforcement category %(category)s.",
                 name=user.name, category=category)
    return _("%(name)s's certificate does not cover the area of %(body)s.", name=user.name,
             body=body.name if body else "")


# Certificates that run out within this many days are flagged so a renewal is applied for in time.
EXPIRING_DAYS = 60

CERTIFICATE_STATES = ("valid", "expiring", "expired", "not_yet_valid", "suspended", "revoked")


def certificate_state(cert: Certificate, on: date) -> str:
    """One line of the ledger as of `on`: suspended, revoked, expired, not_yet_valid, expiring or valid."""
    if cert.status != CertificateStatus.VALID.value:
        return cert.status
    if cert.valid_until < on:
        return "expired"
    if cert.valid_from > on:
        return "not_yet_valid"
    if cert.valid_until <= on + timedelta(days=EXPIRING_DAYS):
        return "expiring"
    return "valid"


def certificate_badge(user: User, on: date) -> str:
    """The user's certificate status in one word for lists: valid, expiring, expired, suspended, revoked,
    not_yet_valid or none. Uses the same certificate_for() as the gates, so a list never says valid
    where a gate would refuse (category and area aside: those depend on the case)."""
    if not user.certificates:
        return "none"
    usable = certificate_for(user, on)
    if usable is not None:
        return "expiring" if certificate_state(usable, on) == "expiring" else "valid"
    states = {certificate_state(c, on) for c in user.certificates}
    for state in ("not_yet_valid", "expired", "suspended", "revoked"):
        if state in states:
            return state
    return "none"  # pragma: no cover - every state is covered above


def certificates_query(body_ids, *, on: date, state: str | None = None, user_id: int | None = None) -> Select:
    """The ledger of the users of the given bodies, soonest expiry first; `state` as in certificate_state
    ('valid' includes 'expiring')."""
    query = (select(Certificate).join(User, Certificate.user_id == User.id)
             .where(User.body_id.in_(body_ids or [-1])))
    if user_id is not None:
        query = query.where(Certificate.user_id == user_id)
    is_valid = Certificate.status == CertificateStatus.VALID.value
    soon = on + timedelta(days=EXPIRING_DAYS)
    if state == "valid":
        query = query.where(is_valid, Certificate.valid_from <= on, Certificate.valid_until >= on)
    elif state == "expiring":
        query = query.where(is_valid, Certificate.valid_from <= on, Certificate.valid_until >= on,
                            Certificate.valid_until <= soon)
    elif state == "expired":
        query = query.where(is_valid, Certificate.valid_until < on)
    elif state == "not_yet_valid":
        query = query.where(is_valid, Certificate.valid_from > on)
    elif state in (CertificateStatus.SUSPENDED.value, CertificateStatus.REVOKED.value):
        query = query.where(Certificate.status == state)
    elif state:
        raise DomainError(_("Unknown certificate state."))
    return query.order_by(Certificate.valid_until, Certificate.id)


def get_certificate(cert_id: int) -> Certificate:
    cert = db.session.get(Certificate, cert_id)
    if cert is None:
        raise NotFound(_("No such certificate."))
    return cert


# --- API tokens -----------------------------------------------------------------------

def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(user: User, *, actor, name: str) -> tuple[ApiToken, str]:
    """Create a token; the plain token is returned once and never stored."""
    name = name.strip()
    if not name:
        raise DomainError(_("Name the token (for example the device it is for)."))
    if db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == user.id, ApiToken.name == name)):
        raise Conflict(_("You have a token named %(name)s already.", name=name))
    plain = "etk_" + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=token_digest(plain), prefix=plain[:10])
    db.session.add(token)
    db.session.flush()
    audit.record("api_token.created", "api_token", token.id, name, actor=actor, body_id=user.body_id)
    return token, plain


def revoke_api_token(token: ApiToken, *, actor) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record("api_token.revoked", "api_token", token.id, token.name, actor=actor,
                     body_id=token.user.body_id)


def user_for_token(plain: str) -> User | None:
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(plain)))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    now = utcnow()
    # Write the time of use at most once a minute, so API reads are not all database writes.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now
    return token.user


def tokens_of(user: User) -> list[ApiToken]:
    """The user's own tokens, newest first (revoked ones stay listed)."""
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                   .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def get_own_token(user: User, token_id: int) -> ApiToken:
    """A token of this user; another user's token is 'not found' (its existence is not revealed)."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(_("No such token."))
    return token


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("No such user."))
    return user
