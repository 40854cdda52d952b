"""Every engine with every view: no traceback, exit 0, and the view's output where it belongs
(#24: `rnnstate lstm --gates --engine torch` once died with `max() arg is an empty sequence`)."""

import json

import pytest
from needs import needs_torch
from typer.testing import CliRunner

from rnnstate.cli import app

runner = CliRunner()
ENGINES = [
    "keras",
    "numpy",
    pytest.param("torch", marks=needs_torch),
]
VIEWS = {  # a view's name and the options that ask for it
    "tables": [],
    "--sequences": ["--sequences"],
    "--gates": ["--gates"],
    "--heatmap": ["--heatmap"],
    "--explain": ["--explain", "2"],
    "--json": ["--json"],
    "--plot": ["--plot", "{tmp}/run.png"],
    "--gates --heatmap": ["--gates", "--heatmap", "--sequences"],
    "--gates --json": ["--gates", "--json"],
    "--gates --plot": ["--gates", "--plot", "{tmp}/run.svg"],
    "--explain --json": ["--explain", "1", "--unit", "0", "--json"],
}


def run_view(tmp_path, cell: str, engine: str, view: str):
    options = [option.format(tmp=tmp_path) for option in VIEWS[view]]
    result = runner.invoke(app, [cell, "-T", "4", "--seed", "0", "--engine", engine, *options])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 0, result.stderr
    return result


@pytest.mark.parametrize("view", list(VIEWS))
@pytest.mark.parametrize("engine", ENGINES)
def test_every_engine_gives_every_view_of_an_lstm(tmp_path, engine, view):
    result = run_view(tmp_path, "lstm", engine, view)
    assert result.stdout.strip()
    if "--json" in view:
        document = json.loads(result.stdout)
        assert document["engine"] == engine
        assert ("gates" in document) == ("--gates" in view)
    elif "--plot" not in view:
        assert result.stdout.startswith(f"LSTM on the {engine} engine")
    if "--plot" in view:
        [written] = [o for o in VIEWS[view] if "{tmp}" in o]
        path = written.format(tmp=tmp_path)
        assert result.stderr == f"wrote {path}\n"
        assert (tmp_path / path.rsplit("/", 1)[1]).stat().st_size > 0


@pytest.mark.parametrize("view", ["--gates", "--explain"])
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_every_engine_traces_a_gru_and_a_simple_rnn(tmp_path, cell, engine, view):
    result = run_view(tmp_path, cell, engine, view)
    assert "Inside the cell, step by step" in result.stdout or "t=2" in result.stdout


@needs_torch
def test_the_torch_engines_trace_is_checked_against_numpy(tmp_path):
    result = run_view(tmp_path, "lstm", "torch", "--gates")
    lines = result.stdout.splitlines()
    traced = lines.index("traced by the numpy engine on the same weights and input;")
    assert lines[traced + 1].startswith("✓ its outputs and states are within ")
    assert lines[traced + 1].endswith(" of the torch engine's")
