"""docs/cli.md is generated from --help; this test fails when the two drift apart.

Regenerate with: python tests/test_docs.py
"""

from pathlib import Path

from typer.testing import CliRunner

from rnnstate.cli import app
from rnnstate.errors import ExitCode

CLI_DOC = Path(__file__).parent.parent / "docs" / "cli.md"
COMMANDS = ([], ["lstm"], ["gru"], ["rnn"])
EXIT_MEANINGS = {
    ExitCode.OK: "success: the output is on stdout",
    ExitCode.BAD_DATA: "bad data: `rnnstate: error: <file>: <what is wrong>` on stderr",
    ExitCode.BAD_USAGE: "bad usage: an unknown option, a value out of range, a run too large "
    "for the memory available; the usage error names the option",
    ExitCode.CHECK_FAILED: "a `--check` found the engines apart beyond tolerance",
    ExitCode.INTERRUPTED: "interrupted by Ctrl-C",
}


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
        parts.append(
            f"\n## `rnnstate {' '.join(command)}`\n\n```\n{result.stdout}```\n".replace(
                "`rnnstate `", "`rnnstate`"
            )
        )
    parts.append("\n## Exit codes\n\n| code | name | meaning |\n|---|---|---|\n")
    parts.extend(f"| {code.value} | `{code.name}` | {EXIT_MEANINGS[code]} |\n" for code in ExitCode)
    return "".join(parts)


def test_cli_reference_matches_help():
    assert CLI_DOC.read_text() == cli_reference()


def test_every_exit_code_is_documented():
    assert set(EXIT_MEANINGS) == set(ExitCode)


if __name__ == "__main__":
    CLI_DOC.write_text(cli_reference())
