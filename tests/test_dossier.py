"""The dossier digest: the same facts and records give the same digest; any change gives another."""
from __future__ import annotations

import pytest

from enforcement.extensions import db
from enforcement.services import dossier


@pytest.fixture
def case(make, team):
    return make.case(team, approve=True)


def test_the_digest_is_stable_for_the_same_dossier(case, make):
    make.record(case, "site_photo")
    first = dossier.digest(case)
    db.session.expire_all()
    assert dossier.digest(case) == first
    assert len(first) == 64


def test_adding_a_record_changes_the_digest(case, make):
    before = dossier.digest(case)
    make.record(case, "inspection_record")
    assert dossier.digest(case) != before


def test_superseding_a_record_changes_the_digest(case, make):
    old = make.record(case, "site_photo")
    before = dossier.digest(case)
    make.record(case, "site_photo", supersedes_id=old.id, supersede_reason="拍错了地块")
    after = dossier.digest(case)
    assert after != before
    ids = [r["id"] for r in dossier.manifest(case)["records"]]
    assert old.id not in ids  # only current records are reviewed


def test_a_changed_fact_changes_the_digest(case):
    before = dossier.digest(case)
    case.summary = case.summary + "（补充：已建成三层）"
    assert dossier.digest(case) != before


def test_the_manifest_names_records_by_their_sha256_in_id_order(case, make):
    second = make.record(case, "inspection_record")
    first = make.record(case, "site_photo")
    listed = dossier.manifest(case)["records"]
    assert [r["id"] for r in listed] == sorted([first.id, second.id])
    assert {r["sha256"] for r in listed} == {first.sha256, second.sha256}
    assert dossier.canonical({"b": 1, "a": "张"}) == '{"a":"张","b":1}'.encode()
