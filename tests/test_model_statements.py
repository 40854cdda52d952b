"""What `rnnstate model` says about a layer is true: a Bidirectional whose halves read the other
way round is refused with the reason and its settings listed, unit_forget_bias=False is listed,
a shared layer says so and --call picks the call whose input the layer gets."""

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose
from typer.testing import CliRunner

from rnnstate.cli import app
from rnnstate.engines import keras as keras_engine

_, keras = keras_engine._import_keras()
runner = CliRunner()
T = 6


def invoke(*args: str):
    return runner.invoke(app, list(args))


def build(directory):
    """The models of these tests, saved as .keras and .h5: name -> (path, input arrays)."""
    rng = np.random.default_rng(1)
    keras.utils.set_random_seed(1)
    L = keras.layers
    made = {}

    inputs = keras.Input((T, 3), name="x")
    swapped = L.Bidirectional(
        L.LSTM(4, go_backwards=True, return_sequences=True),
        backward_layer=L.LSTM(4, go_backwards=False, return_sequences=True),
        name="bi",
    )(inputs)
    made["swapped"] = keras.Model(inputs, L.Dense(1)(swapped))

    plain = keras.Input((T, 3), name="x")
    made["forget"] = keras.Model(plain, L.LSTM(3, unit_forget_bias=False, name="lstm")(plain))

    a, b = keras.Input((T, 3), name="a"), keras.Input((T, 3), name="b")
    shared = L.GRU(4, name="shared")
    joined = L.Concatenate()([shared(a), shared(L.Dense(3, name="mix")(b))])
    made["shared"] = keras.Model([a, b], L.Dense(1)(joined))

    data = {"a": rng.standard_normal((2, T, 3)).astype("float32"),
            "b": rng.standard_normal((2, T, 3)).astype("float32")}  # fmt: skip
    saved = {}
    for name, model in made.items():
        for suffix in (".keras", ".h5"):
            path = directory / f"{name}{suffix}"
            model.save(path)
            saved[name + suffix] = (path, model)
    return saved, data


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return build(tmp_path_factory.mktemp("models"))


def listing(path) -> dict:
    result = invoke("model", str(path), "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_bidirectional_with_halves_reading_the_other_way_is_listed_and_refused(models, suffix):
    path = models[0]["swapped" + suffix][0]
    [layer] = listing(path)["layers"]
    assert layer["settings"] == {
        "return_sequences": True,
        "go_backwards": True,
        "backward_layer.go_backwards": False,
    }
    assert "reads backwards (go_backwards=True)" in layer["refused"]
    table = invoke("model", str(path))
    assert table.exit_code == 0
    assert "bi cannot run: layer 'bi' is a Bidirectional whose forward layer reads backwards" \
        in " ".join(table.stdout.split())  # fmt: skip
    result = invoke("model", str(path), "--layer", "bi")
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert "whose forward layer reads backwards (go_backwards=True) and whose backward layer " \
        "reads forwards (go_backwards=False): Keras then returns both halves of o in reversed " \
        "step order" in message  # fmt: skip


def test_listing_shows_unit_forget_bias_false(models):
    for suffix in (".keras", ".h5"):
        [layer] = listing(models[0]["forget" + suffix][0])["layers"]
        assert layer["settings"] == {"unit_forget_bias": False}
        assert "calls" not in layer and "refused" not in layer


def test_a_shared_layer_says_so_and_call_picks_its_input(models, tmp_path):
    saved, data = models
    path, model = saved["shared.keras"]
    [layer] = listing(path)["layers"]
    assert layer["calls"] == 2
    table = invoke("model", str(path))
    assert "shared is shared: the model calls it 2 times (--call K picks one)" in table.stdout
    np.savez(tmp_path / "in.npz", **data)
    shared = model.get_layer("shared")
    feeds = [data["a"], data["b"]]
    for call in (0, 1):
        expected = keras.Model(model.inputs, shared._inbound_nodes[call].output_tensors)(feeds)
        result = invoke("model", str(path), "--layer", "shared", "--input",
                        str(tmp_path / "in.npz"), "--call", str(call), "--json")  # fmt: skip
        assert result.exit_code == 0, result.stderr
        document = json.loads(result.stdout)
        assert_allclose(np.array(document["o"]), np.asarray(expected), atol=1e-5)
        assert f"its call {call} of 2 in the model" in document["config"]["model"]["input_from"]
    first = invoke("model", str(path), "--layer", "shared", "--input", str(tmp_path / "in.npz"))
    assert "(the layer is shared: its call 0 of 2 in the model; --call K picks another)" \
        in " ".join(first.stdout.split())  # fmt: skip


def test_call_is_refused_where_it_picks_nothing(models, tmp_path):
    saved, data = models
    np.savez(tmp_path / "in.npz", **data)
    path = str(saved["shared.keras"][0])
    beyond = invoke("model", path, "--layer", "shared", "--input", str(tmp_path / "in.npz"),
                    "--call", "2")  # fmt: skip
    assert beyond.exit_code == 2 and "called 2 times by the model: --call 0 to 1" in beyond.stderr
    alone = invoke("model", path, "--layer", "shared", "--call", "1")
    assert alone.exit_code == 2 and "give --input" in alone.stderr
    listed = invoke("model", path, "--call", "1")
    assert listed.exit_code == 2 and "--call runs a layer: name it with --layer" in listed.stderr


def test_a_models_reset_before_gru_on_torch_is_refused_without_naming_an_option(tmp_path):
    inputs = keras.Input((T, 3))
    model = keras.Model(inputs, keras.layers.GRU(3, reset_after=False, name="g")(inputs))
    model.save(tmp_path / "gru.keras")
    result = invoke("model", str(tmp_path / "gru.keras"), "--layer", "g", "--engine", "torch")
    assert result.exit_code == 2
    assert "this GRU has reset_after=False" in result.stderr
    assert "--reset-before" not in result.stderr
    layout = invoke("model", str(tmp_path / "gru.keras"), "--layer", "g", "--save-weights",
                    str(tmp_path / "w.safetensors"), "--layout", "torch")  # fmt: skip
    assert layout.exit_code == 2 and "--reset-before" not in layout.stderr
