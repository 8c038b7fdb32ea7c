"""`kamflow demo`: a realistic sample portfolio of key accounts, built from scratch.

The demo plans a year of key-account work (governance on day one, accounts opened,
buying centres mapped, visits and follow-ups, complaints through their workflow, sales,
payments, service cost, satisfaction, competitors, opportunities through the funnel, the
management program, relationship stages, tier decisions, lost accounts and their reviews),
sorts it by business date and runs every step through the same validated commands a user
types. Nothing is written behind the domain's back, so the demo also shows that a year of
ordinary use passes every rule.

The portfolio is shaped to give the reports something to say (docs/domain.md, Key
accounts; Value classes): revenue is
Pareto-distributed, a couple of accounts are below zero (service cost eats the margin),
a few complaints are still open (some overdue), some issues were never followed up, some
invoices are unpaid, a few sales needed an approved policy exception, a few contacts left,
and of three lost accounts one has no post-mortem yet.

- ``catalogue.toml`` / ``catalogue.py``: what the demo draws from (companies, people,
  texts, counts and weights), as data, read into typed records checked against the
  domain's vocabularies;
- ``planned.py``: the planned account and ``DayFacts``, what the domain's guards see of
  it on a day; ``plan.py`` and ``people.py``: the planner, which places a guarded step on
  the first day the workflow's guards let it through;
- ``timeline.py``: steps and days, and what is settled once the year is sorted
  (invoice numbers, the credit exceptions sales need by the domain's own check);
- ``run.py``: the steps through ``Kamflow.execute`` on the demo's clock, and the summary.
"""

from kamflow.demo.run import MAX_ACCOUNTS, DemoSummary, build_demo, render_summary

__all__ = ["MAX_ACCOUNTS", "DemoSummary", "build_demo", "render_summary"]
