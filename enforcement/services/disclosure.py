"""Public disclosure after the decision (事后公开): drafts, masking, deadlines, publishing, withdrawal.

- When a decision is made final a draft is made at once (`draft_for_decision`, called by
  decisions.finalise in the same transaction): the original text with the party's data, kept
  restricted, and a masked copy by the configured rules (services.masking). A minor's case is held
  back automatically; other cases that must not be published are held by the head with the reason.
- The officer reviews the masked copy beside the original, may correct it, and publishes. The
  publish gate refuses while the copy still holds personal data (masking.leaks) and lists it.
- Deadlines: 7 working days from the decision for penalty and permit decisions, 20 for other
  enforcement decisions (国办发〔2018〕118号); 3 working days to withdraw a published notice once its
  decision is revoked, changed or found unlawful (行政处罚法 art. 48), with a public reason.
- Publications stay online for the configured months after publication, then come down; the
  public page says so.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import defer

from ..extensions import db
from ..models import (Case, Decision, DecisionKind, DecisionType, DisclosureSettings, HoldReason, MatterCategory,
                      Publication, PublicationCategory, PublicationKind, PublicationStatus, Role, User)
from ..models._types import utcnow
from . import audit, masking
from .calendar import CalendarUnknown, add_working_days
from .clock import local_today
from .errors import DomainError, GateRefused, NotFound, PermissionDenied
from .permissions import can_view_case, case_scope, is_case_officer, is_head_of

PUBLISH_DAYS = {PublicationCategory.PENALTY_PERMIT.value: 7, PublicationCategory.OTHER.value: 20}
WITHDRAW_DAYS = 3

HOLD_REASON_LABELS = {
    HoldReason.MINOR.value: _l("The party is a minor"),
    HoldReason.STATE_SECRET.value: _l("The main facts are state secrets"),
    HoldReason.BUSINESS_SECRET.value: _l("The main facts are business secrets"),
    HoldReason.PRIVACY.value: _l("The main facts are personal privacy"),
    HoldReason.SECURITY.value: _l("Publication would endanger security or stability"),
    HoldReason.NO_SOCIAL_IMPACT.value: _l("A general-procedure penalty without social impact"),
}
STATUS_LABELS = {
    PublicationStatus.DRAFT.value: _l("Draft"),
    PublicationStatus.HELD.value: _l("Held back"),
    PublicationStatus.PUBLISHED.value: _l("Published"),
    PublicationStatus.WITHDRAWN.value: _l("Withdrawn"),
    PublicationStatus.SUPERSEDED.value: _l("Not published (decision replaced)"),
}
KIND_LABELS = {PublicationKind.DECISION.value: _l("Decision"),
               PublicationKind.DEMOLITION_NOTICE.value: _l("Demolition notice")}


# --- settings -------------------------------------------------------------------------------------------

SETTING_FIELDS = ("publish_scope", "keep_online_months", "due_soon_days", "mask_party_name", "remove_id_numbers",
                  "remove_phones", "remove_bank_accounts", "remove_health", "remove_other_names",
                  "village_level_address", "health_terms", "name_cues", "extra_terms")


def get_settings() -> DisclosureSettings:
    """The one settings row; defaults (not saved) until an administrator first changes them."""
    row = db.session.get(DisclosureSettings, 1)
    if row is None:
        row = DisclosureSettings(id=1)
        for column in DisclosureSettings.__table__.columns:
            if column.default is not None and not callable(column.default.arg):
                setattr(row, column.name, column.default.arg)
    return row


def _lines(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(line.strip() for line in (value or "").splitlines() if line.strip()))


def rules(settings: DisclosureSettings | None = None) -> masking.MaskRules:
    s = settings or get_settings()
    extra = {}
    if _lines(s.health_terms):
        extra["health_terms"] = _lines(s.health_terms)
    if _lines(s.name_cues):
        extra["name_cues"] = _lines(s.name_cues)
    return masking.MaskRules(
        mask_party_name=s.mask_party_name, remove_id_numbers=s.remove_id_numbers, remove_phones=s.remove_phones,
        remove_bank_accounts=s.remove_bank_accounts, remove_health=s.remove_health,
        remove_other_names=s.remove_other_names, village_level_address=s.village_level_address,
        extra_terms=_lines(s.extra_terms), **extra)


def update_settings(*, actor: User, **changes) -> DisclosureSettings:
    """An administrator changes the rules; the change is an audit event naming old and new values."""
    if not (actor.active and actor.has_role(Role.ADMIN)):
        raise PermissionDenied(_("Only an administrator changes the disclosure rules."))
    unknown = set(changes) - set(SETTING_FIELDS)
    if unknown:
        raise DomainError(_("Unknown setting: %(name)s", name=", ".join(sorted(unknown))))
    problems = []
    if "publish_scope" in changes and changes["publish_scope"] not in ("all", "social_impact"):
        problems.append(_("Choose whether every penalty or only those with social impact is published."))
    if "keep_online_months" in changes and not (1 <= int(changes["keep_online_months"] or 0) <= 600):
        problems.append(_("The keep-online period is between 1 and 600 months."))
    if "due_soon_days" in changes and not (0 <= int(changes["due_soon_days"] or 0) <= 20):
        problems.append(_("'Due soon' is between 0 and 20 working days."))
    if problems:
        raise GateRefused(problems)
    row = get_settings()
    if row not in db.session:
        db.session.add(row)
    before, after = {}, {}
    for name, value in changes.items():
        if isinstance(value, str):
            value = "\n".join(_lines(value)) if name.endswith(("terms", "cues")) else value.strip()
        if getattr(row, name) != value:
            before[name], after[name] = getattr(row, name), value
            setattr(row, name, value)
    if after:
        row.updated_by_id = actor.id
        audit.record("disclosure.settings_changed", "disclosure_settings", 1, "disclosure settings", actor=actor,
                     before=before, after=after)
    return row


# --- deadlines ------------------------------------------------------------------------------------------

def deadline(start: date, days: int) -> tuple[date, bool]:
    """`days` working days after `start`, and whether that is exact. For a year the calendar does not
    know yet, the same number of calendar days (always earlier, so never late), marked inexact."""
    try:
        return add_working_days(start, days), True
    except CalendarUnknown:
        return start + timedelta(days=days), False


def category_for(case: Case) -> str:
    """Penalty and permit decisions: 7 working days; other enforcement decisions: 20."""
    if case.matter.category in (MatterCategory.PENALTY.value, MatterCategory.PERMIT.value):
        return PublicationCategory.PENALTY_PERMIT.value
    return PublicationCategory.OTHER.value


def add_months(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    month += 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, candidate))
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover


def offline_on(pub: Publication, settings: DisclosureSettings | None = None) -> date | None:
    """The day a published (or withdrawn) notice comes down: the keep-online period after publication."""
    if pub.published_on is None:
        return None
    return add_months(pub.published_on, (settings or get_settings()).keep_online_months)


def is_online(pub: Publication, today: date | None = None, settings: DisclosureSettings | None = None) -> bool:
    today = today or local_today()
    end = offline_on(pub, settings)
    return pub.status in (PublicationStatus.PUBLISHED.value, PublicationStatus.WITHDRAWN.value) and \
        end is not None and today < end


# --- composing the texts --------------------------------------------------------------------------------

def party_of(case: Case) -> masking.Party:
    return masking.Party(kind=case.party_kind, name=case.party_name, id_number=case.party_id_number or "",
                         phone=case.party_phone or "", address=case.party_address or "", village=case.village or "")


def _place_detail(case: Case, rules_: masking.MaskRules) -> str:
    """The exact place of the building, hidden when places are shown at village level."""
    detail = (case.place_detail or "").strip()
    return detail if rules_.village_level_address and len(detail) >= 2 and case.village else ""


def _conclusion(decision: Decision) -> str:
    from .decisions import _proposal_words

    with force_locale("zh_Hans_CN"):
        return _proposal_words(decision)


def _title(decision: Decision) -> str:
    if decision.kind == DecisionKind.CHANGE.value:
        return "变更行政执法决定信息公开"
    if decision.decision_type == DecisionType.DEMOLITION.value:
        return "限期拆除决定信息公开"
    if decision.decision_type == DecisionType.NO_PENALTY.value:
        return "不予行政处罚决定信息公开"
    return "行政处罚决定信息公开"


def _day(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def original_text(case: Case, decision: Decision) -> str:
    """The decision's information as the 决定书 states it, personal data included (restricted)."""
    party = [f"当事人：{case.party_name}"]
    if case.party_id_number:
        party.append(f"身份证件号码：{case.party_id_number}")
    if case.party_address:
        party.append(f"住址：{case.party_address}")
    if case.party_phone:
        party.append(f"联系电话：{case.party_phone}")
    place = f"{case.village}{case.place_detail or ''}"
    lines = ["；".join(party) + "。",
             f"违法地点：{place}。" if place else "",
             f"违法事实：{case.summary.strip()}",
             f"执法依据：{decision.legal_basis.strip()}" if decision.legal_basis.strip() else "",
             f"执法决定：{_conclusion(decision)}。{decision.content.strip()}".rstrip(),
             f"作出决定日期：{_day(decision.decided_on)}。",
             f"作出决定机关：{case.body.name}。"]
    if decision.kind == DecisionKind.CHANGE.value and decision.replaces is not None:
        lines.insert(0, f"本决定变更本机关于{_day(decision.replaces.decided_on)}作出的决定。变更理由：{decision.reason}")
    return "\n".join(line for line in lines if line)


def demolition_notice_text(case: Case, decision: Decision, self_demolition_by: date, note: str = "") -> str:
    """限期自行拆除公告 (行政强制法 art. 44), personal data included (restricted)."""
    place = f"{case.village}{case.place_detail or ''}"
    text = (f"{case.party_name}：\n"
            f"你（单位）位于{place}的建筑物、构筑物，经本机关于{_day(decision.decided_on)}作出{decision.case.number}"
            f"决定，认定为违法建设，责令限期拆除。根据《中华人民共和国行政强制法》第四十四条的规定，现予公告："
            f"请你（单位）于{_day(self_demolition_by)}前自行拆除。逾期不拆除，又不在法定期限内申请行政复议或者提起"
            f"行政诉讼的，本机关将依法强制拆除。")
    if note.strip():
        text += "\n" + note.strip()
    return text + f"\n{case.body.name}\n{_day(local_today())}"


def _mask(case: Case, text: str, settings: DisclosureSettings | None = None) -> masking.Masked:
    """The masking rules, after the exact place of the building is brought to village level."""
    r = rules(settings)
    detail, village = _place_detail(case, r), case.village
    changes = []
    if detail and detail in text:
        text = text.replace(village + detail, village).replace(detail, village)
        changes.append(masking.Change("address", detail, village))
    masked = masking.mask(text, party_of(case), r)
    return masking.Masked(masked.text, tuple(changes) + tuple(masked.changes))


def _changes_json(masked: masking.Masked) -> str:
    return json.dumps([{"kind": c.kind, "original": c.original, "replacement": c.replacement}
                       for c in masked.changes], ensure_ascii=False)


# --- drafts ---------------------------------------------------------------------------------------------

def publications_of(case: Case) -> list[Publication]:
    return list(db.session.scalars(select(Publication).where(Publication.case_id == case.id)
                                   .order_by(Publication.id)))


def get_publication(pub_id: int) -> Publication:
    pub = db.session.get(Publication, pub_id)
    if pub is None:
        raise NotFound(_("No such publication."))
    return pub


def _new_publication(case: Case, decision: Decision, *, kind: PublicationKind, title: str, text: str,
                     due: tuple[date | None, bool], self_demolition_by: date | None = None) -> Publication:
    settings = get_settings()
    masked = _mask(case, text, settings)
    r = rules(settings)
    pub = Publication(
        case_id=case.id, body_id=case.body_id, decision_id=decision.id, kind=kind.value,
        status=PublicationStatus.DRAFT.value, category=category_for(case), title=title,
        document_number=case.number, matter_id=case.matter_id, decision_type=decision.decision_type,
        conclusion=_conclusion(decision), year=decision.decided_on.year,
        village=masking.public_place(party_of(case), r), party_display=masking.public_party_name(party_of(case), r),
        decided_on=decision.decided_on, self_demolition_by=self_demolition_by, original_text=text,
        masking=_changes_json(masked), masked_text=masked.text, due_on=due[0], due_exact=due[1])
    db.session.add(pub)
    db.session.flush()
    return pub


def draft_for_decision(decision: Decision, *, actor: User | None = None) -> Publication | None:
    """The draft made when a decision (or a change) becomes final. A revocation is published as the
    withdrawal of what it revokes, not as a notice of its own."""
    if decision.kind == DecisionKind.REVOCATION.value:
        return None
    case = decision.case
    category = category_for(case)
    pub = _new_publication(case, decision, kind=PublicationKind.DECISION, title=_title(decision),
                           text=original_text(case, decision),
                           due=deadline(decision.decided_on, PUBLISH_DAYS[category]))
    audit.record("publication.drafted", "publication", pub.id, case.number, actor=actor,
                 after={"kind": pub.kind, "due_on": pub.due_on, "due_exact": pub.due_exact,
                        "masked": len(pub.masking_changes)}, body_id=case.body_id, case_id=case.id)
    if case.party_is_minor:
        with force_locale("zh_Hans_CN"):
            detail = _("The party is registered as a minor: held back automatically (not to be published).")
        _set_held(pub, HoldReason.MINOR.value, detail, actor=None)
    return pub


def post_demolition_notice(decision: Decision, *, actor: User, self_demolition_by: date, note: str = "",
                           today: date | None = None) -> Publication:
    """The public notice ordering the party to demolish by a date (行政强制法 art. 44), as a draft to publish."""
    from .decisions import current_decision

    from .records import lock_case

    today = today or local_today()
    case = decision.case
    _require_manager(actor, case)
    lock_case(case)  # two officers posting at the same moment: the second sees the first's notice
    problems = []
    current = current_decision(case)
    if current is None or current.id != decision.id:
        problems.append(_("Only the decision in force can be announced."))
    if decision.decision_type != DecisionType.DEMOLITION.value:
        problems.append(_("Only a demolition decision is announced with a self-demolition deadline."))
    if self_demolition_by is None or self_demolition_by <= today:
        problems.append(_("The self-demolition deadline must be a day after today."))
    open_notice = db.session.scalar(select(Publication.id).where(
        Publication.decision_id == decision.id, Publication.kind == PublicationKind.DEMOLITION_NOTICE.value,
        Publication.status.in_((PublicationStatus.DRAFT.value, PublicationStatus.PUBLISHED.value))))
    if open_notice is not None:
        problems.append(_("This decision already has a demolition notice; withdraw it before posting another."))
    if problems:
        raise GateRefused(problems)
    pub = _new_publication(case, decision, kind=PublicationKind.DEMOLITION_NOTICE, title="限期自行拆除公告",
                           text=demolition_notice_text(case, decision, self_demolition_by, note),
                           due=(None, True), self_demolition_by=self_demolition_by)
    audit.record("publication.drafted", "publication", pub.id, case.number, actor=actor,
                 after={"kind": pub.kind, "self_demolition_by": self_demolition_by}, body_id=case.body_id,
                 case_id=case.id)
    if case.party_is_minor:
        _set_held(pub, HoldReason.MINOR.value, "当事人为未成年人，依法不予公开。", actor=None)
    return pub


# --- who may act ----------------------------------------------------------------------------------------

def can_manage(user, case: Case) -> bool:
    """Officers on the case (not auxiliary staff) and the body's head review, correct and publish."""
    if not (getattr(user, "active", False) and can_view_case(user, case)):
        return False
    if is_head_of(user, case.body_id):
        return True
    return is_case_officer(user, case) and not user.auxiliary and user.has_role(Role.OFFICER)


def can_read_original(user, case: Case) -> bool:
    from .permissions import can_see_personal_data

    return can_see_personal_data(user, case)


def _require_manager(user, case: Case) -> None:
    if not can_manage(user, case):
        raise PermissionDenied(_("Only the officers on the case or the head of %(body)s handle its publication.",
                                 body=case.body.name))


def _require_head(user, case: Case, what: str) -> None:
    if not (getattr(user, "active", False) and is_head_of(user, case.body_id)):
        raise PermissionDenied(what)


# --- the officer's review of the masked copy -------------------------------------------------------------

def _require_status(pub: Publication, *statuses: PublicationStatus) -> None:
    if pub.status not in {s.value for s in statuses}:
        raise DomainError(_("This publication is %(status)s: that step is not open.",
                            status=STATUS_LABELS[pub.status]))


def save_masked(pub: Publication, *, actor: User, text: str, version: int | None = None) -> Publication:
    """The officer corrects the masked copy (the original never changes)."""
    _require_manager(actor, pub.case)
    _require_status(pub, PublicationStatus.DRAFT)
    _check_version(pub, version)
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise GateRefused([_("The text to publish is empty.")])
    if text != pub.masked_text:
        before = _digest(pub.masked_text)
        pub.masked_text = text
        pub.edited_by_id, pub.edited_at = actor.id, utcnow()
        audit.record("publication.edited", "publication", pub.id, pub.document_number, actor=actor,
                     before={"text_sha256": before}, after={"text_sha256": _digest(text)},
                     body_id=pub.body_id, case_id=pub.case_id)
    return pub


def remask(pub: Publication, *, actor: User, version: int | None = None) -> Publication:
    """Start the masked copy again from the original by the rules in force (drops hand corrections)."""
    _require_manager(actor, pub.case)
    _require_status(pub, PublicationStatus.DRAFT)
    _check_version(pub, version)
    masked = _mask(pub.case, pub.original_text)
    pub.masked_text, pub.masking = masked.text, _changes_json(masked)
    r = rules()
    pub.party_display = masking.public_party_name(party_of(pub.case), r)
    pub.village = masking.public_place(party_of(pub.case), r)
    pub.edited_by_id, pub.edited_at = actor.id, utcnow()
    audit.record("publication.remasked", "publication", pub.id, pub.document_number, actor=actor,
                 after={"text_sha256": _digest(pub.masked_text), "masked": len(masked.changes)},
                 body_id=pub.body_id, case_id=pub.case_id)
    return pub


def leak_problems(pub: Publication, text: str | None = None) -> list[str]:
    """Personal data still in what the public would read (the text, the party line, the place)."""
    case = pub.case
    r = rules()
    party = party_of(case)
    text = pub.masked_text if text is None else text
    problems = list(masking.leaks(text, party, r))
    detail = _place_detail(case, r)
    if detail and detail in text:
        problems.append(_("The text still gives the exact place (%(place)s): show it at village level.",
                          place=detail))
    for field in (pub.party_display, pub.village, pub.title):
        problems += masking.leaks(field, party, r)
    return list(dict.fromkeys(problems))


def publication_problems(pub: Publication, today: date | None = None) -> list[str]:
    """The publish gate: every unmet condition, in words (empty = may publish)."""
    from .decisions import current_decision

    problems = []
    if pub.status != PublicationStatus.DRAFT.value:
        problems.append(_("Only a draft is published; this one is %(status)s.", status=STATUS_LABELS[pub.status]))
    if pub.case.party_is_minor:
        problems.append(_("The party is a minor: the case is not published (行政处罚法 art. 48)."))
    current = current_decision(pub.case)
    if current is None or current.id != pub.decision_id:
        problems.append(_("The decision was revoked or changed: it is no longer published."))
    if not (pub.masked_text or "").strip():
        problems.append(_("The text to publish is empty."))
    problems += leak_problems(pub)
    return problems


def publish(pub: Publication, *, actor: User, version: int | None = None, today: date | None = None) -> Publication:
    today = today or local_today()
    _require_manager(actor, pub.case)
    _check_version(pub, version)
    problems = publication_problems(pub, today)
    if problems:
        raise GateRefused(problems)
    pub.status = PublicationStatus.PUBLISHED.value
    pub.published_by_id, pub.published_at, pub.published_on = actor.id, utcnow(), today
    pub.published_digest = _digest(pub.masked_text)
    audit.record("publication.published", "publication", pub.id, pub.document_number, actor=actor,
                 after={"published_on": today, "due_on": pub.due_on, "late": is_late(pub),
                        "text_sha256": pub.published_digest}, body_id=pub.body_id, case_id=pub.case_id)
    return pub


def is_late(pub: Publication) -> bool:
    """Published after its deadline (or, unpublished, only by `obligations`)."""
    return bool(pub.due_on and pub.published_on and pub.published_on > pub.due_on)


# --- holding back ---------------------------------------------------------------------------------------

def hold_reasons(settings: DisclosureSettings | None = None) -> list[str]:
    """The reasons a head may choose; 'no social impact' only when the setting publishes only those."""
    s = settings or get_settings()
    reasons = [r.value for r in HoldReason if r != HoldReason.MINOR]
    if s.publish_scope != "social_impact":
        reasons.remove(HoldReason.NO_SOCIAL_IMPACT.value)
    return reasons


def _set_held(pub: Publication, reason: str, detail: str, *, actor: User | None) -> None:
    pub.status = PublicationStatus.HELD.value
    pub.hold_reason, pub.hold_detail = reason, detail
    pub.held_by_id, pub.held_at = getattr(actor, "id", None), utcnow()
    audit.record("publication.held", "publication", pub.id, pub.document_number, actor=actor,
                 after={"reason": reason, "detail": detail}, body_id=pub.body_id, case_id=pub.case_id)


def hold(pub: Publication, *, actor: User, reason: str, detail: str, version: int | None = None) -> Publication:
    """The head holds a draft back from publication, with the reason (kept and shown to auditors)."""
    _require_head(actor, pub.case, _("Only the head of %(body)s decides that a case is not published.",
                                     body=pub.case.body.name))
    _require_status(pub, PublicationStatus.DRAFT)
    _check_version(pub, version)
    problems = []
    if reason not in hold_reasons():
        problems.append(_("Choose one of the reasons the law allows for not publishing."))
    if reason == HoldReason.NO_SOCIAL_IMPACT.value and pub.category != PublicationCategory.PENALTY_PERMIT.value:
        problems.append(_("'Without social impact' applies to penalty decisions only."))
    if not (detail or "").strip():
        problems.append(_("Explain in words why this case is not published."))
    if problems:
        raise GateRefused(problems)
    _set_held(pub, reason, detail.strip(), actor=actor)
    return pub


def release(pub: Publication, *, actor: User, version: int | None = None) -> Publication:
    """The head takes back a hold: the draft is open again (its deadline still runs from the decision)."""
    _require_head(actor, pub.case, _("Only the head of %(body)s releases a held publication.",
                                     body=pub.case.body.name))
    _require_status(pub, PublicationStatus.HELD)
    _check_version(pub, version)
    if pub.case.party_is_minor:
        raise GateRefused([_("The party is a minor: the case is not published (行政处罚法 art. 48).")])
    before = {"reason": pub.hold_reason}
    pub.status, pub.hold_reason, pub.hold_detail = PublicationStatus.DRAFT.value, None, ""
    pub.held_by_id = pub.held_at = None
    audit.record("publication.released", "publication", pub.id, pub.document_number, actor=actor, before=before,
                 body_id=pub.body_id, case_id=pub.case_id)
    return pub


# --- withdrawal -----------------------------------------------------------------------------------------

def require_withdrawal(pub: Publication, *, cause: str, actor: User | None, today: date | None = None) -> None:
    """The decision behind `pub` was revoked, changed or found unlawful: a published notice must come
    down within 3 working days; a draft or a hold is simply never published."""
    today = today or local_today()
    if pub.status == PublicationStatus.PUBLISHED.value:
        if pub.withdraw_due_on is not None:
            return
        pub.withdraw_due_on, exact = deadline(today, WITHDRAW_DAYS)
        pub.withdraw_cause, pub.withdraw_required_at = cause, utcnow()
        audit.record("publication.withdrawal_required", "publication", pub.id, pub.document_number, actor=actor,
                     after={"cause": cause, "withdraw_due_on": pub.withdraw_due_on, "due_exact": exact},
                     body_id=pub.body_id, case_id=pub.case_id)
    elif pub.status in (PublicationStatus.DRAFT.value, PublicationStatus.HELD.value):
        before = {"status": pub.status}
        pub.status, pub.withdraw_cause = PublicationStatus.SUPERSEDED.value, cause
        audit.record("publication.superseded", "publication", pub.id, pub.document_number, actor=actor,
                     before=before, after={"cause": cause}, body_id=pub.body_id, case_id=pub.case_id)


def on_decision_replaced(old: Decision, new: Decision, *, actor: User, today: date | None = None) -> None:
    """Called by decisions.replace in the same transaction."""
    with force_locale("zh_Hans_CN"):
        what = "撤销" if new.kind == DecisionKind.REVOCATION.value else "变更"
    cause = f"{_day(new.decided_on)}决定{what}：{new.reason}"
    for pub in db.session.scalars(select(Publication).where(Publication.decision_id == old.id)):
        require_withdrawal(pub, cause=cause, actor=actor, today=today)
    draft_for_decision(new, actor=actor)


def found_unlawful(pub: Publication, *, actor: User, cause: str, version: int | None = None,
                   today: date | None = None) -> Publication:
    """The head records that the published decision was found unlawful or invalid (e.g. by supervision)."""
    _require_head(actor, pub.case, _("Only the head of %(body)s starts a withdrawal.", body=pub.case.body.name))
    _check_version(pub, version)
    if not (cause or "").strip():
        raise GateRefused([_("Say why the decision is found unlawful or invalid.")])
    _require_status(pub, PublicationStatus.PUBLISHED, PublicationStatus.DRAFT, PublicationStatus.HELD)
    require_withdrawal(pub, cause=cause.strip(), actor=actor, today=today)
    return pub


def suggested_withdrawal_reason(pub: Publication) -> str:
    """A public reason without personal data, for the officer to adjust."""
    cause = pub.withdraw_cause or ""
    if "决定撤销：" in cause:
        return f"该决定已被本机关撤销（{cause.split('决定')[0]}），依法撤回公开信息。"
    if "决定变更：" in cause:
        return f"该决定已被本机关变更（{cause.split('决定')[0]}），依法撤回原公开信息，变更后的决定另行公开。"
    for words, label in (("撤销该决定", "撤销"), ("变更该决定", "变更")):
        if cause.endswith(words):
            return f"该决定已被{cause[:-len(words)]}依法{label}，依法撤回公开信息。"
    return "该决定被依法确认违法或者无效，依法撤回公开信息。"


def withdraw(pub: Publication, *, actor: User, reason: str, version: int | None = None,
             today: date | None = None) -> Publication:
    """Take a published notice down with the reason the public reads (行政处罚法 art. 48)."""
    today = today or local_today()
    _require_manager(actor, pub.case)
    _require_status(pub, PublicationStatus.PUBLISHED)
    _check_version(pub, version)
    reason = (reason or "").strip()
    problems = []
    if pub.withdraw_due_on is None:
        problems.append(_("Nothing requires this notice to come down: its decision is in force. A decision "
                          "found unlawful is recorded by the head first."))
    if not reason:
        problems.append(_("Give the reason the public will read."))
    problems += masking.leaks(reason, party_of(pub.case), rules())
    if problems:
        raise GateRefused(problems)
    pub.status = PublicationStatus.WITHDRAWN.value
    pub.withdrawal_reason = reason
    pub.withdrawn_by_id, pub.withdrawn_at, pub.withdrawn_on = actor.id, utcnow(), today
    audit.record("publication.withdrawn", "publication", pub.id, pub.document_number, actor=actor,
                 after={"reason": reason, "withdrawn_on": today, "withdraw_due_on": pub.withdraw_due_on,
                        "late": today > pub.withdraw_due_on}, body_id=pub.body_id, case_id=pub.case_id)
    return pub


# --- what is due ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Obligation:
    publication: Publication
    action: str        # "publish" or "withdraw"
    due_on: date
    state: str         # "overdue", "due_soon" or "open"
    exact: bool = True


def obligations(body_ids, today: date | None = None, *, case_ids=None) -> list[Obligation]:
    """Drafts to publish and notices to withdraw in these bodies, the most urgent first."""
    today = today or local_today()
    settings = get_settings()
    soon = deadline(today, settings.due_soon_days)[0] if settings.due_soon_days else today
    query = select(Publication).where(Publication.body_id.in_(list(body_ids) or [-1]), or_(
        (Publication.status == PublicationStatus.DRAFT.value) & Publication.due_on.is_not(None),
        (Publication.status == PublicationStatus.PUBLISHED.value) & Publication.withdraw_due_on.is_not(None)))
    if case_ids is not None:
        query = query.where(Publication.case_id.in_(list(case_ids) or [-1]))
    items = []
    for pub in db.session.scalars(query):
        if pub.status == PublicationStatus.DRAFT.value:
            action, due, exact = "publish", pub.due_on, pub.due_exact
        else:
            action, due, exact = "withdraw", pub.withdraw_due_on, True
        state = "overdue" if due < today else ("due_soon" if due <= soon else "open")
        items.append(Obligation(pub, action, due, state, exact))
    return sorted(items, key=lambda o: (o.due_on, o.publication.id))


def obligations_for(user, today: date | None = None) -> list[Obligation]:
    return obligations(case_scope(user), today)


def staff_query(user, *, status: str | None = None, kind: str | None = None) -> Select:
    query = select(Publication).where(Publication.body_id.in_(list(case_scope(user)) or [-1]))
    if status:
        query = query.where(Publication.status == status)
    if kind:
        query = query.where(Publication.kind == kind)
    return query.order_by(Publication.id.desc())


# --- what the public reads ------------------------------------------------------------------------------

def public_query(*, today: date | None = None, kind: str | None = PublicationKind.DECISION.value,
                 statuses=(PublicationStatus.PUBLISHED.value, PublicationStatus.WITHDRAWN.value),
                 year: int | None = None, matter_id: int | None = None, village: str | None = None,
                 body_id: int | None = None) -> Select:
    """Publications online today, newest first: published (and withdrawn, shown as such) within the
    keep-online period."""
    today = today or local_today()
    cutoff = add_months(today, -get_settings().keep_online_months)
    # The restricted columns are never even loaded for the public.
    query = select(Publication).options(defer(Publication.original_text), defer(Publication.masking)) \
        .where(Publication.status.in_(list(statuses)), Publication.published_on > cutoff)
    if kind:
        query = query.where(Publication.kind == kind)
    if year:
        query = query.where(Publication.year == year)
    if matter_id:
        query = query.where(Publication.matter_id == matter_id)
    if village:
        query = query.where(Publication.village.contains(village.strip()))
    if body_id:
        query = query.where(Publication.body_id == body_id)
    return query.order_by(Publication.published_on.desc(), Publication.id.desc())


@dataclass(frozen=True)
class Facets:
    """What the online decisions span, for the public search form: one pass over a covering index."""

    years: list[int]
    villages: list[str]
    matter_ids: list[int]
    total: int


def public_facets(*, today: date | None = None, kind: str = PublicationKind.DECISION.value) -> Facets:
    today = today or local_today()
    cutoff = add_months(today, -get_settings().keep_online_months)
    rows = db.session.execute(
        select(Publication.year, Publication.village, Publication.matter_id, func.count())
        .where(Publication.kind == kind,
               Publication.status.in_((PublicationStatus.PUBLISHED.value, PublicationStatus.WITHDRAWN.value)),
               Publication.published_on > cutoff)
        .group_by(Publication.year, Publication.village, Publication.matter_id)).all()
    return Facets(years=sorted({r[0] for r in rows}, reverse=True), villages=sorted({r[1] for r in rows if r[1]}),
                  matter_ids=sorted({r[2] for r in rows}), total=sum(r[3] for r in rows))


def public_publication(pub_id: int) -> Publication:
    """A publication as the public may reach it by its address: published or withdrawn only (a draft,
    a hold or a superseded draft does not exist for the public). Whether it is still online is for
    the page to say (`is_online`)."""
    pub = db.session.get(Publication, pub_id)
    if pub is None or pub.status not in (PublicationStatus.PUBLISHED.value, PublicationStatus.WITHDRAWN.value):
        raise NotFound(_("No such publication."))
    return pub


def public_record(pub: Publication, today: date | None = None, *,
                  settings: DisclosureSettings | None = None) -> dict:
    """The one dictionary the public pages, the feed and the JSON are made from: nothing restricted.
    Pass `settings` when making many (the default settings are not a row the session caches)."""
    withdrawn = pub.status == PublicationStatus.WITHDRAWN.value
    return {
        "id": pub.id, "kind": pub.kind, "title": pub.title, "document_number": pub.document_number,
        "body": pub.body.name, "matter": pub.matter.name, "category": pub.matter.enforcement_category,
        "party": pub.party_display, "place": pub.village, "conclusion": pub.conclusion,
        "decided_on": pub.decided_on.isoformat(), "published_on": pub.published_on.isoformat(),
        "self_demolition_by": pub.self_demolition_by.isoformat() if pub.self_demolition_by else None,
        "status": pub.status, "text": None if withdrawn else pub.masked_text,
        "withdrawn_on": pub.withdrawn_on.isoformat() if withdrawn else None,
        "withdrawal_reason": pub.withdrawal_reason if withdrawn else None,
        "offline_on": offline_on(pub, settings).isoformat(), "text_sha256": pub.published_digest,
    }


# --- helpers --------------------------------------------------------------------------------------------

def _digest(text: str) -> str:
    return hashlib.sha256((text or "").encode("utf-8")).hexdigest()


def _check_version(pub: Publication, version: int | None) -> None:
    from .errors import Conflict

    if version is not None and int(version) != pub.version:
        raise Conflict(_("Someone else changed this publication in the meantime; reload and check it again."))


def _register_timeline() -> None:
    from .cases import EVENT_LABELS, FIELD_LABELS, SHOWN_FIELDS

    EVENT_LABELS.update({
        "publication.drafted": _l("Publication drafted (masked)"), "publication.edited": _l("Masked text corrected"),
        "publication.remasked": _l("Masked text made again"), "publication.published": _l("Published"),
        "publication.held": _l("Publication held back"), "publication.released": _l("Publication hold taken back"),
        "publication.withdrawal_required": _l("Publication must be withdrawn"),
        "publication.withdrawn": _l("Publication withdrawn"),
        "publication.superseded": _l("Publication draft dropped (decision replaced)"),
    })
    SHOWN_FIELDS.update({"publication.drafted": ("kind", "due_on", "self_demolition_by"),
                         "publication.published": ("published_on", "due_on", "late"),
                         "publication.held": ("reason", "detail"),
                         "publication.withdrawal_required": ("cause", "withdraw_due_on"),
                         "publication.withdrawn": ("reason", "withdrawn_on", "late"),
                         "publication.superseded": ("cause",)})
    FIELD_LABELS.update({"due_on": _l("Due on"), "late": _l("Late"), "published_on": _l("Published on"),
                         "withdraw_due_on": _l("Withdraw by"), "withdrawn_on": _l("Withdrawn on"),
                         "cause": _l("Cause"), "self_demolition_by": _l("Self-demolition deadline"),
                         "detail": _l("Detail"), "kind": _l("Kind")})


_register_timeline()
