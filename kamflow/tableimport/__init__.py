"""`kamflow import` of a table (CSV, TSV, XLSX) through a mapping (ADR 0019): reading
the file (``read``), the mapping the team keeps (``mapping``, ``suggest``), and the
rows made domain commands (``run``). No click here: the command is in
``kamflow/cli/importing.py``."""
