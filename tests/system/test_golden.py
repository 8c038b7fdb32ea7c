"""What users see is what main showed before the structure change (issue 9).

tests/golden/ holds the --help of every command and the --json of every report and of
account show / list / history on the seed-7 demo, captured by tests/golden/capture.py.
Outputs must stay identical; help text changes only deliberately: regenerate help.txt
with the script, review the diff line by line, and say why in the CHANGELOG.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import GOLDEN


def _capture() -> ModuleType:
    spec = importlib.util.spec_from_file_location("golden_capture", GOLDEN / "capture.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


capture = _capture()


def test_every_help_text_is_the_golden_one() -> None:
    expected = (GOLDEN / "help.txt").read_text(encoding="utf-8")

    got = capture.help_texts()

    assert got.splitlines() == expected.splitlines()


@pytest.mark.slow
def test_the_json_of_every_report_and_account_read_on_the_demo_is_the_golden_one(
    tmp_path: Path,
) -> None:
    expected: dict[str, Any] = capture.read_outputs(GOLDEN / "outputs.jsonl.gz")
    db = str(tmp_path / "demo.db")
    capture.build(db)

    got: dict[str, Any] = capture.outputs(db)

    assert sorted(got) == sorted(expected)
    different = [name for name in sorted(expected) if got[name] != expected[name]]
    assert different == [], f"{len(different)} outputs differ, first: {different[:5]}"
