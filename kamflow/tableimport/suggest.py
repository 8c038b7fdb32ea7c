"""`kamflow import --suggest FILE`: a first mapping written from a table's headers.

Headers are matched against the words CRM exports use for each kamflow field, in
English and Chinese (客户名称, 行业, 负责人, 客户编号...); date columns get the format
their cells are written in; the values found in a stage or tier column get a value map
to fill in (recognised words filled in already). Columns kamflow keeps nowhere are
listed as comments, so the team sees what it leaves behind.
"""

from __future__ import annotations

import re
from collections import Counter

from kamflow.domain.values import identity
from kamflow.tableimport.mapping import SECTIONS
from kamflow.tableimport.read import Table, parse_date

# (section, field) -> header words, compared by identity with spaces, _ and - removed.
SYNONYMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("account", "key"): (
        "客户编号",
        "客户编码",
        "客户代码",
        "客户id",
        "customer id",
        "customer number",
        "customer no",
        "account id",
        "account number",
        "account no",
        "external id",
    ),
    ("account", "name"): (
        "客户名称",
        "客户",
        "公司名称",
        "公司",
        "企业名称",
        "account",
        "account name",
        "company",
        "company name",
        "customer",
        "customer name",
    ),
    ("account", "industry"): ("行业", "所属行业", "industry", "sector"),
    ("account", "owner"): (
        "负责人",
        "客户经理",
        "销售负责人",
        "业务员",
        "owner",
        "account owner",
        "account manager",
        "sales agent",
        "sales rep",
        "salesperson",
    ),
    ("account", "tier"): ("客户级别", "客户等级", "客户类型", "tier", "account tier", "level"),
    ("account", "currency"): ("币种", "货币", "currency"),
    ("account", "address"): ("地址", "公司地址", "address", "office location", "location"),
    ("account", "size"): ("规模", "员工人数", "人数", "size", "employees", "headcount"),
    ("account", "website"): ("网站", "网址", "website", "web", "url"),
    ("account", "notes"): ("备注", "notes", "note", "remarks"),
    ("contact", "name"): ("联系人", "联系人姓名", "contact", "contact name"),
    ("contact", "title"): ("职位", "职务", "title", "job title", "position"),
    ("contact", "department"): ("部门", "department"),
    ("contact", "mobile"): ("手机", "手机号", "联系电话", "电话", "mobile", "phone", "cell"),
    ("contact", "email"): ("邮箱", "电子邮件", "email", "e-mail", "mail"),
    ("contact", "wechat"): ("微信", "微信号", "wechat"),
    ("contact", "birthday"): ("生日", "birthday"),
    ("opportunity", "id"): (
        "商机编号",
        "项目编号",
        "机会编号",
        "opportunity id",
        "deal id",
        "opportunity number",
    ),
    ("opportunity", "title"): (
        "商机名称",
        "项目名称",
        "产品",
        "product",
        "opportunity",
        "deal name",
    ),
    ("opportunity", "stage"): ("阶段", "销售阶段", "商机阶段", "stage", "deal stage"),
    ("opportunity", "opened_on"): (
        "创建日期",
        "立项日期",
        "engage date",
        "created",
        "created date",
    ),
    ("opportunity", "closed_on"): ("成交日期", "结束日期", "close date", "closed date"),
    ("opportunity", "budget"): ("预算", "budget", "sales price", "list price"),
    ("sale", "product"): ("产品", "产品名称", "product"),
    ("sale", "invoice"): ("发票号", "发票编号", "invoice", "invoice number", "invoice no"),
    ("sale", "amount"): ("金额", "合同金额", "成交金额", "close value", "amount", "deal value"),
    ("sale", "cost"): ("成本", "cost", "cost of sales"),
}

KNOWN_VALUES: dict[str, dict[str, str]] = {
    "stage": {
        "won": "won",
        "closed won": "won",
        "赢单": "won",
        "成交": "won",
        "已成交": "won",
        "lost": "lost",
        "closed lost": "lost",
        "输单": "lost",
        "丢单": "lost",
        "lead": "lead",
        "prospecting": "lead",
        "线索": "lead",
        "初步接洽": "lead",
        "qualified": "qualified",
        "engaging": "qualified",
        "qualification": "qualified",
        "需求确认": "qualified",
        "proposal": "proposal",
        "方案报价": "proposal",
        "negotiation": "negotiation",
        "谈判": "negotiation",
        "商务谈判": "negotiation",
    },
    "tier": {
        "重点客户": "key",
        "key": "key",
        "战略客户": "strategic",
        "strategic": "strategic",
        "目标客户": "target",
        "target": "target",
        "潜在客户": "prospect",
        "prospect": "prospect",
        "普通客户": "prospect",
    },
}

# Headers kamflow keeps nowhere, named so the comment says what is left out.
UNKEPT = {"电话": "phone", "联系电话": "phone", "手机": "mobile", "phone": "phone", "邮箱": "email"}


def _plain(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", identity(text)).strip()


def suggest(table: Table, file_name: str) -> str:
    """A mapping (TOML text) for ``table``: each kamflow field the headers name, the
    date formats found, value maps for stage and tier columns, and the columns left out
    as comments. The team reads it, fills in what is marked, and keeps it."""
    words: dict[str, list[tuple[str, str]]] = {}
    for key, ws in SYNONYMS.items():
        for w in ws:
            words.setdefault(_plain(w), []).append(key)
    chosen: dict[tuple[str, str], str] = {}
    for header in table.headers:
        for key in words.get(_plain(header), []):
            chosen.setdefault(key, header)
    if ("account", "name") in chosen and ("account", "key") not in chosen:
        chosen[("account", "key")] = chosen[("account", "name")]
    sections = [s for s in SECTIONS if any(k[0] == s for k in chosen)]
    if any(s != "account" for s in sections) and "account" not in sections:
        sections.insert(0, "account")
    if "sale" in sections and "opportunity" in sections and ("sale", "invoice") not in chosen:
        chosen[("sale", "invoice")] = chosen.get(("opportunity", "id"), "")
    date_columns = [h for (s, f), h in chosen.items() if SECTIONS[s][f][1] == "date"]
    lines = [
        f"# kamflow import mapping for {file_name}, suggested from its headers.",
        "# Check every line; fill in what is marked TODO. Docs: kamflow import --help.",
        "",
        "[file]",
        'source = "' + re.sub(r"[^\w.-]+", "-", file_name.rsplit(".", 1)[0]).strip("-") + '"'
        "  # names this source in command ids: keep it",
        f"dates = {_formats(table, date_columns)}",
    ]
    key_column = chosen.get(("account", "key"))
    if key_column is not None:
        lines.append(
            f"# skip_empty = [{_quote(key_column)}]  # rows without an account: skipped, not bad"
        )
    for section in sections:
        lines += ["", f"[{section}]"]
        defaults: list[str] = []
        for name, (required, _kind) in SECTIONS[section].items():
            column = chosen.get((section, name))
            if column:
                lines.append(f"{name} = {_quote(column)}")
            elif required:
                defaults.append(f'{name} = "TODO"  # no column found: a value for every row')
        if defaults:
            lines += ["", f"[{section}.default]", *defaults]
        for name, (_, kind) in SECTIONS[section].items():
            mapped = chosen.get((section, name))
            if mapped and kind in KNOWN_VALUES:
                lines += ["", f"[{section}.values.{name}]", *_value_map(table, mapped, kind)]
    left = [h for h in table.headers if h and h not in chosen.values()]
    if left:
        lines += ["", "# Columns not imported (kamflow keeps no field for them, or none matched):"]
        for header in left:
            why = f" ({UNKEPT[_plain(header)]})" if _plain(header) in UNKEPT else ""
            lines.append(f"#   {header}{why}")
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _formats(table: Table, columns: list[str]) -> str:
    """The date formats that read every non-empty cell of the date columns (the first
    that fits, per cell), as a TOML list."""
    index = {h: i for i, h in enumerate(table.headers)}
    found: list[str] = []
    candidates = ("YYYY-MM-DD", "YYYY/MM/DD", "M/D/YYYY", "D/M/YYYY", "D.M.YYYY", "excel")
    for column in columns:
        cells = [r[index[column]] for r in table.rows[:2000]]
        texts = [c for c in cells if isinstance(c, str) and c.strip()]
        # Day-first or month-first: a cell whose first number is over 12 decides.
        day_first = any(int(t.split("/")[0]) > 12 for t in texts if re.match(r"\d+/\d+/\d{4}", t))
        for text in texts:
            order = [c for c in candidates if c != ("M/D/YYYY" if day_first else "D/M/YYYY")]
            for form in order:
                try:
                    parse_date(text, (form,))
                except ValueError:
                    continue
                if form not in found:
                    found.append(form)
                break
    return "[" + ", ".join(f'"{f}"' for f in found or ["YYYY-MM-DD"]) + "]"


def _value_map(table: Table, header: str, kind: str) -> list[str]:
    index = table.headers.index(header)
    seen = Counter(str(r[index]).strip() for r in table.rows if str(r[index]).strip())
    known = KNOWN_VALUES[kind]
    lines: list[str] = []
    for value, _ in seen.most_common(50):
        target = known.get(_plain(value))
        if target is not None:
            lines.append(f'{_quote(value)} = "{target}"')
        else:
            lines.append(f'{_quote(value)} = "TODO"  # one of the {kind}s')
    return lines
