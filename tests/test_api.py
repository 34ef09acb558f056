"""The JSON API under /api/v1: bearer tokens only, scope and masking, the same gates as the screens,
and an OpenAPI file that matches the routes and the answers."""
from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from enforcement.extensions import db
from enforcement.models import AuditEvent, Case, Role, Stage
from enforcement.services import people

OPENAPI_PATH = Path(__file__).resolve().parent.parent / "enforcement" / "openapi.json"
PREFIX = "/api/v1"


# --- helpers ----------------------------------------------------------------------------------

def token_for(user, name: str = "phone") -> str:
    _token, plain = people.create_api_token(user, actor=user, name=name)
    db.session.commit()
    return plain


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def spec() -> dict:
    return json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))


@pytest.fixture
def api(client, spec):
    """api(method, path, user_or_token, json=...) -> response, checked against the documented schema."""
    tokens: dict[int, str] = {}

    def call(method: str, path: str, who=None, *, check: bool = True, **kw):
        headers = {"Accept-Language": "en", **kw.pop("headers", {})}
        if who is not None:
            if isinstance(who, str):
                headers.update(bearer(who))
            else:
                if who.id not in tokens:
                    tokens[who.id] = token_for(who, name=f"test-{who.id}")
                headers.update(bearer(tokens[who.id]))
        response = client.open(PREFIX + path, method=method, headers=headers, **kw)
        if check:
            assert_documented(spec, method, path, response)
        return response
    return call


def filing_body(team, matter, **changes) -> dict:
    filed = date.today() - timedelta(days=2)
    body = {
        "matter_id": matter.id, "route": matter.route, "source": "grid_patrol",
        "source_detail": "网格员巡查发现",
        "party": {"kind": "person", "name": "李四", "id_number": "110101198001011111", "phone": "13900139000",
                  "address": "永平镇西村8号"},
        "village": "西村", "place_detail": "西村小学东侧", "summary": "未取得乡村建设规划许可证建设二层住房",
        "act_began_on": (filed - timedelta(days=30)).isoformat(),
        "discovered_on": (filed - timedelta(days=1)).isoformat(),
        "filed_on": filed.isoformat(), "officer_ids": [team["officer"].id, team["officer2"].id],
    }
    body.update(changes)
    return body


def case_count() -> int:
    return db.session.scalar(select(func.count(Case.id)))


# --- a small checker for the subset of JSON Schema the OpenAPI file uses ----------------------

def _resolve(spec: dict, ref: str) -> dict:
    assert ref.startswith("#/"), ref
    node = spec
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def schema_errors(spec: dict, schema: dict, value, where: str = "$") -> list[str]:
    if "$ref" in schema:
        return schema_errors(spec, _resolve(spec, schema["$ref"]), value, where)
    if "oneOf" in schema:
        matches = [s for s in schema["oneOf"] if not schema_errors(spec, s, value, where)]
        return [] if len(matches) == 1 else [f"{where}: matches {len(matches)} of oneOf"]
    errors = []
    types = schema.get("type")
    if types is not None:
        types = [types] if isinstance(types, str) else types
        kinds = {"string": str, "integer": int, "boolean": bool, "object": dict, "array": list,
                 "null": type(None), "number": (int, float)}
        ok = any(isinstance(value, kinds[t]) and not (t in ("integer", "number") and isinstance(value, bool))
                 for t in types)
        if not ok:
            return [f"{where}: {value!r} is not of type {types}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} not in {schema['enum']}")
    if isinstance(value, str) and schema.get("format") == "date":
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            errors.append(f"{where}: {value!r} is not a date")
    if isinstance(value, str) and schema.get("format") == "date-time":
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", value):
            errors.append(f"{where}: {value!r} is not a UTC date-time")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                errors.append(f"{where}: missing {name}")
        for name, item in value.items():
            if name in props:
                errors += schema_errors(spec, props[name], item, f"{where}.{name}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{where}: undocumented property {name}")
            elif isinstance(schema.get("additionalProperties"), dict):
                errors += schema_errors(spec, schema["additionalProperties"], item, f"{where}.{name}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            errors += schema_errors(spec, schema["items"], item, f"{where}[{i}]")
    return errors


def _spec_path(path: str) -> str:
    """'/cases/12/events?x=1' -> '/cases/{case_id}/events'."""
    path = path.split("?", 1)[0]
    return re.sub(r"/cases/\d+", "/cases/{case_id}", path)


def assert_documented(spec: dict, method: str, path: str, response) -> None:
    """The status is documented for the operation and the body matches its schema."""
    operation = spec["paths"][_spec_path(path)][method.lower()]
    documented = operation["responses"].get(str(response.status_code))
    assert documented, f"{method} {path} answered {response.status_code}, which is not documented"
    if "$ref" in documented:
        documented = _resolve(spec, documented["$ref"])
    schema = documented["content"]["application/json"]["schema"]
    assert response.is_json, f"{method} {path} did not answer JSON"
    problems = schema_errors(spec, schema, response.get_json())
    assert not problems, f"{method} {path} {response.status_code}: " + "; ".join(problems)


# --- the OpenAPI document ------------------------------------------------------------------------

def test_openapi_document_is_served_without_a_token(client, spec):
    response = client.get(f"{PREFIX}/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == spec
    assert spec["openapi"].startswith("3.1")
    assert spec["servers"][0]["url"] == PREFIX


def test_every_api_route_is_documented_and_every_documented_route_exists(app, spec):
    registered = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX + "/"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule[len(PREFIX):])
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            registered.add((method.lower(), path))
    documented = {(method, path) for path, item in spec["paths"].items()
                  for method in item if method in {"get", "post", "put", "patch", "delete"}}
    assert registered, "no route under /api/v1"
    assert registered - documented == set(), "routes missing from openapi.json"
    assert documented - registered == set(), "openapi.json documents routes that do not exist"


def test_openapi_document_is_self_consistent(spec):
    text = json.dumps(spec)
    for ref in set(re.findall(r'"\$ref": "([^"]+)"', text)):
        _resolve(spec, ref)  # raises KeyError when a reference dangles
    operation_ids = [op["operationId"] for item in spec["paths"].values() for key, op in item.items()
                     if key != "parameters"]
    assert len(operation_ids) == len(set(operation_ids))
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        **spec["components"]["securitySchemes"]["bearerAuth"], "type": "http", "scheme": "bearer"}
    for path, item in spec["paths"].items():
        for key, op in item.items():
            if key == "parameters":
                continue
            if path == "/openapi.json":
                assert op["security"] == []
            else:
                assert "security" not in op, "every other endpoint uses the global bearer requirement"
                assert "401" in op["responses"], f"{key.upper()} {path} must document 401"


# --- authentication -------------------------------------------------------------------------------

def test_request_without_token_is_refused_with_a_bearer_challenge(api):
    response = api("GET", "/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "invalid_token" not in response.headers["WWW-Authenticate"]
    assert response.get_json()["error"]


def test_unknown_token_is_refused(api, team):
    token_for(team["officer"])
    response = api("GET", "/me", "etk_not-a-real-token")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_other_authorization_schemes_are_refused(api, team):
    plain = token_for(team["officer"])
    response = api("GET", "/me", headers={"Authorization": f"Basic {plain}"})
    assert response.status_code == 401


def test_revoked_token_is_refused(api, team):
    token, plain = people.create_api_token(team["officer"], actor=team["officer"], name="old phone")
    db.session.commit()
    assert api("GET", "/me", plain).status_code == 200
    people.revoke_api_token(token, actor=team["admin"])
    db.session.commit()
    assert api("GET", "/me", plain).status_code == 401


def test_token_of_a_deactivated_user_is_refused(api, team):
    plain = token_for(team["officer"])
    people.deactivate_user(team["officer"], actor=team["admin"], reason="left the post")
    db.session.commit()
    assert api("GET", "/me", plain).status_code == 401


def test_token_of_an_inactive_user_is_refused_even_if_not_revoked(api, team):
    plain = token_for(team["officer"])
    team["officer"].active = False  # defence in depth: the token itself was never revoked
    db.session.commit()
    assert api("GET", "/me", plain).status_code == 401


def test_logged_in_session_cookie_alone_is_not_a_credential(client, login, api, team, make):
    case = make.case(team)
    assert login(team["officer"]).status_code == 302
    with client.session_transaction() as session:  # the browser holds a live login session
        assert session.get("_user_id") == team["officer"].get_id()
    assert api("GET", "/me").status_code == 401
    assert api("GET", f"/cases/{case.id}").status_code == 401
    # A forged cross-site POST riding on the cookie gets 401, not a CSRF error and not a change.
    response = api("POST", f"/cases/{case.id}/advance", json={"target": "investigation"})
    assert response.status_code == 401
    db.session.refresh(case)
    assert case.stage == Stage.FILING.value


def test_using_a_token_records_when_it_was_last_used(api, team):
    token, plain = people.create_api_token(team["officer"], actor=team["officer"], name="field phone")
    db.session.commit()
    assert token.last_used_at is None
    api("GET", "/me", plain)
    db.session.refresh(token)
    assert token.last_used_at is not None


def test_me_describes_the_token_owner(api, team):
    response = api("GET", "/me", team["auditor"])
    assert response.status_code == 200
    data = response.get_json()
    assert data["id"] == team["auditor"].id
    assert data["roles"] == ["auditor"]
    assert data["body"]["id"] == team["body"].id
    assert data["case_scope"] == [team["body"].id]
    assert "password_hash" not in json.dumps(data)


def test_api_answers_are_not_cached(api, team):
    response = api("GET", "/me", team["officer"])
    assert response.headers["Cache-Control"] == "no-store"
    assert "Authorization" in response.headers["Vary"]


# --- the case list and scope -----------------------------------------------------------------------

def test_officer_lists_only_the_cases_of_their_own_body(api, make, team):
    mine = make.case(team)
    other = make.case(make.team())
    response = api("GET", "/cases", team["officer"])
    assert response.status_code == 200
    ids = [item["id"] for item in response.get_json()["items"]]
    assert ids == [mine.id]
    assert other.number not in response.get_data(as_text=True)


def test_case_list_filters_and_pages(api, make, team):
    waiting = make.case(team)
    approved = make.case(team, approve=True)
    older = make.case(team, approve=True)
    by_stage = api("GET", "/cases?stage=investigation", team["head"]).get_json()
    assert [i["id"] for i in by_stage["items"]] == [older.id, approved.id]
    assert [i["id"] for i in api("GET", f"/cases?matter_id={waiting.matter_id}", team["head"]).get_json()["items"]] \
        == [waiting.id]
    assert len(api("GET", f"/cases?officer_id={team['officer'].id}", team["head"]).get_json()["items"]) == 3
    assert api("GET", "/cases?overdue=true", team["head"]).get_json()["items"] == []
    assert [i["id"] for i in api("GET", f"/cases?q={waiting.number}", team["head"]).get_json()["items"]] \
        == [waiting.id]
    first = api("GET", "/cases?per_page=2", team["head"]).get_json()
    assert (len(first["items"]), first["page"], first["has_next"]) == (2, 1, True)
    second = api("GET", "/cases?per_page=2&page=2", team["head"]).get_json()
    assert ([i["id"] for i in second["items"]], second["has_next"]) == ([waiting.id], False)


def test_case_list_rejects_bad_filters_field_by_field(api, team):
    response = api("GET", "/cases?per_page=101&page=0&stage=nowhere&overdue=perhaps&matter_id=x", team["officer"])
    assert response.status_code == 400
    assert set(response.get_json()["fields"]) == {"per_page", "page", "stage", "overdue", "matter_id"}
    assert api("GET", "/cases?page=99999999999999999999", team["officer"]).status_code == 400


def test_admin_without_case_roles_may_not_list_cases(api, team):
    assert api("GET", "/cases", team["admin"]).status_code == 403


def test_case_of_another_body_is_not_found_and_leaks_nothing(api, make, team):
    other_team = make.team()
    other = make.case(other_team)
    for method, path, body in (("GET", f"/cases/{other.id}", None), ("GET", f"/cases/{other.id}/events", None),
                               ("POST", f"/cases/{other.id}/approve", None),
                               ("POST", f"/cases/{other.id}/advance", {"target": "investigation"})):
        for user in (team["officer"], team["head"], team["auditor"]):
            response = api(method, path, user, json=body)
            assert response.status_code == 404, (method, path)
            text = response.get_data(as_text=True)
            assert other.number not in text and other.party_name not in text
            assert set(response.get_json()) == {"error"}
    missing = api("GET", "/cases/999999", team["officer"])
    assert missing.status_code == 404
    assert missing.get_json() == api("GET", f"/cases/{other.id}", team["officer"]).get_json()
    db.session.refresh(other)
    assert other.stage == Stage.FILING.value


def test_county_auditor_sees_cases_of_the_towns_below(api, make):
    county = make.body(kind="county")
    town_team = make.team(make.body(parent_id=county.id))
    case = make.case(town_team)
    auditor = make.user(Role.AUDITOR, body=county)
    assert api("GET", f"/cases/{case.id}", auditor).status_code == 200
    assert [i["id"] for i in api("GET", "/cases", auditor).get_json()["items"]] == [case.id]


# --- one case -------------------------------------------------------------------------------------

def test_case_detail_shows_facts_officers_deadline_and_what_blocks_each_next_stage(api, make, team):
    case = make.case(team)
    response = api("GET", f"/cases/{case.id}", team["officer"])
    assert response.status_code == 200
    data = response.get_json()
    assert data["number"] == case.number and data["stage"] == "filing"
    assert data["decision_due_on"] == case.decision_due_on.isoformat()
    assert data["overdue"] is False
    assert {o["id"] for o in data["officers"]} == {team["officer"].id, team["officer2"].id}
    assert data["major_reasons"]  # a planning-route case is a demolition order: major
    [nxt] = data["next_stages"]
    assert nxt["stage"] == "investigation"
    assert any("approved the filing" in u for u in nxt["unmet"])
    assert data["actions"] == {"approve_filing": False, "advance": True, "edit": True}
    assert data["party"]["personal_data_visible"] is True
    assert data["party"]["id_number"] == case.party_id_number
    assert data["party"]["phone"] == case.party_phone


def test_personal_data_is_masked_for_those_who_may_not_see_it(api, make, team):
    case = make.case(team)
    response = api("GET", f"/cases/{case.id}", team["auditor"])
    assert response.status_code == 200
    party = response.get_json()["party"]
    assert party["personal_data_visible"] is False
    assert (party["id_number"], party["phone"], party["address"]) == ("1101**********1234", "138****8000", "****")
    text = response.get_data(as_text=True)
    for value in (case.party_id_number, case.party_phone, case.party_address):
        assert value not in text
    assert party["name"] == case.party_name
    head_view = api("GET", f"/cases/{case.id}", team["head"]).get_json()["party"]
    assert head_view["address"] == case.party_address


def test_case_events_are_the_audit_trail_without_personal_data(api, make, team):
    case = make.case(team, approve=True)
    response = api("GET", f"/cases/{case.id}/events", team["auditor"])
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [e["action"] for e in items] == ["case.filed", "case.filing_approved", "case.stage_changed"]
    assert items[0]["actor_id"] == team["officer"].id
    assert items[2]["after"]["stage"] == "investigation"
    assert all(a["hash"] == b["prev_hash"] for a, b in zip(items, items[1:]) if b["id"] == a["id"] + 1)
    text = response.get_data(as_text=True)
    for value in (case.party_id_number, case.party_phone, case.party_address):
        assert value not in text


# --- filing ---------------------------------------------------------------------------------------

def test_officer_files_a_case_through_the_api(api, make, team):
    matter = make.matter(team["body"])
    response = api("POST", "/cases", team["officer"], json=filing_body(team, matter))
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert response.headers["Location"].endswith(f"{PREFIX}/cases/{data['id']}")
    assert data["stage"] == "filing"
    assert data["party"]["id_number"] == "110101198001011111"
    assert data["created_by"]["id"] == team["officer"].id
    case = db.session.get(Case, data["id"])
    assert case.body_id == team["body"].id and case.matter_id == matter.id
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.case_id == case.id))
    assert event.action == "case.filed" and event.actor_id == team["officer"].id
    assert "110101198001011111" not in (event.after or "")


def test_filing_with_one_officer_is_refused_with_the_unmet_conditions(api, make, team):
    matter = make.matter(team["body"])
    before = case_count()
    response = api("POST", "/cases", team["officer"], json=filing_body(team, matter, officer_ids=[team["officer"].id]))
    assert response.status_code == 409
    unmet = response.get_json()["unmet"]
    assert any("two officers" in u for u in unmet)
    assert case_count() == before


def test_filing_with_an_expired_certificate_lists_who_and_why(api, make, team):
    expired = make.user(Role.OFFICER, body=team["body"], certificate={"valid_until": date(2025, 1, 31)})
    matter = make.matter(team["body"])
    response = api("POST", "/cases", team["officer"],
                   json=filing_body(team, matter, officer_ids=[team["officer"].id, expired.id]))
    assert response.status_code == 409
    unmet = response.get_json()["unmet"]
    assert any(expired.name in u and "expired" in u for u in unmet)
    assert any("two officers" in u for u in unmet)


def test_malformed_json_is_a_bad_request(api, team):
    response = api("POST", "/cases", team["officer"], data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert "body" in response.get_json()["fields"]
    not_json = api("POST", "/cases", team["officer"], data="matter_id=1",
                   content_type="application/x-www-form-urlencoded")
    assert not_json.status_code == 400
    a_list = api("POST", "/cases", team["officer"], json=[1, 2])
    assert a_list.status_code == 400


def test_bad_dates_and_types_are_named_field_by_field(api, make, team):
    matter = make.matter(team["body"])
    before = case_count()
    body = filing_body(team, matter, act_began_on="31/12/2025", filed_on="2026-02-30", officer_ids="1,2",
                       source="rumour", lead_officer_id=True, colour="red")
    body["party"] = {"kind": "person", "name": "", "phone": 13900139000}
    response = api("POST", "/cases", team["officer"], json=body)
    assert response.status_code == 400
    fields = response.get_json()["fields"]
    assert set(fields) == {"act_began_on", "filed_on", "officer_ids", "source", "lead_officer_id", "colour",
                           "party.name", "party.phone"}
    assert "YYYY-MM-DD" in fields["act_began_on"]
    assert case_count() == before


def test_missing_fields_are_named(api, team):
    response = api("POST", "/cases", team["officer"], json={})
    assert response.status_code == 400
    assert {"matter_id", "source", "party", "village", "summary", "act_began_on", "discovered_on", "filed_on",
            "officer_ids"} <= set(response.get_json()["fields"])


def test_too_long_text_is_refused_before_the_database_sees_it(api, make, team):
    matter = make.matter(team["body"])
    response = api("POST", "/cases", team["officer"], json=filing_body(team, matter, village="村" * 81))
    assert response.status_code == 400
    assert set(response.get_json()["fields"]) == {"village"}


def test_filing_with_another_bodys_matter_or_officers_is_bad_input_naming_nobody(api, make, team):
    other_team = make.team()
    other_matter = make.matter(other_team["body"])
    response = api("POST", "/cases", team["officer"],
                   json=filing_body(team, other_matter, officer_ids=[team["officer"].id, other_team["officer"].id]))
    assert response.status_code == 400
    assert set(response.get_json()["fields"]) == {"matter_id", "officer_ids"}
    text = response.get_data(as_text=True)
    assert other_team["officer"].name not in text and other_matter.name not in text


@pytest.mark.parametrize("role", ["head", "auditor", "reviewer", "admin"])
def test_only_officers_file_cases(api, make, team, role):
    matter = make.matter(team["body"])
    response = api("POST", "/cases", team[role], json=filing_body(team, matter))
    assert response.status_code == 403


# --- approval and stages -----------------------------------------------------------------------------

def test_officer_may_not_approve_a_filing(api, make, team):
    case = make.case(team)
    response = api("POST", f"/cases/{case.id}/approve", team["officer"])
    assert response.status_code == 403
    db.session.refresh(case)
    assert case.stage == Stage.FILING.value and case.filing_approved_by_id is None


def test_head_approves_a_filing_and_the_case_moves_to_investigation(api, make, team):
    case = make.case(team)
    response = api("POST", f"/cases/{case.id}/approve", team["head"], json={"version": case.version})
    assert response.status_code == 200
    data = response.get_json()
    assert data["stage"] == "investigation"
    assert data["filing_approved_by"] == {"id": team["head"].id, "name": team["head"].name}
    db.session.refresh(case)
    assert case.stage == Stage.INVESTIGATION.value
    assert api("POST", f"/cases/{case.id}/approve", team["head"]).status_code == 409  # approved already: a conflict, not a permission matter


def test_approval_is_refused_when_the_filing_gate_fails_and_nothing_is_saved(api, make, team):
    case = make.case(team)
    cert = team["officer2"].certificates[0]
    people.set_certificate_status(cert, actor=team["admin"], status="revoked", reason="left the post")
    db.session.commit()
    response = api("POST", f"/cases/{case.id}/approve", team["head"])
    assert response.status_code == 409
    assert any(team["officer2"].name in u for u in response.get_json()["unmet"])
    db.session.refresh(case)
    assert case.stage == Stage.FILING.value and case.filing_approved_by_id is None


def test_acting_on_a_stale_version_is_refused(api, make, team):
    case = make.case(team)
    response = api("POST", f"/cases/{case.id}/approve", team["head"], json={"version": case.version + 5})
    assert response.status_code == 409
    assert "unmet" not in response.get_json()
    db.session.refresh(case)
    assert case.stage == Stage.FILING.value


def test_advance_moves_the_case_when_the_gates_pass(api, make, team):
    case = make.case(team, approve=True)
    make.required_records(case)
    response = api("POST", f"/cases/{case.id}/advance", team["officer"], json={"target": "notice"})
    assert response.status_code == 200
    assert response.get_json()["stage"] == "notice"
    # The move, then (the answer shows the party's data to the officer) the view of that data.
    moved, viewed = db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id)
                                       .order_by(AuditEvent.id.desc()).limit(2)).all()[::-1]
    assert moved.action == "case.stage_changed" and moved.actor_id == team["officer"].id
    assert viewed.action == "case.personal_data_viewed" and viewed.actor_id == team["officer"].id


def test_advance_refused_lists_the_unmet_conditions(api, make, team):
    case = make.case(team, approve=True)
    make.required_records(case)
    assert api("POST", f"/cases/{case.id}/advance", team["officer"], json={"target": "notice"}).status_code == 200
    response = api("POST", f"/cases/{case.id}/advance", team["officer"], json={"target": "decision"})
    assert response.status_code == 409
    unmet = response.get_json()["unmet"]
    assert any("legal review" in u for u in unmet)
    assert any("Notice of the intended decision" in u or "事先告知书" in u for u in unmet)
    db.session.refresh(case)
    assert case.stage == Stage.NOTICE.value


def test_advance_to_a_stage_out_of_order_is_refused(api, make, team):
    case = make.case(team, approve=True)
    response = api("POST", f"/cases/{case.id}/advance", team["head"], json={"target": "archived"})
    assert response.status_code == 409
    assert response.get_json()["unmet"]


def test_advance_needs_a_known_target(api, make, team):
    case = make.case(team, approve=True)
    assert api("POST", f"/cases/{case.id}/advance", team["officer"], json={"target": "heaven"}).status_code == 400
    assert api("POST", f"/cases/{case.id}/advance", team["officer"], json={}).status_code == 400


@pytest.mark.parametrize("role", ["auditor", "reviewer"])
def test_readers_may_not_advance_a_case(api, make, team, role):
    case = make.case(team, approve=True)
    response = api("POST", f"/cases/{case.id}/advance", team[role], json={"target": "notice"})
    assert response.status_code == 403
    db.session.refresh(case)
    assert case.stage == Stage.INVESTIGATION.value


# --- master data ---------------------------------------------------------------------------------------

def test_matters_are_the_own_bodys_catalogue(api, make, team):
    mine = make.matter(team["body"], in_major_catalogue=True, major_fine_person="10000")
    retired = make.matter(team["body"], active=False)
    make.matter(make.body())
    items = api("GET", "/matters", team["officer"]).get_json()["items"]
    assert [m["id"] for m in items] == [mine.id]
    assert items[0]["in_major_catalogue"] is True and items[0]["major_fine_person"] == "10000.00"
    everything = api("GET", "/matters?include_inactive=true", team["officer"]).get_json()["items"]
    assert {m["id"] for m in everything} == {mine.id, retired.id}


def test_bodies_are_listed(api, make, team):
    other = make.body()
    ids = {b["id"] for b in api("GET", "/bodies", team["officer"]).get_json()["items"]}
    assert {team["body"].id, other.id} <= ids


def test_officers_list_shows_certificates_and_nothing_private(api, make, team):
    expired = make.user(Role.OFFICER, body=team["body"], certificate={"valid_until": date(2025, 1, 31)},
                        unit="综合执法办")
    make.user(Role.OFFICER, body=make.body())
    make.user(Role.OFFICER, body=team["body"], auxiliary=True, certificate=False)
    response = api("GET", "/officers", team["head"])
    assert response.status_code == 200
    items = {o["id"]: o for o in response.get_json()["items"]}
    assert set(items) == {team["officer"].id, team["officer2"].id, expired.id}
    assert items[team["officer"].id]["may_act_today"] is True
    assert items[team["officer"].id]["certificates"][0]["number"] == team["officer"].certificates[0].number
    assert items[expired.id]["may_act_today"] is False and "expired" in items[expired.id]["problem"]
    assert items[expired.id]["unit"] == "综合执法办"
    text = response.get_data(as_text=True)
    assert "argon2" not in text and "password" not in text and "username" not in text


def test_deactivated_officers_are_listed_only_on_request(api, make, team):
    people.deactivate_user(team["officer2"], actor=team["admin"], reason="retired")
    db.session.commit()
    active = {o["id"] for o in api("GET", "/officers", team["head"]).get_json()["items"]}
    assert team["officer2"].id not in active
    everyone = {o["id"] for o in api("GET", "/officers?include_inactive=1", team["head"]).get_json()["items"]}
    assert team["officer2"].id in everyone


def test_unknown_api_path_answers_json_404(client, team):
    response = client.get(f"{PREFIX}/nothing-here", headers=bearer(token_for(team["officer"])))
    assert response.status_code == 404
    assert response.is_json and response.get_json()["error"]
