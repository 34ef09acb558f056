"""The masked copy of an enforcement decision that the public may read (行政处罚决定公开的去标识化).

DOMAIN.md, 行政执法公示: a published decision hides a natural person's home address, phone, ID
number, bank account and health, the names of natural persons other than the party and an
organisation's bank account; a natural person party is named by surname only (张某) and a rural
house is placed at village level. Plain functions, no request and no database.

`mask` runs a fixed list of passes (the party's own ID number, phone and address, configured
terms, ID/bank/phone numbers, bank cues, health clauses, other people's names, the party's
name) and repeats the list until nothing changes, so its result is idempotent. `leaks` asks
every pass what it would still change, so `leaks(t) == []` exactly when `mask(t).text == t`,
and `leaks(mask(t).text) == []` always. No pass ever cuts into a replacement token.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterator, NamedTuple

from flask_babel import gettext as _

ID_TOKEN = "〔身份证号码已隐去〕"
PHONE_TOKEN = "〔电话号码已隐去〕"
BANK_TOKEN = "〔账号已隐去〕"
HEALTH_TOKEN = "〔健康信息已隐去〕"
ADDRESS_TOKEN = "〔地址已隐去〕"
EXTRA_TOKEN = "〔已隐去〕"
PERSON_TOKEN = "某某"
_TOKENS = re.compile("|".join(map(re.escape, (ID_TOKEN, PHONE_TOKEN, BANK_TOKEN, HEALTH_TOKEN,
                                              ADDRESS_TOKEN, EXTRA_TOKEN))))

# Bare 精神 is left out on purpose: "文件精神/会议精神" is ordinary policy language in decisions;
# 患 alone would hit 安全隐患. Health use of both is covered by the longer terms below.
DEFAULT_HEALTH_TERMS = ("病", "患有", "患者", "罹患", "诊断", "残疾", "伤残", "住院", "治疗", "手术",
                        "怀孕", "妊娠", "孕", "病历", "精神障碍", "精神异常", "瘫痪", "失明", "聋哑",
                        "肿瘤", "癌", "就医", "医嘱", "传染")
DEFAULT_NAME_CUES = ("证人", "见证人", "村民", "邻居", "妻子", "丈夫", "其妻", "其夫", "之子", "其子",
                     "其女", "儿子", "女儿", "父亲", "母亲", "户主", "代理人", "委托人", "联系人",
                     "亲属", "配偶", "保证人")
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "司徒",
                     "夏侯", "长孙", "宇文", "轩辕", "独孤", "南宫", "西门", "端木", "钟离", "呼延", "赫连",
                     "澹台", "公冶", "宗政", "濮阳", "淳于", "单于", "太叔", "申屠", "闻人", "万俟", "司空",
                     "百里", "东郭", "拓跋", "第五", "左丘", "乐正", "谷梁")
COMMON_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁"
    "任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严"
    "欧莫孔向常汤康易乔赖文施洪辛柳牛庞樊殷葛兰聂饶章鲁岳翟詹申俞焦左柴甘祝颜")
# Characters that follow a cue word or a name but hardly ever stand in a given name: a cue word
# followed by a surname character and one of these is ordinary text (陈述, 申请, 房屋, 于当日 …).
_NOT_GIVEN = frozenset("的在于与及等称说述证言是有无不也已均对向将把被所系到去了着过都就还又并且或因但而则即其"
                       "这那该此某们户房屋宅村镇组队号室请签今当本执机住同作提据按依经给让使要需认确表反映出具"
                       "共未曾现另知情负责年日时元边围度额式面坯地色")
_HAN = re.compile(r"[\u3400-\u9fff]")
_CLAUSE = re.compile(r"[^，。；;,.\s](?:[^，。；;,.\n]*[^，。；;,.\s])?")
_NUMBER_RUN = re.compile(r"(?<![0-9A-Za-z+])(\+?)(\d+(?:[ \-]\d+)*)([Xx]?)(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?:86)?1[3-9]\d{9}")
_LANDLINE = re.compile(r"0[1-9]\d{1,2}\d{7,8}")
_BANK_CUE = re.compile(r"(账号|卡号|开户行|开户银行|银行账户)[：:\s]*([^，。；;,.\n、：:（）()〔〕]+)")
_MAX_ROUNDS = 6


@dataclass(frozen=True)
class MaskRules:
    """Which data `mask` removes; every rule can be switched. The defaults are the national practice."""
    mask_party_name: bool = True
    remove_id_numbers: bool = True
    remove_phones: bool = True
    remove_bank_accounts: bool = True
    remove_health: bool = True
    remove_other_names: bool = True
    village_level_address: bool = True
    health_terms: tuple[str, ...] = DEFAULT_HEALTH_TERMS
    name_cues: tuple[str, ...] = DEFAULT_NAME_CUES
    extra_terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Party:
    """The party of the decision: kind is "person" or "organisation"; village is the place at village level."""
    kind: str
    name: str
    id_number: str = ""
    phone: str = ""
    address: str = ""
    village: str = ""
    other_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Change:
    """One replacement; kind: party_name, id_number, phone, bank_account, health, other_name, address, extra_term."""
    kind: str
    original: str
    replacement: str


@dataclass(frozen=True)
class Masked:
    """The public text and every replacement that made it."""
    text: str
    changes: tuple[Change, ...]


class _Hit(NamedTuple):
    start: int
    end: int
    kind: str
    replacement: str
    hint: str = ""   # what a leak message quotes: a tail of digits, a term, a name
    cue: str = ""    # the cue word that found it, if any


def mask_name(name: str) -> str:
    """Surname plus one 某 per remaining character (张三→张某, 司马相如→司马某某); non-Han: first letter + 某."""
    name = "".join(name.split())
    if not name:
        return ""
    if not _HAN.match(name):
        return name[0] + "某"
    surname = name[:2] if len(name) > 2 and name[:2] in COMPOUND_SURNAMES else name[0]
    rest = [c for c in name[len(surname):] if c != "·"]
    return surname + "某" * max(1, len(rest))


def _is_person(party: Party) -> bool:
    """Fail closed: any kind but "organisation" (also PartyKind.ORGANISATION) is a natural person."""
    return party.kind != "organisation"


def public_party_name(party: Party, rules: MaskRules = MaskRules()) -> str:
    """The party as published: an organisation by its name, a natural person masked unless switched off."""
    if _is_person(party) and rules.mask_party_name:
        return mask_name(party.name)
    return party.name.strip()


def public_place(party: Party, rules: MaskRules = MaskRules()) -> str:
    """The place published for the party: its village when known and the village rule is on, else ""."""
    return party.village.strip() if rules.village_level_address else ""


def _is_date(s: str) -> bool:
    return 1800 <= int(s[:4]) <= 2099 and 1 <= int(s[4:6]) <= 12 and 1 <= int(s[6:8]) <= 31


def _classify(digits: str) -> str | None:
    """The kind of a run of digits (spaces and dashes removed): ID number, bank account, phone or None."""
    if digits[-1] in "Xx":
        return "id_number" if len(digits) == 18 and digits[:-1].isdigit() and _is_date(digits[6:14]) else None
    n = len(digits)
    if (n == 18 and _is_date(digits[6:14])) or (n == 15 and _is_date("19" + digits[6:12])):
        return "id_number"
    if 16 <= n <= 19:
        return "bank_account"
    if _MOBILE.fullmatch(digits) or _LANDLINE.fullmatch(digits):
        return "phone"
    return None


def _numbers(text: str, kinds: set[str]) -> Iterator[_Hit]:
    """ID numbers, bank accounts and phones among runs of digits grouped by single spaces or dashes.

    A run that is not one of them as a whole is tried group by group, longest first, so that
    "13812345678 2026年" still yields the phone. Short numbers (amounts, dates, areas) never match.
    """
    tokens = {"id_number": ID_TOKEN, "bank_account": BANK_TOKEN, "phone": PHONE_TOKEN}
    for run in _NUMBER_RUN.finditer(text):
        groups = [(m.start() + run.start(2), m.end() + run.start(2)) for m in re.finditer(r"\d+", run.group(2))]
        i = 0
        while i < len(groups):
            last, size = i - 1, 0   # the longest window worth trying holds at most 19 digits
            while last + 1 < len(groups) and size + groups[last + 1][1] - groups[last + 1][0] <= 19:
                last += 1
                size += groups[last][1] - groups[last][0]
            for j in range(last, i - 1, -1):
                digits, end = "".join(text[s:e] for s, e in groups[i:j + 1]), groups[j][1]
                if j == len(groups) - 1 and run.group(3):
                    digits, end = digits + run.group(3), run.end()
                kind = _classify(digits)
                if kind:
                    start = run.start() if i == 0 else groups[i][0]
                    if kind in kinds:
                        yield _Hit(start, end, kind, tokens[kind], digits)
                    i = j
                    break
            i += 1


def _bank_cues(text: str) -> Iterator[_Hit]:
    """The value after 账号/卡号/开户行 (…) up to the end of the clause."""
    for m in _BANK_CUE.finditer(text):
        start, value = m.start(2), m.group(2).rstrip()
        while value[:1] in ("为", "是"):
            start, value = start + 1, value[1:]
        if value.strip():
            yield _Hit(start, start + len(value), "bank_account", BANK_TOKEN, cue=m.group(1))


def _health(text: str, terms: tuple[str, ...]) -> Iterator[_Hit]:
    """Every clause (between ，。；;,. and line breaks, trimmed) with a health term outside a token."""
    terms = sorted({t for t in terms if t.strip()}, key=len, reverse=True)
    if not terms:
        return
    term = re.compile("|".join(map(re.escape, terms)))
    tokens = [m.span() for m in _TOKENS.finditer(text)]
    for clause in _CLAUSE.finditer(text):
        found = [m for m in term.finditer(text, *clause.span()) if not any(s <= m.start() < e for s, e in tokens)]
        if found:
            yield _Hit(*clause.span(), "health", HEALTH_TOKEN, found[0].group(0))


def _cue_names(text: str, party: Party, cues: tuple[str, ...]) -> Iterator[_Hit]:
    """A name of 2–4 Han characters (a common surname first) right after a cue word such as 证人."""
    cues = sorted({c for c in cues if c.strip()}, key=len, reverse=True)
    if not cues:
        return
    # Zero-width, so that overlapping cues are all tried: 其妻子陈某 is 其妻 + 子… and 妻子 + 陈某.
    seen = set()
    for m in re.finditer(r"(?=(%s)([：:]?\s?))" % "|".join(map(re.escape, cues)), text):
        at = m.start() + len(m.group(1)) + len(m.group(2))
        surname = text[at:at + 2] if text[at:at + 2] in COMPOUND_SURNAMES else text[at:at + 1]
        if not (surname in COMPOUND_SURNAMES or surname in COMMON_SURNAMES):
            continue
        end = at + len(surname)
        while end < at + len(surname) + 2 and end < len(text) and _HAN.match(text[end]) \
                and text[end] not in _NOT_GIVEN:
            end += 1
        name = text[at:end]
        if end == at + len(surname) or name == party.name.strip() or at in seen:
            continue
        if not _is_person(party) and party.name.strip() and text.startswith(party.name.strip(), at):
            continue
        seen.add(at)
        yield _Hit(at, end, "other_name", PERSON_TOKEN, name, m.group(1))


def _words(words, kind: str, replacement: str, guard: str = "") -> Callable[[str], Iterator[_Hit]]:
    """A finder of literal words (longest first), each replaced by `replacement`."""
    pattern = re.compile("(?:%s)%s" % ("|".join(map(re.escape, words)), guard))
    return lambda text: (_Hit(*m.span(), kind, replacement, m.group(0)) for m in pattern.finditer(text))


def _finders(party: Party, rules: MaskRules) -> list[Callable[[str], Iterator[_Hit]]]:
    """The passes in their order (longer items first); each finds what it would replace in a text.

    The party's own values go before the configured terms, so that a term inside the address
    (the town's name, say) cannot cut the address before the village-level rule sees it whole.
    """
    person, finders = _is_person(party), []
    id_number, phone = party.id_number.strip(), party.phone.strip()
    if rules.remove_id_numbers and person and len(id_number) >= 6:
        finders.append(_words([id_number], "id_number", ID_TOKEN))
    if rules.remove_phones and len(phone) >= 5:
        finders.append(_words([phone], "phone", PHONE_TOKEN))
    address, village = party.address.strip(), party.village.strip()
    if rules.village_level_address and person and address and not (village and address in village):
        if village and village in address:
            tail = address[address.index(village) + len(village):]
            if tail.strip():
                finders.append(_words([village + tail], "address", village))
        else:
            finders.append(_words([address], "address", village or ADDRESS_TOKEN))
    extra = sorted({t for t in rules.extra_terms if t.strip()}, key=len, reverse=True)
    if extra:
        finders.append(_words(extra, "extra_term", EXTRA_TOKEN))
    kinds = {k for k, on in (("id_number", rules.remove_id_numbers), ("phone", rules.remove_phones),
                             ("bank_account", rules.remove_bank_accounts)) if on}
    if kinds:
        finders.append(lambda t: _numbers(t, kinds))
    if rules.remove_bank_accounts:
        finders.append(_bank_cues)
    if rules.remove_health:
        finders.append(lambda t: _health(t, rules.health_terms))
    if rules.remove_other_names:
        others = sorted({n.strip() for n in party.other_names if n.strip().strip("某")
                         and n.strip() != party.name.strip()}, key=len, reverse=True)
        if others:
            finders.append(_words(others, "other_name", PERSON_TOKEN))
        finders.append(lambda t: _cue_names(t, party, rules.name_cues))
    name = party.name.strip()
    if rules.mask_party_name and person and name:
        masked = mask_name(name)
        # A name that starts its own masked form (王 → 王某) must not be found again in 王某 (or 王〔已隐去〕).
        finders.append(_words([name], "party_name", masked, "(?!某|〔)" if masked.startswith(name) else ""))
    return finders


def _valid(text: str, hits) -> list[_Hit]:
    """Hits that change something and leave every replacement token whole (inside one, or cutting one, is out)."""
    tokens = [m.span() for m in _TOKENS.finditer(text)]
    return [h for h in hits if text[h.start:h.end] != h.replacement and h.end > h.start
            and not any(h.start < e and s < h.end and not (h.start <= s and e <= h.end) for s, e in tokens)]


def _apply(text: str, hits) -> tuple[str, list[Change]]:
    """Replace the valid hits, leftmost (then longest) first, skipping any that overlap one taken."""
    parts, changes, pos = [], [], 0
    for hit in sorted(_valid(text, hits), key=lambda h: (h.start, h.start - h.end)):
        if hit.start < pos:
            continue
        parts += [text[pos:hit.start], hit.replacement]
        changes.append(Change(hit.kind, text[hit.start:hit.end], hit.replacement))
        pos = hit.end
    return "".join(parts) + text[pos:], changes


def mask(text: str, party: Party, rules: MaskRules = MaskRules()) -> Masked:
    """The public copy of `text` and every replacement made; idempotent."""
    finders, changes = _finders(party, rules), []
    for _round in range(_MAX_ROUNDS):
        before = text
        for find in finders:
            text, made = _apply(text, find(text))
            changes += made
        if text == before:
            break
    return Masked(text, tuple(changes))


def _message(hit: _Hit) -> str:
    if hit.kind == "party_name":
        return _("The text still contains the party's full name.")
    if hit.kind == "id_number":
        return _("The text still contains an ID number (ending …%(tail)s).", tail=hit.hint[-4:])
    if hit.kind == "phone":
        return _("The text still contains a phone number (ending …%(tail)s).", tail=hit.hint[-4:])
    if hit.kind == "bank_account" and hit.cue:
        return _("The text still contains bank account details after “%(cue)s”.", cue=hit.cue)
    if hit.kind == "bank_account":
        return _("The text still contains a bank account number (ending …%(tail)s).", tail=hit.hint[-4:])
    if hit.kind == "address":
        return _("The text still contains the party's full address.")
    if hit.kind == "health":
        return _("The text still contains health details (%(term)s).", term=hit.hint)
    if hit.kind == "extra_term":
        return _("The text still contains the configured term %(term)s.", term=hit.hint)
    if hit.cue:
        return _("The text still contains the name of another person after “%(cue)s”: %(name)s.",
                 cue=hit.cue, name=hit.hint)
    return _("The text still contains the name of another person %(name)s.", name=hit.hint)


def leaks(text: str, party: Party, rules: MaskRules = MaskRules()) -> list[str]:
    """What in `text` is still personal data under `rules`, in words; [] when `mask` would change nothing."""
    messages: list[str] = []
    for find in _finders(party, rules):
        for hit in _valid(text, find(text)):
            message = _message(hit)
            if message not in messages:
                messages.append(message)
    return messages
