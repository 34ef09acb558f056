"""Whether a decision is major (重大执法决定), with the reasons in words.

Major when (DOMAIN.md, 行政处罚法 art. 58 and the local catalogues): the matter is in the body's
major-decision catalogue; the decision orders demolition, revokes a licence or stops production
or business (every demolition-route case is treated as major); a fine or the value confiscated
reaches the matter's configured threshold; the proposed penalty lies outside the discretion
standard; a hearing was held; or the case was marked complex. Legal review is then compulsory.
"""
from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..models import Case, DecisionType, Notice, PartyKind
from ..models.review import MAJOR_TYPES


def latest_notice(case: Case) -> Notice | None:
    return db.session.scalar(select(Notice).where(Notice.case_id == case.id).order_by(Notice.id.desc()).limit(1))


def money(value) -> str:
    """¥12,345.00 — amounts in words are always shown the same way."""
    return "¥{:,.2f}".format(Decimal(value))


def outside_band(band, fine) -> bool:
    """Whether a fine lies outside the band's range (no band or no fine: not outside)."""
    if band is None or fine is None:
        return False
    fine = Decimal(fine)
    return (band.fine_min is not None and fine < band.fine_min) or (band.fine_max is not None and fine > band.fine_max)


def major_reasons(case: Case, proposal=None) -> list[str]:
    """Why the decision is major, in words (empty: not major).

    `proposal` is anything with `decision_type`, `fine_amount`, `confiscation_value` and,
    optionally, `discretion_band` (a notice, a review request, a decision being made); by
    default the latest notice of the case.
    """
    reasons = []
    matter = case.matter
    if matter.in_major_catalogue:
        reasons.append(_("the matter is in the major-decision catalogue"))
    if case.route:
        reasons.append(_("a demolition order is treated as major"))
    notice = latest_notice(case)
    if proposal is None:
        proposal = notice
    if proposal is not None:
        kind = proposal.decision_type
        if kind in {t.value for t in MAJOR_TYPES} and not case.route:
            reasons.append(_("the decision is of a major kind: %(what)s", what=decision_type_label(kind)))
        person = case.party_kind == PartyKind.PERSON.value
        threshold = matter.major_fine_person if person else matter.major_fine_org
        if proposal.fine_amount is not None and threshold is not None and Decimal(proposal.fine_amount) >= threshold:
            reasons.append(_("a fine of %(fine)s reaches the threshold of %(limit)s for %(whom)s",
                             fine=money(proposal.fine_amount), limit=money(threshold),
                             whom=_("a person") if person else _("an organisation")))
        value = proposal.confiscation_value
        if value is not None and matter.major_confiscation_value is not None and \
                Decimal(value) >= matter.major_confiscation_value:
            reasons.append(_("confiscation worth %(value)s reaches the threshold of %(limit)s",
                             value=money(value), limit=money(matter.major_confiscation_value)))
        band = getattr(proposal, "discretion_band", None)
        if outside_band(band, proposal.fine_amount):
            reasons.append(_("the fine lies outside the discretion standard (%(band)s)", band=band.circumstance))
    if notice is not None and notice.hearing_held_on is not None:
        reasons.append(_("a hearing was held"))
    if case.complex_reason:
        reasons.append(_("marked complex: %(reason)s", reason=case.complex_reason))
    return reasons


def decision_type_label(kind: str) -> str:
    """A decision type in words (Chinese first: these are the words of the documents)."""
    labels = {
        DecisionType.WARNING.value: _("warning (警告)"),
        DecisionType.FINE.value: _("fine (罚款)"),
        DecisionType.CONFISCATION.value: _("confiscation (没收违法所得、非法财物)"),
        DecisionType.DEMOLITION.value: _("order demolition within a time limit (限期拆除)"),
        DecisionType.CORRECTION.value: _("order correction within a time limit (责令限期改正)"),
        DecisionType.STOP_PRODUCTION.value: _("order to stop production or business (责令停产停业)"),
        DecisionType.LICENCE_REVOCATION.value: _("revoke a licence (吊销许可证件)"),
        DecisionType.NO_PENALTY.value: _("no penalty (不予行政处罚)"),
    }
    return labels.get(kind, kind)
