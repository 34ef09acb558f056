"""The dossier (案卷) a decision rests on, and its digest.

A legal review signs off *this* dossier: the case facts the decision rests on and every current
record, each by its SHA-256. `digest(case)` is the SHA-256 of a canonical JSON of both, so that
any later change — a record added or superseded, a fact edited, an officer changed — gives another
digest, and the decision gate can tell that the review no longer matches (issue 4).
"""
from __future__ import annotations

import hashlib
import json

from ..models import Case
from . import records

# The case facts a decision rests on, in a fixed order (personal data included: it identifies the party).
FACT_FIELDS = ("id", "number", "body_id", "matter_id", "route", "source", "party_kind", "party_name",
               "party_id_number", "party_address", "party_is_minor", "village", "place_detail", "summary",
               "act_began_on", "act_ended_on", "discovered_on", "filed_on", "complex_reason")
# The review's and the decision's own papers are products of the review, not part of what it reviews:
# the opinion, the collective discussion and the decision document never change the dossier's digest.
PROCESS_TYPES = frozenset({"legal_review_opinion", "collective_discussion", "decision"})
RECORD_FIELDS = ("id", "type_code", "stage", "sha256", "size", "supersedes_id")
VERSION = 1  # bump when the canonical form changes; stored digests keep the version they were made with


def _plain(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def manifest(case: Case) -> dict:
    """What the digest covers, as plain data (shown with a review, kept with its request)."""
    facts = {name: _plain(getattr(case, name)) for name in FACT_FIELDS}
    facts["officer_ids"] = sorted(o.user_id for o in case.active_officers)
    facts["matter_code"] = case.matter.code
    current = sorted((r for r in records.current_records(case) if r.type_code not in PROCESS_TYPES),
                     key=lambda r: r.id)
    return {"version": VERSION, "facts": facts,
            "records": [{name: getattr(r, name) for name in RECORD_FIELDS} for r in current]}


def canonical(data: dict) -> bytes:
    """One byte string for one content: sorted keys, no spaces, UTF-8."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def digest(case: Case) -> str:
    """The SHA-256 of the dossier now: equal digests mean the same facts and the same records."""
    return hashlib.sha256(canonical(manifest(case))).hexdigest()
