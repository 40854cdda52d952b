"""rnnstate model: saved Keras models built and trained briefly here, each inspected layer's
o, h (and c) against what Keras gives for that layer inside its model; files refused."""

import json
import os
import zipfile

import numpy as np
import pytest
from numpy.testing import assert_allclose
from typer.testing import CliRunner

from rnnstate.cli import app

os.environ["KERAS_BACKEND"] = "tensorflow"
keras = pytest.importorskip("keras")

runner = CliRunner()
T, VOCABULARY = 7, 12


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def trained(model, inputs, rng):
    """`model` after one short epoch of training on random targets (weights off their init)."""
    model.compile(optimizer="adam", loss="mse")
    targets = rng.standard_normal((inputs[0].shape[0], *model.output_shape[1:])).astype("f")
    model.fit(inputs, targets, epochs=1, batch_size=8, verbose=0)
    return model


def tokens(rng, n=6):
    """Token ids (n, T), each row padded with zeros after a random length (the last unpadded)."""
    ids = rng.integers(1, VOCABULARY, size=(n, T)).astype("int32")
    for row, length in enumerate(rng.integers(2, T, size=n - 1)):
        ids[row, length:] = 0
    return ids


def floats_with_padding(rng, n=5, features=3):
    """Float input (n, T, features) whose rows end in all-zero steps (Masking(0.0) skips them)."""
    x = rng.standard_normal((n, T, features)).astype("float32")
    x[0, 4:] = 0.0
    x[2, 2:] = 0.0
    return x


def build_models(directory):
    """Every model of the tests, saved in `directory`: name -> (path, input array)."""
    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)
    L = keras.layers
    made = {}

    ids = tokens(rng)
    sequential = keras.Sequential(
        [
            keras.Input((T,), dtype="int32"),
            L.Embedding(VOCABULARY, 4, mask_zero=True),
            L.LSTM(5, return_sequences=True, name="first"),
            L.GRU(3, activation="relu", recurrent_activation="hard_sigmoid", name="second"),
            L.Dense(1),
        ]
    )
    made["stacked"] = (trained(sequential, [ids], rng), ids)

    x = floats_with_padding(rng)
    inputs = keras.Input((T, 3), name="signal")
    masked = L.Masking(0.0)(inputs)
    both = L.Bidirectional(L.LSTM(4, return_sequences=True), merge_mode="sum", name="both")(masked)
    last = L.SimpleRNN(2, go_backwards=True, name="simple")(both)
    functional = keras.Model(inputs, L.Dense(1)(last))
    made["functional"] = (trained(functional, [x], rng), x)

    inner = keras.Sequential(
        [keras.Input((None, 4)), L.GRU(3, return_sequences=True, reset_after=False, name="g")],
        name="inner",
    )
    ids_nested = tokens(rng)
    token_input = keras.Input((None,), dtype="int32", name="tokens")
    embedded = L.Embedding(VOCABULARY, 4, mask_zero=True)(token_input)
    outer_out = L.Bidirectional(L.LSTM(2), merge_mode=None, name="bi")(inner(embedded))
    nested = keras.Model(token_input, L.Concatenate()(outer_out))
    made["nested"] = (trained(nested, [ids_nested], rng), ids_nested)

    a, b = keras.Input((T, 2), name="a"), keras.Input((3,), name="b")
    start = L.Dense(4, name="start")(b)
    decoder = L.SimpleRNN(4, return_sequences=True, dropout=0.2, name="decoder")(
        a, initial_state=[start]
    )
    two_inputs = keras.Model([a, b], L.Dense(1)(decoder))
    xa = rng.standard_normal((4, T, 2)).astype("float32")
    xb = rng.standard_normal((4, 3)).astype("float32")
    made["two_inputs"] = (trained(two_inputs, [xa, xb], rng), {"a": xa, "b": xb})

    saved = {}
    for name, (model, data) in made.items():
        for suffix in (".keras", ".h5"):
            path = directory / f"{name}{suffix}"
            model.save(path)
            saved[name + suffix] = (path, data)
    return saved


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    import keras

    keras.backend.clear_session()  # Keras's automatic names (input_layer, ...) from the start
    return build_models(tmp_path_factory.mktemp("models"))


def input_file(tmp_path, data) -> str:
    path = tmp_path / ("x.npz" if isinstance(data, dict) else "x.npy")
    if isinstance(data, dict):
        np.savez(path, **data)
    else:
        np.save(path, data)
    return str(path)


def inspected(saved_path, layer, data, tmp_path, *options):
    """What `rnnstate model` gives for the layer (o, h, c ... and config), from its --output."""
    out = tmp_path / "result.npz"
    result = invoke("model", saved_path, "--layer", layer, "--input", input_file(tmp_path, data),
                    "--output", out, *options)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    with np.load(out) as arrays:
        return {name: arrays[name] for name in arrays.files}


def feeds(model, data) -> list:
    """The model's inputs in order, from one array or arrays by input name."""
    if not isinstance(data, dict):
        return [data]
    return [data[tensor._keras_history.operation.name] for tensor in model.inputs]


def keras_reference(model, layer, data):
    """Keras's own numbers for `layer` inside `model`: its output through a sub-model, and
    [o, *states] from the same layer configured with return_state=True, called on the input,
    mask and initial states the model's graph sends it."""
    node = layer._inbound_nodes[0]
    sub_model_o = np.asarray(keras.Model(model.inputs, node.output_tensors)(feeds(model, data)))
    x, kwargs = node.arguments.args[0], node.arguments.kwargs
    mask, states = kwargs.get("mask"), list(kwargs.get("initial_state") or [])
    wanted = [x, *([mask] if mask is not None else []), *states]
    received = keras.Model(model.inputs, wanted)(feeds(model, data))
    received = received if isinstance(received, list) else [received]
    config = layer.get_config()
    if type(layer).__name__ == "Bidirectional":
        for half in ("layer", "backward_layer"):
            config[half]["config"]["return_state"] = True
    else:
        config["return_state"] = True
    clone = type(layer).from_config(config)
    clone.build(tuple(x.shape))
    clone.set_weights(layer.get_weights())
    call = {"mask": received[1]} if mask is not None else {}
    if states:
        call["initial_state"] = received[len(received) - len(states) :]
    return sub_model_o, [np.asarray(value) for value in clone(received[0], **call)]


CASES = [
    ("stacked", "first", ["o", "h", "c"]),
    ("stacked", "second", ["o", "h"]),
    ("functional", "both", ["o", "h_fw", "c_fw", "h_bw", "c_bw"]),
    ("functional", "simple", ["o", "h"]),
    ("two_inputs", "decoder", ["o", "h"]),
]


@pytest.mark.parametrize(("name", "layer", "names"), CASES)
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_layer_matches_keras_inside_its_model(saved, tmp_path, name, layer, names, suffix):
    if suffix == ".h5" and name == "functional":
        pytest.skip("Keras cannot load this model back from .h5 (see the test below)")
    path, data = saved[name + suffix]
    model = keras.saving.load_model(path, safe_mode=True, compile=False)
    sub_model_o, returned = keras_reference(model, model.get_layer(layer), data)
    ours = inspected(path, layer, data, tmp_path)
    assert_allclose(ours["o"], sub_model_o, atol=1e-5)
    for array_name, value in zip(names, returned, strict=True):
        assert_allclose(ours[array_name], value, atol=1e-5)


def test_masked_steps_are_those_of_the_embedding(saved, tmp_path):
    path, ids = saved["stacked.keras"]
    ours = inspected(path, "first", ids, tmp_path)
    config = json.loads(str(ours["config"]))
    assert config["model"]["mask_from"] == "embedding (Embedding, mask_zero=True)"
    result = invoke("model", path, "--layer", "first", "--input", input_file(tmp_path, ids),
                    "--json")  # fmt: skip
    document = json.loads(result.stdout)
    assert np.array_equal(np.array(document["masked_steps"]), ids == 0)


def test_h5_model_that_keras_cannot_load_back_is_explained(saved):
    path, _ = saved["functional.h5"]  # Masking's mask is an op (NotEqual) in the saved graph
    with pytest.raises(ValueError, match="Unknown layer: 'NotEqual'"):
        keras.saving.load_model(path, safe_mode=True, compile=False)
    result = invoke("model", path)
    assert result.exit_code == 1
    assert "records the Keras operation NotEqual as a layer" in result.stderr
    assert "save the model as .keras" in result.stderr


def test_nested_layers_match_the_models_outputs(saved, tmp_path):
    path, ids = saved["nested.keras"]
    model = keras.saving.load_model(path, safe_mode=True, compile=False)
    inner = model.get_layer("inner")
    inner_o = np.asarray(keras.Model(model.inputs, inner._inbound_nodes[0].output_tensors)(ids))
    ours = inspected(path, "inner/g", ids, tmp_path)
    assert_allclose(ours["o"], inner_o, atol=1e-5)
    final = np.asarray(model(ids))  # Concatenate of the bidirectional halves' last outputs
    ours = inspected(path, "bi", ids, tmp_path, "--no-sequences")
    assert_allclose(np.concatenate([ours["o_fw"], ours["o_bw"]], axis=-1), final, atol=1e-5)


def test_listing_names_classes_sizes_and_settings(saved):
    path, _ = saved["functional.keras"]
    result = invoke("model", path, "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["schema"] == "rnnstate-layers/1"
    assert document["layers"] == [
        {"index": 0, "name": "both", "class": "Bidirectional(LSTM)", "units": 4, "features": 3,
         "steps": T, "settings": {"merge_mode": "sum", "return_sequences": True}},
        {"index": 1, "name": "simple", "class": "SimpleRNN", "units": 2, "features": 4,
         "steps": T, "settings": {"go_backwards": True}},
    ]  # fmt: skip


def test_listing_of_a_nested_model_names_the_path(saved):
    path, _ = saved["nested.keras"]
    document = json.loads(invoke("model", path, "--json").stdout)
    assert [layer["name"] for layer in document["layers"]] == ["inner/g", "bi"]
    assert document["layers"][0]["settings"] == {"return_sequences": True, "reset_after": False}


def test_layer_by_index_and_its_unused_settings_are_named(saved, tmp_path):
    path, data = saved["two_inputs.keras"]
    result = invoke("model", path, "--layer", "0", "--input", input_file(tmp_path, data))
    assert result.exit_code == 0, result.stderr
    assert "layer 'decoder' of" in result.stdout
    assert "initial states from the model" in result.stdout
    assert "not applied: dropout=0.2 does nothing at inference" in " ".join(result.stdout.split())


def test_layer_input_and_drawn_input(saved, tmp_path):
    path, _ = saved["functional.keras"]
    x = np.random.default_rng(3).standard_normal((2, 5, 3)).astype("float32")
    layer_file = tmp_path / "layer_x.npy"
    np.save(layer_file, x)
    result = invoke("model", path, "--layer", "both", "--layer-input", layer_file, "--json")
    document = json.loads(result.stdout)
    assert np.array(document["o"]).shape == (2, 5, 4)  # merge sum: M wide
    assert document["config"]["model"]["input_from"].endswith("as the layer's own input")
    drawn = json.loads(invoke("model", path, "--layer", "both", "--seed", "1", "--json").stdout)
    assert np.array(drawn["x"]).shape == (1, T, 3)  # the model's fixed length


def test_model_without_recurrent_layers_says_so(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.save(tmp_path / "dense.keras")
    result = invoke("model", tmp_path / "dense.keras")
    assert result.exit_code == 0
    assert "dense.keras: no recurrent layer (LSTM, GRU, SimpleRNN" in " ".join(
        result.stdout.split()
    )


def test_unknown_layer_is_a_usage_error_listing_the_layers(saved):
    path, _ = saved["stacked.keras"]
    result = invoke("model", path, "--layer", "dense")
    assert result.exit_code == 2
    assert "has no recurrent layer 'dense'; its recurrent layers: 0: first, 1: second" in (
        " ".join(result.stderr.split())
    )


def test_run_options_need_a_layer(saved, tmp_path):
    path, _ = saved["stacked.keras"]
    result = invoke("model", path, "--gates")
    assert result.exit_code == 2
    assert "--gates runs a layer: name it with --layer" in result.stderr


def test_lambda_model_is_refused_and_its_code_never_runs(tmp_path):
    witness = tmp_path / "ran.txt"
    path_text = str(witness)
    inputs = keras.Input((T, 2))
    touched = keras.layers.Lambda(lambda t: (open(path_text, "w").close(), t)[1])(inputs)
    model = keras.Model(inputs, keras.layers.LSTM(2)(touched))
    for suffix in (".keras", ".h5"):
        path = tmp_path / f"lambda{suffix}"
        model.save(path)
        witness.unlink(missing_ok=True)  # building the model above called the lambda
        zeros = input_file(tmp_path, np.zeros((1, T, 2), "float32"))
        result = invoke("model", path, "--layer", "0", "--input", zeros)
        assert result.exit_code == 1
        assert "holds a Lambda layer (Python code), which rnnstate never runs" in result.stderr
        assert not witness.exists()


def broken_files(tmp_path, saved):
    """(path, expected message) for files that are not models rnnstate can load."""
    path, _ = saved["stacked.keras"]
    data = path.read_bytes()
    files = {
        "empty.keras": (b"", "is empty"),
        "truncated.keras": (data[: len(data) // 2], "not a valid zip archive"),
        "text.keras": (b"hello", "not a valid zip archive"),
        "text.h5": (b"hello there", "is not an HDF5 file"),
        "model.txt": (b"x", "expected a saved Keras model: .keras, .h5 or .hdf5"),
    }
    made = []
    for name, (content, message) in files.items():
        (tmp_path / name).write_bytes(content)
        made.append((tmp_path / name, message))
    other_zip = tmp_path / "other.keras"
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("readme.txt", "not a model")
    made.append((other_zip, "is a zip archive but not a .keras model: it has no config.json"))
    import h5py

    weights_only = tmp_path / "weights.h5"
    with h5py.File(weights_only, "w") as file:
        file["kernel"] = np.zeros((2, 2))
    made.append((weights_only, "cannot be loaded as a Keras model"))
    made.append((tmp_path / "missing.keras", "no such file"))
    return made


def test_files_that_are_not_models_are_one_line_errors(saved, tmp_path):
    for path, message in broken_files(tmp_path, saved):
        result = invoke("model", path)
        assert result.exit_code == 1, path
        assert result.stderr.startswith(f"rnnstate: error: {path}: "), result.stderr
        assert message in result.stderr, (path, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1


def test_input_that_does_not_fit_the_model_is_named(saved, tmp_path):
    path, _ = saved["stacked.keras"]
    wrong = input_file(tmp_path, np.ones((2, T + 1), dtype="int32"))
    result = invoke("model", path, "--layer", "first", "--input", wrong)
    assert result.exit_code == 1
    expected = (
        f"{wrong}: holds 'input_layer' of shape (2, 8); the model's input 'input_layer' is (N, 7)"
    )
    assert expected in result.stderr
    too_large = input_file(tmp_path, np.full((1, T), VOCABULARY + 5, dtype="int32"))
    result = invoke("model", path, "--layer", "first", "--input", too_large)
    assert result.exit_code == 1
    assert "the model cannot run on it" in result.stderr


def test_two_input_model_needs_every_input(saved, tmp_path):
    path, data = saved["two_inputs.keras"]
    partial = tmp_path / "partial.npz"
    np.savez(partial, a=data["a"])
    result = invoke("model", path, "--layer", "decoder", "--input", partial)
    assert result.exit_code == 1
    assert "has no array for the model's input 'b'" in result.stderr


def test_example_model_in_docs_runs(tmp_path):
    result = invoke("model", "docs/example/sentiment.keras", "--layer", "lstm", "--input",
                    "docs/example/reviews.npy", "--json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert np.array(document["h"]).shape == (4, 8)
    assert document["checks"]["all_equal"] is True
