"""Public disclosure pages (行政执法公示), read without logging in.

Before (事前): the bodies with their contacts, complaint channels and remedies; their officers with
certificate numbers (only certificates the gates accept today); the powers catalogue with legal
bases and procedures. After (事后): published decisions (searchable by year, matter and place),
demolition notices with their self-demolition deadline (行政强制法 art. 44), withdrawals with their
reasons, an Atom feed and a JSON listing. The annual statistics are the reports blueprint's.

What the pages show of a publication comes only from `disclosure.public_record` — never from the
Publication's other columns (its original text and masking log quote the personal data).

The JSON listing (/public/decisions.json, same filters as the page) has this stable shape:
    {"generated_at": "<ISO 8601 UTC>", "keep_online_months": N, "page": p, "pages": n,
     "total": t, "items": [<public_record> + {"url": "<absolute address of its page>"}, …]}

Responses carry `Cache-Control: public, max-age=300` (private when the visitor has a session:
a staff member, or someone who chose a language), and the pages set no cookie of their own.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime, timezone
from urllib.parse import urlencode
from xml.etree import ElementTree as ET

from flask import Blueprint, Response, g, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from werkzeug.routing import BuildError

from ..extensions import db
from ..forms.admin import MATTER_CATEGORY_LABELS
from ..models import AuditHead, Body, Certificate, Matter, PowerSource, Publication, PublicationKind, \
    PublicationStatus, User
from ..services import disclosure
from ..services.clock import local_today
from ..services.errors import NotFound
from ..services.people import certificates_query

bp = Blueprint("public", __name__, url_prefix="/public")

PER_PAGE = 20
FEED_ENTRIES = 50
MAX_ID = 2**31 - 1
MAX_PLACE = 80
CACHE_SECONDS = 300

DEFAULT_REMEDY = _l("If you disagree with an administrative enforcement decision, you may apply for administrative "
                    "reconsideration within 60 days of the day you knew of it (行政复议法 art. 20), or bring an "
                    "administrative suit in the people's court within 6 months (行政诉讼法 art. 46).")


class BadParameter(Exception):
    """A query parameter the public pages cannot use: answered 400 with the message."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- plumbing -------------------------------------------------------------------------------------------

@bp.after_request
def cache_headers(response: Response) -> Response:
    """Public pages may be cached for five minutes, by shared caches only when no session is in play."""
    if request.method in ("GET", "HEAD") and response.status_code < 500:
        shared = not session and not session.modified
        response.headers["Cache-Control"] = f"{'public' if shared else 'private'}, max-age={CACHE_SECONDS}"
        response.vary.add("Accept-Language")
        response.vary.add("Cookie")
    return response


@bp.errorhandler(BadParameter)
def bad_parameter(exc: BadParameter):
    if request.path.endswith(".json"):
        return _json({"error": exc.message}, 400)
    return render_template("public/error.html", code=400, message=exc.message), 400


@bp.errorhandler(NotFound)
def not_found(exc: NotFound):
    db.session.rollback()
    if request.path.endswith(".json"):
        return _json({"error": exc.message}, 404)
    return render_template("public/error.html", code=404, message=exc.message), 404


@bp.app_template_global("public_nav")
def public_nav() -> list[tuple[str, str, str]]:
    """(endpoint, address, label) of the public sections; the statistics once their pages exist."""
    items = [("public.index", _("Bodies")), ("public.officers", _("Officers")), ("public.powers", _("Powers")),
             ("public.decisions", _("Decisions")), ("public.demolitions", _("Demolition notices")),
             ("public.withdrawals", _("Withdrawals")), ("reports.public_index", _("Statistics"))]
    nav = []
    for endpoint, label in items:
        try:
            nav.append((endpoint, url_for(endpoint), label))
        except BuildError:  # the statistics pages are another blueprint's
            continue
    return nav


@bp.app_template_global("public_lang_url")
def public_lang_url(lang: str) -> str:
    """This page in the other language (the choice is remembered in the session)."""
    # The query is kept as it came (minus the old choice), encoded here rather than through url_for,
    # whose own keywords (endpoint, _external, _scheme, …) a query could otherwise smuggle in.
    pairs = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"] + [("lang", lang)]
    return url_for(request.endpoint, **(request.view_args or {})) + "?" + urlencode(pairs)


def _positive_int(name: str, *, low: int = 1, high: int = MAX_ID, label: str | None = None) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or not (low <= int(raw) <= high):
        raise BadParameter(_("“%(value)s” is not a valid value for %(name)s.", value=raw[:20], name=label or name))
    return int(raw)


@dataclass
class Search:
    year: int | None = None
    matter: int | None = None
    place: str = ""
    body: int | None = None
    page: int = 1

    def args(self, **override) -> dict:
        values = {"year": self.year, "matter": self.matter, "place": self.place or None, "body": self.body}
        values.update(override)
        return {k: v for k, v in values.items() if v not in (None, "")}


def _search() -> Search:
    place = request.args.get("place", "").strip()
    if len(place) > MAX_PLACE or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in place):
        raise BadParameter(_("The place to search for is too long or holds characters that are not allowed."))
    return Search(year=_positive_int("year", low=1900, high=9999, label=_("year")),
                  matter=_positive_int("matter", label=_("matter")), place=place,
                  body=_positive_int("body", label=_("body")),
                  page=_positive_int("page", label=_("page")) or 1)


def _body_filter() -> Body | None:
    body_id = _positive_int("body", label=_("body"))
    if body_id is None:
        return None
    body = db.session.get(Body, body_id)
    if body is None or not body.active:
        raise NotFound(_("No such enforcement body."))
    return body


def _bodies() -> list[Body]:
    return list(db.session.scalars(select(Body).where(Body.active.is_(True)).order_by(Body.id)))


def _eager(query):
    return query.options(joinedload(Publication.body), joinedload(Publication.matter))


def _page(query, page: int, total: int | None = None) -> tuple[list[Publication], int, int, int]:
    """One page of a publication query: (items, page, pages, total); a page past the end shows the last.
    `total` when the caller knows it already (an unfiltered list: the facets counted it)."""
    per_page = PER_PAGE
    if total is None:
        total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(page, pages)
    items = list(db.session.scalars(_eager(query).limit(per_page).offset((page - 1) * per_page)).unique())
    return items, page, pages, total


def _settings():
    """The disclosure settings, held for the whole request: the identity map keeps only weak references,
    so without this every `public_record` (through `offline_on`) would load the row again."""
    if "public_settings" not in g:
        g.public_settings = disclosure.get_settings()
    return g.public_settings


def _records(pubs, today: date) -> list[dict]:
    settings = _settings()
    return [disclosure.public_record(p, today, settings=settings) for p in pubs]


def _keep_months() -> int:
    return _settings().keep_online_months


def _json(payload: dict, status: int = 200) -> Response:
    return Response(json.dumps(payload, ensure_ascii=False, indent=1), status=status,
                    mimetype="application/json")


def _kind_endpoint(kind: str) -> str:
    return "public.demolition" if kind == PublicationKind.DEMOLITION_NOTICE.value else "public.decision"


# --- before: the body, its officers, its powers ----------------------------------------------------------

@bp.route("/")
def index():
    head = db.session.get(AuditHead, 1)
    return render_template("public/index.html", bodies=_bodies(), head=head, default_remedy=DEFAULT_REMEDY,
                           keep_months=_keep_months())


@bp.route("/bodies/<int:body_id>")
def body(body_id: int):
    row = db.session.get(Body, body_id)
    if row is None or not row.active:
        raise NotFound(_("No such enforcement body."))
    return render_template("public/body.html", body=row, default_remedy=DEFAULT_REMEDY)


@bp.route("/officers")
def officers():
    """Officers with certificates valid today, by the same ledger query as the gates; only the public
    columns are selected (nothing else about the user leaves the database)."""
    chosen = _body_filter()
    bodies = [chosen] if chosen else _bodies()
    today = local_today()
    query = (certificates_query([b.id for b in bodies], on=today, state="valid")
             .join(Body, User.body_id == Body.id)
             .where(User.active.is_(True), User.auxiliary.is_(False))
             .with_only_columns(Body.id.label("body_id"), User.name, User.unit, Certificate.number,
                                Certificate.category, Certificate.area, Certificate.valid_until)
             .order_by(None).order_by(Body.id, User.name, Certificate.number))
    rows = db.session.execute(query).all()
    by_body = {b.id: [] for b in bodies}
    for row in rows:
        by_body[row.body_id].append(row)
    return render_template("public/officers.html", bodies=bodies, by_body=by_body, chosen=chosen, today=today,
                           all_bodies=_bodies())


@bp.route("/powers")
def powers():
    chosen = _body_filter()
    bodies = [chosen] if chosen else _bodies()
    matters = db.session.scalars(
        select(Matter).where(Matter.active.is_(True), Matter.body_id.in_([b.id for b in bodies] or [-1]))
        .order_by(Matter.body_id, Matter.category, Matter.code, Matter.id)).all()
    by_body = {b.id: [] for b in bodies}
    for matter in matters:
        by_body[matter.body_id].append(matter)
    return render_template("public/powers.html", bodies=bodies, by_body=by_body, chosen=chosen,
                           all_bodies=_bodies(), category_labels=MATTER_CATEGORY_LABELS,
                           delegated=PowerSource.DELEGATED.value)


# --- after: decisions, demolition notices, withdrawals ---------------------------------------------------

def _decision_query(search: Search, today: date):
    return disclosure.public_query(today=today, year=search.year, matter_id=search.matter,
                                   village=search.place or None, body_id=search.body)


def _search_options(facets: disclosure.Facets) -> dict:
    """Years, matters and places that online decisions have, for the search form."""
    matters = db.session.scalars(select(Matter).where(Matter.id.in_(facets.matter_ids or [-1]))
                                 .order_by(Matter.name)).all()
    return {"years": facets.years, "places": facets.villages, "matters": matters, "bodies": _bodies()}


def _decision_page(search: Search, today: date):
    """The page of decisions a search asks for, and the facets of all online decisions."""
    facets = disclosure.public_facets(today=today)
    unfiltered = not (search.year or search.matter or search.place or search.body)
    items, page, pages, total = _page(_decision_query(search, today), search.page,
                                      total=facets.total if unfiltered else None)
    return items, page, pages, total, facets


@bp.route("/decisions")
def decisions():
    search = _search()
    today = local_today()
    items, page, pages, total, facets = _decision_page(search, today)
    return render_template("public/decisions.html", records=_records(items, today), page=page, pages=pages,
                           total=total, search=search, options=_search_options(facets),
                           keep_months=_keep_months())


def _show(pub_id: int, kind: str):
    pub = disclosure.public_publication(pub_id)
    if pub.kind != kind:
        return redirect(url_for(_kind_endpoint(pub.kind), pub_id=pub.id), 301)
    today = local_today()
    keep = _keep_months()
    if not disclosure.is_online(pub, today, _settings()):
        return render_template("public/gone.html", kind=pub.kind, title=pub.title,
                               document_number=pub.document_number, published_on=pub.published_on,
                               offline_on=disclosure.offline_on(pub, _settings()), keep_months=keep), 410
    return render_template("public/decision.html", record=disclosure.public_record(pub, today, settings=_settings()), keep_months=keep,
                           today=today)


@bp.route("/decisions/<int:pub_id>")
def decision(pub_id: int):
    return _show(pub_id, PublicationKind.DECISION.value)


@bp.route("/demolition-notices")
def demolitions():
    page = _positive_int("page", label=_("page")) or 1
    today = local_today()
    query = disclosure.public_query(today=today, kind=PublicationKind.DEMOLITION_NOTICE.value)
    items, page, pages, total = _page(query, page)
    return render_template("public/demolitions.html", records=_records(items, today), page=page, pages=pages,
                           total=total, today=today, keep_months=_keep_months())


@bp.route("/demolition-notices/<int:pub_id>")
def demolition(pub_id: int):
    return _show(pub_id, PublicationKind.DEMOLITION_NOTICE.value)


@bp.route("/withdrawals")
def withdrawals():
    page = _positive_int("page", label=_("page")) or 1
    today = local_today()
    query = disclosure.public_query(today=today, kind=None, statuses=(PublicationStatus.WITHDRAWN.value,))
    items, page, pages, total = _page(query, page)
    return render_template("public/withdrawals.html", records=_records(items, today), page=page, pages=pages,
                           total=total, keep_months=_keep_months(), kind_labels=disclosure.KIND_LABELS)


# --- machine-readable ------------------------------------------------------------------------------------

ATOM = "http://www.w3.org/2005/Atom"


def _stamp(day: str) -> str:
    """A day of the record as an RFC 3339 time (midnight, Beijing time)."""
    return f"{day}T00:00:00+08:00"


def _detail_url(record: dict) -> str:
    return url_for(_kind_endpoint(record["kind"]), pub_id=record["id"], _external=True)


@bp.route("/decisions.atom")
def feed():
    """Atom 1.0: the newest published (and withdrawn) decisions, with the page's filters."""
    search = _search()
    today = local_today()
    pubs = db.session.scalars(_eager(_decision_query(search, today)).limit(FEED_ENTRIES)).unique().all()
    records = _records(pubs, today)
    ET.register_namespace("", ATOM)

    def sub(parent, tag, text=None, **attrs):
        element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            element.text = text
        return element

    lang = "en" if str(get_locale() or "").startswith("en") else "zh-CN"
    root = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": lang})
    sub(root, "id", url_for("public.decisions", _external=True, **search.args()))
    sub(root, "title", _("Published administrative enforcement decisions"))
    sub(root, "subtitle", _("Published decisions stay online %(months)d months after publication.",
                            months=_keep_months()))
    updated = max((_stamp(r["withdrawn_on"] or r["published_on"]) for r in records), default=None)
    sub(root, "updated", updated or datetime.now(timezone.utc).replace(microsecond=0).isoformat())
    sub(root, "link", rel="self", type="application/atom+xml",
        href=url_for("public.feed", _external=True, **search.args()))
    sub(root, "link", rel="alternate", type="text/html",
        href=url_for("public.decisions", _external=True, **search.args()))
    author = sub(root, "author")
    sub(author, "name", ", ".join(dict.fromkeys(r["body"] for r in records)) or _("Public disclosure"))
    for r in records:
        entry = sub(root, "entry")
        sub(entry, "id", _detail_url(r))
        withdrawn = r["status"] == PublicationStatus.WITHDRAWN.value
        title = f"{r['title']} {r['document_number']}"
        sub(entry, "title", (_("Withdrawn") + ": " + title) if withdrawn else title)
        sub(entry, "published", _stamp(r["published_on"]))
        sub(entry, "updated", _stamp(r["withdrawn_on"] if withdrawn else r["published_on"]))
        sub(entry, "link", rel="alternate", type="text/html", href=_detail_url(r))
        entry_author = sub(entry, "author")
        sub(entry_author, "name", r["body"])
        sub(entry, "category", term=r["matter"])
        if withdrawn:
            sub(entry, "summary", _("Withdrawn on %(day)s. Reason: %(reason)s", day=r["withdrawn_on"],
                                    reason=r["withdrawal_reason"]))
        else:
            sub(entry, "summary", "；".join(x for x in (r["party"], r["place"], r["conclusion"]) if x))
            sub(entry, "content", r["text"] or "", type="text")
    body = ET.tostring(root, encoding="unicode", xml_declaration=False)
    return Response('<?xml version="1.0" encoding="utf-8"?>\n' + body, mimetype="application/atom+xml")


@bp.route("/decisions.json")
def decisions_json():
    search = _search()
    today = local_today()
    items, page, pages, total = _page(_decision_query(search, today), search.page)
    records = [{**r, "url": _detail_url(r)} for r in _records(items, today)]
    return _json({"generated_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
                  "keep_online_months": _keep_months(), "page": page, "pages": pages, "total": total,
                  "items": records})
