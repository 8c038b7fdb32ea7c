"""`kamflow demo`: a realistic sample portfolio of key accounts, built from scratch.

The demo plans a year of key-account work (governance on day one, accounts opened,
buying centres mapped, visits and follow-ups, complaints through their workflow, sales,
payments, service cost, satisfaction, competitors, opportunities through the funnel, the
management program, relationship stages, tier decisions, lost accounts and their reviews),
sorts it by business date and runs every step through the same validated commands a user
types. Nothing is written behind the domain's back, so the demo also shows that a year of
ordinary use passes every rule.

The portfolio is shaped to give the reports something to say (playbook §1, §3): revenue is
Pareto-distributed, a couple of accounts are below zero (service cost eats the margin),
a few complaints are still open (some overdue), some issues were never followed up, some
invoices are unpaid, a few sales needed an approved policy exception, a few contacts left,
and of three lost accounts one has no post-mortem yet.
"""

from __future__ import annotations

import os
import random
import shlex
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

from kamflow import application
from kamflow.application import DEFAULT_DB, Kamflow, describe_locator
from kamflow.domain.commands import COMMANDS, build
from kamflow.domain.errors import Conflict, InvalidInput, KamflowError
from kamflow.workflows.program import STEPS

T = TypeVar("T")

MAX_ACCOUNTS = 10_000
# Key-account managers who own accounts, plus the people behind a few other steps, so
# that the audit report has more than one actor to filter on.
OWNERS = ("li.wei", "zhang.min", "chen.jie", "wang.lei", "liu.yang")
DIRECTOR = "zhou.hui"
FINANCE = "sun.li"
SERVICE_DESK = "service.desk"
# Rough CNY value of one unit, so that foreign accounts sit in the same Pareto curve.
RATES = {"CNY": 1.0, "USD": 7.2, "EUR": 7.8}
# Annual revenue of the largest account (CNY); the rest fall off as rank^-PARETO.
TOP_REVENUE = 38_000_000.0
PARETO = 1.15
PROGRESS_EVERY = 100


# ---------------------------------------------------------------------------- catalogue
@dataclass(frozen=True)
class _Company:
    key: str
    name: str
    industry: str
    currency: str
    city: str
    western: bool  # its people get English names


@dataclass(frozen=True)
class _Role:
    """A seat in the customer's buying centre (playbook §4)."""

    title: str
    title_zh: str
    department: str
    roles: tuple[str, ...]
    influence: str
    boss: int | None  # index of the seat this one reports to


@dataclass(frozen=True)
class _Competitor:
    name: str
    products: str
    rep: str
    style: str
    strengths: str
    weaknesses: str


@dataclass(frozen=True)
class _Industry:
    # (product, weight, lowest margin, highest margin)
    products: tuple[tuple[str, int, float, float], ...]
    seats: tuple[_Role, ...]
    # The order in which a file grows: it starts with the buyer ("one thread, fragile",
    # playbook §8) and reaches the deciders only for the accounts worth the effort.
    seat_order: tuple[int, ...]
    visits: tuple[tuple[str, str, tuple[str, ...]], ...]  # purpose, objective, results
    issues: tuple[tuple[str, str], ...]  # issue found, follow-up result
    complaints: tuple[tuple[str, str, str, str], ...]  # summary, severity, outcome, rejection
    competitors: tuple[_Competitor, ...]
    opportunities: tuple[tuple[str, str, str], ...]  # title, problem, procurement process
    service: tuple[tuple[str, str], ...]  # category, description
    sizes: tuple[str, ...]
    strategies: tuple[str, ...]
    offerings: tuple[str, ...]
    fits: tuple[str, ...]


def _co(key: str, name: str, industry: str, city: str, currency: str = "CNY") -> _Company:
    western = currency != "CNY" or not any("\u4e00" <= ch <= "\u9fff" for ch in name)
    return _Company(key, name, industry, currency, city, western)


FEED, IT, FOOD, CHEM = "feed", "IT", "food processing", "chemicals"

COMPANIES: tuple[_Company, ...] = (
    _co("zhengda", "正大饲料 Acme Feed", FEED, "上海 Shanghai"),
    _co("newhope", "新希望六和", FEED, "成都 Chengdu"),
    _co("haid", "海大集团 Haid Group", FEED, "广州 Guangzhou"),
    _co("tongwei", "通威股份", FEED, "成都 Chengdu"),
    _co("dbn", "大北农 DBN", FEED, "北京 Beijing"),
    _co("wellhope", "禾丰牧业 Wellhope", FEED, "沈阳 Shenyang"),
    _co("tangrenshen", "唐人神集团", FEED, "株洲 Zhuzhou"),
    _co("muyuan", "牧原食品", FEED, "南阳 Nanyang"),
    _co("wens", "温氏股份 Wens", FEED, "云浮 Yunfu"),
    _co("twins", "双胞胎集团 Twins Group", FEED, "南昌 Nanchang"),
    _co("aonong", "傲农生物", FEED, "厦门 Xiamen"),
    _co("anyou", "安佑生物 Anyou Biotech", FEED, "太仓 Taicang"),
    _co("tianbang", "天邦食品", FEED, "宁波 Ningbo"),
    _co("lihua", "立华牧业", FEED, "常州 Changzhou"),
    _co("zhengbang", "正邦科技", FEED, "南昌 Nanchang"),
    _co("cargill-vn", "Cargill Feed Vietnam", FEED, "Ho Chi Minh City", "USD"),
    _co("japfa", "Japfa Comfeed Indonesia", FEED, "Jakarta", "USD"),
    _co("trouw-cn", "Trouw Nutrition China", FEED, "嘉兴 Jiaxing"),
    _co("yunqi", "华为云 partner 云起科技", IT, "深圳 Shenzhen"),
    _co("chinasoft", "中软国际 ChinaSoft", IT, "北京 Beijing"),
    _co("neusoft", "东软集团 Neusoft", IT, "沈阳 Shenyang"),
    _co("inspur", "浪潮通软", IT, "济南 Jinan"),
    _co("cosmoplat", "海尔卡奥斯 COSMOPlat", IT, "青岛 Qingdao"),
    _co("midea-it", "美的集团 IT中心", IT, "佛山 Foshan"),
    _co("sftech", "顺丰科技 SF Tech", IT, "深圳 Shenzhen"),
    _co("lenovo-ent", "联想企业 Lenovo Enterprise", IT, "北京 Beijing"),
    _co("zhihui", "智汇软件 Zhihui Software", IT, "杭州 Hangzhou"),
    _co("jsbank-tech", "江苏银行 科技部", IT, "南京 Nanjing"),
    _co("saic-it", "上汽集团 信息中心", IT, "上海 Shanghai"),
    _co("geely-digital", "吉利汽车 数字化中心", IT, "宁波 Ningbo"),
    _co("acme-logistics", "Acme Logistics Asia", IT, "Singapore", "USD"),
    _co("bosch-cd", "Bosch China Digital", IT, "苏州 Suzhou", "EUR"),
    _co("northwind", "Northwind Retail China", IT, "上海 Shanghai"),
    _co("yili", "伊利乳业 Yili Dairy", FOOD, "呼和浩特 Hohhot"),
    _co("mengniu", "蒙牛乳业", FOOD, "呼和浩特 Hohhot"),
    _co("shuanghui", "双汇发展 Shuanghui", FOOD, "漯河 Luohe"),
    _co("wantwant", "旺旺集团 Want Want", FOOD, "上海 Shanghai"),
    _co("masterkong", "康师傅 Master Kong", FOOD, "天津 Tianjin"),
    _co("haitian", "海天味业 Haitian", FOOD, "佛山 Foshan"),
    _co("sanquan", "三全食品", FOOD, "郑州 Zhengzhou"),
    _co("synear", "思念食品 Synear", FOOD, "郑州 Zhengzhou"),
    _co("bright", "光明乳业 Bright Dairy", FOOD, "上海 Shanghai"),
    _co("yihai", "益海嘉里 Yihai Kerry", FOOD, "上海 Shanghai"),
    _co("cofco", "中粮福临门 COFCO", FOOD, "北京 Beijing"),
    _co("yurun", "雨润食品", FOOD, "南京 Nanjing"),
    _co("mars-cn", "Mars Foods China", FOOD, "北京 Beijing"),
    _co("purina-tj", "Purina PetCare Tianjin", FOOD, "天津 Tianjin", "USD"),
    _co("sunrise-nt", "Nantong Sunrise Foods", FOOD, "南通 Nantong"),
    _co("wanhua", "万华化学 Wanhua", CHEM, "烟台 Yantai"),
    _co("hengli", "恒力石化", CHEM, "大连 Dalian"),
    _co("rongsheng", "荣盛石化", CHEM, "杭州 Hangzhou"),
    _co("sinochem", "中化国际 Sinochem", CHEM, "上海 Shanghai"),
    _co("longsheng", "浙江龙盛", CHEM, "绍兴 Shaoxing"),
    _co("hualu", "华鲁恒升", CHEM, "德州 Dezhou"),
    _co("nhu", "新和成 NHU", CHEM, "绍兴 Shaoxing"),
    _co("luxi", "鲁西化工", CHEM, "聊城 Liaocheng"),
    _co("weixing", "卫星化学", CHEM, "嘉兴 Jiaxing"),
    _co("yangnong", "扬农化工", CHEM, "扬州 Yangzhou"),
    _co("basf-nj", "BASF-YPC Nanjing", CHEM, "南京 Nanjing", "EUR"),
    _co("dow-zjg", "Dow Zhangjiagang", CHEM, "张家港 Zhangjiagang", "USD"),
    _co("solvay-zj", "Solvay Zhenjiang", CHEM, "镇江 Zhenjiang", "EUR"),
    _co("clariant-dyb", "Clariant Daya Bay", CHEM, "惠州 Huizhou", "USD"),
)

# Suffixes for portfolios larger than the catalogue: a group's regional subsidiaries.
BRANCHES = (
    ("north", "华北分公司"),
    ("east", "华东分公司"),
    ("south", "华南分公司"),
    ("west", "西南分公司"),
    ("central", "华中分公司"),
)

_GM = _Role(
    "General Manager", "总经理", "general management", ("decider", "approver"), "high", None
)
_BUYER = _Role("Purchasing Manager", "采购经理", "procurement", ("buyer",), "medium", 0)
_FINANCE = _Role("Finance Manager", "财务经理", "finance", ("approver",), "medium", 0)

_COMMON_VISITS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "quarterly business review 季度业务回顾",
        "confirm next-quarter volume and open issues",
        (
            "volume confirmed; two open points for follow-up",
            "volume cut 10%; customer asked for a rebate proposal",
            "volume up 15%; customer wants a second source for safety stock",
        ),
    ),
    (
        "price negotiation 价格谈判",
        "hold the price within 3% of last quarter",
        (
            "price +2% accepted with 60-day terms",
            "agreed +1.5%; rebate above the annual volume target",
            "no agreement yet; meeting again next week with the GM",
        ),
    ),
    (
        "meet the new decision makers",
        "introduce our team and the account plan",
        (
            "good first meeting; GM asked for a site visit to our plant",
            "introduced; they want a one-page value summary before the next meeting",
        ),
    ),
    (
        "annual contract renewal 年度合同续签",
        "sign the 12-month supply agreement",
        (
            "agreement signed at last year's terms",
            "signed with a quarterly price review clause",
            "legal review pending; signature expected next month",
        ),
    ),
)

_FEED = _Industry(
    products=(
        ("phytase", 3, 0.25, 0.35),
        ("premix", 4, 0.08, 0.14),
        ("xylanase enzyme", 2, 0.28, 0.38),
        ("lysine HCl", 2, 0.05, 0.09),
        ("mycotoxin binder", 1, 0.30, 0.40),
        ("vitamin premix", 2, 0.10, 0.16),
    ),
    seats=(
        _GM,
        _Role("Technical Director", "技术总监", "R&D", ("decider", "influencer"), "high", 0),
        _BUYER,
        _Role("Chief Nutritionist", "首席营养师", "R&D", ("influencer", "initiator"), "high", 1),
        _Role("Production Manager", "生产经理", "production", ("user",), "medium", 0),
        _Role("QA Manager", "品控经理", "QA", ("gatekeeper", "influencer"), "medium", 1),
        _FINANCE,
        _Role("Marketing Manager", "市场经理", "marketing", ("initiator",), "low", 0),
        _Role("Purchasing Assistant", "采购助理", "procurement", ("gatekeeper",), "low", 2),
    ),
    seat_order=(2, 3, 1, 4, 0, 5, 6, 7, 8),
    visits=(
        *_COMMON_VISITS,
        (
            "phytase trial review 植酸酶试验回顾",
            "agree trial size and success criteria",
            (
                "trial of 2 t agreed for the broiler line",
                "R&D wants three more weeks of data",
                "trial extended to the second mill",
            ),
        ),
        (
            "premix formula adjustment with R&D",
            "get the nutritionist's sign-off on the new vitamin levels",
            ("formula approved for the sow diets", "approved pending a stability test"),
        ),
        (
            "technical seminar for nutritionists 营养师技术研讨会",
            "present NSP-enzyme matrix values",
            ("12 nutritionists attended; two mills want a trial", "matrix values accepted"),
        ),
        (
            "mill audit with QA",
            "pass the supplier audit",
            ("audit passed with two minor findings", "audit passed"),
        ),
    ),
    issues=(
        ("price vs DSM offer", "price matched for the trial volume; rebate above 500 t"),
        (
            "late delivery to the Chengdu mill",
            "second carrier contracted; lead time back to 5 days",
        ),
        (
            "phytase pellet stability at 85°C questioned",
            "stability data from three trials sent; R&D satisfied",
        ),
        ("COA missing on the last batch", "COA sent and added to the dispatch checklist"),
        ("asks for 90-day payment terms", "finance approved 60 days; customer accepted"),
        ("QA wants a new supplier audit", "audit scheduled and passed"),
        ("bag labels only in English", "bilingual labels from the next batch"),
        ("forecast accuracy poor; stock-out risk", "monthly forecast call set up with purchasing"),
    ),
    complaints=(
        (
            "late delivery, line 2 stopped",
            "high",
            "credit note for one day's lost output; second carrier contracted",
            "delay caused by the customer's PO change 2 days before dispatch;"
            " contract lead time is 7 days",
        ),
        (
            "enzyme activity below COA on lot 2304",
            "medium",
            "lot replaced; SGS retest added for every lot",
            "SGS retest within spec; samples were stored above 30°C at the mill",
        ),
        (
            "premix caking in bags 结块",
            "medium",
            "moisture spec tightened; 8 t replaced",
            "caking traced to storage in an open shed; handling guide sent",
        ),
        (
            "invoice amount does not match the price list",
            "low",
            "corrected invoice issued within 2 days",
            "invoice matches the signed price list; the customer used last year's prices",
        ),
        (
            "sales rep promised a rebate not in the contract",
            "medium",
            "rebate honoured once as a goodwill gesture; rep coached",
            "no rebate in the contract or in writing; the rules apply (P1)",
        ),
        (
            "wrong pallet labels, goods held at receiving",
            "low",
            "relabelled on site the same day",
            "labels follow the customer's own spec v3; they changed it without telling us",
        ),
    ),
    competitors=(
        _Competitor(
            "DSM",
            "Ronozyme phytase, vitamin premix",
            "Mark Zhou",
            "technical, data-driven",
            "global brand, strong trial data",
            "price 8-10% above ours; slow local support",
        ),
        _Competitor(
            "AB Vista",
            "Quantum Blue phytase",
            "Helen Xu",
            "consultative, visits the nutritionists",
            "superdosing story, good science",
            "small team in China; long lead times",
        ),
        _Competitor(
            "溢多利 VTR",
            "local phytase and xylanase",
            "Liu Gang",
            "price-driven, close to purchasing",
            "price 15% below ours; fast delivery",
            "heat stability questioned; thin technical service",
        ),
        _Competitor(
            "安迪苏 Adisseo",
            "methionine, enzymes",
            "Philippe Martin",
            "relationship with top management",
            "methionine bundle deals",
            "enzyme range narrower than ours",
        ),
        _Competitor(
            "蔚蓝生物 Vland",
            "enzymes, probiotics",
            "Sun Tao",
            "aggressive, trial-heavy",
            "probiotic portfolio, local R&D",
            "inconsistent quality between lots",
        ),
    ),
    opportunities=(
        (
            "low-phosphorus layer diet",
            "phosphorus discharge limits tighten next year",
            "technical trial, then tender among three suppliers",
        ),
        (
            "premix for the new mill",
            "capacity +200 kt; the new mill needs a premix partner",
            "annual tender; board approval above 5 M",
        ),
        (
            "enzyme cost-down programme",
            "corn price up 15%; matrix values must cut feed cost",
            "R&D trial, then purchasing negotiation",
        ),
        (
            "nursery gut-health package",
            "antibiotic-free piglet diets lose 3% ADG",
            "pilot on one farm, GM sign-off",
        ),
    ),
    service=(
        ("technical service", "on-site nutritionist support, 2 days"),
        ("logistics", "express delivery after a stock-out"),
        ("trial samples", "free trial material, 500 kg"),
        ("training", "feed-mill staff training on enzyme dosing"),
        ("travel & entertainment", "QBR travel and dinner"),
    ),
    sizes=(
        "1.2 Mt feed a year, 38 mills",
        "600 kt feed a year, 14 mills",
        "250 kt feed a year, 5 mills",
        "120 kt feed a year, 2 mills",
    ),
    strategies=(
        "integrating into pig farming; feed becomes a cost centre",
        "growing in aqua feed in South China",
        "consolidating mills; procurement centralised at group level",
        "export to Southeast Asia",
    ),
    offerings=(
        "pig, poultry and aqua feed",
        "sow and piglet feed, premixes",
        "broiler and layer feed",
        "aqua feed and shrimp premix",
    ),
    fits=(
        "phytase and xylanase fit every diet; premix only for the sow line",
        "enzymes yes; premix made in-house",
        "good fit for the whole enzyme range",
    ),
)

_IT = _Industry(
    products=(
        ("ERP licences", 3, 0.75, 0.88),
        ("ERP implementation", 3, 0.25, 0.38),
        ("annual support contract", 2, 0.55, 0.70),
        ("cloud hosting", 2, 0.30, 0.42),
        ("MES module", 1, 0.60, 0.75),
        ("user training", 1, 0.35, 0.50),
    ),
    seats=(
        _GM,
        _Role("CIO", "信息总监", "IT", ("decider", "influencer"), "high", 0),
        _Role("IT Procurement Manager", "IT采购经理", "procurement", ("buyer",), "medium", 0),
        _Role(
            "ERP Project Manager",
            "ERP项目经理",
            "IT",
            ("initiator", "influencer", "user"),
            "medium",
            1,
        ),
        _Role("Finance Director", "财务总监", "finance", ("approver", "user"), "high", 0),
        _Role("Production Planning Manager", "生产计划经理", "production", ("user",), "medium", 0),
        _Role("IT Security Officer", "信息安全主管", "IT", ("gatekeeper",), "medium", 1),
        _Role("Cost Accounting Lead", "成本会计主管", "finance", ("user",), "low", 4),
        _Role("Assistant to the GM", "总经理助理", "general management", ("gatekeeper",), "low", 0),
    ),
    seat_order=(3, 2, 1, 4, 5, 0, 6, 7, 8),
    visits=(
        *_COMMON_VISITS,
        (
            "ERP go-live readiness review",
            "agree the cut-over date",
            ("cut-over fixed for the first weekend of next month", "go-live moved by 2 weeks"),
        ),
        (
            "month-end close workshop with finance",
            "shorten the close from 8 to 5 days",
            ("process agreed; two custom reports needed", "finance signed off the new close"),
        ),
        (
            "MES demo at the plant",
            "show OEE dashboards to production",
            ("plant manager wants a pilot line", "production convinced; IT security has doubts"),
        ),
        (
            "licence true-up 许可证盘点",
            "agree the user count for renewal",
            ("120 named users confirmed", "user count disputed; audit agreed"),
        ),
    ),
    issues=(
        ("price vs SAP offer", "discount approved for a 3-year commitment"),
        ("month-end close report slow", "index added; report now runs in 40 s"),
        ("single sign-on not working for plant users", "SSO fixed in patch 7.2.1"),
        ("data-residency concern from IT security", "on-shore hosting in Shanghai confirmed"),
        ("asks for 120-day payment terms", "finance approved 60 days; customer accepted"),
        ("key user leaving; training gap", "two new key users trained"),
        ("interface to the WMS unstable", "interface rewritten; no failures for 4 weeks"),
    ),
    complaints=(
        (
            "ERP month-end close failed, books late",
            "critical",
            "hotfix in 6 hours; root cause fixed in release 7.3",
            "failure caused by the customer's own custom script; our code ran as specified",
        ),
        (
            "support ticket unanswered for 3 days",
            "high",
            "ticket routing fixed; named support engineer assigned",
            "ticket opened outside the support contract's scope (third-party plug-in)",
        ),
        (
            "licence keys expired early",
            "medium",
            "keys reissued the same day; renewal reminder automated",
            "keys expired on the contract date; renewal was not signed in time",
        ),
        (
            "consultant changed mid-project",
            "medium",
            "original consultant back on the project; 2 days not billed",
            "change requested by the customer's own project manager in writing",
        ),
        (
            "invoice for training days not delivered",
            "low",
            "credit note issued",
            "all training days signed off on attendance sheets",
        ),
    ),
    competitors=(
        _Competitor(
            "SAP",
            "S/4HANA",
            "Kevin Li",
            "top-down, board-level",
            "brand, global template",
            "licence cost, long implementations",
        ),
        _Competitor(
            "用友 Yonyou",
            "YonBIP, NC Cloud",
            "Zhao Peng",
            "relationship-driven, local",
            "finance modules, local compliance",
            "manufacturing depth",
        ),
        _Competitor(
            "金蝶 Kingdee",
            "Cosmic cloud ERP",
            "Huang Li",
            "price-led, fast",
            "price, SaaS delivery",
            "weak for large groups",
        ),
        _Competitor(
            "Oracle NetSuite",
            "NetSuite",
            "Emily Tan",
            "demo-heavy",
            "multi-entity consolidation",
            "little local support",
        ),
        _Competitor(
            "鼎捷 Digiwin",
            "MES, ERP for SMEs",
            "Chen Hao",
            "technical, plant-floor",
            "MES know-how",
            "finance modules",
        ),
    ),
    opportunities=(
        (
            "ERP replacement",
            "legacy ERP out of support in 2027",
            "RFP to 3 vendors; steering committee decides",
        ),
        (
            "MES rollout to 4 plants",
            "OEE unknown; paper-based shop floor",
            "pilot plant, then group IT standard",
        ),
        (
            "finance shared-service centre",
            "12 entities close books separately",
            "CFO-led project; board approval",
        ),
        (
            "cloud migration",
            "own data centre lease ends next year",
            "IT security review, then tender",
        ),
    ),
    service=(
        ("on-site engineer", "consultant days on month-end close, not billable"),
        ("customisation", "custom report development, not billable"),
        ("support overtime", "weekend go-live support"),
        ("training", "key-user refresher training"),
        ("travel & entertainment", "steering-committee travel"),
    ),
    sizes=("12,000 employees, 30 entities", "3,500 employees, 8 plants", "800 employees"),
    strategies=(
        "digital transformation programme led by the CIO",
        "cloud first; no new on-premise systems",
        "standardise one ERP across all subsidiaries",
    ),
    offerings=(
        "IT services and system integration",
        "in-house IT for a manufacturing group",
        "logistics software",
    ),
    fits=(
        "ERP and MES fit; HR stays with the incumbent",
        "finance modules only for now",
        "full suite fit",
    ),
)

_FOOD = _Industry(
    products=(
        ("protease enzymes", 2, 0.25, 0.35),
        ("natural preservatives", 2, 0.18, 0.26),
        ("flavour systems", 2, 0.30, 0.42),
        ("QA rapid test kits", 1, 0.40, 0.55),
        ("starch modifiers", 2, 0.10, 0.16),
        ("lactase", 1, 0.28, 0.36),
    ),
    seats=(
        _GM,
        _Role("R&D Director", "研发总监", "R&D", ("decider", "influencer"), "high", 0),
        _BUYER,
        _Role("Food Technologist", "食品工程师", "R&D", ("influencer", "user"), "medium", 1),
        _Role("Plant Manager", "厂长", "production", ("user", "influencer"), "high", 0),
        _Role("QA Manager", "品控经理", "QA", ("gatekeeper",), "medium", 0),
        _FINANCE,
        _Role("Brand Manager", "品牌经理", "marketing", ("initiator",), "low", 0),
        _Role("Buyer", "采购员", "procurement", ("buyer", "gatekeeper"), "low", 2),
    ),
    seat_order=(2, 3, 5, 1, 4, 0, 6, 7, 8),
    visits=(
        *_COMMON_VISITS,
        (
            "clean-label reformulation workshop",
            "replace E-numbers in two products",
            ("two prototypes agreed", "R&D wants sensory panel results first"),
        ),
        (
            "plant trial of lactase 乳糖酶试产",
            "run a 20 t UHT trial",
            ("trial passed; lactose below 0.1%", "trial postponed by a line changeover"),
        ),
        (
            "QA audit of our plant",
            "keep our approved-supplier status",
            ("status confirmed for 2 years", "approved with one corrective action"),
        ),
    ),
    issues=(
        ("price vs Novonesis offer", "price matched on the two high-volume grades"),
        ("shelf-life claim needs data", "12-month stability study shared"),
        ("halal certificate expired", "renewed certificate sent"),
        ("pallet height wrong for their racks", "pallet pattern changed"),
        ("asks for consignment stock", "consignment stock agreed for two SKUs"),
        ("sensory panel found off-flavour", "new lot passed the panel"),
    ),
    complaints=(
        (
            "off-flavour in batch 2311, product recalled from one DC",
            "critical",
            "root cause found in raw material; lot withdrawn and cost shared",
            "our retained samples are clean; off-flavour came from their storage tank",
        ),
        (
            "delivery missed the production slot",
            "high",
            "penalty paid per contract; buffer stock set up",
            "PO received after the agreed cut-off time",
        ),
        (
            "COA values differ from their lab",
            "medium",
            "joint method validation done; COA method aligned",
            "third-party lab confirmed our values",
        ),
        (
            "damaged bags on arrival",
            "low",
            "replaced free of charge",
            "damage happened in the customer's own warehouse (photos at delivery)",
        ),
    ),
    competitors=(
        _Competitor(
            "Novonesis",
            "dairy and baking enzymes",
            "Lars Jensen",
            "science-led",
            "broad enzyme range",
            "premium price",
        ),
        _Competitor(
            "IFF",
            "flavours, texturants",
            "Grace Wu",
            "marketing-led",
            "flavour library",
            "slow sampling",
        ),
        _Competitor(
            "安琪酵母 Angel Yeast",
            "yeast extracts, enzymes",
            "Ma Jun",
            "price-led, local",
            "price, local plants",
            "narrow preservative range",
        ),
        _Competitor(
            "Givaudan",
            "flavour systems",
            "Sophie Martin",
            "brand-manager focused",
            "creative flavourists",
            "little plant support",
        ),
    ),
    opportunities=(
        (
            "clean-label preservation",
            "retailers ask for E-number-free labels",
            "R&D project, then annual tender",
        ),
        (
            "lactose-free UHT line",
            "lactose-free segment grows 20% a year",
            "plant trial, GM approval",
        ),
        (
            "QA lab automation",
            "release testing takes 3 days",
            "QA proposal, capex committee",
        ),
    ),
    service=(
        ("technical service", "application lab support, 2 days"),
        ("trial samples", "pilot-plant trial material"),
        ("logistics", "urgent air freight"),
        ("training", "QA staff training on rapid tests"),
        ("travel & entertainment", "QBR travel and dinner"),
    ),
    sizes=("¥30 bn turnover, 20 plants", "¥8 bn turnover, 6 plants", "¥1.5 bn turnover"),
    strategies=(
        "premium and health products",
        "cost leadership in mass market",
        "expanding cold chain to tier-3 cities",
    ),
    offerings=("dairy", "meat products", "snacks and beverages", "frozen food", "condiments"),
    fits=(
        "enzymes and preservatives fit; flavours with a competitor",
        "good fit for lactase and QA kits",
        "only starch modifiers for now",
    ),
)

_CHEM = _Industry(
    products=(
        ("hydrogenation catalyst", 2, 0.30, 0.45),
        ("antioxidant additives", 2, 0.15, 0.22),
        ("water-treatment chemicals", 2, 0.12, 0.20),
        ("specialty surfactants", 2, 0.14, 0.22),
        ("process licence fee", 1, 0.80, 0.92),
        ("technical service package", 1, 0.35, 0.50),
    ),
    seats=(
        _GM,
        _Role("Technical Director", "技术总监", "R&D", ("decider", "influencer"), "high", 0),
        _BUYER,
        _Role("Process Engineer", "工艺工程师", "production", ("user", "initiator"), "medium", 4),
        _Role("Plant Manager", "厂长", "production", ("user", "influencer"), "high", 0),
        _Role("HSE Manager", "安环经理", "QA", ("gatekeeper",), "medium", 4),
        _FINANCE,
        _Role("Lab Manager", "实验室主任", "R&D", ("influencer",), "medium", 1),
        _Role("Purchasing Assistant", "采购助理", "procurement", ("gatekeeper",), "low", 2),
    ),
    seat_order=(2, 3, 4, 1, 7, 0, 5, 6, 8),
    visits=(
        *_COMMON_VISITS,
        (
            "catalyst performance review 催化剂性能回顾",
            "show yield gain vs the previous charge",
            ("yield +1.2% confirmed by the plant", "data inconclusive; more runs needed"),
        ),
        (
            "turnaround planning",
            "book the catalyst change-out",
            ("change-out booked for the autumn turnaround", "turnaround moved to next year"),
        ),
        (
            "HSE review of our delivery process",
            "pass the HSE supplier review",
            ("passed; driver training records requested", "passed"),
        ),
    ),
    issues=(
        ("price vs Evonik offer", "price held; technical service package added"),
        ("MSDS in Chinese outdated", "new GHS MSDS sent"),
        ("truck waiting time at the gate", "delivery slots booked through their portal"),
        ("catalyst fines in the filter", "sieving step added; no fines since"),
        ("asks for a consignment tank", "consignment tank installed"),
    ),
    complaints=(
        (
            "catalyst activity dropped after 4 months",
            "high",
            "replacement charge at 50%; poisoning test added",
            "feed contained sulphur above the agreed limit (their own lab data)",
        ),
        (
            "tank truck arrived without the HSE papers",
            "medium",
            "carrier warned; checklist added at dispatch",
            "papers were sent electronically as agreed in the HSE protocol",
        ),
        (
            "wrong concentration delivered",
            "high",
            "load taken back and replaced within 24 h",
            "concentration within spec; their sampling point was after dilution",
        ),
        (
            "late delivery before the turnaround",
            "medium",
            "expedite fee waived; buffer stock agreed",
            "order placed after the quoted lead time",
        ),
    ),
    competitors=(
        _Competitor(
            "Evonik",
            "catalysts, additives",
            "Stefan Braun",
            "technical, long-term",
            "catalyst know-how",
            "premium price, slow decisions",
        ),
        _Competitor(
            "Albemarle",
            "hydrogenation catalysts",
            "Jason Wang",
            "global account approach",
            "refinery references",
            "little local service",
        ),
        _Competitor(
            "Ecolab Nalco",
            "water treatment",
            "Anna Zhang",
            "service-led, on-site engineers",
            "monitoring systems",
            "price",
        ),
        _Competitor(
            "皇马科技 Huangma",
            "specialty surfactants",
            "Wu Qiang",
            "price-led",
            "price, speed",
            "narrow range, quality swings",
        ),
    ),
    opportunities=(
        (
            "catalyst for the new hydrogenation unit",
            "new 300 kt unit starts up next year",
            "technical qualification, then tender",
        ),
        (
            "cooling-water programme renewal",
            "corrosion in the cooling circuit",
            "plant proposal, HSE review, purchasing",
        ),
        (
            "antioxidant switch",
            "current supplier's product fails the new export spec",
            "lab trial, then plant trial",
        ),
    ),
    service=(
        ("on-site engineer", "catalyst loading supervision"),
        ("laboratory", "free analysis of spent catalyst"),
        ("logistics", "dedicated tank truck"),
        ("training", "HSE training for the plant crew"),
        ("travel & entertainment", "plant visit and dinner"),
    ),
    sizes=("¥150 bn turnover, 6 sites", "¥20 bn turnover, 2 sites", "¥3 bn turnover, 1 site"),
    strategies=(
        "moving downstream into specialty chemicals",
        "capacity expansion at the coastal site",
        "carbon-neutral by 2035",
    ),
    offerings=(
        "MDI, polyols, specialty chemicals",
        "PTA, polyester",
        "dyes and intermediates",
        "vitamins and aroma chemicals",
    ),
    fits=(
        "catalysts and water treatment fit",
        "additives only",
        "full fit for the new unit",
    ),
)

INDUSTRIES: dict[str, _Industry] = {FEED: _FEED, IT: _IT, FOOD: _FOOD, CHEM: _CHEM}

SURNAMES = [
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Chen",
    "Yang",
    "Huang",
    "Zhao",
    "Wu",
    "Zhou",
    "Xu",
    "Sun",
    "Ma",
    "Zhu",
    "Hu",
    "Guo",
    "He",
    "Gao",
    "Lin",
    "Luo",
    "Zheng",
    "Liang",
    "Xie",
    "Song",
    "Tang",
    "Han",
    "Feng",
    "Deng",
    "Cao",
    "Peng",
]
GIVEN = [
    "Wei",
    "Fang",
    "Na",
    "Min",
    "Jing",
    "Li",
    "Qiang",
    "Lei",
    "Jun",
    "Yang",
    "Yong",
    "Yan",
    "Jie",
    "Juan",
    "Tao",
    "Ming",
    "Chao",
    "Xiuying",
    "Hua",
    "Ping",
    "Gang",
    "Hui",
    "Xin",
    "Bo",
    "Lin",
    "Hao",
    "Yu",
    "Ting",
    "Dong",
    "Kai",
]
SURNAMES_ZH = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN_ZH = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "涛",
    "明",
    "超",
    "华",
    "平",
    "刚",
    "建国",
    "志强",
    "海燕",
    "晓东",
    "文博",
    "佳怡",
    "雪梅",
    "国庆",
    "春华",
    "立新",
]
FIRST_EN = [
    "Sarah",
    "James",
    "Emma",
    "Michael",
    "Olivia",
    "David",
    "Sophie",
    "Thomas",
    "Anna",
    "Daniel",
    "Laura",
    "Peter",
    "Julia",
    "Mark",
    "Nina",
    "Chris",
    "Hannah",
    "Lukas",
    "Maria",
    "Tom",
]
LAST_EN = [
    "Miller",
    "Becker",
    "Smith",
    "Nguyen",
    "Schmidt",
    "Wong",
    "Tan",
    "Fischer",
    "Brown",
    "Weber",
    "Lim",
    "Taylor",
    "Meyer",
    "Wilson",
    "Chan",
    "Keller",
    "Hoffmann",
    "Clark",
    "Lee",
    "Walker",
]

PERSONALITIES = (
    "opinionated",
    "open",
    "doubting",
    "would-be-expert",
    "weather-vane",
    "flatterer",
    "introvert",
    "showy",
)
ATTITUDES = (("champion", 1), ("supporter", 4), ("neutral", 4), ("skeptic", 2), ("opponent", 1))

LEAVINGS = (
    (
        "resigned; joined a competitor's customer",
        "we lose a supporter in the buying centre; find out who inherits the"
        " decisions and meet them within two weeks",
    ),
    (
        "promoted to group headquarters",
        "a friend at group level now; ask for an introduction to group procurement",
    ),
    (
        "retired 退休",
        "successor unknown; risk of a re-tender, so visit the GM within a month",
    ),
    (
        "transferred to another site",
        "relationship continues at the new site; we need a new contact here",
    ),
    (
        "left after a reorganisation 组织调整",
        "procurement moves to HQ; the decision process changes, so re-map the buying centre",
    ),
)

PROMOTIONS = {
    ("prospect", "target"): "first trial order delivered; fits our range, into the target group",
    ("target", "key"): "top-20% by gross margin two quarters running",
    ("key", "strategic"): "group-wide supply agreement signed; joint development under way",
}
DEMOTION = "BZ: service cost above gross margin two quarters running; serve at target level"
SATISFACTION_NOTES = (
    "annual supplier evaluation",
    "quarterly review survey with purchasing",
    "NPS survey: delivery 8, quality 9, service 7",
    "survey after the complaint was closed",
)
COMPETITOR_SATISFACTION = (
    "customer rates them 7/10; happy with quality, unhappy with lead times",
    "satisfied; price is their main argument",
    "unhappy after two late deliveries",
    "neutral; used as a second source",
)
COMPETITOR_RELATIONSHIP = (
    "strong with the GM, weak with R&D",
    "only talks to purchasing",
    "close to R&D through joint trials",
    "long-standing; their rep is a former employee of the customer",
)
# How long a complaint takes to reach its outcome, by severity (days, lowest and highest).
RESOLUTION_DAYS = {"critical": (1, 5), "high": (2, 12), "medium": (4, 25), "low": (5, 40)}
TIER_TARGETS = {"strategic": "8.5", "key": "8.0", "target": "7.5", "prospect": "7.0"}

# The people behind the store's governance and the teams (design §4, §2 "team").
GENERAL_MANAGER = "lin.feng"
AUDITOR = "gao.yan"
SUPPORT = {
    FEED: ("he.jun", "technical service engineer"),
    IT: ("tian.yu", "solution architect"),
    FOOD: ("he.jun", "application specialist"),
    CHEM: ("ma.rui", "process engineer"),
}
# Credit limits the director sets on the first day, sized to about two months of a
# typical account's purchases in each tier (the built-in defaults suit a smaller seller).
CREDIT_LIMITS = {
    "prospect": "100000",
    "target": "1200000",
    "key": "4000000",
    "strategic": "20000000",
}
EXCEPTION_REASONS = (
    "seasonal stock build; the customer's CFO confirmed payment within 30 days",
    "bank guarantee on file for the overdue amount",
    "two overdue invoices promised this month; line would stop without this delivery",
)
DISCOUNT_REASON = "group-wide volume agreement; one-off launch discount approved by the director"
STAGE_REASONS = {
    "early": "first meetings with purchasing; the KAM is the single point of contact",
    "mid": "R&D and production know our team; more than one thread now",
    "partnership": "account plan published with the customer; sponsors on both sides",
    "synergistic": "joint teams for R&D and supply chain; value created together",
}
PROGRAM_EVIDENCE = {
    "confirm": "tier review: top group by profit and potential; confirmed as a key account",
    "deploy-team": "KAM and a technical specialist assigned to the account",
    "map-decision-process": "buying centre mapped: the GM decides, R&D influences, purchasing buys",
    "research-opportunities": "three opportunities found in a joint workshop",
    "draft-objectives": "objectives: volume +15%, satisfaction on target, one joint project",
    "secure-resources": "application-lab days and a trial budget approved",
    "publish-plan": "account plan published to the team and shared with the customer",
    "implement": "plan actions under way; monthly review with the customer",
    "monitor": "quarterly review: on track for volume, behind on the joint project",
    "measure-results": "results measured: sales and satisfaction against the plan's objectives",
}
CONFIRMATIONS = (
    "customer confirmed by e-mail",
    "confirmed by the purchasing manager at the QBR",
    "customer signed the 8D report",
    "confirmed by phone; no further action wanted",
)
INVESTIGATIONS = (
    "8D started together with the customer's QA",
    "facts collected from the customer and from our own records",
    "root-cause analysis by QA, logistics and sales",
)
ESCALATIONS = (
    "line stop at the customer; their GM called our director",
    "customer threatens to move volume to a competitor",
)
OPPORTUNITY_WINS = (
    "contract signed; first delivery next month",
    "won after the plant trial; 12-month agreement",
    "purchase order received",
)
OPPORTUNITY_LOSSES = (
    "price: competitor 12% cheaper",
    "project postponed by the customer's board",
    "incumbent kept; switching cost too high",
    "decision maker left; new one prefers the incumbent",
)
# (cause, lessons) when an account is lost, and what the archive note says (P8).
LOSS_REVIEWED = (
    "moved the whole volume to a competitor after a 12% price cut",
    "we only knew purchasing (one thread); reach R&D and the GM early and show value beyond price",
)
LOSS_ARCHIVED = (
    "trial failed: our product did not meet their process conditions",
    "qualify technical fit before offering a trial",
)
ARCHIVE_NOTE = "no potential in the next two years; file closed"
LOSS_OPEN = "chose the incumbent after the trial; switching cost too high"
UNCOUPLE_REASON = "price war: the customer moved most of its volume to a competitor"
BIG = ("key", "strategic")
# The stages an account climbs after pre-KAM, in order (the stage workflow's ladder).
CLIMB = ("early", "mid", "partnership", "synergistic")


# ---------------------------------------------------------------------------- the plan
@dataclass(eq=False)
class _Step:
    """One command the demo will run; some fields are known only once earlier steps ran."""

    on: date
    order: int  # within a day: open the account before adding people, people before visits
    seq: int
    command: str
    actor: str
    fields: dict[str, Any]
    # A follow-up needs its issue's id, a payment its invoice, a resolution its complaint:
    # ids the store hands out when the source step runs, so they are filled in then.
    source: _Step | None = None
    source_field: str = ""
    source_index: int = 0
    made: list[str] = field(default_factory=list)


@dataclass(eq=False)
class _Person:
    name: str
    seat: int
    added: date
    attitude: str
    left: date | None = None
    boss: _Person | None = None

    def current(self, on: date) -> bool:
        # A person leaving on a day counts as gone all that day (leaves run last).
        return self.added <= on and (self.left is None or on < self.left)


@dataclass(eq=False)
class _Account:
    company: _Company
    industry: _Industry
    rank: int
    owner: str
    tier: str  # at the end of the year
    initial_tier: str
    revenue: float  # planned annual revenue, in the account's currency
    below_zero: bool
    opened: date
    until: date  # last day of new business: the day before it is lost, or the year's end
    fate: str = ""  # "", "lost", "reviewed" (lost, post-mortem done) or "archived"
    promoted_on: date | None = None
    people: list[_Person] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    team: list[date] = field(default_factory=list)  # when each member was assigned
    evidence: list[date] = field(default_factory=list)  # sales and satisfaction measured
    plan_published: date | None = None

    @property
    def key(self) -> str:
        return self.company.key


def _money(value: float) -> Decimal:
    return Decimal(f"{max(value, 0.01):.2f}")


def _weighted(rng: random.Random, options: Sequence[tuple[T, int]]) -> T:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def _days(rng: random.Random, low: int, high: int) -> timedelta:
    return timedelta(days=rng.randint(low, high))


def _workday(day: date, lo: date, hi: date) -> date:
    """Move a weekend date to a weekday: people visit customers from Monday to Friday."""
    if day.weekday() >= 5:
        monday = day + timedelta(days=7 - day.weekday())
        day = monday if monday <= hi else day - timedelta(days=day.weekday() - 4)
    return min(max(day, lo), hi)


def _spread(rng: random.Random, count: int, lo: date, hi: date) -> list[date]:
    """``count`` weekdays spread evenly (with jitter) over [lo, hi]."""
    span = (hi - lo).days
    if count <= 0 or span < 0:
        return []
    slot = (span + 1) / count
    return sorted(
        _workday(lo + timedelta(days=int(slot * i + rng.uniform(0, slot))), lo, hi)
        for i in range(count)
    )


def _first(lo: date, hi: date, test: Callable[[date], bool]) -> date | None:
    """The first day in [lo, hi] that passes ``test``."""
    day = lo
    while day <= hi:
        if test(day):
            return day
        day += timedelta(days=1)
    return None


def _quarter(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def _companies(count: int) -> list[_Company]:
    """The first ``count`` companies, industries interleaved so any size gets a mix."""
    by_industry = [[c for c in COMPANIES if c.industry == ind] for ind in INDUSTRIES]
    interleaved: list[_Company] = []
    for i in range(max(len(group) for group in by_industry)):
        interleaved.extend(group[i] for group in by_industry if i < len(group))
    picked: list[_Company] = []
    for i in range(count):
        base = interleaved[i % len(interleaved)]
        cycle = i // len(interleaved)
        if cycle == 0:
            picked.append(base)
            continue
        suffix, branch = BRANCHES[(cycle - 1) % len(BRANCHES)]
        if cycle > len(BRANCHES):
            suffix, branch = f"{suffix}{(cycle - 1) // len(BRANCHES) + 1}", f"{branch} {cycle}"
        picked.append(
            _Company(
                f"{base.key}-{suffix}",
                f"{base.name} {branch}",
                base.industry,
                base.currency,
                base.city,
                base.western,
            )
        )
    return picked


def _tier_bands(count: int) -> list[str]:
    """Final tiers by revenue rank: the selection funnel of playbook §3."""
    strategic = max(1, round(count * 0.07))
    key = min(max(1, round(count * 0.15)), count - strategic)
    target = min(round(count * 0.45), count - strategic - key)
    prospect = count - strategic - key - target
    return ["strategic"] * strategic + ["key"] * key + ["target"] * target + ["prospect"] * prospect


class _Planner:
    """Plans a year of work, account by account; the run sorts it into one timeline."""

    def __init__(self, rng: random.Random, start: date, end: date) -> None:
        self.rng = rng
        self.start = start
        self.end = end
        self.steps: list[_Step] = []
        self.discount_exceptions = 0

    def add(
        self,
        account: _Account | None,
        on: date,
        command: str,
        fields: dict[str, Any],
        *,
        actor: str | None = None,
        order: int = 5,
        source: _Step | None = None,
        source_field: str = "",
        source_index: int = 0,
    ) -> _Step:
        # Governance commands (account None) concern the whole store, not one account.
        head: dict[str, Any] = {"on": on} if account is None else {"account": account.key, "on": on}
        step = _Step(
            on=on,
            order=order,
            seq=len(self.steps),
            command=command,
            actor=actor or (account.owner if account else DIRECTOR),
            fields=head | fields,
            source=source,
            source_field=source_field,
            source_index=source_index,
        )
        self.steps.append(step)
        return step

    # ------------------------------------------------------------------ portfolio
    def plan(self, count: int) -> list[_Account]:
        self.governance()
        accounts = self.portfolio(count)
        self.fates(accounts)
        for account in accounts:
            self.account(account)
        return accounts

    def governance(self) -> None:
        """Day one: who may approve exceptions, and the credit limits of the year (P1)."""
        for person, role, reason in (
            (DIRECTOR, "director", "sales director; decides tiers"),
            (DIRECTOR, "approver", "approves policy exceptions (P1, P4)"),
            (AUDITOR, "auditor", "internal audit reviews the account files"),
        ):
            self.add(
                None,
                self.start,
                "roster grant",
                {"person": person, "role": role, "reason": reason},
                actor=GENERAL_MANAGER,
                order=-1,
            )
        for tier, limit in CREDIT_LIMITS.items():
            self.add(
                None,
                self.start,
                "policy set",
                {
                    "policy": f"credit-limit.{tier}",
                    "value": limit,
                    "reason": "limits for the year, about two months of purchases per tier",
                },
                order=-1,
            )

    def portfolio(self, count: int) -> list[_Account]:
        rng = self.rng
        companies = _companies(count)
        rng.shuffle(companies)  # revenue rank: which company is big depends on the seed
        tiers = _tier_bands(count)
        first_key = tiers.index("key") if "key" in tiers else count
        first_target = tiers.index("target") if "target" in tiers else count
        first_prospect = tiers.index("prospect") if "prospect" in tiers else count
        initial = list(tiers)
        # Tier decisions made during the year (playbook §9: promote ahead of time).
        if first_key >= 2:
            initial[1] = "key"
        if first_target - first_key >= 3:
            initial[first_target - 1] = initial[first_target - 2] = "target"
        target_band = first_prospect - first_target
        if target_band >= 6:
            for i in range(first_prospect - 3, first_prospect):
                initial[i] = "prospect"
        # Two below-zero accounts in the target band; one of them was "key" and is
        # demoted late in the year, the decision a BZ finding should lead to.
        below_zero: tuple[int, ...] = ()
        if target_band >= 8:
            below_zero = (first_target + 1, first_target + 4)
            initial[first_target + 1] = "key"

        accounts: list[_Account] = []
        for rank, company in enumerate(companies):
            tier = tiers[rank]
            if tier == "prospect":
                revenue = 0.0
            else:
                revenue = TOP_REVENUE * (rank + 1) ** -PARETO * rng.uniform(0.85, 1.15)
            if initial[rank] != "prospect":
                # The existing book is entered in the first weeks of the year.
                opened = self.start + _days(rng, 0, 20)
            elif tier == "prospect":
                opened = self.start + _days(rng, 5, 300)  # found during the year
            else:
                opened = self.start + _days(rng, 5, 150)  # found, then promoted
            if rank == 0:
                opened = self.start  # the history starts on the first day of the year
            accounts.append(
                _Account(
                    company=company,
                    industry=INDUSTRIES[company.industry],
                    rank=rank,
                    owner=OWNERS[rank % len(OWNERS)] if rank < 10 else rng.choice(OWNERS),
                    tier=tier,
                    initial_tier=initial[rank],
                    revenue=revenue / RATES[company.currency],
                    below_zero=rank in below_zero,
                    opened=_workday(opened, self.start, self.end),
                    until=self.end,
                )
            )
        return accounts

    def fates(self, accounts: list[_Account]) -> None:
        """A few accounts are lost (P8): one reviewed, one reviewed and archived, one not
        reviewed yet, so the principles report has each case to show."""
        rng, end = self.rng, self.end

        def pick(tier: str, test: Callable[[_Account], bool]) -> _Account | None:
            for a in accounts:
                if not a.fate and a.tier == a.initial_tier == tier and not a.below_zero and test(a):
                    return a
            return None

        reviewed = pick("target", lambda a: a.opened <= end - timedelta(days=150))
        if reviewed is not None:
            reviewed.fate, reviewed.until = "reviewed", end - _days(rng, 80, 120)
        archived = pick("prospect", lambda a: a.opened <= end - timedelta(days=200))
        if archived is not None:
            archived.fate, archived.until = "archived", archived.opened + _days(rng, 60, 100)
        lost = pick("prospect", lambda a: a.opened <= end - timedelta(days=80))
        if lost is not None:
            lost.fate, lost.until = "lost", end - _days(rng, 5, 20)

    # ------------------------------------------------------------------ one account
    def account(self, a: _Account) -> None:
        self.add(
            a,
            a.opened,
            "account open",
            {
                "name": a.company.name,
                "industry": a.company.industry,
                "owner": a.owner,
                "currency": a.company.currency,
                "tier": a.initial_tier,
            },
            order=0,
        )
        self.add(a, a.opened, "team assign", {"member": a.owner}, order=1)
        a.team.append(a.opened)
        self.profile(a)
        self.tier_changes(a)
        self.contacts(a)
        self.support(a)
        self.visits(a)
        self.complaints(a)
        margin = self.sales(a)
        self.service_costs(a, margin)
        self.satisfaction(a)
        self.competitors(a)
        self.opportunities(a)
        self.program(a)
        self.stages(a)
        self.fate(a)

    def profile(self, a: _Account) -> None:
        rng, ind = self.rng, a.industry
        changes = {"address": a.company.city, "size": rng.choice(ind.sizes)}
        if a.tier != "prospect":
            # A prospect's file is thin on purpose: file completeness is a report.
            changes |= {
                "strategy": rng.choice(ind.strategies),
                "products": rng.choice(ind.offerings),
                "finance": rng.choice(
                    (
                        "listed; healthy cash flow",
                        "state-owned; pays slowly but surely",
                        "private; bank loans renegotiated last year",
                        "subsidiary of a foreign group; strict payment terms",
                    )
                ),
                "fit": rng.choice(ind.fits),
            }
        self.add(a, min(a.opened + _days(rng, 0, 7), a.until), "account update", changes, order=1)
        if a.tier in BIG and rng.random() < 0.5:
            later = _workday(a.opened + _days(rng, 120, 300), a.opened, a.until)
            strategy = rng.choice([s for s in ind.strategies if s != changes["strategy"]])
            self.add(a, later, "account update", {"strategy": f"{strategy} (updated)"})

    def tier_changes(self, a: _Account) -> None:
        rng = self.rng
        if a.initial_tier == a.tier:
            return
        if (a.initial_tier, a.tier) in PROMOTIONS:
            reason = PROMOTIONS[(a.initial_tier, a.tier)]
            lo = a.opened + timedelta(days=30)
            on = _workday(lo + _days(rng, 0, 150), lo, a.until)
            a.promoted_on = on
        else:
            reason = DEMOTION
            lo = a.until - timedelta(days=60)
            on = _workday(lo + _days(rng, 0, 40), lo, a.until)
        fields = {"tier": a.tier, "reason": reason, "approved_by": DIRECTOR}
        self.add(a, on, "tier set", fields, order=3)

    def _name(self, a: _Account) -> str:
        rng = self.rng
        while True:
            if a.company.western:
                name = f"{rng.choice(FIRST_EN)} {rng.choice(LAST_EN)}"
            elif rng.random() < 0.4:
                name = rng.choice(SURNAMES_ZH) + rng.choice(GIVEN_ZH)
            else:
                name = f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}"
            if name not in a.names:
                a.names.append(name)
                return name

    def _add_person(self, a: _Account, seat: int, on: date, boss: _Person | None) -> _Person:
        rng, role = self.rng, a.industry.seats[seat]
        person = _Person(self._name(a), seat, on, _weighted(rng, ATTITUDES), boss=boss)
        title = role.title if a.company.western else f"{role.title_zh} {role.title}"
        fields: dict[str, Any] = {
            "contact": person.name,
            "title": title,
            "department": role.department,
            "roles": list(role.roles),
            "influence": role.influence,
            "attitude": person.attitude,
            "personality": rng.choice(PERSONALITIES),
        }
        if boss is not None and boss.current(on):
            fields["reports_to"] = boss.name
        self.add(a, on, "contact add", fields, order=2)
        a.people.append(person)
        return person

    def contacts(self, a: _Account) -> None:
        rng, ind = self.rng, a.industry
        count = {
            "strategic": rng.randint(7, 9),
            "key": rng.randint(5, 7),
            "target": rng.randint(2, 4),
            "prospect": rng.randint(1, 2),
        }[a.tier]
        seats = list(ind.seat_order[:count])

        def depth(seat: int) -> int:
            boss = ind.seats[seat].boss
            return 0 if boss is None else 1 + depth(boss)

        # The first two seats are known when the account is opened; the rest of the
        # buying centre is mapped over the following months. Same-day bosses go first so
        # that reports_to can name someone already on file.
        span = max((a.until - a.opened).days, 0)
        dated: list[tuple[date, int, int]] = []
        for seat in seats:
            on = a.opened
            if seat not in ind.seat_order[:2]:
                on = _workday(a.opened + _days(rng, 1, max(1, int(span * 0.6))), a.opened, a.until)
            dated.append((on, depth(seat), seat))
        by_seat: dict[int, _Person] = {}
        for on, _, seat in sorted(dated):
            boss_seat = ind.seats[seat].boss
            boss = by_seat.get(boss_seat) if boss_seat is not None else None
            by_seat[seat] = self._add_person(a, seat, on, boss)
        # Bosses met after their people: link them once both are on file.
        for seat, person in by_seat.items():
            boss_seat = ind.seats[seat].boss
            if boss_seat is not None and boss_seat in by_seat and person.boss is None:
                person.boss = by_seat[boss_seat]
        self.leaver(a)
        self.contact_changes(a)

    def leaver(self, a: _Account) -> None:
        """Now and then a contact leaves (personnel change and its analysis, playbook §4)."""
        rng, first = self.rng, a.industry.seat_order[0]
        hi = a.until - timedelta(days=45)
        # The buyer (first seat) always stays, so every visit has someone to see; bosses
        # stay too, so that reports_to always names someone still on file.
        bosses = [p.boss for p in a.people if p.boss is not None]
        leavers = [
            p
            for p in a.people
            if p.seat != first
            and all(p is not b for b in bosses)
            and p.added + timedelta(days=90) <= hi
        ]
        if not leavers or rng.random() > (0.3 if a.tier != "prospect" else 0.1):
            return
        person = rng.choice(leavers)
        lo = person.added + timedelta(days=90)
        left = _workday(lo + _days(rng, 0, (hi - lo).days), lo, hi)
        person.left = left
        reason, analysis = rng.choice(LEAVINGS)
        fields = {"contact": person.name, "reason": reason, "analysis": analysis}
        self.add(a, left, "contact leave", fields, order=8)
        successor_on = left + _days(rng, 7, 40)
        if successor_on <= a.until and rng.random() < 0.7:
            boss = person.boss if person.boss and person.boss.current(successor_on) else None
            self._add_person(a, person.seat, _workday(successor_on, left, a.until), boss)

    def contact_changes(self, a: _Account) -> None:
        """A few people change during the year: a promotion, a sceptic won over."""
        rng, ind = self.rng, a.industry
        for person in list(a.people):
            boss = person.boss
            if boss is not None and boss.added > person.added:
                linked = _workday(boss.added + _days(rng, 0, 14), boss.added, a.until)
                if person.current(linked) and boss.current(linked):
                    self.add(
                        a,
                        linked,
                        "contact change",
                        {"contact": person.name, "reports_to": boss.name},
                    )
            if person.left is not None or rng.random() > 0.12:
                continue
            lo = person.added + timedelta(days=30)
            if lo > a.until:
                continue
            on = _workday(lo + _days(rng, 0, (a.until - lo).days), lo, a.until)
            role = ind.seats[person.seat]
            change: dict[str, Any] = {"contact": person.name}
            if "Manager" in role.title:
                title = role.title.replace("Manager", "Director")
                zh = role.title_zh.replace("经理", "总监")
                change["title"] = title if a.company.western else f"{zh} {title}"
            else:
                # An unchanged value is refused, so a champion can only cool down.
                change["attitude"] = "supporter" if person.attitude == "champion" else "champion"
            self.add(a, on, "contact change", change)

    def support(self, a: _Account) -> None:
        """Big accounts get a second team member (design §3: synergistic needs two)."""
        rng = self.rng
        if a.tier not in BIG or (a.tier == "key" and rng.random() < 0.4):
            return
        on = _workday((a.promoted_on or a.opened) + _days(rng, 10, 60), a.opened, a.until)
        member, role = SUPPORT[a.company.industry]
        self.add(a, on, "team assign", {"member": member, "role": role}, order=1)
        a.team.append(on)

    # ------------------------------------------------------------------ people & talk
    def _present(self, a: _Account, on: date) -> list[_Person]:
        return [p for p in a.people if p.current(on)]

    def _departments(self, a: _Account, on: date) -> int:
        seats = a.industry.seats
        return len({seats[p.seat].department.casefold() for p in self._present(a, on)})

    def _decider(self, a: _Account, on: date) -> _Person | None:
        for p in self._present(a, on):
            if "decider" in a.industry.seats[p.seat].roles:
                return p
        return None

    def visits(self, a: _Account) -> None:
        rng, ind = self.rng, a.industry
        count = {
            "strategic": rng.randint(32, 44),
            "key": rng.randint(18, 26),
            "target": rng.randint(7, 12),
            "prospect": rng.randint(1, 4),
        }[a.tier]
        for on in _spread(rng, count, a.opened + timedelta(days=1), a.until):
            present = self._present(a, on)
            if not present:
                continue
            met = rng.sample(present, min(len(present), rng.choice((1, 1, 2, 2, 3))))
            purpose, objective, results = rng.choice(ind.visits)
            issues: list[tuple[str, str]] = []
            if rng.random() < 0.45:
                issues = rng.sample(list(ind.issues), rng.choice((1, 1, 1, 2)))
            visit = self.add(
                a,
                on,
                "visit log",
                {
                    "with": [p.name for p in met],
                    "purpose": purpose,
                    "objective": objective,
                    "result": rng.choice(results),
                    "issues": [text for text, _ in issues],
                },
            )
            for index, (_, result) in enumerate(issues):
                # Most issues get a follow-up (P6); the rest stay open for the cadence report.
                follow_on = on + _days(rng, 2, 30)
                if follow_on > a.until or rng.random() < 0.15:
                    continue
                self.add(
                    a,
                    _workday(follow_on, on + timedelta(days=1), a.until),
                    "visit follow-up",
                    {"result": result},
                    source=visit,
                    source_field="issue",
                    source_index=index,
                )

    def complaints(self, a: _Account) -> None:
        """Complaints through their workflow: most reach an outcome and are closed (P7);
        a few stay open at various steps, some of them overdue."""
        rng, ind = self.rng, a.industry
        count = {
            "strategic": rng.randint(3, 5),
            "key": rng.randint(1, 3),
            "target": rng.choice((0, 0, 1, 1, 2)),
            "prospect": 0,
        }[a.tier]
        if a.below_zero:
            count += 2  # demanding customers are part of why they cost so much
        kinds = rng.sample(list(ind.complaints), min(count, len(ind.complaints)))
        kinds += rng.choices(ind.complaints, k=count - len(kinds))  # repeat offenders
        dates = _spread(rng, count, a.opened + timedelta(days=14), a.until)
        for on, kind in zip(dates, kinds, strict=False):
            summary, severity, outcome, justification = kind
            raised = self.add(
                a,
                on,
                "complaint raise",
                {"summary": summary, "severity": severity},
                actor=rng.choice((a.owner, SERVICE_DESK)),
            )
            recent = (a.until - on).days < 30
            stays_open = rng.random() < (0.5 if recent else 0.07)
            # Some complaints still wait for acknowledgement: the SLA board's worst rows.
            if stays_open and rng.random() < 0.4:
                continue
            chain = _Chain(self, a, raised, "complaint")
            if not chain.then("complaint ack", {}, 0, 0 if severity == "critical" else 2):
                continue
            if severity != "low" and rng.random() < 0.5:
                chain.then("complaint investigate", {"note": rng.choice(INVESTIGATIONS)}, 1, 4)
            if severity in ("high", "critical") and rng.random() < 0.3:
                escalation = {"reason": rng.choice(ESCALATIONS), "to": DIRECTOR}
                chain.then("complaint escalate", escalation, 0, 2)
            if stays_open:
                continue
            low, high = RESOLUTION_DAYS[severity]
            if rng.random() < 0.17:
                ended = chain.then("complaint reject", {"justification": justification}, low, high)
            else:
                ended = chain.then("complaint resolve", {"outcome": outcome}, low, high)
            if ended and rng.random() < 0.85:
                chain.then("complaint close", {"confirmation": rng.choice(CONFIRMATIONS)}, 2, 10)

    # ------------------------------------------------------------------ value
    def sales(self, a: _Account) -> Decimal:
        """Plan the account's sales and payments; return the planned gross margin."""
        rng, ind = self.rng, a.industry
        count = {
            "strategic": rng.randint(18, 26),
            "key": rng.randint(10, 14),
            "target": rng.randint(4, 8),
            "prospect": 1 if rng.random() < 0.3 else 0,
        }[a.tier]
        revenue = a.revenue
        if a.tier == "prospect":
            revenue = rng.uniform(20_000, 80_000) / RATES[a.company.currency]  # a trial order
        lo = a.opened + timedelta(days=3)
        if a.promoted_on is not None and a.initial_tier == "prospect":
            lo = max(lo, a.promoted_on - timedelta(days=14))  # the promotion's trial order
        dates = _spread(rng, count, lo, a.until)
        weights = [rng.uniform(0.6, 1.4) for _ in dates]
        biggest = weights.index(max(weights)) if weights else -1
        margin_total = Decimal(0)
        for n, (on, weight) in enumerate(zip(dates, weights, strict=True)):
            product, _, low, high = rng.choices(ind.products, [p[1] for p in ind.products])[0]
            margin = rng.uniform(0.03, 0.08) if a.below_zero else rng.uniform(low, high)
            amount = _money(revenue * weight / sum(weights))
            cost = _money(float(amount) * (1 - margin))
            margin_total += amount - cost
            fields: dict[str, Any] = {
                "product": product,
                "amount": amount,
                "cost": cost,
                "currency": a.company.currency,
            }
            # A launch discount beyond the ceiling needs an approved exception (P4).
            special = a.tier == "strategic" and n == biggest and self.discount_exceptions < 2
            if special:
                fields["discount"] = Decimal("18.00")
            elif rng.random() < 0.3:
                fields["discount"] = Decimal(rng.randint(4, 24)) / 2
            sale = self.add(a, on, "sale record", fields)
            if special:
                self.discount_exceptions += 1
                exception = {"rule": "discount-ceiling", "reason": DISCOUNT_REASON}
                self.add(
                    a,
                    on,
                    "exception grant",
                    exception,
                    actor=DIRECTOR,
                    order=4,
                    source=sale,
                    source_field="invoice",
                )
            a.evidence.append(on)
            self.payments(a, sale, on, amount)
        return margin_total

    def payments(self, a: _Account, sale: _Step, on: date, amount: Decimal) -> None:
        """P2: payments reference a sale; most are paid, some partly, some not at all."""
        rng = self.rng
        pay_on = on + timedelta(days=rng.choice((30, 45, 60, 90)) + rng.randint(-10, 25))
        pay_on = max(pay_on, on + timedelta(days=1))
        roll = rng.random()
        if pay_on > a.until or roll < (0.4 if a.below_zero else 0.08):
            return  # not yet due, or overdue: receivables for the ledger report
        first = amount
        if roll < 0.25:
            first = _money(float(amount) * rng.uniform(0.3, 0.7))
        self._pay(a, sale, pay_on, first)
        rest_on = pay_on + _days(rng, 20, 45)
        if first < amount and rest_on <= a.until and rng.random() < 0.5:
            self._pay(a, sale, rest_on, amount - first)

    def _pay(self, a: _Account, sale: _Step, on: date, amount: Decimal) -> None:
        fields = {"amount": amount}
        self.add(
            a, on, "payment record", fields, actor=FINANCE, source=sale, source_field="invoice"
        )

    def service_costs(self, a: _Account, margin: Decimal) -> None:
        rng, ind = self.rng, a.industry
        count = {"strategic": 12, "key": 8, "target": 4, "prospect": rng.randint(1, 2)}[a.tier]
        if a.below_zero:
            # Service eats more than the whole margin: this account is BZ (playbook §3).
            total = float(margin) * rng.uniform(1.4, 2.0)
        elif margin > 0:
            ratio = {"strategic": (0.08, 0.2), "key": (0.12, 0.3), "target": (0.2, 0.6)}
            total = float(margin) * rng.uniform(*ratio.get(a.tier, (0.3, 0.8)))
        else:
            total = rng.uniform(3_000, 20_000) / RATES[a.company.currency]  # pre-sales
        dates = _spread(rng, count, a.opened + timedelta(days=1), a.until)
        weights = [rng.uniform(0.5, 1.5) for _ in dates]
        for on, weight in zip(dates, weights, strict=True):
            category, description = rng.choice(ind.service)
            fields = {
                "amount": _money(max(total * weight / sum(weights), 50)),
                "category": category,
                "description": description,
            }
            self.add(a, on, "cost record", fields)

    def satisfaction(self, a: _Account) -> None:
        rng = self.rng
        count = {"strategic": 4, "key": 4, "target": 2, "prospect": 0}[a.tier]
        target = Decimal(TIER_TARGETS[a.tier])
        for on in _spread(rng, count, a.opened + timedelta(days=45), a.until):
            base = float(target) - (1.2 if a.below_zero else 0.1)
            score = min(max(rng.gauss(base, 0.7), 3.0), 10.0)
            fields = {
                "score": Decimal(f"{score:.1f}"),
                "target": target,
                "note": rng.choice(SATISFACTION_NOTES),
            }
            self.add(a, on, "satisfaction record", fields)
            a.evidence.append(on)

    # ------------------------------------------------------------------ market
    def competitors(self, a: _Account) -> None:
        rng, ind = self.rng, a.industry
        count = {
            "strategic": rng.randint(2, 3),
            "key": rng.randint(1, 2),
            "target": 1 if rng.random() < 0.6 else 0,
            "prospect": 1 if rng.random() < 0.3 else 0,
        }[a.tier]
        chosen = rng.sample(list(ind.competitors), min(count, len(ind.competitors)))
        dates = _spread(rng, len(chosen), a.opened + timedelta(days=5), a.until)
        for on, rival in zip(dates, chosen, strict=False):
            self.add(
                a,
                on,
                "competitor note",
                {
                    "competitor": rival.name,
                    "products": rival.products,
                    "satisfaction": rng.choice(COMPETITOR_SATISFACTION),
                    "rep": rival.rep,
                    "style": rival.style,
                    "relationship": rng.choice(COMPETITOR_RELATIONSHIP),
                    "strengths": rival.strengths,
                    "weaknesses": rival.weaknesses,
                },
            )
            later = on + _days(rng, 60, 200)
            if a.tier == "strategic" and later <= a.until and rng.random() < 0.5:
                # The file is kept current, not written once (playbook §2).
                update = {
                    "competitor": rival.name,
                    "satisfaction": rng.choice(COMPETITOR_SATISFACTION),
                }
                self.add(a, _workday(later, on, a.until), "competitor note", update)

    def opportunities(self, a: _Account) -> None:
        """Opportunities through the funnel (§10): some won, some lost, the rest open."""
        rng, ind = self.rng, a.industry
        count = {
            "strategic": rng.randint(2, 3),
            "key": rng.randint(1, 2),
            "target": 1 if rng.random() < 0.4 else 0,
            "prospect": 1 if rng.random() < 0.5 else 0,
        }[a.tier]
        chosen = rng.sample(list(ind.opportunities), min(count, len(ind.opportunities)))
        dates = _spread(rng, len(chosen), a.opened + timedelta(days=20), a.until)
        for on, (title, problem, procurement) in zip(dates, chosen, strict=False):
            decider = self._decider(a, on)
            maker = (
                f"{decider.name}, {ind.seats[decider.seat].title}"
                if decider
                else "not identified yet; map the decision process"
            )
            size = a.revenue if a.revenue > 0 else 400_000 / RATES[a.company.currency]
            budget = max(1000, round(size * rng.uniform(0.1, 0.4), -3))
            decision = on + _days(rng, 60, 240)
            opened = self.add(
                a,
                on,
                "opp open",
                {
                    "title": title,
                    "problem": problem,
                    "budget": _money(budget),
                    "decision_maker": maker,
                    "timeline": f"decision expected {_quarter(decision)}",
                    "procurement": procurement,
                },
            )
            roll = rng.random()
            ending = "opp win" if roll < 0.3 else "opp lose" if roll < 0.55 else ""
            chain = _Chain(self, a, opened, "opportunity")
            for _ in range(3 if ending == "opp win" else rng.randint(0, 3)):
                if not chain.then("opp advance", {}, 10, 45):
                    ending = ""  # the year ended with the opportunity still in the funnel
                    break
            if ending == "opp win":
                chain.then(ending, {"note": rng.choice(OPPORTUNITY_WINS)}, 10, 40)
            elif ending:
                chain.then(ending, {"reason": rng.choice(OPPORTUNITY_LOSSES)}, 10, 40)

    # ------------------------------------------------------------------ program & stage
    def program(self, a: _Account) -> None:
        """The ten-step management program (§7) for key and strategic accounts; the
        biggest start a second cycle. Each step is placed where its guard holds."""
        rng = self.rng
        if a.initial_tier in BIG:
            cursor = a.opened + _days(rng, 3, 15)
        elif a.tier in BIG and a.promoted_on is not None:
            cursor = a.promoted_on + _days(rng, 1, 10)
        else:
            return
        confirmed = cursor
        for cycle in range(2 if a.tier == "strategic" else 1):
            for n, step in enumerate(STEPS):
                planned = cursor if cycle == n == 0 else cursor + _days(rng, 5, 25)
                on: date | None = planned
                if step == "map-decision-process":
                    on = _first(planned, a.until, lambda d: self._decider(a, d) is not None)
                elif step == "measure-results":
                    measured = [e for e in a.evidence if e > confirmed]
                    on = max(planned, min(measured)) if measured else None
                if on is None or on > a.until:
                    return
                self.add(
                    a,
                    on,
                    "program complete",
                    {"step": step, "evidence": PROGRAM_EVIDENCE[step]},
                    order=6,
                )
                if step == "confirm":
                    confirmed = on
                elif step == "publish-plan":
                    a.plan_published = on
                cursor = on

    def stages(self, a: _Account) -> None:
        """Relationship stages (§8), each taken when the breadth of contact allows it."""
        rng = self.rng
        goal = {
            "prospect": 1 if rng.random() < 0.3 else 0,
            "target": 2 if rng.random() < 0.6 else 1,
            "key": 3 if rng.random() < 0.6 else 2,
            "strategic": 4 if a.rank == 0 or rng.random() < 0.4 else 3,
        }[a.tier]
        # A lost account uncouples first, so its stages stop before that.
        bound = a.until - timedelta(days=25) if a.fate == "reviewed" else a.until
        cursor = (a.promoted_on or a.opened) + _days(rng, 1, 20)

        def ready(stage: str, day: date) -> bool:
            departments = self._departments(a, day)
            if stage == "early":
                return departments >= 1
            if stage == "mid":
                return departments >= 2
            if stage == "partnership":
                published = a.plan_published is not None and a.plan_published < day
                return departments >= 3 and self._decider(a, day) is not None and published
            return departments >= 4 and sum(t < day for t in a.team) >= 2

        for stage in CLIMB[:goal]:
            on = _first(cursor, bound, partial(ready, stage))
            if on is None:
                return
            self.add(
                a, on, "stage advance", {"stage": stage, "reason": STAGE_REASONS[stage]}, order=7
            )
            cursor = on + _days(rng, 20, 60)

    def fate(self, a: _Account) -> None:
        rng = self.rng
        if not a.fate:
            return
        lost_on = a.until + timedelta(days=1)
        if a.fate == "reviewed":
            uncoupled = a.until - timedelta(days=20)
            self.add(a, uncoupled, "stage uncouple", {"reason": UNCOUPLE_REASON}, order=9)
        cause = LOSS_OPEN if a.fate == "lost" else LOSS_REVIEWED[0]
        if a.fate == "archived":
            cause = LOSS_ARCHIVED[0]
        self.add(a, lost_on, "account lose", {"cause": cause}, order=9)
        if a.fate == "lost":
            return  # not reviewed yet: P8 has something to flag
        lessons = LOSS_ARCHIVED[1] if a.fate == "archived" else LOSS_REVIEWED[1]
        reviewed_on = _workday(lost_on + _days(rng, 7, 25), lost_on, self.end)
        self.add(a, reviewed_on, "account review", {"cause": cause, "lessons": lessons}, order=9)
        if a.fate == "archived":
            archived_on = _workday(reviewed_on + _days(rng, 3, 15), reviewed_on, self.end)
            self.add(a, archived_on, "account archive", {"note": ARCHIVE_NOTE}, order=9)


class _Chain:
    """Steps that follow one source step (a complaint, an opportunity), each on or after
    the previous one and within the account's year; ``then`` says whether it fit."""

    def __init__(self, planner: _Planner, account: _Account, source: _Step, ref: str) -> None:
        self.planner = planner
        self.account = account
        self.source = source
        self.ref = ref
        self.last = source.on

    def then(self, command: str, fields: dict[str, Any], low: int, high: int) -> bool:
        when = self.last + _days(self.planner.rng, low, high)
        if when > self.account.until:
            return False
        self.planner.add(
            self.account, when, command, fields, source=self.source, source_field=self.ref
        )
        self.last = when
        return True


def _number_invoices(steps: Sequence[_Step]) -> None:
    """Invoice refs in the order sales happen, so that INV numbers rise with time."""
    number = 0
    for step in steps:
        if step.command == "sale record":
            number += 1
            step.made = [f"INV-{step.on.year}-{number:05d}"]
            step.fields["invoice"] = step.made[0]


def _cover_credit(steps: Sequence[_Step], rng: random.Random) -> list[_Step]:
    """Insert an approved exception before each sale that would break its credit limit.

    The limit depends on the account's tier on the day and on what it owes then, so this
    replays the timeline's sales and payments; the domain checks the same rule again.
    """
    limits = {tier: Decimal(value) for tier, value in CREDIT_LIMITS.items()}
    tiers: dict[str, str] = {}
    owed: dict[tuple[str, str], Decimal] = {}
    out: list[_Step] = []
    for step in steps:
        key = str(step.fields.get("account", ""))
        if step.command in ("account open", "tier set"):
            tiers[key] = str(step.fields["tier"])
        elif step.command == "payment record" and step.source is not None:
            currency = str(step.source.fields["currency"])
            owed[key, currency] -= step.fields["amount"]
        elif step.command == "sale record":
            currency = str(step.fields["currency"])
            total = owed.get((key, currency), Decimal(0)) + step.fields["amount"]
            if total > limits[tiers[key]]:
                exception = {
                    "account": key,
                    "on": step.on,
                    "rule": "credit-limit",
                    "reason": rng.choice(EXCEPTION_REASONS),
                }
                out.append(
                    _Step(
                        step.on,
                        step.order,
                        step.seq,
                        "exception grant",
                        DIRECTOR,
                        exception,
                        source=step,
                        source_field="invoice",
                    )
                )
            owed[key, currency] = total
        out.append(step)
    return out


# ---------------------------------------------------------------------------- run
@dataclass(frozen=True)
class DemoSummary:
    """What `kamflow demo` built, for its closing message and for tests."""

    accounts: int
    events: int
    contacts: int
    visits: int
    follow_ups: int
    complaints_raised: int
    complaints_with_outcome: int
    complaints_open: int
    sales: int
    revenue: dict[str, Decimal]
    first_on: date
    last_on: date
    by_tier: dict[str, int]
    top_account: str  # the biggest account by revenue, a good first `account show`
    seed: int


def _record_times(steps: Sequence[_Step], rng: random.Random) -> list[datetime]:
    """A record time for each step: during its business day, strictly increasing.

    Steps are spread over 01:00-10:00 UTC (09:00-18:00 in China) of their business date,
    each in its own slot, so times never repeat and never go back even on a busy day.
    """
    times: list[datetime] = []
    window = 9 * 3600.0
    i = 0
    while i < len(steps):
        day = steps[i].on
        j = i
        while j < len(steps) and steps[j].on == day:
            j += 1
        opening = datetime.combine(day, time(1, 0), tzinfo=UTC)
        slot = window / (j - i)
        for n in range(j - i):
            offset = slot * n + rng.uniform(0, 0.8 * slot)
            if slot >= 5:
                offset = float(int(offset))  # whole seconds, as a person would type
            times.append(opening + timedelta(seconds=offset))
        i = j
    return times


def build_demo(
    kamflow: Kamflow,
    *,
    accounts: int = 60,
    seed: int = 7,
    today: date | None = None,
    progress: Callable[[int], None] | None = None,
) -> DemoSummary:
    """Build a sample portfolio covering the year up to ``today`` into an empty store.

    The same ``accounts``, ``seed`` and ``today`` always give the same events. Business
    dates run from 365 days before ``today`` to the day before it, so that the demo never
    stamps a record time later than the real clock and today is left to the user.
    ``progress``, if given, is called with the running number of events written (every
    few dozen commands and once at the end).

    Refuses (Conflict) a store that already holds events: a demo mixed into real data
    would corrupt every report.
    """
    if not 1 <= accounts <= MAX_ACCOUNTS:
        raise InvalidInput(f"--accounts must be between 1 and {MAX_ACCOUNTS} (got {accounts})")
    held = kamflow.event_count()
    if held:
        raise Conflict(
            f'database "{describe_locator(kamflow.locator)}" already holds {held:,} events;'
            " the demo needs a fresh one (use --db new.db)"
        )
    end = (today or datetime.now(UTC).date()) - timedelta(days=1)
    start = end - timedelta(days=364)
    rng = random.Random(seed)
    planner = _Planner(rng, start, end)
    planned = planner.plan(accounts)
    # Chronological order: record time then follows business time across the whole log.
    steps = sorted(planner.steps, key=lambda s: (s.on, s.order, s.seq))
    _number_invoices(steps)
    steps = _cover_credit(steps, rng)
    times = _record_times(steps, rng)

    done: Counter[str] = Counter()
    revenue: dict[str, Decimal] = {}
    by_account: dict[str, float] = {}
    written = 0
    clock_now = [times[0]]
    application.set_clock(lambda: clock_now[0])
    try:
        for index, (step, at) in enumerate(zip(steps, times, strict=True)):
            clock_now[0] = at
            fields = dict(step.fields)
            if step.source is not None:
                fields[step.source_field] = step.source.made[step.source_index]
            try:
                outcome = kamflow.execute(build(COMMANDS[step.command], fields), actor=step.actor)
            except KamflowError as exc:
                # A refusal here is a bug in the planner (or a new rule it does not know).
                exc.add_note(f"demo step {index + 1}: {step.command} {fields}")
                raise
            if step.command in ("complaint raise", "opp open"):
                step.made.append(outcome.reference)
            elif step.command == "visit log" and fields["issues"]:
                # Issue ids are the aggregate's to give; read back the ones this visit got.
                account = kamflow.load(str(fields["account"]))
                issues = [
                    iid
                    for iid, issue in account.open_issues.items()
                    if issue["visit"] == outcome.reference.split()[0]
                ]
                step.made.extend(sorted(issues, key=lambda iid: int(iid.partition("-")[2])))
            elif step.command == "sale record":
                key, currency = str(fields["account"]), str(fields["currency"])
                amount: Decimal = fields["amount"]
                revenue[currency] = revenue.get(currency, Decimal(0)) + amount
                by_account[key] = by_account.get(key, 0.0) + float(amount) * RATES[currency]
            done[step.command] += 1
            written += len(outcome.events)
            if progress is not None and (index + 1) % PROGRESS_EVERY == 0:
                progress(written)
    finally:
        application.set_clock(None)
    if progress is not None:
        progress(written)

    tiers = Counter(a.tier for a in planned)
    outcomes = done["complaint resolve"] + done["complaint reject"]
    top = max(by_account, key=lambda k: by_account[k]) if by_account else planned[0].key
    return DemoSummary(
        accounts=len(planned),
        events=kamflow.event_count(),
        contacts=done["contact add"],
        visits=done["visit log"],
        follow_ups=done["visit follow-up"],
        complaints_raised=done["complaint raise"],
        complaints_with_outcome=outcomes,
        complaints_open=done["complaint raise"] - outcomes,
        sales=done["sale record"],
        revenue=dict(sorted(revenue.items())),
        first_on=steps[0].on,
        last_on=steps[-1].on,
        by_tier={t: tiers[t] for t in ("strategic", "key", "target", "prospect") if tiers[t]},
        top_account=top,
        seed=seed,
    )


def render_summary(summary: DemoSummary, locator: str) -> str:
    """A few lines for people: what was built and what to try next."""
    if "://" in locator:
        where, cli = describe_locator(locator), "kamflow"
    elif locator == DEFAULT_DB or os.environ.get("KAMFLOW_DB") == locator:
        where, cli = locator, "kamflow"
    else:
        where, cli = locator, f"kamflow --db {shlex.quote(locator)}"
    tiers = ", ".join(f"{n} {tier}" for tier, n in summary.by_tier.items())
    revenue = "; ".join(f"{amount:,.2f} {cur}" for cur, amount in summary.revenue.items())
    lines = [
        f"Demo portfolio written to {where} (seed {summary.seed}): {summary.accounts} accounts,"
        f" {summary.events:,} events, {summary.first_on} .. {summary.last_on}.",
        f"  tiers       {tiers}",
        f"  people      {summary.contacts} contacts; {summary.visits} visits,"
        f" {summary.follow_ups} follow-ups",
        f"  complaints  {summary.complaints_raised} raised: {summary.complaints_with_outcome}"
        f" with an outcome, {summary.complaints_open} still open",
        f"  sales       {summary.sales} invoices: {revenue or 'none'}",
        "Try:",
        f"  {cli} account list",
        f"  {cli} account show {summary.top_account}",
        f"  {cli} report portfolio",
    ]
    if "://" in locator:
        lines.append("  (with KAMFLOW_DB or --db naming the same database)")
    return "\n".join(lines)
