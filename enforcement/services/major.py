"""Whether a decision is major (重大执法决定), with the reasons in words.

This module knows what the foundation stores (catalogue flag, legal route, the complexity
mark); the legal-review work adds the penalty thresholds, hearings and decision types.
"""
from __future__ import annotations

from flask_babel import gettext as _

from ..models import Case


def major_reasons(case: Case) -> list[str]:
    reasons = []
    if case.matter.in_major_catalogue:
        reasons.append(_("the matter is in the major-decision catalogue"))
    if case.route:
        reasons.append(_("a demolition order is treated as major"))
    if case.complex_reason:
        reasons.append(_("marked complex: %(reason)s", reason=case.complex_reason))
    return reasons
