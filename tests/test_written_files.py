"""The files a run writes (--plot, --output, --save-weights) are named on stderr, never on
stdout, where a pipe reads the run's output."""

import json

from typer.testing import CliRunner

from rnnstate.cli import app

runner = CliRunner()


def test_each_file_written_is_named_on_stderr_and_stdout_stays_the_document(tmp_path):
    weights, output, plot = tmp_path / "w.npz", tmp_path / "run.npz", tmp_path / "run.svg"
    result = runner.invoke(app, ["gru", "--seed", "0", "--engine", "numpy", "--json",
                                 "--save-weights", str(weights), "--output", str(output),
                                 "--plot", str(plot)])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"wrote {weights}\nwrote {output}\nwrote {plot}\n"
    assert json.loads(result.stdout)["cell"] == "gru"  # one JSON document, nothing else
    assert weights.exists() and output.exists() and plot.exists()


def test_nothing_is_said_written_when_a_run_writes_no_file():
    result = runner.invoke(app, ["lstm", "--seed", "0", "--engine", "numpy"])
    assert result.exit_code == 0 and result.stderr == ""
