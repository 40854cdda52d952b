"""One label per number, tables that can show everything, errors that carry the real reason,
and help texts that say what each option does."""

import json
import re

import numpy as np
from typer.testing import CliRunner

from rnnstate.cli import app

runner = CliRunner()
MODEL = "docs/example/sentiment.keras"


def invoke(*args: str, ok: bool = True):
    result = runner.invoke(app, list(args), terminal_width=200)
    if ok:
        assert result.exit_code == 0, result.stderr
    return result


def one_line(text: str) -> str:
    """The text as one line: help's box borders dropped, whitespace collapsed."""
    return " ".join(text.replace("│", " ").split())


def row_labels(text: str, title: str) -> list[str]:
    """The t column of the table titled `title`."""
    table = text.split(f"\n{title}")[1].split("└")[0]
    return re.findall(r"^│\s*(\d+) │", table, re.M)


def test_a_masked_runs_output_and_state_name_the_same_step(tmp_path):
    x = np.ones((1, 12, 2), dtype=np.float32)
    x[0, 3:] = 0  # steps 3..11 are padding: the layer reads t=0..2
    np.save(tmp_path / "x.npy", x)
    text = invoke("gru", "--input", str(tmp_path / "x.npy"), "--mask-value", "0", "--seed", "1",
                  "--engine", "numpy").stdout  # fmt: skip
    assert row_labels(text, "o  output after the last step only") == ["2"]
    assert row_labels(text, "h  final hidden state") == ["2"]


def test_the_output_gate_is_og_next_to_the_output_o():
    doc = json.loads(invoke("lstm", "--seed", "0", "--gates", "--engine", "numpy",
                            "--json").stdout)  # fmt: skip
    assert list(doc["gates"]) == ["i", "f", "g", "og", "c_t", "h_t"]
    text = invoke("lstm", "--seed", "0", "--gates", "--engine", "numpy").stdout
    assert "\nog  output gate, sigmoid" in text


def test_return_sequences_is_the_same_option_as_sequences():
    doc = json.loads(invoke("rnn", "--seed", "0", "--return-sequences", "--engine", "numpy",
                            "--json").stdout)  # fmt: skip
    assert doc["config"]["return_sequences"] is True
    assert np.array(doc["o"]).shape == (1, 8, 3)


def test_elided_tables_say_how_to_see_the_rest_and_full_shows_it():
    args = ("lstm", "-M", "32", "-T", "40", "--sequences", "--seed", "0", "--engine", "numpy")
    elided = invoke(*args).stdout
    assert "⋮ 24 of 40 steps hidden: --full shows all" in elided
    assert re.search(r"⋮ \d+ of 32 units, 24 of 40 steps hidden: --full shows all", elided)
    assert " u15 " not in elided
    full = invoke(*args, "--full").stdout
    assert "--full shows all" not in full and "⋮" not in full
    assert " u15 " in full
    assert row_labels(full, "o  output at every step") == [str(t) for t in range(40)]


def test_gru_weights_given_to_lstm_say_to_try_gru(tmp_path):
    weights = str(tmp_path / "w.npz")
    invoke("gru", "--seed", "0", "--save-weights", weights, "--engine", "numpy")
    result = invoke("lstm", "--weights", weights, ok=False)
    assert result.exit_code == 1
    assert result.stderr.strip().endswith(
        "recurrent_kernel has shape (3, 9); an LSTM needs (M, 4M); these look like a GRU's "
        "weights: try rnnstate gru"
    )


def test_lstm_pytorch_weights_given_to_rnn_say_to_try_lstm(tmp_path):
    weights = str(tmp_path / "w.npz")
    invoke("lstm", "--seed", "0", "--save-weights", weights, "--layout", "torch", "--engine",
           "numpy")  # fmt: skip
    result = invoke("rnn", "--weights", weights, ok=False)
    assert result.exit_code == 1
    assert "these look like an nn.LSTM's: try rnnstate lstm" in result.stderr


def test_a_token_id_outside_the_vocabulary_is_named(tmp_path):
    ids = np.ones((3, 12), dtype=np.int64)
    ids[2, 4] = 5000
    np.save(tmp_path / "ids.npy", ids)
    result = invoke("model", MODEL, "--layer", "lstm", "--input", str(tmp_path / "ids.npy"),
                    ok=False)  # fmt: skip
    assert result.exit_code == 1
    assert one_line(result.stderr).endswith(
        "the model cannot run on it: token id 5000 (sequence n=2, step t=4) is not in the "
        "vocabulary of layer 'embedding': ids 0 to 9"
    )
    assert len(result.stderr.strip().splitlines()) == 1


def test_model_help_says_the_seed_draws_only_the_input():
    text = one_line(invoke("model", "--help").stdout)
    assert "Seed for the input when neither --input nor --layer-input gives it" in text
    assert "Seed for the weights" not in text


def test_explore_help_says_what_its_own_options_do():
    text = one_line(invoke("explore", "--help").stdout)
    heatmap = text.split("--heatmap ")[1].split(" --", 1)[0]
    assert heatmap.startswith("Open on the heatmaps of x, o and the gates")
    layer = text.split("--layer NAME ")[1][:200]
    assert layer.startswith("With --model: the recurrent layer to explore")
    assert "`model` lists" not in layer


def test_prefix_and_torch_layer_without_weights_are_refused():
    for option, value in (("--prefix", "rnn."), ("--torch-layer", "1")):
        result = invoke("lstm", "--engine", "numpy", option, value, ok=False)
        assert result.exit_code == 2
        assert f"{option} says where in --weights the layer is; give both" in result.stderr
