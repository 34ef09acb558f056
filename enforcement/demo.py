"""The demo town: 永平镇人民政府 with its people, powers catalogue and about thirty cases.

`load_demo()` builds everything through the real services (people, catalogue, cases, records,
workflow, notice, review, decisions), so the audit trail records the demo like any other change
and every case has passed the same gates a clerk's case would. Master data is created by the
system (actor None); cases are filed by their lead officer, approved by the head and moved on by
the officers and the head, each step dated on the day it "happened" in 2026.

Every case in notice or later has a lawful history: the notice served and the party's statement
(or its waiver), the hearing period over before the next step; a major case was submitted for
legal review by its lead officer with the attestation, passed by reviewer1 (法律职业资格, never an
officer on, uploader to or editor of a demo case), discussed collectively with the minutes
uploaded, and signed by the head; every decision keeps its 决定书 and every review its 意见书 as
PDF records. A few cases are there for the screens (Plan.story): one awaits review in the queue,
one was returned for correction, one passed review and then had a record added (the decision
page says the review no longer matches the dossier), one had a hearing, one an extension of the
90-day limit. Timestamps of signed acts (submitted, reviewed, created) are the real time of the
load; the dates the law counts with (served, held, decided) are the story's.

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


# The discretion standard (裁量基准) of two matters: (circumstance, measures, lowest fine, highest fine).
BANDS: dict[str, list[tuple[str, str, Decimal | None, Decimal | None]]] = {
    "planning": [
        ("情节轻微", "符合村庄规划、能够补办乡村建设规划许可证的：责令停止建设，限期补办手续（责令限期改正）", None, None),
        ("情节一般", "部分违反村庄规划、可以采取局部改正措施消除影响的：责令停止建设，限期改正，拆除违反规划的部分",
         None, None),
        ("情节严重", "严重违反村庄规划、无法采取改正措施消除影响的：责令停止建设，限期拆除", None, None),
    ],
    "burning": [
        ("个人：初次焚烧，面积较小", "责令改正，对个人处五百元以上一千元以下罚款", Decimal("500"), Decimal("1000")),
        ("个人：多次焚烧或面积较大", "责令改正，对个人处一千元以上二千元以下罚款", Decimal("1000"), Decimal("2000")),
        ("单位：情节一般", "责令改正，对单位处一万元以上五万元以下罚款", Decimal("10000"), Decimal("50000")),
        ("单位：情节严重", "责令改正，对单位处五万元以上十万元以下罚款", Decimal("50000"), Decimal("100000")),
    ],
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
    # What makes the case worth a look on the screens:
    #   "queue"     submitted for legal review, waiting in the reviewers' queue
    #   "returned"  the reviewer returned it for correction: back in investigation, with the reasons
    #   "stale"     review passed, then a record was added: the review no longer matches the dossier
    #   "extension" review passed, the head extended the 90-day limit; the collective discussion is next
    #   "hearing"   the party asked for a hearing within the 5 working days; it was held and recorded
    story: str = ""


S = Stage
PLANS = (
    # awaiting the head's approval
    Plan("planning", S.FILING, (2, 6)),
    Plan("land", S.FILING, (1, 4)),
    Plan("street", S.FILING, (3, 8), party="organisation"),
    # investigating: two of them long past the 90-day limit, one returned by the legal review
    Plan("planning", S.INVESTIGATION, (160, 200)),
    Plan("land", S.INVESTIGATION, (110, 140)),
    Plan("planning", S.INVESTIGATION, (20, 50), recusal=True),
    Plan("burning", S.INVESTIGATION, (10, 30)),
    Plan("planning", S.INVESTIGATION, (45, 75), story="returned"),
    Plan("billboard", S.INVESTIGATION, (12, 40), party="organisation"),
    # notice given
    Plan("planning", S.NOTICE, (100, 130)),
    Plan("land", S.NOTICE, (40, 70)),
    Plan("street", S.NOTICE, (40, 70)),
    Plan("planning", S.NOTICE, (50, 80)),
    # in legal review
    Plan("planning", S.REVIEW, (95, 120), story="extension"),
    Plan("land", S.REVIEW, (60, 80), story="stale"),
    Plan("billboard", S.REVIEW, (50, 80), party="organisation", story="queue",
         complex_reason="广告牌由两家单位共同设置，涉及多个违法主体和多个法律关系"),
    # decided, served, executing
    Plan("planning", S.DECISION, (86, 92)),    # decided days ago: to be served soon
    Plan("burning", S.DECISION, (87, 93)),
    Plan("land", S.DECISION, (110, 160), story="hearing"),
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


@dataclass(frozen=True)
class Proposal:
    """The intended decision told to the party (告知) and, unchanged, the decision made."""

    decision_type: str
    fine_amount: Decimal | None
    content: str
    legal_basis: str
    band: str | None            # the circumstance of the matter's discretion standard that applies
    hearing_offered: bool       # 行政处罚法 art. 63: demolition and large fines
    performance: str


def _proposal(rng: random.Random, plan: Plan, place: str) -> Proposal:
    """What the town intends to decide, by matter and party: demolition on both routes, fines otherwise."""
    org = plan.party == "organisation"
    if plan.matter == "planning":
        return Proposal("demolition", None, f"责令当事人停止建设，自收到本决定书之日起十五日内自行拆除位于{place}"
                        "的违法建设房屋，恢复土地原状。", "《中华人民共和国城乡规划法》第四十一条、第六十五条",
                        "情节严重", True, "自收到本决定书之日起十五日内自行拆除；逾期不拆除的，依法强制拆除。")
    if plan.matter == "land":
        return Proposal("demolition", None, f"责令当事人退还非法占用的{place}集体土地，自收到本决定书之日起十五日内"
                        "自行拆除在非法占用的土地上新建的房屋。", "《中华人民共和国土地管理法》第六十二条、第七十八条",
                        None, True, "自收到本决定书之日起十五日内退还土地、自行拆除；逾期不起诉又不履行的，依法申请"
                        "人民法院强制执行。")
    if plan.matter == "burning":
        fine = Decimal(rng.choice((20000, 30000))) if org else Decimal(rng.choice((500, 800, 1000)))
        return Proposal("fine", fine, f"责令立即改正，处罚款人民币{fine:.0f}元。",
                        "《中华人民共和国大气污染防治法》第七十七条、第一百一十九条第一款",
                        "单位：情节一般" if org else "个人：初次焚烧，面积较小", org,
                        "自收到本决定书之日起十五日内缴纳罚款；逾期每日按罚款数额的百分之三加处罚款。")
    if plan.matter == "billboard":
        fine = Decimal(rng.choice((2000, 3000, 5000)))
        return Proposal("fine", fine, f"责令于五日内拆除擅自设置的户外广告牌，并处罚款人民币{fine:.0f}元。",
                        "《城市市容和环境卫生管理条例》第十一条、第三十六条第（三）项", None, False,
                        "自收到本决定书之日起五日内拆除广告牌，十五日内缴纳罚款。")
    fine = Decimal(rng.choice((500, 1000))) if org else Decimal(rng.choice((100, 200, 300)))
    return Proposal("fine", fine, f"责令立即改正，处罚款人民币{fine:.0f}元。",
                    "《城市市容和环境卫生管理条例》第十四条、第三十六条第（二）项", None, False,
                    "自收到本决定书之日起十五日内缴纳罚款。")


STATEMENTS = (
    "当事人辩称建房系危旧房改造，建设前曾向村民委员会口头报告，请求从轻处理。",
    "当事人承认违法事实，表示家庭困难，请求给予自行整改的期限。",
    "当事人称对相关规定不了解，愿意配合整改。",
)


def _act_dates(rng: random.Random, plan: Plan, filed: date) -> tuple[date, date | None, date]:
    """(act began, act ended or None when continuing, discovered)."""
    if plan.matter == "burning":
        day = filed - timedelta(days=rng.randint(0, 2))
        return day, day, day
    began = filed - timedelta(days=rng.randint(8, 60))
    discovered = max(began, filed - timedelta(days=rng.randint(0, 5)))
    return began, None, discovered


# Least calendar days before each step that leads to the decision: the investigation takes a week;
# after the notice the party has 5 working days to ask for a hearing (行政处罚法 art. 64; the
# margin covers a holiday week); a hearing is notified 7 working days ahead, held and written up;
# the collective discussion and the head's signature follow the review.
INVESTIGATION_DAYS = 7
HEARING_PERIOD_DAYS = 14
HEARING_DAYS = 36
AFTER_REVIEW_DAYS = 3


def _step_dates(rng: random.Random, filed: date, path: list[Stage], plan: Plan) -> list[date]:
    """A date for every move after filing, in order, none after STORY_END.

    The head approves within days; notice, review and decision come inside the 90-day limit
    (行政处罚法 art. 60), each after the least time the law leaves before it; service follows the
    decision within a week (art. 61); the rest spreads out to the end of the story.
    """
    moves = path[1:]
    if not moves:
        return []
    approval = min(filed + timedelta(days=rng.randint(0, 2)), STORY_END)
    dates = [approval]
    pre = [m for m in moves[1:] if m in (Stage.NOTICE, Stage.REVIEW, Stage.DECISION)]
    post = [m for m in moves[1:] if m not in pre]
    gaps = []
    for previous, move in zip([Stage.INVESTIGATION, *pre], pre):
        if move == Stage.NOTICE:
            gaps.append(INVESTIGATION_DAYS)
        elif previous == Stage.NOTICE:
            gaps.append(HEARING_DAYS if plan.story == "hearing" else HEARING_PERIOD_DAYS)
        else:
            gaps.append(AFTER_REVIEW_DAYS)
    limit = min(filed + timedelta(days=85), STORY_END)
    slack = max((limit - approval).days - sum(gaps), 0)
    extras = sorted(rng.randint(0, slack) for _ in pre)
    offset = 0
    for gap, extra in zip(gaps, extras):
        offset += gap
        dates.append(approval + timedelta(days=offset + extra))
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

    A step that a gate refuses leaves that case where it stands and is logged as a warning;
    with `strict=True` the refusal is raised instead, as the tests do.
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
    for key, bands in BANDS.items():
        for sort, (circumstance, measures, low, high) in enumerate(bands, start=1):
            catalogue.add_band(matters[key], actor=None, circumstance=circumstance, measures=measures,
                               fine_min=low, fine_max=high, sort=sort * 10)

    # Officers whose certificates cover each matter's category (综合行政执法 covers them all).
    all_round = [users["officer1"], users["officer3"]]
    building = [users["officer1"], users["officer2"], users["officer3"]]
    drafts = [_draft(rng, plan, matters[plan.matter], building if plan.matter in ("planning", "land") else all_round)
              for plan in PLANS]
    cast = Cast(head=users["head"], reviewer=users["reviewer1"])
    # Filed in date order, so the case numbers run with the calendar as in a real register.
    for draft in sorted(drafts, key=lambda d: d.filed_on):
        _load_case(draft, town, cast, strict)
    _disclosure_stories(town, cast)
    _execution_story(town, cast)
    return True


def _execution_story(town: Body, cast: Cast) -> None:
    """One forced demolition being prepared: the compulsory-execution decision served, two officers and a
    camera assigned, the party told to attend, a morning after the story's end booked. Its go/no-go list
    still names what is missing (the party's periods to challenge have not run out)."""
    from datetime import datetime, time

    from .services import execution
    from .services.calendar import add_working_days

    case = next((c for c in db.session.scalars(select(Case).where(
        Case.body_id == town.id, Case.stage == Stage.EXECUTION.value).order_by(Case.id))
        if execution.is_forced_demolition(c)), None)
    if case is None:
        return
    lead = next(o.user for o in case.active_officers if o.lead) if any(o.lead for o in case.active_officers) \
        else case.active_officers[0].user
    day = STORY_END - timedelta(days=3)
    _upload(case, lead, "enforcement_decision", day, "强制执行（拆除）决定书")
    _serve(case, day, lead, "enforcement_decision")
    _serve(case, day, lead, "attendance_notice")
    officers = [o.user for o in case.active_officers]
    execution.plan_demolition(case, actor=lead, scheduled_at=datetime.combine(add_working_days(STORY_END, 5),
                                                                             time(9, 0)),
                              camera="执法记录仪 DSJ-207、DSJ-208", officer_ids=[u.id for u in officers], today=day)


def _disclosure_stories(town: Body, cast: Cast) -> None:
    """公示 after the decisions: most published within the 7 or 20 working days (one late), one held
    back by the head, the newest left as drafts (due soon or overdue on the screens), the demolition
    orders announced with their self-demolition deadline, and one decision revoked after a
    reconsideration, its notice withdrawn with the reason."""
    from .models import DecisionType, Publication, PublicationKind, PublicationStatus
    from .services import challenges, disclosure
    from .services.calendar import add_working_days

    rng = random.Random(118)  # its own draws: the cases above stay as they were
    drafts = list(db.session.scalars(select(Publication).where(
        Publication.body_id == town.id, Publication.status == PublicationStatus.DRAFT.value,
        Publication.kind == PublicationKind.DECISION.value).order_by(Publication.decided_on, Publication.id)))
    held = published = 0
    for index, pub in enumerate(drafts):
        officer = next(o.user for o in pub.case.active_officers if not o.user.auxiliary)
        if index == len(drafts) - 1 or pub.due_on is None:
            continue  # the newest waits for its officer: the screens show it due
        if held == 0 and pub.decision_type != DecisionType.DEMOLITION.value and pub.case.party_kind == "person":
            disclosure.hold(pub, actor=cast.head, reason="privacy",
                            detail="违法事实涉及当事人家庭成员的疾病治疗情况，公开将披露个人隐私。")
            held += 1
            continue
        late = published == 2
        day = pub.due_on + timedelta(days=2) if late else add_working_days(pub.decided_on, rng.randint(1, 5))
        disclosure.publish(pub, actor=officer, today=min(day, STORY_END))
        published += 1
    # Demolition orders in force and already decided: the art. 44 notice, posted a few days later.
    for pub in list(db.session.scalars(select(Publication).where(
            Publication.body_id == town.id, Publication.decision_type == DecisionType.DEMOLITION.value,
            Publication.kind == PublicationKind.DECISION.value,
            Publication.status == PublicationStatus.PUBLISHED.value).order_by(Publication.id))):
        officer = next(o.user for o in pub.case.active_officers if not o.user.auxiliary)
        posted = min(add_working_days(pub.decided_on, 3), STORY_END - timedelta(days=1))
        notice = disclosure.post_demolition_notice(pub.decision, actor=officer, today=posted,
                                                   self_demolition_by=posted + timedelta(days=15))
        disclosure.publish(notice, actor=officer, today=posted)
    # A reconsideration that revoked a fine: the notice comes down with the reason.
    # (An archived case's file is read-only: the challenge is against a case still open or closed.)
    target = db.session.scalar(select(Publication).join(Case, Case.id == Publication.case_id).where(
        Publication.body_id == town.id, Publication.status == PublicationStatus.PUBLISHED.value,
        Publication.kind == PublicationKind.DECISION.value, Case.stage != Stage.ARCHIVED.value,
        Publication.decision_type != DecisionType.DEMOLITION.value).order_by(Publication.id).limit(1))
    if target is not None:
        officer = next(o.user for o in target.case.active_officers if not o.user.auxiliary)
        received = min(add_working_days(target.published_on, 5), STORY_END - timedelta(days=10))
        row = challenges.record_challenge(target.case, actor=officer, kind="reconsideration", forum="某县人民政府",
                                          reference="某复决字〔2026〕7号", received_on=received, today=received)
        outcome_on = min(received + timedelta(days=40), STORY_END - timedelta(days=4))
        challenges.record_outcome(row, actor=officer, outcome="revoked", outcome_on=outcome_on,
                                  note="复议机关认为处罚依据适用错误，决定撤销。", today=outcome_on)
        withdrawn_on = add_working_days(outcome_on, 2)
        disclosure.withdraw(target, actor=officer, reason=disclosure.suggested_withdrawal_reason(target),
                            today=min(withdrawn_on, STORY_END))


@dataclass(frozen=True)
class Cast:
    """Who, besides the officers on the case, acts in the demo's stories."""

    head: User       # approves filings, chairs the collective discussion, signs decisions
    reviewer: User   # 孙立平, 法律职业资格: never an officer on, uploader to or editor of a demo case


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
    proposal: Proposal
    statement: str      # the party's statement and defence; empty: waived


def _major(plan: Plan, matter: Matter) -> bool:
    """Whether the demo case goes through legal review. services.major decides for real: a case this
    calls minor that the services find major has its decision refused, and the strict load fails."""
    return matter.in_major_catalogue or bool(matter.route) or bool(plan.complex_reason) or plan.story == "hearing"


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
    major = _major(plan, matter)
    # A returned case went through notice and review and is back in investigation.
    final = Stage.REVIEW if plan.story == "returned" else plan.final
    path = _path(major, plan.execution, final)
    moves = list(zip(path[1:], _step_dates(rng, filed, path, plan)))
    proposal = _proposal(rng, plan, place)
    statement = rng.choice(STATEMENTS) if plan.story == "hearing" or rng.random() < 0.35 else ""
    return Draft(plan, matter, filed, village, party, place, summary, act, source,
                 detail.format(n=rng.randint(1, 109)), lead, second, pool, moves, proposal, statement)


def _load_case(draft: Draft, town: Body, cast: Cast, strict: bool) -> Case:
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
                _step(case, target, day, draft, cast)
        except DomainError as exc:
            if strict:
                raise
            log.warning("demo case %s stays in %s: %s", case.number, case.stage,
                        "; ".join(getattr(exc, "unmet", [exc.message])))
            break
    return case


def _step(case: Case, target: Stage, day: date, draft: Draft, cast: Cast) -> None:
    """One move of a demo case, by whoever makes it in real life, through the service that makes it."""
    plan = draft.plan
    if target == Stage.INVESTIGATION:
        cases.approve_filing(case, actor=cast.head, today=day)
        if plan.recusal:
            stand_in = next(u for u in draft.pool if u.id not in (draft.lead.id, draft.second.id))
            cases.assign_officer(case, stand_in, actor=cast.head, today=day)
            cases.remove_officer(case, draft.second, actor=cast.head,
                                 reason="与当事人系近亲属，本人申请回避（行政处罚法第四十三条）")
        return
    if target == Stage.NOTICE:
        if plan.complex_reason:
            cases.mark_complex(case, actor=cast.head, reason=plan.complex_reason)
        _add_records(case, day, draft.lead)
        workflow.advance(case, Stage.NOTICE, actor=draft.lead, today=day)
        _serve_notice(case, day, draft)
        return
    if target == Stage.REVIEW:
        _legal_review(case, day, draft, cast)
        return
    if target == Stage.DECISION:
        _decide(case, day, draft, cast)
        return
    # The head orders execution; the lead officer moves the rest.
    actor = cast.head if target == Stage.EXECUTION else draft.lead
    if target == Stage.CLOSED:
        _carry_out(case, day, draft)
    _add_records(case, day, draft.lead)
    if target == Stage.CLOSED:
        from .services import closing

        closing.run_self_check(case, actor=draft.lead, today=day)
    workflow.advance(case, target, actor=actor, today=day)
    if target == Stage.SERVICE:
        _serve(case, day, draft.lead, "decision")
    elif target == Stage.EXECUTION:
        _remind(case, day, draft)


def _serve(case: Case, day: date, officer: User, document: str) -> None:
    """送达: handed to the party, who signs the 送达回证 (uploaded, then named as the proof); a reminder gives
    ten days to perform."""
    from .services import serving

    receipt = _upload(case, officer, "service_receipt", day,
                      f"送达回证（{serving.document_label(document)}，当事人签收）")
    serving.record_service(case, actor=officer, document=document, method="direct", served_on=day,
                           proof_record_id=receipt.id, recipient=case.party_name, today=day,
                           comply_by=day + timedelta(days=10) if document == "reminder" else None)


def _remind(case: Case, day: date, draft: Draft) -> None:
    """执行: the reminder (催告书) served the day execution begins, and the party's statement on it."""
    from .services import execution

    _upload(case, draft.lead, "reminder", day, "履行催告书")
    _serve(case, day, draft.lead, "reminder")
    if draft.statement:
        execution.record_statement(case, actor=draft.lead, heard_on=day, today=day,
                                   statement="当事人称：" + draft.statement)
    else:
        execution.record_statement(case, actor=draft.lead, heard_on=day, waived=True, today=day)


def _carry_out(case: Case, day: date, draft: Draft) -> None:
    """Before closing: the fine paid (with the late penalty if it came late), or the order complied with."""
    from .models import DecisionType
    from .services import execution
    from .services.decisions import current_decision

    decision = current_decision(case)
    if decision is None or decision.decision_type in execution.EXECUTES_ITSELF:
        return
    if decision.fine_amount:
        state = execution.fine_state(case, day)
        if state is not None and not state.settled:
            receipt = _upload(case, draft.lead, "fine_receipt", day, "罚款缴纳凭证（银行代收）")
            execution.record_payment(case, actor=draft.lead, paid_on=day, amount=state.outstanding,
                                     receipt_record_id=receipt.id, today=day)
    if decision.decision_type != DecisionType.FINE.value:
        proof = _upload(case, draft.lead, "compliance_proof", day, "当事人自行拆除（改正）到位的现场照片及情况说明")
        execution.record_compliance(case, actor=draft.lead, complied_on=day, record_id=proof.id, today=day,
                                    note="经催告，当事人已在期限内自行拆除违法建设。")


def _serve_notice(case: Case, day: date, draft: Draft) -> None:
    """告知: the notice served on the party, the statement and defence (or its waiver), a hearing if asked."""
    from .services import calendar, notice

    officer, plan = draft.lead, draft.proposal
    _upload(case, officer, "notice_of_intent", day, "行政处罚事先告知书（含听证告知）" if plan.hearing_offered
            else "行政处罚事先告知书")
    notice.record_notice(case, actor=officer, decision_type=plan.decision_type, fine_amount=plan.fine_amount,
                         content=plan.content, legal_basis=plan.legal_basis, served_on=day,
                         service_method="直接送达，当事人签收", hearing_offered=plan.hearing_offered, today=day)
    if draft.statement:
        _upload(case, officer, "statement_record", day, "陈述申辩笔录")
        notice.record_statement(case, actor=officer, statement=draft.statement)
    else:
        notice.record_statement(case, actor=officer, waived=True)
    if draft.plan.story == "hearing":
        asked = day + timedelta(days=2)
        notice.record_hearing_request(case, actor=officer, requested_on=asked, today=asked)
        # The hearing notice goes out the day after the request, 7 working days before the hearing.
        held = calendar.add_working_days(asked + timedelta(days=1), 8)
        record = _upload(case, officer, "hearing_record", held,
                         "听证笔录（主持人：镇司法所所长，非本案调查人员；当事人及其委托代理人到场）")
        notice.record_hearing(case, actor=officer, held_on=held, record_id=record.id, today=held)


def _proposal_data(draft: Draft):
    from .services.review import ProposalData

    plan = draft.proposal
    return ProposalData(plan.decision_type, plan.fine_amount, None, plan.content, plan.legal_basis)


def _band_id(case: Case, draft: Draft) -> int | None:
    circumstance = draft.proposal.band
    if circumstance is None:
        return None
    return next(b.id for b in case.matter.discretion_bands if b.active and b.circumstance == circumstance)


PASSED_OPINION = ("经审核，本案执法主体合法，执法人员具备执法资格，程序合法，事实清楚，证据确实充分，适用依据准确，"
                  "裁量适当，未超越法定权限，文书规范，无涉嫌犯罪需移送情形。同意承办机构意见。")
RETURN_NOTE = "现场照片和检查笔录未能反映违法建设的建筑面积和层数，缺少测量记录及图纸"
RETURN_OPINION = ("现有证据不足以认定违法建设的面积（行政处罚法第四十条），请补充测量记录及图纸，核实建筑面积后"
                  "重新提交法制审核。")


def _legal_review(case: Case, day: date, draft: Draft, cast: Cast) -> None:
    """法制审核: the officer's request with the attestation, then the reviewer's opinion on the nine checks."""
    from .services import decisions, review

    request = review.submit(case, actor=draft.lead, password=DEMO_PASSWORD, attest=True,
                            proposal=_proposal_data(draft), discretion_band_id=_band_id(case, draft),
                            handler_opinion="案件事实清楚，证据充分，建议按告知内容作出决定。", today=day)
    story = draft.plan.story
    if story == "queue":
        return  # waits in the reviewers' queue
    problems = review.reviewer_problems(cast.reviewer, case)
    if problems:  # the demo's reviewer must be one who may review: fail loudly, never around the rule
        raise DomainError(" ".join(problems))
    checks = {code: (True, "") for code in review.CHECK_CODES}
    if story == "returned":
        checks["evidence_sufficient"] = (False, RETURN_NOTE)
        review.review(request, actor=cast.reviewer, password=DEMO_PASSWORD, no_conflict=True, checks=checks,
                      opinion=RETURN_OPINION, outcome="returned", today=day)
        return
    review.review(request, actor=cast.reviewer, password=DEMO_PASSWORD, no_conflict=True, checks=checks,
                  opinion=PASSED_OPINION, outcome="passed", today=day)
    if story == "stale":
        _discuss(case, day, cast)
        # The officer files one more paper after the sign-off: the dossier is no longer the one reviewed.
        _upload(case, draft.lead, "documentary_evidence", day, "村民委员会出具的情况说明（法制审核通过后补充）")
    elif story == "extension":
        decisions.extend_deadline(case, actor=cast.head, new_due=case.decision_due_on + timedelta(days=60),
                                  reason="法制审核通过后需补充听取村民委员会意见并经集体讨论决定，案情复杂，"
                                         "经负责人批准延长办案期限六十日（行政处罚法第六十条）。")


def _discuss(case: Case, day: date, cast: Cast) -> None:
    """集体讨论, chaired by the head, with its minutes uploaded as a record."""
    from .services import review

    record = _upload(case, cast.head, "collective_discussion", day, "集体讨论记录")
    review.record_collective_discussion(
        case, actor=cast.head, held_on=day, record_id=record.id, today=day,
        participants="周文斌（镇长，主持）、分管副镇长、镇纪委书记、司法所所长、综合行政执法办公室主任",
        conclusion="同意法制审核意见，依法作出决定。")


def _decide(case: Case, day: date, draft: Draft, cast: Cast) -> None:
    """决定: the collective discussion for a major decision, then the head's signature (the 决定书 is kept)."""
    from .services import decisions
    from .services.major import major_reasons

    if major_reasons(case):
        _discuss(case, day, cast)
    decisions.finalise(case, actor=cast.head, password=DEMO_PASSWORD, proposal=decisions.proposal_for(case),
                       discretion_band_id=_band_id(case, draft), performance=draft.proposal.performance, today=day)


# Around 永平镇 (a made-up town: the coordinates only make the photos' EXIF look real).
DEMO_LATITUDE, DEMO_LONGITUDE = 25.0453, 102.7097


def _add_records(case: Case, day: date, officer: User) -> None:
    """The records the rules require before the case leaves its stage, uploaded as an officer would."""
    from .services import records

    for item in records.missing_for(case, case.stage):
        _upload(case, officer, item.record_type.code, day, f"{item.record_type.name}（演示）")


def _upload(case: Case, officer: User, type_code: str, day: date, description: str):
    """One record of the case through the real upload services (begin, then the bytes in one go)."""
    import io
    from datetime import datetime, time

    from . import sample_files
    from .services import records

    kind = records.get_record_type(type_code)
    rng = random.Random(f"{case.number}-{case.stage}-{type_code}")
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
                                  description=description, place=case.village, **extra)
    return records.receive(upload, officer, io.BytesIO(content), offset=0).record
