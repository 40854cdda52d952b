"""Own data through the command line: input and weight files, batches, saved results."""

import json
import os

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from typer.testing import CliRunner

from rnnstate.cli import app

runner = CliRunner()


def invoke(*args: str, stdin: str | None = None):
    return runner.invoke(app, list(args), input=stdin)


def save_x(tmp_path, array, name="x.npy") -> str:
    path = tmp_path / name
    np.save(path, np.asarray(array, dtype=np.float32))
    return str(path)


def json_of(*args: str, stdin: str | None = None) -> dict:
    result = invoke(*args, "--json", stdin=stdin)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


X = np.random.default_rng(5).standard_normal((3, 6, 2)).astype(np.float32)  # (N, T, D)


def test_sizes_come_from_the_input_file(tmp_path):
    doc = json_of("gru", "--input", save_x(tmp_path, X), "--seed", "0")
    assert doc["config"]["steps"] == 6 and doc["config"]["features"] == 2
    assert doc["config"]["batch"] == 3
    assert_array_equal(np.array(doc["x"], dtype=np.float32), X)
    assert np.array(doc["h"]).shape == (3, 3)


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_text_formats(tmp_path, suffix):
    path = tmp_path / f"x{suffix}"
    if suffix == ".csv":
        path.write_text("f0,f1\n" + "\n".join(f"{a},{b}" for a, b in X[0]))
    else:
        path.write_text(json.dumps(X[0].tolist()))
    doc = json_of("rnn", "--input", str(path), "--seed", "0")
    assert_array_equal(np.array(doc["x"], dtype=np.float32), X[:1])


def test_json_on_stdin():
    doc = json_of("lstm", "--input", "-", "--seed", "0", stdin="[[1, 2], [3, 4], [5, 6]]")
    assert doc["x"] == [[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]]


def test_option_in_conflict_with_the_file_names_both(tmp_path):
    path = save_x(tmp_path, X)
    result = invoke("lstm", "--input", path, "-T", "5")
    assert result.exit_code == 2
    assert f"Invalid value for '--steps': -T 5 conflicts with {path}, which has T=6" in (
        result.stderr
    )
    result = invoke("lstm", "--input", path, "-D", "3")
    assert result.exit_code == 2 and f"-D 3 conflicts with {path}, which has D=2" in result.stderr


def test_options_that_agree_with_the_file_are_fine(tmp_path):
    assert invoke("lstm", "--input", save_x(tmp_path, X), "-T", "6", "-N", "3").exit_code == 0


def test_bad_input_file_exits_1_with_one_line(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("[[1, 2], [3]]")
    result = invoke("lstm", "--input", str(path))
    assert result.exit_code == 1
    assert result.stderr == (
        f"rnnstate: error: {path}: is ragged: its lists have different lengths; expected "
        "(T, D) or (N, T, D)\n"
    )
    assert result.stdout == ""


def test_batch_shows_one_block_per_sequence(tmp_path):
    result = invoke("lstm", "--input", save_x(tmp_path, X), "--seed", "0")
    assert result.exit_code == 0
    assert [line for line in result.stdout.splitlines() if line.startswith("sequence")] == [
        "sequence n=0 of N=3",
        "sequence n=1 of N=3",
        "sequence n=2 of N=3",
    ]


def test_batch_of_one_has_no_sequence_heading(tmp_path):
    result = invoke("lstm", "--input", save_x(tmp_path, X[:1]), "--seed", "0")
    assert "sequence n=" not in result.stdout


def test_only_shows_one_sequence(tmp_path):
    result = invoke("lstm", "--input", save_x(tmp_path, X), "--seed", "0", "--only", "1")
    assert result.exit_code == 0
    assert "sequence n=1 of N=3" in result.stdout and "sequence n=0" not in result.stdout


def test_only_out_of_range_exits_2(tmp_path):
    result = invoke("lstm", "--input", save_x(tmp_path, X), "--only", "3")
    assert result.exit_code == 2
    assert "Invalid value for '--only': 3 is not a sequence: N=3 (0 to 2)" in result.stderr


# ------------------------------------------------------------------------------ weights


def test_save_weights_then_weights_gives_the_same_json_but_its_source(tmp_path):
    weights = str(tmp_path / "w.npz")
    first = invoke("gru", "--seed", "4", "--sequences", "--save-weights", weights, "--json")
    second = invoke("gru", "--seed", "4", "--sequences", "--weights", weights, "--json")
    assert first.exit_code == second.exit_code == 0
    said = f'"sources":{{"input":null,"weights":{json.dumps(weights)},"layout":"keras",'
    assert second.stdout.replace(said, '"sources":{"input":null,"weights":null,"layout":null,') \
        == first.stdout  # fmt: skip
    with np.load(weights) as saved:
        assert sorted(saved.files) == ["bias", "kernel", "recurrent_kernel"]
        assert saved["bias"].shape == (2, 9)


def test_units_come_from_the_weights_file(tmp_path):
    weights = str(tmp_path / "w.npz")
    invoke("lstm", "--seed", "0", "-M", "5", "-D", "4", "--save-weights", weights)
    doc = json_of("lstm", "--weights", weights, "--seed", "0")
    assert doc["config"]["units"] == 5 and doc["config"]["features"] == 4
    result = invoke("lstm", "--weights", weights, "-M", "3")
    assert result.exit_code == 2
    assert f"-M 3 conflicts with {weights}, which has M=5" in result.stderr


def test_weights_without_bias_mean_use_bias_false(tmp_path):
    weights = str(tmp_path / "w.npz")
    assert invoke("rnn", "--seed", "0", "--no-bias", "--save-weights", weights).exit_code == 0
    with np.load(weights) as saved:
        assert sorted(saved.files) == ["kernel", "recurrent_kernel"]
    doc = json_of("rnn", "--weights", weights, "--seed", "0")
    assert doc["config"]["use_bias"] is False


def test_kernel_that_does_not_fit_the_input(tmp_path):
    weights = str(tmp_path / "w.npz")
    invoke("lstm", "--seed", "0", "-D", "4", "--save-weights", weights)
    result = invoke("lstm", "--weights", weights, "--input", save_x(tmp_path, X))
    assert result.exit_code == 1
    assert result.stderr == (
        f"rnnstate: error: {weights}: kernel has shape (4, 12); the input has D=2 features, so "
        "it needs (2, 12)\n"
    )


def test_gru_bias_of_the_other_variant(tmp_path):
    weights = str(tmp_path / "w.npz")
    invoke("gru", "--seed", "0", "--reset-before", "--save-weights", weights)
    result = invoke("gru", "--weights", weights)
    assert result.exit_code == 1
    assert "bias has shape (9,); a GRU with reset_after=False" not in result.stderr
    assert (
        "bias has shape (9,); a GRU with reset_after needs (2, 9) — use --reset-before for (9,)"
        in result.stderr
    )


def test_trained_keras_layer_weights_reproduce_keras(tmp_path):
    """Fidelity: a Keras layer with its own random initialisers, saved with get_weights()."""
    import keras

    layer = keras.layers.GRU(4, return_sequences=True, seed=7)  # Keras draws its own weights
    x = np.random.default_rng(2).standard_normal((2, 9, 3)).astype(np.float32)
    expected = np.asarray(layer(x))
    kernel, recurrent_kernel, bias = layer.get_weights()
    weights = tmp_path / "trained.npz"
    np.savez(weights, kernel=kernel, recurrent_kernel=recurrent_kernel, bias=bias)
    doc = json_of(
        "gru",
        "--weights",
        str(weights),
        "--input",
        save_x(tmp_path, x),
        "--sequences",
        "--seed",
        "0",
    )
    assert_allclose(np.array(doc["o"]), expected, rtol=0, atol=1e-6)


# ------------------------------------------------------------------------------ saved results


def test_output_npz_loads_back_to_the_same_arrays(tmp_path):
    output = tmp_path / "run.npz"
    doc = json_of("lstm", "--seed", "2", "--sequences", "--gates", "--output", str(output))
    with np.load(output) as saved:
        assert_array_equal(saved["x"], np.array(doc["x"], dtype=np.float32))
        assert_array_equal(saved["o"], np.array(doc["o"], dtype=np.float32))
        assert_array_equal(saved["h"], np.array(doc["h"], dtype=np.float32))
        assert_array_equal(saved["c"], np.array(doc["c"], dtype=np.float32))
        assert_array_equal(saved["gates.f"], np.array(doc["gates"]["f"], dtype=np.float32))
        assert json.loads(str(saved["config"])) == doc["config"]


def test_output_json_is_the_json_document(tmp_path):
    output = tmp_path / "run.json"
    result = invoke("rnn", "--seed", "1", "--output", str(output), "--json")
    assert output.read_bytes() == result.stdout_bytes


def test_json_document_fed_back_gives_the_same_x(tmp_path):
    output = tmp_path / "run.json"
    invoke("gru", "--seed", "3", "-T", "5", "--output", str(output))
    again = json_of("gru", "--input", str(output), "--seed", "3")
    assert again["x"] == json.loads(output.read_text())["x"]
    assert again["h"] == json.loads(output.read_text())["h"]


def test_output_with_unknown_extension_exits_2_before_running(tmp_path):
    result = invoke("lstm", "--output", str(tmp_path / "run.txt"))
    assert result.exit_code == 2
    assert "Invalid value for '--output'" in result.stderr
    assert os.listdir(tmp_path) == []


def test_failed_run_leaves_an_existing_output_untouched(tmp_path):
    output = tmp_path / "run.json"
    output.write_text("precious")
    bad = tmp_path / "x.csv"
    bad.write_text("1,2\n3\n")
    result = invoke("lstm", "--input", str(bad), "--output", str(output))
    assert result.exit_code == 1
    assert output.read_text() == "precious"
    assert sorted(os.listdir(tmp_path)) == ["run.json", "x.csv"]


def test_output_into_a_missing_folder_is_a_clean_error(tmp_path):
    output = tmp_path / "missing" / "run.json"
    result = invoke("rnn", "--seed", "0", "--output", str(output))
    assert result.exit_code == 1
    assert (
        result.stderr
        == f"rnnstate: error: {output}: cannot be written: no folder {str(output.parent)!r}\n"
    )
