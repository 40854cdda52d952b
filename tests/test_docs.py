"""The docs are real: docs/cli.md is generated from --help, and every `$ rnnstate ...` example
in README.md and docs/*.md shows what the command prints now. These tests fail on drift.

Regenerate both with: python tests/test_docs.py
"""

import contextlib
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rnnstate.cli import app
from rnnstate.errors import ExitCode
from rnnstate.spec import torch_installed

ROOT = Path(__file__).parent.parent
CLI_DOC = ROOT / "docs" / "cli.md"
EXAMPLE_DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
COMMANDS = ([], ["lstm"], ["gru"], ["rnn"], ["model"], ["explore"], ["replay"])
EXIT_MEANINGS = {
    ExitCode.OK: "success: the output is on stdout",
    ExitCode.BAD_DATA: "bad data: `rnnstate: error: <file>: <what is wrong>` on stderr; or a "
    "run whose numbers overflowed float32: `rnnstate: error: o is not finite ...`",
    ExitCode.BAD_USAGE: "bad usage: an unknown option, a value out of range, options in "
    "conflict, a run too large for the memory available; the usage error names the option",
    ExitCode.CHECK_FAILED: "a `--check` found the engines apart beyond tolerance",
    ExitCode.INTERRUPTED: "interrupted by Ctrl-C",
    ExitCode.TERMINATED: "ended by SIGTERM (`timeout`, `kill`), which rnnstate handles as Ctrl-C",
}
# A fenced block whose first line is `$ rnnstate ...` (no pipe): the command and what it prints.
EXAMPLE = re.compile(r"```\n\$ (rnnstate [^|\n]*)\n(.*?)```", re.S)
ELISION = "..."


def cli_reference() -> str:
    """The text docs/cli.md must hold: every command's --help, then the exit codes."""
    runner = CliRunner()
    parts = [
        "# Command-line reference\n\n"
        "Generated from `--help` by `python tests/test_docs.py`; "
        "`tests/test_docs.py` fails when it drifts.\n"
    ]
    for command in COMMANDS:
        result = runner.invoke(app, [*command, "--help"], prog_name="rnnstate", terminal_width=88)
        title = " ".join(["rnnstate", *command])
        parts.append(f"\n## `{title}`\n\n```\n{result.stdout}```\n")
    parts.append("\n## Exit codes\n\n| code | name | meaning |\n|---|---|---|\n")
    parts.extend(f"| {code.value} | `{code.name}` | {EXIT_MEANINGS[code]} |\n" for code in ExitCode)
    return "".join(parts)


def run_example(command: str, tmp: Path) -> str:
    """What `command` prints, run in `tmp` with files the docs use."""
    runner = CliRunner()
    with contextlib.chdir(tmp):
        Path("docs").mkdir(exist_ok=True)
        if not Path("docs/example").exists():
            Path("docs/example").symlink_to(ROOT / "docs" / "example")
        Path("series.csv").write_text("temperature,pressure\n0.5,1.0\n0.25,-0.5\n-1.0,0.75\n")
        Path("masked.json").write_text("[[0.5, 1.0], [0.0, 0.0], [-1.0, 0.75], [0.0, 0.0]]")
        Path("padded.json").write_text(
            "[[[0.5, 1.0], [-1.0, 0.75], [0.25, -0.5], [1.0, 1.0]],"
            " [[0.5, 1.0], [-1.0, 0.75], [0.0, 0.0], [0.0, 0.0]]]"
        )
        result = runner.invoke(app, shlex.split(command)[1:], prog_name="rnnstate")
    return result.stdout


def expected_and_actual(shown: str, actual: str) -> tuple[list[str], list[str]]:
    """The shown lines and the actual lines they stand for: with a `...` line, only the head
    before it and the tail after it are compared."""
    shown_lines, actual_lines = shown.splitlines(), actual.splitlines()
    if ELISION not in shown_lines:
        return shown_lines, actual_lines
    cut = shown_lines.index(ELISION)
    head, tail = shown_lines[:cut], shown_lines[cut + 1 :]
    kept = actual_lines[: len(head)] + [ELISION] + (actual_lines[-len(tail) :] if tail else [])
    return shown_lines, kept


def examples() -> list[tuple[Path, str, str]]:
    return [
        (doc, match.group(1), match.group(2))
        for doc in EXAMPLE_DOCS
        for match in EXAMPLE.finditer(doc.read_text())
    ]


def checked_examples() -> list:
    """The examples as test cases; one that shows the torch engine (its output differs without
    torch) is skipped, with the reason, where torch is not installed."""
    skip = pytest.mark.skipif(
        not torch_installed(),
        reason="torch is not installed and this example shows the torch engine (CI installs "
        "torch first: .ci/run)",
    )
    return [
        pytest.param(*example, marks=skip) if "torch" in example[1] + example[2] else example
        for example in examples()
    ]


def test_cli_reference_matches_help():
    assert CLI_DOC.read_text() == cli_reference()


def test_every_exit_code_is_documented():
    assert set(EXIT_MEANINGS) == set(ExitCode)


@pytest.mark.parametrize(
    ("doc", "command", "shown"), checked_examples(), ids=lambda v: str(v)[-40:]
)
def test_example_output_is_real(doc, command, shown, tmp_path):
    expected, actual = expected_and_actual(shown, run_example(command, tmp_path))
    assert actual == expected, f"{doc.name}: `{command}` prints something else now"


def refresh_examples(tmp: Path) -> None:
    """Rewrite every example's output in place, keeping its `...` elision."""
    for doc in EXAMPLE_DOCS:

        def replace(match: re.Match) -> str:
            command, shown = match.group(1), match.group(2)
            actual = run_example(command, tmp)
            _, kept = expected_and_actual(shown, actual)
            return f"```\n$ {command}\n" + "\n".join(kept) + "\n```"

        doc.write_text(EXAMPLE.sub(replace, doc.read_text()))


if __name__ == "__main__":
    import tempfile

    CLI_DOC.write_text(cli_reference())
    with tempfile.TemporaryDirectory() as tmp:
        refresh_examples(Path(tmp))
