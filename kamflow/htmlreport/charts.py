"""The HTML report's charts, as SVG text drawn here (no library, no browser).

Four small drawings: the Pareto curve of real profit (a bar per account, the running
share as a line, the 80% line), the key-account zone (revenue against cost to serve
and against margin, with the zone's thresholds), a bar per value class, and a buying
centre's relationship map (people by reporting line, influence and attitude, the gaps).
Each mark carries a ``<title>`` (the browser's own tooltip, no script) and a class the
tests count (``bar``, ``point``, ``person``); every text is escaped (``esc``). Colours
and fonts come from the page's style sheet, so the charts hold no ``style`` attribute
(the page's Content-Security-Policy allows none).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from kamflow.output import cut, escape

W, H = 640, 300  # a chart's drawing size in px (the SVG scales to its box)
PAD_L, PAD_R, PAD_T, PAD_B = 64, 56, 16, 40


def esc(text: object) -> str:
    """Text from the store as HTML/SVG text: control and bidi characters shown escaped
    (as in tables), then ``& < > " '`` as entities."""
    return html.escape(escape(str(text)), quote=True)


def _n(x: float) -> str:
    return f"{x:.1f}"


def money_short(value: float) -> str:
    """12345678.9 -> 12.3M; for axis labels."""
    size = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            return f"{value / limit:,.1f}{suffix}"
    return f"{value:,.0f}"


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    step = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * step:
            step *= m
            break
    start = math.floor(low / step) * step
    return [start + i * step for i in range(int((high - start) / step) + 2)]


def _log_scale(v: float, lo: float, hi: float, box: tuple[float, float]) -> float:
    """``v`` (clamped to ``lo``) placed on a log scale from ``lo`` to ``hi`` in ``box``."""
    share = (math.log10(max(v, lo)) - math.log10(lo)) / ((math.log10(hi) - math.log10(lo)) or 1)
    return box[0] + share * (box[1] - box[0])


def _svg(
    kind: str,
    label: str,
    body: list[str],
    width: float = W,
    height: float = H,
    *,
    size: bool = False,
) -> str:
    # ``size``: drawn at its own size (shrunk to fit), not stretched to the page's width.
    sized = f' width="{_n(width)}" height="{_n(height)}"' if size else ""
    return (
        f'<svg class="chart{" sized" if size else ""}" data-chart="{kind}"{sized}'
        f' viewBox="0 0 {_n(width)} {_n(height)}" role="img"'
        f' aria-label="{esc(label)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{esc(label)}</title>{''.join(body)}</svg>"
    )


@dataclass(frozen=True)
class Ranked:
    key: str
    name: str
    profit: Decimal


def pareto(accounts: Sequence[Ranked], line_pct: Decimal) -> str:
    """Accounts ranked by real profit: a bar each (below the axis for a loss), and the
    running share of the portfolio's positive real profit as a line with a point per
    account, against the ``line_pct`` line (the MVC rule's 80%)."""
    ranked = sorted(accounts, key=lambda a: (-a.profit, a.key))
    positive = sum((a.profit for a in ranked if a.profit > 0), Decimal(0))
    n = max(1, len(ranked))
    left, right, top, bottom = PAD_L, W - PAD_R, PAD_T, H - PAD_B
    step = (right - left) / n
    high = max([float(a.profit) for a in ranked] + [0.0])
    low = min([float(a.profit) for a in ranked] + [0.0])
    ticks = _ticks(low, high)
    low, high = min(ticks[0], low), max(ticks[-1], high)

    def y_money(v: float) -> float:
        return bottom - (v - low) / (high - low or 1) * (bottom - top)

    def y_pct(p: float) -> float:  # 0% on the zero line of the bars, 100% at the top
        return y_money(0) - p / 100 * (y_money(0) - top)

    body = [f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{bottom}"/>']
    for t in ticks:
        if low <= t <= high:
            ty = _n(y_money(t))
            body.append(f'<line class="grid" x1="{left}" y1="{ty}" x2="{right}" y2="{ty}"/>')
            body.append(
                f'<text class="tick" x="{left - 6}" y="{ty}" text-anchor="end"'
                f' dy="4">{esc(money_short(t))}</text>'
            )
    for p in (0, 20, 40, 60, 80, 100):
        body.append(f'<text class="tick" x="{right + 6}" y="{_n(y_pct(p))}" dy="4">{p}%</text>')
    zero = y_money(0)
    running = Decimal(0)
    points: list[str] = []
    for i, a in enumerate(ranked):
        x = left + i * step
        y = y_money(float(a.profit))
        top_y, height = min(y, zero), abs(zero - y)
        loss = " loss" if a.profit < 0 else ""
        running += a.profit
        share = float(running * 100 / positive) if positive else 0.0
        tip = f"{a.name} ({a.key}): real profit {a.profit:,.2f}; {share:.1f}% cumulative"
        body.append(
            f'<rect class="bar{loss}" x="{_n(x + step * 0.1)}" y="{_n(top_y)}"'
            f' width="{_n(max(step * 0.8, 0.5))}" height="{_n(max(height, 0.5))}">'
            f"<title>{esc(tip)}</title></rect>"
        )
        points.append(f"{_n(x + step / 2)},{_n(y_pct(max(0.0, min(share, 100.0))))}")
    body.append(f'<line class="axis" x1="{left}" y1="{_n(zero)}" x2="{right}" y2="{_n(zero)}"/>')
    target = y_pct(float(line_pct))
    body.append(
        f'<line class="threshold" x1="{left}" y1="{_n(target)}" x2="{right}" y2="{_n(target)}">'
        f"<title>{esc(f'{line_pct}% of positive real profit')}</title></line>"
    )
    if points:
        body.append(f'<polyline class="curve" points="{" ".join(points)}"/>')
    for i, point in enumerate(points):
        px, py = point.split(",")
        body.append(
            f'<circle class="point" cx="{px}" cy="{py}" r="2.5">'
            f"<title>{esc(ranked[i].name)}</title></circle>"
        )
    body.append(
        f'<text class="label" x="{left}" y="{H - 8}">accounts ranked by real profit'
        f" ({len(ranked)}); line: cumulative share of positive real profit</text>"
    )
    return _svg("pareto", "Pareto curve of real profit", body)


@dataclass(frozen=True)
class Placed:
    key: str
    name: str
    revenue: Decimal
    cost_to_serve_pct: Decimal
    margin_pct: Decimal
    zone: str


def zone(
    accounts: Sequence[Placed], min_revenue: Decimal, max_cost_pct: Decimal, min_margin: Decimal
) -> str:
    """Two panels side by side, revenue (log scale) across: cost to serve (% of
    revenue) up the first, gross margin (%) up the second; a point per account with
    revenue, coloured by its zone; the zone's thresholds as lines, its area shaded."""
    width, height = 2 * 480, H
    half = width // 2
    shown = [a for a in accounts if a.revenue > 0]
    lows = [float(a.revenue) for a in shown] + [float(min_revenue)]
    lo = 10 ** math.floor(math.log10(max(1.0, min(lows))))
    hi = 10 ** math.ceil(math.log10(max([*lows, lo * 10])))
    body: list[str] = []
    panels = (
        ("cost to serve, % of revenue", "cost_to_serve_pct", max_cost_pct, True),
        ("gross margin, %", "margin_pct", min_margin, False),
    )
    for p, (title, field, limit, below) in enumerate(panels):
        x0 = p * half
        left, right, top, bottom = x0 + PAD_L, x0 + half - 16, PAD_T + 14, height - PAD_B
        values = [float(getattr(a, field)) for a in shown] + [float(limit), 0.0]
        ticks = _ticks(min(values), max(values))
        y_lo, y_hi = ticks[0], ticks[-1]

        def fx(v: float, box: tuple[float, float] = (left, right)) -> float:
            return _log_scale(v, lo, hi, box)

        def fy(
            v: float,
            box: tuple[float, float] = (bottom, top),
            span: tuple[float, float] = (y_lo, y_hi),
        ) -> float:
            return box[0] + (v - span[0]) / ((span[1] - span[0]) or 1) * (box[1] - box[0])

        # The zone: revenue at least min_revenue, and the measure on the right side.
        zx, zy = fx(float(min_revenue)), fy(float(limit))
        ztop, zbottom = (zy, bottom) if below else (top, zy)
        body.append(
            f'<rect class="zone" x="{_n(zx)}" y="{_n(ztop)}" width="{_n(right - zx)}"'
            f' height="{_n(max(0.0, zbottom - ztop))}"><title>key-account zone</title></rect>'
        )
        body.append(f'<text class="label" x="{left}" y="{PAD_T}">{esc(title)}</text>')
        for t in ticks:
            ty = _n(fy(t))
            body.append(f'<line class="grid" x1="{left}" y1="{ty}" x2="{right}" y2="{ty}"/>')
            body.append(
                f'<text class="tick" x="{left - 6}" y="{ty}" dy="4" text-anchor="end">{t:g}%</text>'
            )
        decade = lo
        while decade <= hi:
            tx = _n(fx(decade))
            body.append(f'<line class="grid" x1="{tx}" y1="{top}" x2="{tx}" y2="{bottom}"/>')
            body.append(
                f'<text class="tick" x="{tx}" y="{bottom + 16}" text-anchor="middle">'
                f"{esc(money_short(decade))}</text>"
            )
            decade *= 10
        body.append(
            f'<line class="axis" x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}"/>'
            f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{bottom}"/>'
            f'<line class="threshold" x1="{_n(zx)}" y1="{top}" x2="{_n(zx)}" y2="{bottom}"/>'
            f'<line class="threshold" x1="{left}" y1="{_n(zy)}" x2="{right}" y2="{_n(zy)}"/>'
        )
        for a in shown:
            value = getattr(a, field)
            kind = "in" if a.zone == "key-account zone" else "out"
            tip = (
                f"{a.name} ({a.key}): revenue {a.revenue:,.2f}; cost to serve"
                f" {a.cost_to_serve_pct}%; margin {a.margin_pct}%; {a.zone}"
            )
            body.append(
                f'<circle class="point {kind}" cx="{_n(fx(float(a.revenue)))}"'
                f' cy="{_n(fy(float(value)))}" r="4"><title>{esc(tip)}</title></circle>'
            )
        body.append(
            f'<text class="label" x="{right}" y="{height - 6}" text-anchor="end">'
            "revenue (log scale)</text>"
        )
    return _svg("zone", "Key-account zone", body, width, height)


def bars(kind: str, label: str, counts: Sequence[tuple[str, int, str]]) -> str:
    """A bar per (name, count, tooltip), e.g. accounts per value class."""
    width, height = 420, 240
    left, right, top, bottom = 40, width - 12, PAD_T, height - 36
    ticks = _ticks(0, max([c for _, c, _ in counts] + [1]), 4)
    high = ticks[-1]
    step = (right - left) / max(1, len(counts))
    body: list[str] = []
    for t in ticks:
        ty = _n(bottom - t / high * (bottom - top))
        body.append(f'<line class="grid" x1="{left}" y1="{ty}" x2="{right}" y2="{ty}"/>')
        body.append(
            f'<text class="tick" x="{left - 6}" y="{ty}" dy="4" text-anchor="end">{t:g}</text>'
        )
    for i, (name, count, tip) in enumerate(counts):
        x = left + i * step + step * 0.2
        y = bottom - count / high * (bottom - top)
        body.append(
            f'<rect class="bar {esc(name)}" x="{_n(x)}" y="{_n(y)}" width="{_n(step * 0.6)}"'
            f' height="{_n(bottom - y)}"><title>{esc(tip)}</title></rect>'
            f'<text class="value" x="{_n(x + step * 0.3)}" y="{_n(y - 4)}"'
            f' text-anchor="middle">{count}</text>'
            f'<text class="tick" x="{_n(x + step * 0.3)}" y="{bottom + 16}"'
            f' text-anchor="middle">{esc(name)}</text>'
        )
    body.append(f'<line class="axis" x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}"/>')
    return _svg(kind, label, body, width, height)


@dataclass(frozen=True)
class Person:
    contact_id: str
    name: str
    title: str
    roles: tuple[str, ...]
    influence: str | None
    attitude: str | None
    reports_to: str | None
    influenced_by: tuple[str, ...]


NODE_W, NODE_H, GAP_X, GAP_Y = 170, 58, 18, 46


def _id(short_id: str) -> tuple[int, str]:
    _, _, number = short_id.partition("-")
    return (int(number) if number.isdigit() else 0, short_id)


def relationship_map(people: Sequence[Person], gaps: Sequence[str], uid: str) -> str:
    """A buying centre drawn as an organisation chart: each current contact a box (name,
    title, buying roles; its border by influence, its fill by attitude) under the one
    they report to; who influences whom as dashed arrows; the gaps (roles nobody holds,
    a single thread) as dashed red boxes below. ``uid`` makes the map's one id (its
    arrowhead) unique in the page."""
    ids = {p.contact_id for p in people}
    boss = {p.contact_id: p.reports_to for p in people if p.reports_to in ids}
    depth: dict[str, int] = {}
    for p in people:
        seen: set[str] = set()
        node, level = p.contact_id, 0
        while node in boss and node not in seen:  # a loop of reporting lines stops here
            seen.add(node)
            node = str(boss[node])
            level += 1
        depth[p.contact_id] = level
    layers: dict[int, list[Person]] = {}
    for p in people:
        layers.setdefault(depth[p.contact_id], []).append(p)
    widest = max([len(layer) for layer in layers.values()] + [len(gaps), 1])
    width = max(W, widest * (NODE_W + GAP_X) + GAP_X)
    rows = len(layers) + (1 if gaps else 0)
    height = max(120, rows * (NODE_H + GAP_Y) + GAP_Y)
    where: dict[str, tuple[float, float]] = {}
    order: dict[str, float] = {}
    for level in sorted(layers):
        # Under their boss, in the order of the bosses: reporting lines seldom cross.
        layer = sorted(
            layers[level],
            key=lambda p: (order.get(boss.get(p.contact_id) or "", 0.0), _id(p.contact_id)),
        )
        span = len(layer) * (NODE_W + GAP_X) - GAP_X
        x0 = (width - span) / 2
        for i, p in enumerate(layer):
            x = x0 + i * (NODE_W + GAP_X)
            y = GAP_Y / 2 + level * (NODE_H + GAP_Y)
            where[p.contact_id] = (x, y)
            order[p.contact_id] = x
    body = [
        f'<defs><marker id="arrow-{uid}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7"'
        ' markerHeight="7" orient="auto-start-reverse"><path class="arrowhead"'
        ' d="M0,0 L10,5 L0,10 z"/></marker></defs>'
    ]
    for p in people:
        if p.contact_id in boss:
            x, y = where[p.contact_id]
            bx, by = where[str(boss[p.contact_id])]
            body.append(
                f'<path class="reports" d="M{_n(x + NODE_W / 2)},{_n(y)} V{_n(y - GAP_Y / 2)}'
                f' H{_n(bx + NODE_W / 2)} V{_n(by + NODE_H)}"/>'
            )
    for p in people:
        for source in p.influenced_by:
            if source in where and source != p.contact_id:
                sx, sy = where[source]
                x, y = where[p.contact_id]
                body.append(
                    f'<path class="influence" marker-end="url(#arrow-{uid})" d="M{_n(sx + NODE_W)},'
                    f"{_n(sy + NODE_H / 2)} C{_n(sx + NODE_W + 40)},{_n(sy + NODE_H / 2)}"
                    f" {_n(x + NODE_W + 40)},{_n(y + NODE_H / 2)} {_n(x + NODE_W)},"
                    f'{_n(y + NODE_H / 2)}"><title>{esc(source)} influences'
                    f" {esc(p.contact_id)}</title></path>"
                )
    for p in people:
        x, y = where[p.contact_id]
        roles = ", ".join(p.roles) or "no buying role"
        tip = (
            f"{p.contact_id} {p.name}: {p.title}; roles {roles}; influence"
            f" {p.influence or 'unknown'}; attitude {p.attitude or 'unknown'}"
        )
        body.append(
            f'<g class="person influence-{esc(p.influence or "unknown")}'
            f' attitude-{esc(p.attitude or "unknown")}" data-contact="{esc(p.contact_id)}">'
            f"<title>{esc(tip)}</title>"
            f'<rect x="{_n(x)}" y="{_n(y)}" width="{NODE_W}" height="{NODE_H}" rx="6"/>'
            f'<text class="name" x="{_n(x + 8)}" y="{_n(y + 18)}">{esc(cut(p.name, 22))}</text>'
            f'<text class="title" x="{_n(x + 8)}" y="{_n(y + 34)}">{esc(cut(p.title, 26))}</text>'
            f'<text class="roles" x="{_n(x + 8)}" y="{_n(y + 49)}">{esc(cut(roles, 28))}</text>'
            "</g>"
        )
    if gaps:
        y = GAP_Y / 2 + len(layers) * (NODE_H + GAP_Y)
        x0 = (width - (len(gaps) * (NODE_W + GAP_X) - GAP_X)) / 2
        for i, gap in enumerate(gaps):
            x = x0 + i * (NODE_W + GAP_X)
            body.append(
                f'<g class="gap"><title>{esc(gap)}</title>'
                f'<rect x="{_n(x)}" y="{_n(y)}" width="{NODE_W}" height="{NODE_H}" rx="6"/>'
                f'<text x="{_n(x + 8)}" y="{_n(y + 33)}">{esc(cut(gap, 26))}</text></g>'
            )
    label = "Relationship map of the buying centre"
    return _svg("relationship-map", label, body, width, height, size=True)
