"""State machines for the key-account workflows (one module per workflow).

Modules import `transitions`; import them where a command needs them, not at CLI start.
"""

from __future__ import annotations

from kamflow.workflows.base import Workflow


def registry() -> dict[str, Workflow]:
    """Every workflow by the name users type (`kamflow workflow show NAME`)."""
    from kamflow.workflows.complaint import COMPLAINT
    from kamflow.workflows.lifecycle import LIFECYCLE
    from kamflow.workflows.opportunity import OPPORTUNITY
    from kamflow.workflows.program import PROGRAM
    from kamflow.workflows.stage import STAGE

    return {w.name: w for w in (COMPLAINT, PROGRAM, STAGE, LIFECYCLE, OPPORTUNITY)}
