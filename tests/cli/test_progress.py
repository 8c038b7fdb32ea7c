"""Progress on every long operation (issue 14, item 4): `demo`, `apply` and `projections
rebuild` draw a bar on stderr when it is a terminal, write nothing there otherwise, and
honour NO_COLOR; all through kamflow.cli.progress.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kamflow.cli import cli

pytestmark = pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
KAMFLOW = [sys.executable, "-m", "kamflow"]
# A foreground colour: 30-37, 90-97, or 38;5;N / 38;2;R;G;B.
COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-8]|9[0-7])[;m]")


def plain(text: str) -> str:
    """``text`` without its terminal control sequences."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def on_terminal(args: list[str], cwd: Path, *, no_color: bool) -> tuple[str, str, int]:
    """Run kamflow with stderr on a pseudo-terminal and stdout on a pipe: (stdout, what
    the terminal received, exit code)."""
    import pty

    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update(TERM="xterm-256color", COLUMNS="120", LINES="40")
    if no_color:
        env["NO_COLOR"] = "1"
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [*KAMFLOW, *args],
        stdout=subprocess.PIPE,
        stderr=follower,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        env=env,
    )
    os.close(follower)
    received = bytearray()
    while True:
        ready, _, _ = select.select([leader], [], [], 0.1)
        if ready:
            try:
                data = os.read(leader, 65536)
            except OSError:  # the other end closed
                break
            if not data:
                break
            received += data
        elif process.poll() is not None:
            break
    assert process.stdout is not None
    out = process.stdout.read().decode()
    code = process.wait(timeout=60)
    os.close(leader)
    return out, received.decode(errors="replace"), code


def apply_file(folder: Path, accounts: int = 30) -> Path:
    path = folder / "lines.jsonl"
    lines = [
        {"command": "account open", "account": f"a{i}", "name": f"客户 {i}", "industry": "feed",
         "owner": "li.wei", "on": "2026-01-05"}
        for i in range(accounts)
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n")
    return path


@pytest.mark.slow
@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "NO_COLOR"])
def test_demo_apply_and_rebuild_draw_a_bar_on_a_terminal(tmp_path: Path, no_color: bool) -> None:
    demo_out, demo_bar, demo_code = on_terminal(
        ["--db", "d.db", "demo", "--accounts", "3"], tmp_path, no_color=no_color
    )
    apply_out, apply_bar, apply_code = on_terminal(
        ["--db", "a.db", "apply", str(apply_file(tmp_path))], tmp_path, no_color=no_color
    )
    rebuild_out, rebuild_bar, rebuild_code = on_terminal(
        ["--db", "d.db", "projections", "rebuild"], tmp_path, no_color=no_color
    )

    assert (demo_code, apply_code, rebuild_code) == (0, 0, 0)
    # Each answer is on stdout as ever; the bar was on the terminal.
    assert demo_out.startswith("Demo portfolio written to d.db")
    assert apply_out == "applied 30 commands\n"
    assert rebuild_out.startswith("rebuilt accounts, people")
    assert "building the demo" in plain(demo_bar)
    assert "updating views" in plain(demo_bar)
    assert "applying" in plain(apply_bar) and "30/30 lines" in plain(apply_bar)
    assert "rebuilding" in plain(rebuild_bar) and " events" in plain(rebuild_bar)
    # The bar is erased at the end: the cursor comes back, nothing of it stays.
    assert demo_bar.endswith("\x1b[2K")
    coloured = [bool(COLOUR.search(bar)) for bar in (demo_bar, apply_bar, rebuild_bar)]
    assert coloured == [not no_color] * 3


def test_nothing_is_written_to_stderr_when_it_is_not_a_terminal(tmp_path: Path) -> None:
    db = str(tmp_path / "k.db")

    def kam(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, ["--db", db, *args], catch_exceptions=False)
        return result.exit_code, result.stderr

    assert kam("demo", "--accounts", "2") == (0, "")
    # lin.feng: the demo's admin and a KAM (its first writer).
    assert kam("--actor", "lin.feng", "apply", str(apply_file(tmp_path, 3))) == (0, "")
    assert kam("projections", "rebuild") == (0, "")
