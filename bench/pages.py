"""Page latency and audit verification at scale (a benchmark, not a timed test).

    python bench/pages.py [--cases 100000] [--events 1000000] [--runs 30] [--explain] [--profile]

Builds a throw-away SQLite database through the migrations, creates a town's master data through
the services, bulk-inserts the cases (two officers each) and the audit events — a valid hash
chain computed with services.audit.event_hash, continuing the chain the services started — then
measures, through the real Flask test client logged in as an officer:

- the case list, first page            GET /cases/
- a filtered page (stage and matter)   GET /cases/?stage=investigation&matter=<id>
- a deep page                          GET /cases/?page=500

(the median of --runs requests after a warm-up); the public disclosure pages, without login, over
a published notice for every decided case (about half of them):

- the published decisions, first page  GET /public/decisions
- a search by year, matter and place   GET /public/decisions?year=2025&matter=<id>&place=东村
- the JSON and the Atom feed            GET /public/decisions.json, /public/decisions.atom

the auditors' dashboard (totals grouped by month, body, matter and lead officer, with the first
page of the cross-case table) for the county's auditor:

- GET /dashboard/?group=month (and group=body, matter, officer, logged)

and the time of a full `audit verify` (services.audit.verify_chain, without the object store) over
every event. The last line is

    case_list_p50_ms=… filtered_p50_ms=… deep_page_p50_ms=… audit_verify_1m_s=… public_list_p50_ms=…
    public_search_p50_ms=… public_json_p50_ms=… public_feed_p50_ms=… dashboard_p50_ms=…

Targets on this 2-core machine: each page under 50 ms median, verification of one million
events under 10 s, the dashboard under 300 ms. `--explain` prints SQLite's plan for the three list queries, `--profile`
a cProfile of the filtered page. Nothing outside a temporary folder is written.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "bench-pass-2026"
STAGES = ("filing", "investigation", "notice", "review", "decision", "service", "execution", "closed", "archived")
VILLAGES = ("东村", "西村", "河口村", "南山村", "北岭村", "永丰村", "新塘村", "石桥村", "柳溪村", "上洋村", "下洋村",
            "龙潭村", "竹园村", "枫林村", "茶山村", "白沙村", "青溪村", "桥头村", "后垟村", "湖滨村", "双塘村",
            "马岙村", "横路村")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶"
GIVEN = ("建华", "国强", "秀兰", "桂英", "志明", "海燕", "德胜", "春生", "金水", "玉梅", "永福", "小平", "丽娟")
FIRST_DAY = date(2016, 1, 4)
LAST_DAY = date(2026, 11, 20)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- building the database ----------------------------------------------------------------

def make_app(workdir: Path):
    os.environ["INSTANCE_PATH"] = str(workdir)  # read when config is imported
    os.environ.setdefault("APP_ENV", "development")
    os.environ["MIGRATIONS_IN_PROCESS"] = "1"  # build() migrates in this process
    import config
    from app import create_app

    return create_app(config.DevelopmentConfig, {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "STORAGE_URL": f"file://{workdir / 'objects'}",
        "SECRET_KEY": "bench-secret",
        "RATELIMIT_ENABLED": False,
        "PASSWORD_FAST_HASH": True,
        "AUDIT_CHECKPOINT_SECONDS": 3600,
    })


def master_data(officers: int, matters: int):
    """A county supervisor, a town, its officers, head and matters — through the services."""
    from enforcement.extensions import db
    from enforcement.models import Role
    from enforcement.services import audit, catalogue, people

    audit.ensure_head()
    county = people.create_body(actor=None, name="某县司法局", short_name="县司法", area="某县", kind="county")
    town = people.create_body(actor=None, name="永平镇人民政府", short_name="永平", area="永平镇", kind="town",
                              parent_id=county.id)
    staff = []
    for n in range(officers):
        user = people.create_user(actor=None, username=f"officer{n + 1}", name=f"执法员{n + 1:02d}", body=town,
                                  password=PASSWORD, roles=[Role.OFFICER], unit="综合行政执法办公室")
        people.add_certificate(actor=None, user=user, number=f"BENCH{n + 1:06d}", issuer="某省人民政府",
                               category="综合行政执法", area="永平镇", valid_from=date(2015, 1, 1),
                               valid_until=date(2030, 12, 31))
        staff.append(user)
    head = people.create_user(actor=None, username="head", name="周镇长", body=town, password=PASSWORD,
                              roles=[Role.HEAD], unit="镇长")
    # The county's auditor: the dashboard's totals over every case of the towns below.
    people.create_user(actor=None, username="auditor", name="县监督员", body=county, password=PASSWORD,
                       roles=[Role.AUDITOR], unit="县司法局")
    kinds = []
    for n in range(matters):
        route = ("planning", "land", None)[n % 3]
        kinds.append(catalogue.create_matter(
            actor=None, body=town, code=f"BENCH-{n + 1:03d}", name=f"执法事项{n + 1}", category="penalty",
            enforcement_category="城乡建设", legal_basis="《中华人民共和国城乡规划法》第六十五条", route=route,
            power_source="delegated" if route == "land" else "own",
            delegation_document="某省人民政府关于向乡镇（街道）赋予部分县级行政执法权的决定" if route == "land" else None,
            delegation_published_on=date(2024, 3, 1) if route == "land" else None,
            in_major_catalogue=route is not None))
    db.session.commit()
    return town, staff, head, kinds


def _stage_for(rng: random.Random, filed: date) -> str:
    age = (LAST_DAY - filed).days
    if age > 365:
        return rng.choices(("archived", "closed", "execution"), (85, 10, 5))[0]
    if age > 120:
        return rng.choices(STAGES, (1, 4, 3, 2, 4, 6, 10, 30, 40))[0]
    return rng.choices(STAGES, (10, 30, 20, 10, 10, 8, 4, 5, 3))[0]


def insert_cases(count: int, town, staff, head, matters, rng: random.Random) -> list[tuple[int, str]]:
    """Bulk-insert `count` cases with two officers each, in filing order; returns (id, label) of each."""
    from sqlalchemy import insert

    from enforcement.extensions import db
    from enforcement.models import Case, CaseCounter, CaseOfficer

    span = (LAST_DAY - FIRST_DAY).days
    days = sorted(rng.randrange(span + 1) for _ in range(count))
    now = datetime(2026, 11, 20, 9, 0)
    seq_by_year: dict[int, int] = {}
    rows, officer_rows, labels = [], [], []
    for case_id, offset in enumerate(days, start=1):
        filed = FIRST_DAY + timedelta(days=offset)
        seq = seq_by_year[filed.year] = seq_by_year.get(filed.year, 0) + 1
        matter = rng.choice(matters)
        stage = _stage_for(rng, filed)
        party = rng.choice(SURNAMES) + rng.choice(GIVEN)
        number = f"永平罚〔{filed.year}〕{seq}号"
        lead, second = rng.sample(staff, 2)
        approved = stage != "filing"
        rows.append({
            "id": case_id, "body_id": town.id, "year": filed.year, "seq": seq, "number": number,
            "matter_id": matter.id, "route": matter.route, "source": "grid_patrol", "source_detail": "网格员巡查发现",
            "party_kind": "person", "party_name": party, "party_id_number": "339901199001011234",
            "party_phone": "13800138000", "party_address": "某县永平镇东村1组1号", "party_is_minor": False,
            "village": rng.choice(VILLAGES), "place_detail": "村道东侧",
            "summary": f"{party}未取得乡村建设规划许可证擅自建设住房，建筑面积约{rng.randint(60, 300)}平方米。",
            "act_began_on": filed - timedelta(days=30), "act_ended_on": None,
            "discovered_on": filed - timedelta(days=1), "filed_on": filed,
            "decision_due_on": filed + timedelta(days=90), "stage": stage, "stage_since": now,
            "complex_reason": None, "filing_approved_by_id": head.id if approved else None,
            "filing_approved_at": now if approved else None, "created_by_id": lead.id, "created_at": now,
            "updated_at": now, "version": 1,
        })
        officer_rows.append({"case_id": case_id, "user_id": lead.id, "lead": True, "assigned_at": now,
                             "removed_at": None})
        officer_rows.append({"case_id": case_id, "user_id": second.id, "lead": False, "assigned_at": now,
                             "removed_at": None})
        labels.append((case_id, f"{number} {party}", lead.id, lead.name, stage))
    for start in range(0, len(rows), 20000):
        db.session.execute(insert(Case.__table__), rows[start:start + 20000])
        db.session.execute(insert(CaseOfficer.__table__), officer_rows[2 * start:2 * (start + 20000)])
    for year, last in seq_by_year.items():
        db.session.execute(insert(CaseCounter.__table__), {"body_id": town.id, "year": year, "last_seq": last})
    db.session.commit()
    return labels


def insert_publications(town, rng: random.Random) -> int:
    """A published decision notice for every decided case (the public pages' data), bulk-inserted,
    with its decision row (the dashboard counts decided cases and the 90-day deadline from it).

    The decisions point at no 决定书 record: foreign keys are off for this load only (the public
    pages read publications, bodies and matters; the dashboard reads the decisions' dates).
    """
    from decimal import Decimal

    from sqlalchemy import insert, select

    from enforcement.extensions import db
    from enforcement.models import Case, Decision, Publication, User

    signer = db.session.scalar(select(User.id).where(User.username == "head"))
    decision_rows = []
    decided = ("decision", "service", "execution", "closed", "archived")
    rows = []
    query = select(Case.id, Case.number, Case.matter_id, Case.village, Case.party_name, Case.filed_on) \
        .where(Case.stage.in_(decided)).order_by(Case.id)
    for case_id, number, matter_id, village, party, filed in db.session.execute(query):
        decided_on = min(filed + timedelta(days=rng.randint(30, 85)), LAST_DAY)
        published_on = min(decided_on + timedelta(days=rng.randint(1, 9)), LAST_DAY)
        masked = party[0] + "某" * (len(party) - 1)
        decision_rows.append({
            "id": case_id, "case_id": case_id, "kind": "decision", "reason": "", "major": False, "major_reasons": "[]",
            "outside_band_reason": "", "digest": "0" * 64, "decided_on": decided_on, "signed_by_id": signer,
            "signed_at": datetime(2026, 11, 20, 9, 0), "document_record_id": 0, "decision_type": "fine",
            "fine_amount": Decimal("5000"), "content": "罚款5000元", "legal_basis": "《中华人民共和国城乡规划法》第六十五条"})
        rows.append({
            "case_id": case_id, "body_id": town.id, "decision_id": case_id, "kind": "decision", "status": "published",
            "category": "penalty_permit", "title": "行政处罚决定信息公开", "document_number": number,
            "matter_id": matter_id, "decision_type": "fine", "conclusion": "罚款 ¥5,000.00", "year": decided_on.year,
            "village": village, "party_display": masked, "decided_on": decided_on, "self_demolition_by": None,
            "original_text": f"当事人：{party}", "masking": "[]",
            "masked_text": f"当事人：{masked}；住址：{village}。\n违法事实：{masked}未取得乡村建设规划许可证擅自建设住房。",
            "due_on": decided_on + timedelta(days=9), "due_exact": True, "hold_detail": "",
            "published_on": published_on, "published_at": datetime(2026, 11, 20, 9, 0), "published_digest": "0" * 64,
            "withdraw_cause": "", "withdrawal_reason": "", "created_at": datetime(2026, 11, 20, 9, 0), "version": 1})
    connection = db.session.connection()
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    for start in range(0, len(rows), 20000):
        db.session.execute(insert(Decision.__table__), decision_rows[start:start + 20000])
        db.session.execute(insert(Publication.__table__), rows[start:start + 20000])
    db.session.commit()
    db.session.connection().exec_driver_sql("PRAGMA foreign_keys=ON")
    return len(rows)


def insert_events(count: int, town, labels, rng: random.Random) -> int:
    """Append `count` events to the chain the services started, in one transaction; returns the head seq."""
    from sqlalchemy import text

    from enforcement.extensions import db
    from enforcement.models import AuditHead
    from enforcement.services.audit import canonical_json, event_hash

    head = db.session.get(AuditHead, 1)
    seq, prev = head.seq, head.last_hash
    at = datetime(2016, 1, 4, 8, 0)
    step = timedelta(seconds=max(1, int((datetime(2026, 11, 20) - at).total_seconds() // max(count, 1))))
    sql = ("INSERT INTO audit_events (id, at, actor_id, actor_name, action, object_type, object_id, object_label, "
           "body_id, case_id, before, after, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
    conn = db.session.connection()
    moves = [(canonical_json({"stage": a}), canonical_json({"stage": b})) for a, b in zip(STAGES, STAGES[1:])]
    batch = []
    filed_until = 0  # cases are "filed" in order as the events go by
    for n in range(count):
        seq += 1
        at = at + step + timedelta(microseconds=rng.randrange(1_000_000))
        if filed_until < len(labels) and rng.random() < 0.15:
            case_id, label, actor_id, actor_name, _stage = labels[filed_until]
            filed_until += 1
            action, before = "case.filed", None
            after = canonical_json({"number": label.split(" ")[0], "stage": "filing", "village": "东村",
                                    "source": "grid_patrol", "officers": [actor_name, "执法员02"],
                                    "summary": "未取得乡村建设规划许可证擅自建设住房"})
        else:
            case_id, label, actor_id, actor_name, _stage = labels[rng.randrange(max(filed_until, 1))]
            action = "case.stage_changed"
            before, after = moves[rng.randrange(len(moves))]
        object_id = str(case_id)
        digest = event_hash(seq, at, actor_id, actor_name, action, "case", object_id, label, town.id, case_id,
                            before, after, prev)
        batch.append((seq, at.strftime("%Y-%m-%d %H:%M:%S.%f"), actor_id, actor_name, action, "case", object_id,
                      label, town.id, case_id, before, after, prev, digest))
        prev = digest
        if len(batch) == 50000:
            conn.exec_driver_sql(sql, batch)
            batch.clear()
            log(f"  … {n + 1:,} events")
    if batch:
        conn.exec_driver_sql(sql, batch)
    conn.execute(text("UPDATE audit_head SET seq = :seq, last_hash = :hash WHERE id = 1"), {"seq": seq, "hash": prev})
    db.session.commit()
    return seq


# --- measuring ------------------------------------------------------------------------------

def login(client, username: str) -> None:
    import re

    page = client.get("/login")
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page.data) or re.search(
        rb'value="([^"]+)"[^>]*name="csrf_token"', page.data)
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": token.group(1).decode()})
    if response.status_code != 302:
        raise SystemExit(f"login as {username} failed: {response.status_code}")


def median_ms(fn, runs: int, warmup: int = 5) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def page_getter(client, url: str, expect: bytes | None = None):
    def get():
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}")
        if expect is not None and expect not in response.data:
            raise SystemExit(f"GET {url} does not show {expect.decode()!r}")
        return response
    return get


def service_getter(app, username: str, flt_kwargs: dict, page: int):
    """Fallback while the case screens are not there yet: the service call the list view makes."""
    from enforcement.services import cases, people

    def get():
        with app.app_context():
            user = people.find_user(username)
            rows, _more = cases.list_cases(user, cases.CaseFilter(**flt_kwargs), page=page,
                                           per_page=app.config["CASES_PER_PAGE"])
            [o.user.name for c in rows for o in c.officers]  # what the row shows
    return get


def explain(app, username: str, matter_id: int) -> None:
    from sqlalchemy.dialects import sqlite

    from enforcement.extensions import db
    from enforcement.services import cases, people

    with app.app_context():
        user = people.find_user(username)
        per_page = app.config["CASES_PER_PAGE"]
        for title, flt, page in (("first page", {}, 1),
                                 ("filtered", {"stage": "investigation", "matter_id": matter_id}, 1),
                                 ("page 500", {}, 500)):
            query = cases.case_query(user, cases.CaseFilter(**flt)).limit(per_page + 1).offset((page - 1) * per_page)
            sql = str(query.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
            plan = db.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + sql).all()
            log(f"\n-- {title}: {' '.join(sql.split())[-160:]}")
            for row in plan:
                log(f"   {row[-1]}")


def build(app, args, rng: random.Random) -> None:
    """Migrate, create the master data, bulk-insert the cases and the events."""
    from flask_migrate import upgrade

    from enforcement.extensions import db

    started = time.perf_counter()
    with app.app_context():
        upgrade()
        # Loading only: a big page cache and no fsync per write. Restored before measuring.
        pragmas = db.session.connection().exec_driver_sql
        pragmas("PRAGMA cache_size=-262144")
        pragmas("PRAGMA synchronous=OFF")
        town, staff, head, matters = master_data(args.officers, args.matters)
        log(f"master data ready ({time.perf_counter() - started:.1f} s)")
        labels = insert_cases(args.cases, town, staff, head, matters, rng)
        log(f"{args.cases:,} cases inserted ({time.perf_counter() - started:.1f} s)")
        published = insert_publications(town, rng)
        log(f"{published:,} published decisions inserted ({time.perf_counter() - started:.1f} s)")
        head_seq = insert_events(args.events, town, labels, rng)
        log(f"{args.events:,} events inserted, chain head {head_seq:,} ({time.perf_counter() - started:.1f} s)")
        pragmas = db.session.connection().exec_driver_sql
        pragmas("ANALYZE")
        pragmas("PRAGMA cache_size=-2000")  # SQLite's default
        pragmas("PRAGMA synchronous=FULL")
        db.session.commit()
        db.session.connection().exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--officers", type=int, default=20)
    parser.add_argument("--matters", type=int, default=10)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--deep-page", type=int, default=500)
    parser.add_argument("--explain", action="store_true", help="print the query plans of the list queries")
    parser.add_argument("--profile", action="store_true", help="cProfile one filtered page request")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (its path is printed)")
    parser.add_argument("--workdir", help="build the database in this folder and keep it; reuse it when it is there")
    args = parser.parse_args()

    keep = args.keep or args.workdir is not None
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="enforcement-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    reuse = (workdir / "bench.sqlite3").exists()
    rng = random.Random(100_000)
    try:
        app = make_app(workdir)
        from sqlalchemy import func, select

        from enforcement.extensions import db
        from enforcement.models import Case, Matter, User
        from enforcement.services import audit

        if reuse:
            log(f"reusing the database in {workdir}")
        else:
            build(app, args, rng)
        with app.app_context():
            matter_id = db.session.scalar(select(Matter.id).order_by(Matter.id))
            case_count = db.session.scalar(select(func.count(Case.id)))
            officer = db.session.scalar(select(User.username).where(User.username == "officer1"))
            db.session.remove()

        if args.explain:
            explain(app, officer, matter_id)

        views_ready = "cases.index" in app.view_functions
        client = app.test_client()
        login(client, officer)
        if views_ready:
            first = page_getter(client, "/cases/")
            filtered = page_getter(client, f"/cases/?stage=investigation&matter={matter_id}")
            deep = page_getter(client, f"/cases/?page={args.deep_page}")
        else:
            log("the case screens (cases.index) are not there yet: timing the service call instead")
            first = service_getter(app, officer, {}, 1)
            filtered = service_getter(app, officer, {"stage": "investigation", "matter_id": matter_id}, 1)
            deep = service_getter(app, officer, {}, args.deep_page)

        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(10):
                filtered()
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
            log(out.getvalue())

        first_ms = median_ms(first, args.runs)
        filtered_ms = median_ms(filtered, args.runs)
        deep_ms = median_ms(deep, args.runs)
        log(f"case list p50 {first_ms:.1f} ms, filtered {filtered_ms:.1f} ms, page {args.deep_page} {deep_ms:.1f} ms"
            f" ({'pages' if views_ready else 'service only'})")

        public = {}
        if "public.decisions" in app.view_functions:
            anonymous = app.test_client()  # the public pages: no login
            urls = {"public_list": "/public/decisions",
                    "public_search": f"/public/decisions?year=2025&matter={matter_id}&place=%E4%B8%9C%E6%9D%91",
                    "public_json": "/public/decisions.json", "public_feed": "/public/decisions.atom"}
            public = {name: median_ms(page_getter(anonymous, url), args.runs) for name, url in urls.items()}
            log("public pages p50: " + ", ".join(f"{k} {v:.1f} ms" for k, v in public.items()))

        dashboard = {}
        if "dashboard.index" in app.view_functions:
            auditor = app.test_client()
            login(auditor, "auditor")
            for group in ("month", "body", "matter", "officer"):
                dashboard[group] = median_ms(page_getter(auditor, f"/dashboard/?group={group}"), args.runs)
            log("dashboard p50 (totals and the first page of the table): "
                + ", ".join(f"by {k} {v:.1f} ms" for k, v in dashboard.items()))

        with app.app_context():
            started = time.perf_counter()
            report = audit.verify_chain(None)
            verify_s = time.perf_counter() - started
            if not report.ok:
                raise SystemExit(f"the benchmark chain does not verify: {report.problems[:3]}")
            log(f"audit verify: {report.events:,} events OK in {verify_s:.2f} s")
            db.session.remove()
            db.engine.dispose()

        summary = {"cases": case_count, "events": report.events, "pages": views_ready, "runs": args.runs,
                   "verify_s": round(verify_s, 2), "load_average": os.getloadavg()}
        log(json.dumps(summary))
        public_line = "".join(f" {name}_p50_ms={value:.1f}" for name, value in public.items())
        print(f"case_list_p50_ms={first_ms:.1f} filtered_p50_ms={filtered_ms:.1f} "
              f"deep_page_p50_ms={deep_ms:.1f} audit_verify_1m_s={verify_s * 1_000_000 / max(report.events, 1):.2f}"
              + public_line
              + (f" dashboard_p50_ms={dashboard['month']:.1f}" if dashboard else ""))
    finally:
        if keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
