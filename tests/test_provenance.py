"""Every result says where its numbers came from, and a saved result replays to the same digits."""

import json

import numpy as np
import pytest
from needs import needs_torch
from numpy.testing import assert_array_equal
from typer.testing import CliRunner

from rnnstate.cli import app

runner = CliRunner()
MODEL = "docs/example/sentiment.keras"
REVIEWS = "docs/example/reviews.npy"


def invoke(*args: str):
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    return result


def source_line(text: str) -> str:
    """The header's first line, where the numbers came from, however the terminal wrapped it."""
    return " ".join(text.split("\nGRU on")[0].split())


def json_of(*args: str) -> dict:
    return json.loads(invoke(*args, "--json").stdout)


@pytest.fixture
def files(tmp_path):
    """An input, Keras weights and PyTorch weights of a GRU with M=3, D=2, and initial states."""
    x = np.random.default_rng(5).standard_normal((2, 6, 2)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    numpy = ("--engine", "numpy")
    invoke("gru", "--seed", "1", "--save-weights", str(tmp_path / "w.npz"), *numpy)
    invoke("gru", "--seed", "1", "--save-weights", str(tmp_path / "wt.npz"), "--layout", "torch",
           *numpy)  # fmt: skip
    states = np.random.default_rng(6).standard_normal((2, 3)).astype(np.float32)
    np.savez(tmp_path / "h0.npz", h=states)
    return tmp_path


def test_a_run_from_files_names_them_and_no_seed(files):
    x, w, h0 = (str(files / name) for name in ("x.npy", "wt.npz", "h0.npz"))
    doc = json_of("gru", "--input", x, "--weights", w, "--initial-state", h0, "--seed", "9",
                  "--engine", "numpy")  # fmt: skip
    assert doc["config"]["seed"] is None
    assert doc["config"]["sources"] == {
        "input": x,
        "weights": w,
        "layout": "torch",
        "prefix": None,
        "torch_layer": None,
        "initial_state": h0,
    }
    text = invoke("gru", "--input", x, "--weights", w, "--initial-state", h0, "--engine",
                  "numpy").stdout  # fmt: skip
    assert source_line(text) == f"input {x}; weights {w} (PyTorch state dict); initial state {h0}"
    assert "seed=" not in text


@needs_torch
def test_torch_prefix_and_layer_are_named(files):
    import torch

    module = torch.nn.GRU(2, 3, num_layers=2)
    state = {f"encoder.rnn.{k}": v.detach().numpy() for k, v in module.state_dict().items()}
    np.savez(files / "model.npz", **state)
    path = str(files / "model.npz")
    doc = json_of("gru", "--weights", path, "--prefix", "encoder.rnn.", "--torch-layer", "1",
                  "--seed", "2", "-D", "3", "--engine", "numpy")  # fmt: skip
    sources = doc["config"]["sources"]
    assert (sources["layout"], sources["prefix"], sources["torch_layer"]) == (
        "torch", "encoder.rnn.", 1)  # fmt: skip
    assert doc["config"]["seed"] == 2  # the input was drawn from it
    text = invoke("gru", "--weights", path, "--prefix", "encoder.rnn.", "--torch-layer", "1",
                  "--seed", "2", "-D", "3", "--engine", "numpy").stdout  # fmt: skip
    layout = "PyTorch state dict, prefix 'encoder.rnn.', layer 1"
    assert source_line(text) == f"weights {path} ({layout})"


def test_a_seeded_run_keeps_its_seed_and_names_no_file():
    doc = json_of("lstm", "--seed", "4", "--engine", "numpy")
    assert doc["config"]["seed"] == 4
    assert set(doc["config"]["sources"].values()) == {None}


def test_a_models_layer_on_its_input_prints_no_seed():
    text = invoke("model", MODEL, "--layer", "lstm", "--input", REVIEWS).stdout
    assert "seed=" not in text
    doc = json_of("model", MODEL, "--layer", "lstm", "--input", REVIEWS)
    assert doc["config"]["seed"] is None
    assert doc["config"]["sources"]["input"] == REVIEWS


def replayed(path) -> tuple[dict, str]:
    """The replay of a saved result as JSON, and what it said on stderr."""
    result = runner.invoke(app, ["replay", str(path), "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout), result.stderr


REPLAYED = {
    "seeded": ["lstm", "--seed", "3", "--sequences", "--gates"],
    "files": ["gru", "--input", "{x}", "--weights", "{w}", "--initial-state", "{h0}",
              "--sequences"],
    "pytorch": ["gru", "--input", "{x}", "--weights", "{wt}", "--gates", "--engine", "numpy"],
    "masked": ["rnn", "--input", "{padded}", "--mask-value", "0", "--sequences", "--seed", "1",
               "--engine", "numpy"],
    "bidirectional": ["lstm", "--bidirectional", "--sequences", "--gates", "--seed", "8", "-N", "2",
                      "--engine", "numpy"],
    "model": ["model", MODEL, "--layer", "lstm", "--input", REVIEWS, "--sequences", "--gates"],
}


@pytest.mark.parametrize("kind", list(REPLAYED))
@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_a_saved_result_replays_to_the_last_digit(files, kind, suffix):
    padded = np.ones((2, 5, 2), dtype=np.float32)
    padded[0, 3:] = 0
    np.save(files / "padded.npy", padded)
    given = {"x": "x.npy", "w": "w.npz", "wt": "wt.npz", "h0": "h0.npz", "padded": "padded.npy"}
    names = {name: str(files / file) for name, file in given.items()}
    saved = files / f"run{suffix}"
    first = json_of(*(arg.format(**names) for arg in REPLAYED[kind]), "--output", str(saved))
    (files / "x.npy").unlink()  # the replay needs nothing but the saved result
    again, said = replayed(saved)
    assert "equal the saved ones bit for bit" in said
    arrays = [k for k in first if k in ("o", "h", "c", "h_fw", "c_fw", "h_bw", "c_bw")]
    for name in arrays:
        assert again[name] == first[name], name
    assert again.get("gates") == first.get("gates")
    assert again["config"] == first["config"]
    if kind == "model":
        assert again["config"]["model"]["layer"] == "lstm"
        assert "masked_steps" in again


def test_a_changed_saved_output_fails_the_replay(tmp_path):
    saved = tmp_path / "run.npz"
    invoke("lstm", "--seed", "3", "--output", str(saved), "--engine", "numpy")
    with np.load(saved) as archive:
        arrays = dict(archive)
    arrays["h"] = arrays["h"] + np.float32(1e-3)
    np.savez(saved, **arrays)
    result = runner.invoke(app, ["replay", str(saved)])
    assert result.exit_code == 3
    assert "differ from the saved ones: h" in result.stderr


def test_an_older_result_is_refused_by_name(tmp_path):
    path = tmp_path / "old.json"
    path.write_text('{"schema": "rnnstate/2", "x": [[[1.0]]]}')
    result = runner.invoke(app, ["replay", str(path)])
    assert result.exit_code == 1
    assert "is a rnnstate/2 result, written before results held their weights" in result.stderr


def test_the_saved_npz_holds_the_weights_and_initial_state(files):
    saved = files / "run.npz"
    invoke("gru", "--input", str(files / "x.npy"), "--weights", str(files / "w.npz"),
           "--initial-state", str(files / "h0.npz"), "--output", str(saved), "--engine",
           "numpy")  # fmt: skip
    with np.load(saved) as archive, np.load(files / "w.npz") as weights, \
            np.load(files / "h0.npz") as states:  # fmt: skip
        assert_array_equal(archive["weights.kernel"], weights["kernel"])
        assert_array_equal(archive["weights.bias"], weights["bias"])
        assert_array_equal(archive["initial_state.h"], states["h"])
        assert (str(archive["cell"]), str(archive["engine"])) == ("gru", "numpy")


def test_a_replay_names_only_the_arrays_it_compared(tmp_path):
    saved = tmp_path / "run.npz"
    invoke("lstm", "--seed", "3", "--output", str(saved), "--engine", "numpy")
    result = runner.invoke(app, ["replay", str(saved)])
    assert result.exit_code == 0
    assert f"rnnstate: replayed {saved}: o, h, c equal the saved ones bit for bit\n" in (
        result.stderr
    )
