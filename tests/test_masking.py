"""Specification of the public copy of a decision (services.masking), tested without HTTP.

DOMAIN.md, 行政执法公示: a published decision names a natural person party by surname only (张某),
places a rural house at village level, and hides ID numbers, phones, bank accounts, health, the
names of other natural persons and the terms an administrator configured. Ordinary numbers of a
decision (amounts, dates, areas, case numbers, articles) stay. `leaks` is the publish gate's check
of an officer's (possibly hand-edited) text: it finds whatever `mask` would still change.
"""
from __future__ import annotations

import dataclasses
import itertools
import random

import pytest
from flask_babel import force_locale

from enforcement.models import PartyKind
from enforcement.services.masking import (ADDRESS_TOKEN, BANK_TOKEN, EXTRA_TOKEN, HEALTH_TOKEN, ID_TOKEN,
                                          PHONE_TOKEN, MaskRules, Party, leaks, mask, mask_name,
                                          public_party_name, public_place)


@pytest.fixture(autouse=True)
def english(app):
    """Messages are asserted in English (the msgids), whatever translations are compiled."""
    with force_locale("en"):
        yield


PERSON = Party("person", "李小明", id_number="44018219850312671X", phone="13902345678",
               address="广东省清远市永平镇大岭村三队12号", village="永平镇大岭村", other_names=("黄秀英",))
NOBODY = Party("person", "赵六")   # a party with no known data: only the patterns can find anything
COMPANY = Party("organisation", "清远市大岭建筑工程有限公司", phone="0763-3812345",
                address="清远市永平镇工业大道8号", village="永平镇")

DECISIONS = [
    # 1. the plain case, every kind of data once
    "当事人：李小明，男，1985年3月12日出生，公民身份号码44018219850312671X，住址：广东省清远市永平镇大岭村三队12号，"
    "联系电话13902345678。\n"
    "经查，当事人于2026年3月5日在未取得农村宅基地批准书和乡村建设规划许可证的情况下，在大岭村"
    "擅自建设住宅一栋（三层，占地面积120平方米，建筑面积360.5平方米）。上述事实有现场检查笔录、询问笔录、"
    "证人证言、现场照片等证据证实，证人王小明陈述称其亲眼看见当事人施工。\n"
    "当事人在陈述申辩中称其妻子黄秀英患有慢性肾病，长期住院治疗，家庭经济困难，请求从轻处罚。本机关认为，"
    "当事人的行为违反了《中华人民共和国土地管理法》第六十二条的规定，依据第七十八条和《广东省实施〈土地管理法〉"
    "办法》第二十五条，决定如下：责令退还非法占用的土地，限期十五日内拆除，并处罚款人民币50000元。",
    # 2. phones and ID in other formats, a bank account, a village official and neighbours
    "永罚〔2026〕12号\n当事人李小明（身份证号：440182 19850312 671X；手机：+86 139-0234-5678）"
    "未经批准，于2026年1月起在永平镇大岭村村民小组集体土地上建房。2026年2月10日，执法人员张伟、刘芳"
    "（执法证号44180019001、44180019002）进行现场检查，当事人之子李大伟在场并签字确认，村民委员会出具了"
    "情况说明，邻居反映该房屋已于2026年3月封顶。\n"
    "当事人应自收到本决定书之日起十五日内，将罚款缴至永平镇财政所，开户行：中国农业银行永平支行，"
    "账号：6228 4800 1234 5678 910。逾期不缴纳的，每日按罚款数额的3%加处罚款。",
    # 3. a representative, an old 15-digit ID, a landline and an address without the village in it
    "委托代理人：陈大文，系当事人亲属，联系人电话0763-5123456。当事人李小明原身份证号码440182850312671，"
    "现住清远市清城区新城路88号。经本机关2026年4月1日集体讨论，依据《中华人民共和国城乡规划法》第六十五条"
    "的规定，责令当事人于2026年4月30日前自行拆除违法建筑物，面积共计120平方米。户主李小明称不服本决定的，"
    "可于收到本决定书之日起六十日内依法申请行政复议，或者六个月内依法提起行政诉讼。",
    # 4. a bank card typed with dashes, a health clause with 诊断, a cue with a colon
    "当事人李小明称，其父亲于2025年经县人民医院诊断为脑梗塞、行动不便；证人：欧阳娜娜证实，当事人建房时"
    "已知道未获批准。当事人的银行卡号6217-0033-2000-1234-567已于2026年5月6日向本机关提交。邻居于当日向执法人员"
    "反映情况，村民代表大会讨论通过。当事人须在2026年6月1日前缴纳罚款人民币30000元，第3栋楼第2层不予拆除。",
]
SECRETS = ["44018219850312671X", "13902345678", "三队12号", "王小明", "黄秀英", "慢性肾病", "李大伟",
           "671X", "139-0234-5678", "6228 4800 1234 5678 910", "中国农业银行永平支行", "陈大文",
           "440182850312671", "0763-5123456", "脑梗塞", "欧阳娜娜", "6217-0033-2000-1234-567"]
ORDINARY = ["2026年3月5日", "120平方米", "360.5平方米", "50000元", "第六十二条", "第七十八条", "第二十五条",
            "永罚〔2026〕12号", "2026年2月10日", "44180019001", "3%", "第六十五条", "2026年4月30日", "30000元",
            "第3栋楼第2层", "十五日内", "证人证言", "村民委员会", "村民小组", "邻居反映", "村民代表大会"]


def kinds(masked) -> set[str]:
    return {change.kind for change in masked.changes}


# --- the party's name and place --------------------------------------------------------------------

@pytest.mark.parametrize("name, masked", [
    ("张三", "张某"), ("李小明", "李某某"), ("王", "王某"), ("欧阳修", "欧阳某"), ("司马相如", "司马某某"),
    ("诸葛亮", "诸葛某"), ("上官婉儿", "上官某某"), (" 张三 ", "张某"), ("John Smith", "J某"), ("", ""),
])
def test_mask_name_keeps_the_surname_and_one_mou_per_character(name, masked):
    assert mask_name(name) == masked


def test_a_person_party_is_published_by_surname_an_organisation_by_its_name():
    assert public_party_name(PERSON) == "李某某"
    assert public_party_name(PERSON, MaskRules(mask_party_name=False)) == "李小明"
    assert public_party_name(COMPANY) == COMPANY.name


def test_the_party_name_is_masked_in_the_text_and_reported_while_there():
    text = "当事人李小明于2026年3月5日建房，李小明称已申请。"
    result = mask(text, PERSON)
    assert result.text == "当事人李某某于2026年3月5日建房，李某某称已申请。"
    assert [c.kind for c in result.changes] == ["party_name", "party_name"]
    assert leaks(text, PERSON) == ["The text still contains the party's full name."]


def test_a_one_character_name_is_masked_once():
    party = Party("person", "王")
    once = mask("当事人王建房。", party).text
    assert once == "当事人王某建房。"
    assert mask(once, party).text == once and leaks(once, party) == []


@pytest.mark.parametrize("company", [COMPANY, dataclasses.replace(COMPANY, name="黄记建材有限公司")])
def test_an_organisation_stays_named_and_is_never_a_leak(company):
    text = f"当事人{company.name}于2026年3月5日在永平镇工业大道8号擅自建设厂房。委托人{company.name}法定代表人到场。"
    assert mask(text, company).text == text
    assert leaks(text, company) == []


def test_the_model_kinds_work_and_an_unknown_kind_is_masked_as_a_person():
    for kind in (PartyKind.PERSON, "", "individual"):
        assert mask("当事人张三建房。", Party(kind, "张三")).text == "当事人张某建房。"
    assert public_party_name(Party(PartyKind.ORGANISATION, "大岭建材厂")) == "大岭建材厂"


def test_public_place_is_the_village():
    assert public_place(PERSON) == "永平镇大岭村"
    assert public_place(NOBODY) == ""
    assert public_place(PERSON, MaskRules(village_level_address=False)) == ""


# --- numbers ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("number", [
    "11010519900307234X", "11010519900307234x", "110105199003072341", "110105900307234",
    "110105 19900307 2341", "1101 0519 9003 0723 41",
])
def test_id_numbers_are_removed_and_reported(number):
    text = f"身份证号码：{number}，住大岭村。"
    result = mask(text, NOBODY)
    assert result.text == f"身份证号码：{ID_TOKEN}，住大岭村。"
    assert kinds(result) == {"id_number"}
    assert leaks(text, NOBODY) == [f"The text still contains an ID number (ending …{number.replace(' ', '')[-4:]})."]


@pytest.mark.parametrize("number", [
    "13812345678", "138-1234-5678", "138 1234 5678", "+86 138 1234 5678", "+8613812345678", "+86-13812345678",
    "020-12345678", "0763-1234567", "076312345678",
])
def test_phones_are_removed_and_reported(number):
    text = f"联系电话{number}，已核实。"
    result = mask(text, NOBODY)
    assert result.text == f"联系电话{PHONE_TOKEN}，已核实。"
    assert kinds(result) == {"phone"}
    assert leaks(text, NOBODY) == [f"The text still contains a phone number (ending …{number[-4:]})."]


def test_a_run_of_numbers_is_split_into_the_numbers_it_holds():
    text = "电话13812345678 13987654321 2026年3月5日"
    assert mask(text, NOBODY).text == f"电话{PHONE_TOKEN} {PHONE_TOKEN} 2026年3月5日"


@pytest.mark.parametrize("number", [
    "6228480012345678", "6228 4800 1234 5678 910", "6228-4800-1234-5678", "6213812345678901234",
])
def test_bank_accounts_are_removed_whole_not_cut_into_a_phone(number):
    text = f"罚款退回至{number}。"
    result = mask(text, NOBODY)
    assert result.text == f"罚款退回至{BANK_TOKEN}。"
    assert kinds(result) == {"bank_account"}
    assert leaks(text, NOBODY) == [
        f"The text still contains a bank account number (ending …{number.replace(' ', '').replace('-', '')[-4:]})."]


def test_the_text_after_bank_cues_is_removed():
    text = "户名：李某某，开户行：中国农业银行永平支行，账号为44-0123-4567；卡号 9988 7766。"
    result = mask(text, NOBODY)
    assert result.text == f"户名：李某某，开户行：{BANK_TOKEN}，账号为{BANK_TOKEN}；卡号 {BANK_TOKEN}。"
    assert {c.original for c in result.changes} == {"中国农业银行永平支行", "44-0123-4567", "9988 7766"}
    assert leaks(text, NOBODY) == [
        "The text still contains bank account details after “开户行”.",
        "The text still contains bank account details after “账号”.",
        "The text still contains bank account details after “卡号”."]


def test_ordinary_numbers_stay():
    text = ("永罚〔2026〕12号：当事人于2026年3月5日（2026-03-05 10:30）建房，占地120平方米，建筑面积360.5平方米，"
            "罚款50000元（人民币伍万元），每日加处3%，依据第六十五条、第78条，邮政编码511500，执法证号44180019001，"
            "统一社会信用代码91441800MA4UX1234Y、91440101190442929X，第3栋第2层，共计1,234,567.89元。")
    assert mask(text, NOBODY).text == text
    assert leaks(text, NOBODY) == []


def test_the_partys_own_values_are_removed_even_in_unusual_formats():
    party = Party("person", "赵六", id_number="G12345678", phone="8123 4567")
    result = mask("护照号G12345678，家中电话8123 4567。", party)
    assert result.text == f"护照号{ID_TOKEN}，家中电话{PHONE_TOKEN}。"


def test_leaks_finds_a_hand_typed_id_number_the_masker_never_saw():
    published = mask(DECISIONS[0], PERSON).text
    edited = published.replace("经查，", "经查，当事人之兄（身份证号码110101199003071234）作证，")
    assert leaks(published, PERSON) == []
    assert leaks(edited, PERSON) == ["The text still contains an ID number (ending …1234)."]


# --- address, health, names, configured terms ------------------------------------------------------

def test_the_address_is_shown_at_village_level():
    result = mask("住址：广东省清远市永平镇大岭村三队12号。现住永平镇大岭村三队12号。", PERSON)
    assert result.text == "住址：广东省清远市永平镇大岭村。现住永平镇大岭村。"
    assert kinds(result) == {"address"}
    assert leaks("住永平镇大岭村三队12号", PERSON) == ["The text still contains the party's full address."]


def test_an_address_without_the_village_in_it_becomes_the_village_or_a_token():
    moved = dataclasses.replace(PERSON, address="清远市清城区新城路88号")
    assert mask("现住清远市清城区新城路88号。", moved).text == "现住永平镇大岭村。"
    unknown = dataclasses.replace(moved, village="")
    assert mask("现住清远市清城区新城路88号。", unknown).text == f"现住{ADDRESS_TOKEN}。"
    assert leaks("现住清远市清城区新城路88号。", unknown) == ["The text still contains the party's full address."]


def test_an_organisations_address_stays():
    text = "当事人住所：清远市永平镇工业大道8号。"
    assert mask(text, COMPANY).text == text


def test_a_clause_with_health_details_is_replaced():
    text = "当事人称其患有高血压，行动不便；其妻于2025年住院，需人照顾。因存在安全隐患，按照上级文件精神处理。"
    result = mask(text, NOBODY)
    assert result.text == f"{HEALTH_TOKEN}，行动不便；{HEALTH_TOKEN}，需人照顾。因存在安全隐患，按照上级文件精神处理。"
    assert kinds(result) == {"health"}
    assert leaks(text, NOBODY) == ["The text still contains health details (患有).",
                                   "The text still contains health details (住院)."]


def test_known_other_names_are_removed():
    text = "当事人妻子黄秀英到场，黄秀英表示同意。"
    result = mask(text, PERSON)
    assert result.text == "当事人妻子某某到场，某某表示同意。"
    assert "The text still contains the name of another person 黄秀英." in leaks(text, PERSON)


@pytest.mark.parametrize("text, masked", [
    ("证人王小明证实", "证人某某证实"), ("证人：陈大文称", "证人：某某称"), ("见证人 刘芳签字", "见证人 某某签字"),
    ("其妻子欧阳娜娜到场", "其妻子某某到场"), ("当事人之子李大伟在场", "当事人之子某某在场"),
    ("委托代理人：张伟，", "委托代理人：某某，"), ("邻居王五反映", "邻居某某反映"),
])
def test_names_after_cue_words_are_removed(text, masked):
    assert mask(text, NOBODY).text == masked
    assert leaks(text, NOBODY)[0].startswith("The text still contains the name of another person after")


def test_officers_context_words_after_cues_are_not_names():
    text = ("执法人员张伟、刘芳出示执法证件，调取了证人证言，证人陈述称看见施工，村民委员会出具证明，村民申请宅基地未获批准，"
            "邻居反映噪音，邻居于当日向执法人员反映，邻居房屋受损，亲属关系证明，户主本人签字，代理人身份证明，"
            "联系人电话已登记，村民代表大会讨论，村民小组同意，其子女均在外务工，父亲名下无房。")
    assert mask(text, NOBODY).text == text
    assert leaks(text, NOBODY) == []


def test_the_party_after_a_cue_is_masked_as_the_party():
    assert mask("户主李小明称。", PERSON).text == "户主李某某称。"


def test_configured_terms_are_removed_without_breaking_tokens():
    rules = MaskRules(extra_terms=("大岭村", "隐去", "老屋坪"))
    text = "当事人在老屋坪建房，身份证号110105199003072341。"
    result = mask(text, NOBODY, rules)
    assert result.text == f"当事人在{EXTRA_TOKEN}建房，身份证号{ID_TOKEN}。"
    assert leaks(result.text, NOBODY, rules) == []
    assert leaks(text, NOBODY, rules)[0] == "The text still contains the configured term 老屋坪."


def test_configured_terms_inside_the_address_or_the_masker_output_still_converge():
    rules = MaskRules(extra_terms=("永平", "某"))
    result = mask("住址：广东省清远市永平镇大岭村三队12号，证人王五在场。", PERSON, rules)
    assert result.text == f"住址：广东省清远市{EXTRA_TOKEN}镇大岭村，证人{EXTRA_TOKEN}{EXTRA_TOKEN}在场。"
    assert mask(result.text, PERSON, rules).text == result.text
    assert leaks(result.text, PERSON, rules) == []


# --- switches, changes, idempotence and the gate ---------------------------------------------------

@pytest.mark.parametrize("rule, kept", [
    ("mask_party_name", "李小明"), ("remove_id_numbers", "44018219850312671X"), ("remove_phones", "13902345678"),
    ("remove_bank_accounts", "6228 4800 1234 5678 910"), ("remove_health", "慢性肾病"),
    ("remove_other_names", "王小明"), ("village_level_address", "三队12号"),
])
def test_a_rule_switched_off_leaves_its_data(rule, kept):
    text = "\n".join(DECISIONS)
    assert kept not in mask(text, PERSON).text
    rules = MaskRules(**{rule: False})
    result = mask(text, PERSON, rules)
    assert kept in result.text
    assert leaks(result.text, PERSON, rules) == []


def test_every_replacement_is_listed():
    text = DECISIONS[0] + DECISIONS[1]
    result = mask(text, PERSON)
    rebuilt = text
    for change in result.changes:
        assert change.original in rebuilt
        rebuilt = rebuilt.replace(change.original, change.replacement, 1)
    assert rebuilt == result.text
    assert kinds(result) == {"party_name", "id_number", "phone", "bank_account", "health", "other_name", "address"}


@pytest.mark.parametrize("text", DECISIONS)
def test_realistic_decisions_come_out_clean(text):
    result = mask(text, PERSON)
    for secret in SECRETS:
        assert secret not in result.text
    for ordinary in ORDINARY:
        assert (ordinary in text) <= (ordinary in result.text), ordinary
    assert mask(result.text, PERSON).text == result.text
    assert leaks(result.text, PERSON) == []
    assert leaks(text, PERSON)


@pytest.mark.parametrize("switches", list(itertools.product([True, False], repeat=3)))
def test_leaks_of_the_masked_text_is_empty_under_any_rules(switches):
    names = ("remove_health", "remove_other_names", "village_level_address")
    rules = MaskRules(**dict(zip(names, switches)), extra_terms=("永平",))
    for text in DECISIONS:
        for party in (PERSON, NOBODY, COMPANY):
            result = mask(text, party, rules)
            assert leaks(result.text, party, rules) == []
            assert mask(result.text, party, rules) == dataclasses.replace(result, changes=())


def _generated_texts(seed: int, count: int):
    """Decisions glued from fragments with random data in random formats (property-style, no hypothesis)."""
    rng = random.Random(seed)
    digits = lambda n: "".join(rng.choice("0123456789") for _ in range(n))  # noqa: E731

    def group(number: str, sizes, sep: str) -> str:
        parts, at = [], 0
        for size in sizes:
            parts.append(number[at:at + size])
            at += size
        return sep.join(p for p in parts + [number[at:]] if p)

    for _ in range(count):
        id_number = digits(6) + f"{rng.randint(1950, 2008)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}" + \
            digits(3) + rng.choice("0123456789X")
        mobile = "1" + rng.choice("3456789") + digits(9)
        bank = "62" + digits(rng.randint(14, 17))
        name = rng.choice(["张", "王", "欧阳", "陈", "黄"]) + "".join(rng.sample("建国秀英伟明华丽强", rng.randint(1, 2)))
        other = rng.choice(["刘", "周", "司马", "吴"]) + "".join(rng.sample("志红小芳军平", rng.randint(1, 2)))
        fragments = [
            f"当事人{name}，身份证号码{rng.choice([id_number, group(id_number, (6, 8), ' ')])}。",
            f"联系电话{rng.choice([mobile, group(mobile, (3, 4), '-'), '+86 ' + group(mobile, (3, 4), ' ')])}。",
            f"{rng.choice(CUES)}{rng.choice(['', '：'])}{other}证实当事人于{rng.randint(2020, 2026)}年施工。",
            f"账户{rng.choice([bank, group(bank, (4, 4, 4), ' '), group(bank, (4, 4, 4), '-')])}。",
            f"{name}称其{rng.choice(['患有糖尿病', '曾住院治疗', '系残疾人'])}，请求从轻。",
            f"罚款{rng.randint(1, 99) * 1000}元，占地{rng.randint(50, 300)}平方米，依据第{rng.choice(['六十五', '78'])}条。",
        ]
        rng.shuffle(fragments)
        party = Party("person", name, village="大岭村", other_names=(other,) if rng.random() < 0.5 else ())
        rules = MaskRules(**{field: rng.random() < 0.8 for field in (
            "mask_party_name", "remove_id_numbers", "remove_phones", "remove_bank_accounts", "remove_health",
            "remove_other_names")})
        yield "".join(fragments), party, rules, (id_number, mobile, bank, name, other)


CUES = ["证人", "邻居", "其妻", "之子", "村民", "户主", "见证人"]


@pytest.mark.parametrize("seed", range(5))
def test_generated_decisions_mask_clean_and_idempotent(seed):
    for text, party, rules, (id_number, mobile, bank, name, other) in _generated_texts(seed, 40):
        result = mask(text, party, rules)
        assert leaks(result.text, party, rules) == [], text
        assert mask(result.text, party, rules).text == result.text, text
        assert bool(leaks(text, party, rules)) == (result.text != text)
        rule_and_secret = [(rules.remove_id_numbers, id_number), (rules.remove_phones, mobile),
                           (rules.remove_bank_accounts, bank), (rules.mask_party_name, name),
                           (rules.remove_other_names, other)]
        compact = result.text.replace(" ", "").replace("-", "")
        for on, secret in rule_and_secret:
            if on:
                assert secret not in compact, (secret, text, result.text)
        assert "元，占地" in result.text and "平方米，依据第" in result.text
