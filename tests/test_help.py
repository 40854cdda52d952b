"""The help: options grouped under the same headings in every command, each option in exactly
one group, examples that run, and shell completion of choices and names."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from rnnstate.activations import NAMES
from rnnstate.cli import app
from rnnstate.options import GROUPS, HELP

runner = CliRunner()
RNNSTATE = str(Path(sys.executable).parent / "rnnstate")  # the installed command
COMMANDS = ("lstm", "gru", "rnn")


def help_text(*command: str) -> str:
    result = runner.invoke(app, [*command, "--help"], prog_name="rnnstate", terminal_width=100)
    assert result.exit_code == 0
    return result.stdout


def headings(text: str) -> list[str]:
    return [line[:-1] for line in text.splitlines() if line.endswith(":") and line[0] != " "]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_is_in_exactly_one_group(command):
    click_command = typer.main.get_command(app).commands[command]
    text = help_text(command)
    for param in click_command.params:
        group = getattr(param, "rich_help_panel", None)
        assert group in GROUPS and group != HELP, param.name
        name = next(opt for opt in param.opts if opt.startswith("--"))  # aliases follow it
        listed = re.findall(rf"(?m)^  (?:-\w, )?{re.escape(name)}(?=[\s/,])", text)
        assert len(listed) == 1, name


def test_groups_come_in_the_same_order_in_every_command():
    orders = {command: headings(help_text(command)) for command in COMMANDS}
    expected = [*GROUPS, "Examples"]
    assert all(order == expected for order in orders.values()), orders


def examples(command: str) -> list[str]:
    text = help_text(command)
    block = text[text.index("Examples:") :].splitlines()[1:]
    return [line.split("#")[0].strip() for line in block if line.strip()]


@pytest.mark.parametrize(
    "example", [e for command in COMMANDS for e in examples(command)], ids=lambda e: e[:50]
)
def test_each_example_in_the_help_runs(example):
    words = shlex.split(example)
    assert words[0] == "rnnstate"
    if "--engine" not in words and "--check" not in words:
        words += ["--engine", "numpy"]  # quick: no TensorFlow where the example allows
    result = runner.invoke(app, words[1:])
    assert result.exit_code == 0, (example, result.stderr)


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_three_or_four_examples(command):
    assert 3 <= len(examples(command)) <= 4


def test_root_help_says_what_each_command_is_for_and_points_to_the_docs():
    text = help_text()
    assert "Docs: README.md and docs/" in text
    for command, layer in (
        ("lstm", "Keras LSTM: "),
        ("gru", "Keras GRU: "),
        ("rnn", "Keras SimpleRNN: "),
    ):
        assert re.search(rf"(?m)^  {command}\s+{layer}", text)
    assert "--install-completion" in text and "--show-completion" in text


def complete(words: str) -> list[str]:
    env = {**os.environ, "_RNNSTATE_COMPLETE": "complete_bash", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1))}  # fmt: skip
    process = subprocess.run([RNNSTATE], env=env, capture_output=True, text=True, check=False)
    return process.stdout.split()


def test_completion_offers_activations_choices_and_leaves_paths_to_the_shell():
    assert complete("rnnstate lstm --activation re") == ["relu", "relu6"]
    assert complete("rnnstate gru --recurrent-activation hard_si") == ["hard_sigmoid", "hard_silu"]
    assert complete("rnnstate lstm --engine ") == ["keras", "numpy", "torch", "exact"]
    assert complete("rnnstate lstm --merge ") == ["concat", "sum", "mul", "ave", "none"]
    assert complete("rnnstate lstm --layout ") == ["keras", "torch"]
    assert complete("rnnstate lstm --input ") == []  # bash's -o default completes file names
    assert set(NAMES) == set(complete("rnnstate lstm --activation "))


def test_completion_script_is_there_for_bash_zsh_and_fish():
    env = {**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    for shell, marker in (("bash", "complete -o default"), ("zsh", "compdef"),
                          ("fish", "complete --command rnnstate")):  # fmt: skip
        process = subprocess.run([RNNSTATE, "--show-completion", shell], env=env,
                                 capture_output=True, text=True, check=False)  # fmt: skip
        assert marker in process.stdout, (shell, process.stdout[:300], process.stderr[-300:])
