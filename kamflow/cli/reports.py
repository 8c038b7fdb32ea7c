"""kamflow report: reports from the read models, caught up before each query."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, tzinfo
from typing import TYPE_CHECKING, Any

import click

from kamflow.cli import DATE, session
from kamflow.cli.show import Read, output_options

if TYPE_CHECKING:
    from kamflow.projections.db import ViewDB
    from kamflow.projections.reports.base import Report


@click.group()
def report() -> None:
    """Reports from the read models (caught up with the log before each query)."""


def report_options(read: Read) -> Callable[..., None]:
    """--as-of, and the output options every read has."""
    command = output_options()(read)
    return click.option(
        "--as-of",
        type=DATE,
        help="From what the log held at the end of this date in the business time zone.",
    )(command)


# --owner, on the money reports (MONEY_OPTIONS) and on complaints and cadence.
OWNER = click.option("--owner", metavar="NAME", help="Only the accounts this person owns.")
# The options of every money report, in --help order (money_options).
MONEY_OPTIONS = (
    click.option(
        "--from", "date_from", type=DATE, help="Business dates from this day (inclusive)."
    ),
    click.option("--to", "date_to", type=DATE, help="Business dates to this day (inclusive)."),
    click.option("--month", metavar="YYYY-MM", help="A calendar month, e.g. 2026-11."),
    click.option("--quarter", metavar="YYYYQn", help="A calendar quarter, e.g. 2026Q4."),
    click.option("--year", metavar="YYYY", help="A calendar year, e.g. 2026."),
    click.option("--ytd", is_flag=True, help="From 1 January to the report date."),
    click.option(
        "--compare",
        type=click.Choice(("previous", "last-year")),
        help="Add the figures of the period before, or of a year before, and the change.",
    ),
    click.option("--owner", metavar="NAME", help="Only the accounts this person owns."),
    click.option("--currency", metavar="CUR", help="Report currency; other amounts are converted."),
)


def money_options(read: Read) -> Callable[..., None]:
    """The period, compare, owner and currency options of every money report, then
    ``report_options``. The read gets them as ``period`` (a PeriodAsk, resolved by
    ``build_report`` against the report date), ``owner`` and ``currency`` (upper case,
    or None)."""

    @functools.wraps(read)
    def command(
        *args: Any,
        date_from: date | None,
        date_to: date | None,
        month: str | None,
        quarter: str | None,
        year: str | None,
        ytd: bool,
        compare: str | None,
        owner: str | None,
        currency: str | None,
        **kwargs: Any,
    ) -> Report:
        from kamflow.projections.reports.periods import PeriodAsk

        ask = PeriodAsk(date_from, date_to, month, quarter, year, ytd, compare)
        cur = currency.strip().upper() if currency is not None else None
        return read(*args, period=ask, owner=owner, currency=cur, **kwargs)

    # Applied last, so that --help lists them first (then --as-of and the formats).
    wrapped: Any = report_options(command)
    for option in reversed(MONEY_OPTIONS):
        wrapped = option(wrapped)
    return wrapped  # type: ignore[no-any-return]


def build_report(name: str, as_of: date | None, **params: Any) -> Report:
    """The named report over views caught up with the log (or rebuilt to ``as_of``).

    ``today`` is the business date now, or ``as_of``, whose end in the business zone is
    the cutoff; the zone is ``--tz``/KAMFLOW_TZ, else the team's setting (read from the
    views, or from the log for an as-of report), else the machine's."""
    from kamflow.cli.show import JSON_WANTED
    from kamflow.projections.engine import Unprojectable, quarantined, skipped_line
    from kamflow.projections.reports import READS

    with views(as_of) as (db, today, zone):
        ask = params.pop("period", None)
        if ask is not None:
            from kamflow.projections.reports.periods import resolve

            params["period"], params["compare"] = resolve(ask, today)
            params["compare_how"] = ask.compare
        # An as-of report reads throw-away views: nothing to keep.
        if JSON_WANTED.get() and as_of is None:
            result = _json_kept(db, name, today, zone, params)
        else:
            result = _built(db, name, today, zone, params)
        skipped = quarantined(db, READS[name])
    if skipped:
        result.error = Unprojectable(skipped_line(skipped))
    return result


def _json_kept(db: ViewDB, name: str, today: date, zone: tzinfo, params: dict[str, Any]) -> Report:
    """The report for --json: its JSON as kept for these very views, or built now and
    kept (kamflow.projections.reportcache). One with warnings is never kept."""
    from kamflow import output
    from kamflow.projections import reportcache
    from kamflow.projections.reports.base import Report

    key = reportcache.cache_key(db, name, params, today, zone)
    kept = reportcache.cached(db, name, key)
    if kept is not None:
        return Report(title=name, columns=[], rows=[], rendered_json=kept)
    result = _built(db, name, today, zone, params)
    result.rendered_json = output.to_json(result.as_json())
    if not result.warnings:
        reportcache.keep(db, name, key, result.rendered_json)
    return result


def _built(db: ViewDB, name: str, today: date, zone: tzinfo, params: dict[str, Any]) -> Report:
    from kamflow.projections.reports import builder
    from kamflow.projections.reports.base import ReportParams

    return builder(name)(db, ReportParams(today=today, zone=zone, **params))


@contextmanager
def views(as_of: date | None) -> Iterator[tuple[ViewDB, date, tzinfo]]:
    """The views a report reads, the business date it is as of and the business zone
    (see build_report), for the length of the block."""
    from kamflow import clock
    from kamflow.domain.dates import business_date, end_of_day
    from kamflow.projections.reports.base import setting
    from kamflow.zones import SETTING, business_zone

    sess = session()
    locator = sess.existing()  # refuse a bad locator or a missing store, create nothing
    if as_of is not None:
        from kamflow.projections.engine import views_as_of

        zone = sess.kamflow.zone
        db = views_as_of(sess.kamflow, end_of_day(as_of, zone))
        today = as_of
    else:
        from kamflow.projections.access import report_views

        db = report_views(locator, lambda: sess.kamflow)
        try:
            zone = business_zone(sess.tz, lambda: setting(db, SETTING))
        except BaseException:
            db.close()
            raise
        today = business_date(clock.now(), zone)
    try:
        yield db, today, zone
    finally:
        db.close()


def _key(key: str | None) -> str | None:
    from kamflow.domain.values import normalise_key

    return normalise_key(key) if key else None


@report.command("file")
@click.argument("key")
@report_options
def report_file(key: str, as_of: date | None) -> Report:
    """The whole customer file (客户档案) of an account, with its completeness (P3).

    \b
    Example:
        kamflow report file acme --as-of 2026-06-30
    """
    return build_report("file", as_of, key=_key(key))


@report.command("portfolio")
@click.option(
    "--by", type=click.Choice(("owner", "tier", "industry")), help="Add totals per group."
)
@money_options
def report_portfolio(as_of: date | None, **money: Any) -> Report:
    """Revenue and profit concentration (80/20), top and bottom 10 by real profit,
    value class (MVC/MGC/BZ) with the rule that set it, key-account zone, months to profit.

    Money is in one currency (--currency, default CNY); amounts in others are converted
    at the rate in force on their business date (kamflow fx), and the rates used are
    listed; an amount with no rate is listed, not counted. A period (--month, --quarter,
    --year, --ytd, --from/--to) counts the business dates in it; --compare adds the
    period before (or a year before) and the change.

    \b
    Example:
        kamflow report portfolio --month 2026-11 --compare previous --by owner
    """
    return build_report("portfolio", as_of, **money)


@report.command("complaints")
@click.argument("key", required=False)
@OWNER
@report_options
def report_complaints(key: str | None, owner: str | None, as_of: date | None) -> Report:
    """Open complaints by age against their tier's SLA, overdue first (P7)."""
    return build_report("complaints", as_of, key=_key(key), owner=owner)


@report.command("cadence")
@OWNER
@report_options
def report_cadence(owner: str | None, as_of: date | None) -> Report:
    """Last contact per account, neglected accounts (P5), open follow-ups (P6)."""
    return build_report("cadence", as_of, owner=owner)


@report.command("buying-centre")
@click.argument("key", required=False)
@report_options
def report_buying_centre(key: str | None, as_of: date | None) -> Report:
    """Buying-centre roles covered and missing; single point of contact flagged."""
    return build_report("buying-centre", as_of, key=_key(key))


@report.command("funnel")
@money_options
def report_funnel(as_of: date | None, **money: Any) -> Report:
    """Opportunities by stage and value, and the forecast: value weighted by each
    stage's probability (policies stage-probability.STAGE, or one set per opportunity),
    by expected close month; how long each has sat in its stage; stale opportunities
    (no stage step for opportunity-stale-days) and those past their close date.

    Budgets stay in their currencies unless --currency converts them (at the rate in
    force on the report date). A period keeps the opportunities expected to close in
    it, and those won or lost in it.

    \b
    Example:
        kamflow report funnel --quarter 2027Q1 --owner li.wei
    """
    return build_report("funnel", as_of, **money)


@report.command("scorecard")
@money_options
def report_scorecard(as_of: date | None, **money: Any) -> Report:
    """One line per key-account manager, for the monthly review: revenue and real
    profit, accounts by value class, visits and contact cadence (P5), open follow-ups
    (P6), open and overdue complaints (P7), opportunities won and lost, weighted
    pipeline; then the total.

    \b
    Example:
        kamflow report scorecard --month 2026-11 --compare previous
    """
    return build_report("scorecard", as_of, **money)


@report.command("satisfaction")
@report_options
def report_satisfaction(as_of: date | None) -> Report:
    """Measured satisfaction against target per account, worst gap first."""
    return build_report("satisfaction", as_of)


@report.command("principles")
@report_options
def report_principles(as_of: date | None) -> Report:
    """Every violation or risk of P1-P8 across the portfolio."""
    return build_report("principles", as_of)


@report.command("audit")
@click.option("--actor", help="Only events by this actor (exactly as recorded).")
@click.option(
    "--account", "key", help='Only events of this account, or of "(governance)" (policies, roles).'
)
@click.option(
    "--type",
    "event_type",
    help="Only events of this type, e.g. TierChanged; corrections: every void, credit"
    " note, amendment, rename, closing and merge.",
)
@click.option("--since", type=DATE, help="Business date from (inclusive).")
@click.option("--until", type=DATE, help="Business date to (inclusive).")
@report_options
def report_audit(as_of: date | None, key: str | None, **filters: Any) -> Report:
    """Who did what, when, to which account.

    Each change shows what it replaced (old -> new); --json and --csv also give the
    subject, field, old and new value (CSV: one line per changed field). A type,
    account or actor that no event has is an error, never an empty trail.

    \b
    Example:
        kamflow report audit --actor li.wei --since 2026-01-01 --csv
    """
    from kamflow.projections.engine import GOVERNANCE_KEY

    wanted = GOVERNANCE_KEY if key is not None and key.strip() == GOVERNANCE_KEY else _key(key)
    return build_report("audit", as_of, key=wanted, **filters)


@report.command("html")
@click.option(
    "--out",
    default="kamflow-report.html",
    show_default=True,
    metavar="FILE",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Where to write the page; - for stdout.",
)
@click.option("--currency", default="CNY", show_default=True, help="Report currency.")
@click.option(
    "--as-of",
    type=DATE,
    help="From what the log held at the end of this date in the business time zone.",
)
def report_html(out: str, currency: str, as_of: date | None) -> None:
    """An offline HTML report, one file for any browser.

    The portfolio with its charts (80/20 curve, key-account zone, value classes), the
    complaint board, the principles, and a page per account with its customer file and
    the relationship map of its buying centre. Tables sort when their header is
    clicked. Nothing is fetched when it is viewed.

    \b
    Example:
        kamflow report html --out portfolio.html
    """
    from kamflow.cli.show import write_file
    from kamflow.htmlreport import READS, build
    from kamflow.projections.engine import Unprojectable, quarantined, skipped_line
    from kamflow.projections.reports.base import ReportParams

    with views(as_of) as (db, today, zone):
        page, accounts = build(db, ReportParams(today=today, zone=zone, currency=currency.upper()))
        skipped = quarantined(db, READS)
    if out == "-":
        click.echo(page, nl=False)
    else:
        write_file(out, page.encode("utf-8"))
        pages = "1 account page" if accounts == 1 else f"{accounts} account pages"
        click.echo(f"wrote {out}: portfolio, complaints, principles and {pages}")
    if skipped:
        raise Unprojectable(skipped_line(skipped))
