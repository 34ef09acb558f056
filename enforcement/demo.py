"""The demo town: 永平镇人民政府 with its people, powers catalogue and about thirty cases.

`load_demo()` builds everything through the real services (people, catalogue, cases,
workflow), so the audit trail records the demo like any other change and every case has
passed the same gates a clerk's case would. Master data is created by the system (actor None);
cases are filed by their lead officer, approved by the head and moved on by the officers and
the head, each step dated on the day it "happened" in 2026.

The data is deterministic (a seeded random generator and fixed dates in 2026, the last year
the working-day calendar knows), and loading is idempotent: when the town exists already,
nothing is changed and `load_demo()` returns False. The caller commits.
"""
from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from .extensions import db
from .models import Body, BodyKind, Case, Matter, Role, Stage, User
from .services import audit, cases, catalogue, people, workflow
from .services.cases import PartyData
from .services.errors import DomainError

log = logging.getLogger(__name__)

DEMO_PASSWORD = "Yongping-2026"

TOWN_NAME = "永平镇人民政府"
COUNTY_NAME = "某县司法局"

# (username, what the login shows) — printed by `flask --app app demo` and in README.md.
DEMO_LOGINS: list[tuple[str, str]] = [
    ("officer1", "执法人员 officer 陈建国, 综合行政执法办公室 — certificate valid (综合行政执法)"),
    ("officer2", "执法人员 officer 李秀英, 村镇建设办公室 — certificate valid (城乡建设、自然资源)"),
    ("officer3", "执法人员 officer 王海涛, 综合行政执法办公室 — certificate expiring 2026-12-31"),
    ("officer4", "执法人员 officer 赵志强 — certificate EXPIRED 2025-06-30: every step is refused"),
    ("helper1", "协管 auxiliary 刘小军 — no certificate, cannot act alone"),
    ("reviewer1", "法制审核 legal reviewer 孙立平 — holds the 法律职业资格"),
    ("reviewer2", "法律顾问 legal adviser 吴晓燕 — appointed by 某县司法局 for 东村、西村、河口村"),
    ("head", "负责人 head 周文斌, 镇长 — approves filings, signs decisions"),
    ("auditor", "监督 auditor 郑红, 某县司法局 — reads every case of the town, changes nothing"),
    ("admin", "系统管理员 admin 钱伟 — people, certificates, powers catalogue"),
]

# The last day of the demo's story. Every date of the demo lies in 2026 and on or before this
# day, so loading it on a later date gives the same data (only "overdue" grows).
STORY_END = date(2026, 11, 20)
STORY_START = date(2026, 1, 5)

VILLAGES = ("东村", "西村", "河口村", "南山村", "北岭村", "永丰村", "新塘村", "石桥村", "柳溪村", "上洋村",
            "下洋村", "龙潭村", "竹园村", "枫林村", "茶山村", "白沙村", "青溪村", "桥头村", "后垟村", "湖滨村",
            "双塘村", "马岙村", "横路村")

SURNAMES = "王李张刘陈杨黄赵吴周徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN = ("建华", "国强", "秀兰", "桂英", "志明", "海燕", "德胜", "春生", "金水", "玉梅", "永福", "小平", "丽娟",
         "红军", "卫东", "爱华", "建军", "根土", "水英", "月娥", "福林", "长发", "晓东", "美玲", "荣华", "树根",
         "菊芳", "文杰", "雪梅", "国平")


# --- master data ----------------------------------------------------------------------

CERT_ISSUER = "某省人民政府"
DELEGATION = "某省人民政府关于向乡镇（街道）赋予部分县级行政执法权的决定（某政发〔2024〕5号）"
DELEGATION_PUBLISHED = date(2024, 3, 1)


@dataclass(frozen=True)
class Person:
    username: str
    name: str
    roles: tuple[Role, ...]
    unit: str
    body: str = "town"                      # "town" or "county"
    certificate: tuple | None = None        # (number, category, valid_from, valid_until)
    legal_qualification_no: str | None = None
    legal_adviser_appointment: str | None = None
    auxiliary: bool = False


PEOPLE = (
    Person("officer1", "陈建国", (Role.OFFICER,), "综合行政执法办公室",
           certificate=("33102120210015", "综合行政执法", date(2021, 3, 1), date(2027, 2, 28))),
    Person("officer2", "李秀英", (Role.OFFICER,), "村镇建设办公室",
           certificate=("33102120220108", "城乡建设、自然资源", date(2022, 7, 1), date(2028, 6, 30))),
    Person("officer3", "王海涛", (Role.OFFICER,), "综合行政执法办公室",
           certificate=("33102120210042", "综合行政执法", date(2021, 12, 1), date(2026, 12, 31))),
    Person("officer4", "赵志强", (Role.OFFICER,), "综合行政执法办公室",
           certificate=("33102120200007", "城乡建设", date(2020, 7, 1), date(2025, 6, 30))),
    Person("helper1", "刘小军", (Role.OFFICER,), "综合行政执法办公室（协管员）", auxiliary=True),
    Person("reviewer1", "孙立平", (Role.REVIEWER,), "党政综合办公室（法制审核）",
           legal_qualification_no="A20183301012345"),
    Person("reviewer2", "吴晓燕", (Role.REVIEWER,), "法律顾问（某县明理律师事务所）",
           legal_adviser_appointment="某县司法局聘任为东村、西村、河口村法律顾问（县司法聘〔2025〕12号），"
                                     "聘期2025-01-01至2027-12-31"),
    Person("head", "周文斌", (Role.HEAD,), "镇长"),
    Person("auditor", "郑红", (Role.AUDITOR,), "行政执法协调监督科", body="county"),
    Person("admin", "钱伟", (Role.ADMIN,), "党政综合办公室（信息化）"),
)

MAJOR_PERSON = Decimal("10000")
MAJOR_ORG = Decimal("100000")

# key -> values for catalogue.create_matter (thresholds added below).
MATTERS: dict[str, dict] = {
    "planning": dict(
        code="XZCF-GH-001", name="未取得乡村建设规划许可证或者未按照许可证规定进行建设", category="penalty",
        enforcement_category="城乡建设",
        legal_basis="《中华人民共和国城乡规划法》第四十一条、第六十五条：在乡、村庄规划区内未依法取得乡村建设"
                    "规划许可证或者未按照乡村建设规划许可证的规定进行建设的，由乡、镇人民政府责令停止建设、"
                    "限期改正；逾期不改正的，可以拆除。",
        procedure="一般程序：立案 → 调查取证 → 责令停止建设、限期改正 → 告知 → 法制审核 → 决定 → 送达 → 执行",
        route="planning", power_source="own", in_major_catalogue=True),
    "demolition": dict(
        code="XZQZ-GH-001", name="对逾期不拆除的违法建筑依法强制拆除", category="coercion",
        enforcement_category="城乡建设",
        legal_basis="《中华人民共和国城乡规划法》第六十五条；《中华人民共和国行政强制法》第三十四条至第三十八条、"
                    "第四十四条：对违法的建筑物、构筑物、设施等需要强制拆除的，应当由行政机关予以公告，限期当事人"
                    "自行拆除；当事人在法定期限内不申请行政复议或者提起行政诉讼，又不拆除的，行政机关可以依法强制拆除。",
        route="planning", power_source="own", in_major_catalogue=True),
    "land": dict(
        code="XZCF-TD-001", name="农村村民未经批准或者采取欺骗手段骗取批准，非法占用土地建住宅", category="penalty",
        enforcement_category="自然资源",
        legal_basis="《中华人民共和国土地管理法》第六十二条、第七十八条：农村村民未经批准或者采取欺骗手段骗取批准，"
                    "非法占用土地建住宅的，由县级以上人民政府农业农村主管部门责令退还非法占用的土地，限期拆除在"
                    "非法占用的土地上新建的房屋。",
        procedure="一般程序；当事人逾期不起诉又不履行的，申请人民法院强制执行（土地管理法第八十三条）",
        route="land", power_source="delegated", delegation_document=DELEGATION,
        delegation_published_on=DELEGATION_PUBLISHED, in_major_catalogue=True),
    "street": dict(
        code="XZCF-SR-003", name="擅自占用道路、公共场所摆摊设点从事经营", category="penalty",
        enforcement_category="市容环境卫生",
        legal_basis="《城市市容和环境卫生管理条例》第十四条、第三十六条第（二）项；《某省城市市容和环境卫生管理"
                    "条例》第二十二条：擅自占用道路、公共场所摆摊设点的，责令改正，可以处警告、罚款。",
        route=None, power_source="delegated", delegation_document=DELEGATION,
        delegation_published_on=DELEGATION_PUBLISHED, in_major_catalogue=False),
    "burning": dict(
        code="XZCF-HJ-011", name="在禁烧区域露天焚烧秸秆、落叶等产生烟尘污染的物质", category="penalty",
        enforcement_category="生态环境",
        legal_basis="《中华人民共和国大气污染防治法》第七十七条、第一百一十九条第一款：在人口集中地区对秸秆、"
                    "落叶等产生烟尘污染的物质进行露天焚烧的，责令改正，对单位处一万元以上十万元以下的罚款，对个人"
                    "处五百元以上二千元以下的罚款。",
        route=None, power_source="delegated", delegation_document=DELEGATION,
        delegation_published_on=DELEGATION_PUBLISHED, in_major_catalogue=False),
    "billboard": dict(
        code="XZCF-SR-007", name="未经同意擅自设置大型户外广告", category="penalty",
        enforcement_category="市容环境卫生",
        legal_basis="《城市市容和环境卫生管理条例》第十一条、第三十六条第（三）项：未经同意擅自设置大型户外广告，"
                    "影响市容的，责令纠正违法行为、采取补救措施，可以并处警告、罚款。",
        route=None, power_source="delegated", delegation_document=DELEGATION,
        delegation_published_on=DELEGATION_PUBLISHED, in_major_catalogue=False),
    "inspection": dict(
        code="XZJC-GH-001", name="对乡村建设规划许可实施情况的监督检查", category="inspection",
        enforcement_category="城乡建设",
        legal_basis="《中华人民共和国城乡规划法》第五十一条、第五十三条",
        route=None, power_source="own", in_major_catalogue=False),
}


# --- the cases ------------------------------------------------------------------------

MAJOR_PATH = (Stage.FILING, Stage.INVESTIGATION, Stage.NOTICE, Stage.REVIEW, Stage.DECISION, Stage.SERVICE,
              Stage.EXECUTION, Stage.CLOSED, Stage.ARCHIVED)


def _path(major: bool, execution: bool, final: Stage) -> list[Stage]:
    """The stages a case passes through up to `final`."""
    stages = [s for s in MAJOR_PATH
              if (major or s != Stage.REVIEW) and (execution or s != Stage.EXECUTION)]
    return stages[:stages.index(final) + 1]


@dataclass(frozen=True)
class Plan:
    matter: str
    final: Stage
    filed_ago: tuple[int, int]      # filed this many days before STORY_END (range)
    party: str = "person"
    execution: bool = False         # a demolition order the party did not carry out
    complex_reason: str = ""
    recusal: bool = False           # an officer steps aside and another takes over


S = Stage
PLANS = (
    # awaiting the head's approval
    Plan("planning", S.FILING, (2, 6)),
    Plan("land", S.FILING, (1, 4)),
    Plan("street", S.FILING, (3, 8), party="organisation"),
    # investigating: two of them long past the 90-day limit
    Plan("planning", S.INVESTIGATION, (160, 200)),
    Plan("land", S.INVESTIGATION, (110, 140)),
    Plan("planning", S.INVESTIGATION, (20, 50), recusal=True),
    Plan("burning", S.INVESTIGATION, (10, 30)),
    Plan("planning", S.INVESTIGATION, (15, 45)),
    Plan("billboard", S.INVESTIGATION, (12, 40), party="organisation"),
    # notice given
    Plan("planning", S.NOTICE, (100, 130)),
    Plan("land", S.NOTICE, (40, 70)),
    Plan("street", S.NOTICE, (40, 70)),
    Plan("planning", S.NOTICE, (50, 80)),
    # in legal review
    Plan("planning", S.REVIEW, (95, 120)),
    Plan("land", S.REVIEW, (60, 80)),
    Plan("billboard", S.REVIEW, (50, 80), party="organisation",
         complex_reason="广告牌由两家单位共同设置，涉及多个违法主体和多个法律关系"),
    # decided, served, executing
    Plan("planning", S.DECISION, (100, 150)),
    Plan("burning", S.DECISION, (100, 150)),
    Plan("land", S.DECISION, (110, 160)),
    Plan("planning", S.SERVICE, (120, 180)),
    Plan("street", S.SERVICE, (120, 170)),
    Plan("land", S.SERVICE, (130, 190)),
    Plan("planning", S.EXECUTION, (150, 230), execution=True),
    Plan("planning", S.EXECUTION, (160, 240), execution=True),
    Plan("land", S.EXECUTION, (170, 250), execution=True),
    # closed and archived
    Plan("street", S.CLOSED, (150, 220)),
    Plan("burning", S.CLOSED, (160, 230), party="organisation"),
    Plan("planning", S.CLOSED, (200, 270), execution=True),
    Plan("billboard", S.CLOSED, (180, 250), party="organisation"),
    Plan("planning", S.ARCHIVED, (260, 315), execution=True),
    Plan("burning", S.ARCHIVED, (230, 300)),
    Plan("street", S.ARCHIVED, (240, 310)),
)

SOURCES = (
    ("grid_patrol", "第{n}网格网格员巡查发现"),
    ("grid_patrol", "村级网格员上报（第{n}网格）"),
    ("complaint", "村民来电投诉（12345热线转办）"),
    ("inspection", "镇综合行政执法办公室日常巡查发现"),
    ("transfer", "某县自然资源和规划局移送"),
    ("superior", "某县综合行政执法局交办"),
)

ORGANISATIONS = {
    "street": ("永平镇鑫隆副食品超市", "某县永平镇顺发建材经营部", "永平镇老街早餐店"),
    "billboard": ("某县恒达广告有限公司", "某县永平镇美家装饰材料店"),
    "burning": ("某县永平镇绿源农业专业合作社", "某县青禾家庭农场"),
}


def _id_number(rng: random.Random, born: date, female: bool) -> str:
    """A made-up resident ID number with a correct check digit (GB 11643-1999), region 339901 (none)."""
    body = f"339901{born:%Y%m%d}{rng.randint(10, 99)}{rng.choice('02468' if female else '13579')}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights)) % 11]
    return body + check


def _credit_code(rng: random.Random) -> str:
    """A made-up unified social credit code (统一社会信用代码), 18 characters."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    return "92339901MA" + "".join(rng.choice(alphabet) for _ in range(8))


def _party(rng: random.Random, plan: Plan, village: str) -> PartyData:
    if plan.party == "organisation":
        name = rng.choice(ORGANISATIONS.get(plan.matter, ORGANISATIONS["street"]))
        return PartyData(kind="organisation", name=name, id_number=_credit_code(rng),
                         phone=f"0570-86{rng.randint(10000, 99999)}", address=f"某县永平镇{village}{rng.randint(1, 99)}号")
    female = rng.random() < 0.3
    name = rng.choice(SURNAMES) + rng.choice(GIVEN)
    born = date(rng.randint(1955, 1995), rng.randint(1, 12), rng.randint(1, 28))
    return PartyData(kind="person", name=name, id_number=_id_number(rng, born, female),
                     phone=f"1{rng.choice('3578')}{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}",
                     address=f"某县永平镇{village}{rng.randint(1, 12)}组{rng.randint(1, 60)}号")


def _facts(rng: random.Random, plan: Plan, party: PartyData, village: str) -> tuple[str, str]:
    """(place_detail, summary) for a case of this matter."""
    if plan.matter == "planning":
        place = f"{village}{rng.randint(1, 12)}组{rng.choice(('村道东侧', '村委会北侧', '溪边空地', '老宅西侧'))}"
        floors, area = rng.randint(2, 4), rng.randint(80, 260)
        return place, (f"{party.name}未取得乡村建设规划许可证，在{place}擅自建设{floors}层砖混结构房屋，"
                       f"建筑面积约{area}平方米，经现场检查属实。")
    if plan.matter == "land":
        place = f"{village}{rng.choice(('后山', '田畈', '村口', '河滩'))}"
        land, area = rng.choice(("耕地", "园地", "林地", "村集体其他土地")), rng.randint(60, 200)
        return place, (f"{party.name}未经批准，占用{village}集体所有的{land}约{area}平方米建设住宅，"
                       f"已建成一层框架结构。")
    if plan.matter == "street":
        place = f"{village}{rng.choice(('老街', '集镇农贸市场门口', '学校路口'))}"
        return place, f"{party.name}在{place}占用道路摆摊设点经营，影响通行，经多次劝导仍未改正。"
    if plan.matter == "burning":
        place = f"{village}{rng.choice(('东侧农田', '村南稻田', '机耕路旁'))}"
        return place, f"{party.name}在禁烧区域{place}露天焚烧秸秆，产生大量烟尘，被网格员当场发现。"
    place = f"{village}{rng.choice(('国道旁', '集镇入口', '村文化礼堂对面'))}"
    return place, f"{party.name}未经同意在{place}擅自设置大型户外广告牌，面积约{rng.randint(20, 60)}平方米，影响村容。"


def _act_dates(rng: random.Random, plan: Plan, filed: date) -> tuple[date, date | None, date]:
    """(act began, act ended or None when continuing, discovered)."""
    if plan.matter == "burning":
        day = filed - timedelta(days=rng.randint(0, 2))
        return day, day, day
    began = filed - timedelta(days=rng.randint(8, 60))
    discovered = max(began, filed - timedelta(days=rng.randint(0, 5)))
    return began, None, discovered


def _step_dates(rng: random.Random, filed: date, path: list[Stage]) -> list[date]:
    """A date for every move after filing, in order, none after STORY_END.

    The head approves within days; the decision comes inside the 90-day limit (行政处罚法 art. 60);
    service follows the decision within a week (art. 61); the rest spreads out to the end of the story.
    """
    moves = path[1:]
    if not moves:
        return []
    approval = min(filed + timedelta(days=rng.randint(0, 2)), STORY_END)
    dates = [approval]
    pre = [m for m in moves[1:] if m in (Stage.NOTICE, Stage.REVIEW, Stage.DECISION)]
    post = [m for m in moves[1:] if m not in pre]
    limit = min(filed + timedelta(days=85), STORY_END)
    days = sorted(rng.sample(range(1, max((limit - approval).days, len(pre)) + 1), len(pre)))
    dates += [approval + timedelta(days=d) for d in days]
    if post:
        last = dates[-1]
        service = min(last + timedelta(days=rng.randint(1, 5)), STORY_END)
        dates.append(service)
        rest = post[1:]
        if rest:
            span = max((STORY_END - service).days, len(rest))
            dates += [service + timedelta(days=d) for d in sorted(rng.sample(range(1, span + 1), len(rest)))]
    return [min(d, STORY_END) for d in dates]


# --- loading ----------------------------------------------------------------------------

def demo_present() -> bool:
    return db.session.scalar(select(Body.id).where(Body.name == TOWN_NAME)) is not None


def load_demo(*, strict: bool = False) -> bool:
    """Load the demo town; False (and nothing changed) when it is there already. Never commits.

    A step that a workflow gate refuses leaves that case where it stands and is logged as a
    warning (later gates may ask for records the demo does not make); with `strict=True` the
    refusal is raised instead, as the tests do.
    """
    if demo_present():
        return False
    audit.ensure_head()
    rng = random.Random(2026)

    county = db.session.scalar(select(Body).where(Body.name == COUNTY_NAME)) or people.create_body(
        actor=None, name=COUNTY_NAME, short_name="县司法", area="某县", kind=BodyKind.COUNTY.value,
        address="某县城关镇人民路8号", phone="0570-8012345",
        complaint_channel="行政执法投诉监督电话 0570-8012348")
    town = people.create_body(
        actor=None, name=TOWN_NAME, short_name="永平", area="永平镇", kind=BodyKind.TOWN.value,
        parent_id=county.id, address="某县永平镇政府路1号", phone="0570-8661234",
        case_number_pattern="{short}罚〔{year}〕{seq}号",
        complaint_channel="投诉举报：12345政务服务便民热线；永平镇综合行政执法办公室 0570-8661110",
        remedy_info="当事人对行政处罚决定不服的，可以自收到决定书之日起六十日内向某县人民政府申请行政复议，"
                    "或者自收到决定书之日起六个月内向某县人民法院提起行政诉讼。")

    users: dict[str, User] = {}
    for p in PEOPLE:
        body = county if p.body == "county" else town
        users[p.username] = people.create_user(
            actor=None, username=p.username, name=p.name, body=body, password=DEMO_PASSWORD, roles=p.roles,
            unit=p.unit, legal_qualification_no=p.legal_qualification_no,
            legal_adviser_appointment=p.legal_adviser_appointment, auxiliary=p.auxiliary)
        if p.certificate:
            number, category, valid_from, valid_until = p.certificate
            people.add_certificate(actor=None, user=users[p.username], number=number, issuer=CERT_ISSUER,
                                   category=category, area=town.area, valid_from=valid_from,
                                   valid_until=valid_until)

    matters = {key: catalogue.create_matter(actor=None, body=town, major_fine_person=MAJOR_PERSON,
                                            major_fine_org=MAJOR_ORG, **values)
               for key, values in MATTERS.items()}

    head = users["head"]
    # Officers whose certificates cover each matter's category (综合行政执法 covers them all).
    all_round = [users["officer1"], users["officer3"]]
    building = [users["officer1"], users["officer2"], users["officer3"]]
    drafts = [_draft(rng, plan, matters[plan.matter], building if plan.matter in ("planning", "land") else all_round)
              for plan in PLANS]
    # Filed in date order, so the case numbers run with the calendar as in a real register.
    for draft in sorted(drafts, key=lambda d: d.filed_on):
        _load_case(draft, town, head, strict)
    return True


@dataclass
class Draft:
    """Everything about one demo case, decided before anything is written."""

    plan: Plan
    matter: Matter
    filed_on: date
    village: str
    party: PartyData
    place: str
    summary: str
    act: tuple[date, date | None, date]
    source: str
    source_detail: str
    lead: User
    second: User
    pool: list[User]
    moves: list[tuple[Stage, date]]


def _draft(rng: random.Random, plan: Plan, matter: Matter, pool: list[User]) -> Draft:
    filed = max(STORY_END - timedelta(days=rng.randint(*plan.filed_ago)), STORY_START)
    village = rng.choice(VILLAGES)
    party = _party(rng, plan, village)
    place, summary = _facts(rng, plan, party, village)
    act = _act_dates(rng, plan, filed)
    source, detail = rng.choice(SOURCES)
    if plan.matter == "land" and rng.random() < 0.5:
        source, detail = "transfer", "某县自然资源和规划局移送"
    lead, second = rng.sample(pool, 2)
    major = matter.in_major_catalogue or bool(matter.route) or bool(plan.complex_reason)
    path = _path(major, plan.execution, plan.final)
    moves = list(zip(path[1:], _step_dates(rng, filed, path)))
    return Draft(plan, matter, filed, village, party, place, summary, act, source,
                 detail.format(n=rng.randint(1, 109)), lead, second, pool, moves)


def _load_case(draft: Draft, town: Body, head: User, strict: bool) -> Case:
    began, ended, discovered = draft.act
    case = cases.file_case(
        actor=draft.lead, body=town, matter=draft.matter, route=draft.matter.route, source=draft.source,
        source_detail=draft.source_detail, party=draft.party, village=draft.village, place_detail=draft.place,
        summary=draft.summary, act_began_on=began, act_ended_on=ended, discovered_on=discovered,
        filed_on=draft.filed_on, officer_ids=[draft.lead.id, draft.second.id], lead_officer_id=draft.lead.id,
        today=draft.filed_on)
    for target, day in draft.moves:
        try:
            # A savepoint per step: a refused step leaves no half-made change (nor its audit event).
            with db.session.begin_nested():
                _step(case, target, day, draft, head)
        except DomainError as exc:
            if strict:
                raise
            log.warning("demo case %s stays in %s: %s", case.number, case.stage,
                        "; ".join(getattr(exc, "unmet", [exc.message])))
            break
    return case


def _step(case: Case, target: Stage, day: date, draft: Draft, head: User) -> None:
    """One move of a demo case, by whoever makes it in real life."""
    plan = draft.plan
    if target == Stage.INVESTIGATION:
        cases.approve_filing(case, actor=head, today=day)
        if plan.recusal:
            stand_in = next(u for u in draft.pool if u.id not in (draft.lead.id, draft.second.id))
            cases.assign_officer(case, stand_in, actor=head, today=day)
            cases.remove_officer(case, draft.second, actor=head,
                                 reason="与当事人系近亲属，本人申请回避（行政处罚法第四十三条）")
        return
    if target == Stage.NOTICE and plan.complex_reason:
        cases.mark_complex(case, actor=head, reason=plan.complex_reason)
    # The head signs decisions and orders execution; the lead officer moves the rest.
    actor = head if target in (Stage.DECISION, Stage.EXECUTION) else draft.lead
    _add_records(case, day, draft.lead)
    workflow.advance(case, target, actor=actor, today=day)


# Around 永平镇 (a made-up town: the coordinates only make the photos' EXIF look real).
DEMO_LATITUDE, DEMO_LONGITUDE = 25.0453, 102.7097


def _add_records(case: Case, day: date, officer: User) -> None:
    """The records the rules require before the case leaves its stage, uploaded as an officer would."""
    import io
    from datetime import datetime, time

    from . import sample_files
    from .services import records

    rng = random.Random(f"{case.number}-{case.stage}")
    for item in records.missing_for(case, case.stage):
        kind = item.record_type
        taken = datetime.combine(day, time(9 + rng.randint(0, 7), rng.randint(0, 59), rng.randint(0, 59)))
        extra = {}
        if kind.kind == "photo":
            content = sample_files.jpeg(taken=taken, latitude=DEMO_LATITUDE + rng.uniform(-0.02, 0.02),
                                        longitude=DEMO_LONGITUDE + rng.uniform(-0.02, 0.02), device="DemoCam X1",
                                        color=(rng.randint(60, 200), rng.randint(60, 200), rng.randint(60, 200)))
            filename = f"IMG_{taken:%Y%m%d_%H%M%S}.jpg"
        elif kind.kind in ("video", "audio"):
            content, filename = sample_files.for_kind(kind.kind, f"DSJ{rng.randint(1000, 9999)}_{taken:%Y%m%d}")
            extra = {"av_method": "执法记录仪全程录制，未经剪辑", "av_maker": officer.name,
                     "av_proves": "执行现场情况及当事人物品清点过程", "device": f"DSJ-{rng.randint(100, 999)}",
                     "captured_at": taken.isoformat(), "transcript": "（演示）执法人员宣读强制拆除决定……"}
        else:
            content = sample_files.pdf(f"Demo {kind.code}", case.number, day.isoformat())
            filename = f"{kind.name}.pdf"
        upload = records.begin_upload(case, officer, filename=filename, size=len(content), type_code=kind.code,
                                      description=f"{kind.name}（演示）", place=case.village, **extra)
        records.receive(upload, officer, io.BytesIO(content), offset=0)
