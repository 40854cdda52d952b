"""--memory --check: the influence three ways (rnnstate.memory's exact BPTT, Keras's GradientTape
in float64, torch autograd) for every cell and setting, the Jacobians against central finite
differences, the verdict and exit code, and `rnnstate model --memory` (per token behind an
Embedding) against the model's own Keras layer."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from needs import needs_torch
from typer.testing import CliRunner

from rnnstate import memory, memory_check, models
from rnnstate.cli import app
from rnnstate.engines import exact
from rnnstate.spec import Spec, torch_installed
from rnnstate.weights import initial_weights

runner = CliRunner()
HERE = Path(__file__).parent
MODEL = str(HERE.parent / "docs" / "example" / "sentiment.keras")
REVIEWS = str(HERE.parent / "docs" / "example" / "reviews.npy")


def invoke(*args: str):
    return runner.invoke(app, list(args), prog_name="rnnstate", terminal_width=100)


def case(cell, masked=False, initial=False, **settings):
    """spec, x (N=3, T=6, D=3), weights, initial states, mask for a small layer (M=4)."""
    spec = Spec(cell=cell, steps=6, features=3, units=4, batch=3, engine="exact",
                initial_state=initial, **settings)  # fmt: skip
    rng = np.random.default_rng(7)
    weights = initial_weights(spec, rng)
    x = rng.normal(size=(3, 6, 3)).astype(np.float32)
    states = None
    if initial:
        states = {n: rng.normal(size=(3, 4)).astype(np.float32) for n in spec.state_names}
    mask = None
    if masked:
        mask = np.ones((3, 6), bool)
        mask[0, 1] = mask[1, 4:] = mask[2, 0] = False
        spec = dataclasses.replace(spec, mask_value=0.0)  # a masked layer, as --mask-value makes
    return spec, x, weights, states, mask


CASES = {  # name -> settings, and why torch cannot run it (None: it runs)
    "lstm": (dict(cell="lstm"), None),
    "gru_reset_after": (dict(cell="gru"), None),
    "gru_reset_before": (dict(cell="gru", reset_after=False), "reset_after"),
    "rnn_tanh": (dict(cell="rnn"), None),
    "rnn_relu": (dict(cell="rnn", activation="relu"), None),
    "rnn_elu": (dict(cell="rnn", activation="elu"), "nonlinearity is tanh or relu"),
    "lstm_softsign_hard_sigmoid": (
        dict(cell="lstm", activation="softsign", recurrent_activation="hard_sigmoid"),
        "tanh and sigmoid built in",
    ),
    "gru_relu": (dict(cell="gru", activation="relu"), "tanh and sigmoid built in"),
    "lstm_backwards": (dict(cell="lstm", backwards=True), None),
    "gru_backwards": (dict(cell="gru", backwards=True), None),
    "lstm_bidirectional_sum": (dict(cell="lstm", bidirectional=True, merge="sum"), None),
    "gru_bidirectional": (dict(cell="gru", bidirectional=True), None),
    "lstm_masked": (dict(cell="lstm", masked=True), "no step masks"),
    "gru_before_backwards_masked": (
        dict(cell="gru", reset_after=False, backwards=True, masked=True),
        "reset_after",
    ),
    "lstm_initial_states": (dict(cell="lstm", initial=True), None),
    "gru_bidirectional_initial_states": (dict(cell="gru", bidirectional=True, initial=True), None),
}


@pytest.mark.parametrize("name", CASES)
def test_three_ways_agree(name):
    settings, torch_refusal = CASES[name]
    spec, x, weights, states, mask = case(**settings)
    found = memory.memory(spec, x, weights, states, mask)
    checked = memory_check.check(spec, x, weights, states, mask, found)
    assert checked.agree and checked.differing == []
    runs_torch = torch_refusal is None and torch_installed()
    assert checked.ways == (["keras", "torch"] if runs_torch else ["keras"])
    if torch_refusal is not None:
        assert torch_refusal in checked.skipped["torch"]
    assert {d.state for d in checked.diffs} == set(spec.state_names)
    for diff in checked.diffs:  # float64 gradients of one function: rounding apart, no more
        assert diff.max_rel_diff < 1e-12, diff
    if mask is not None:
        for values in found.influence.values():
            assert (values[~mask] == 0).all() and (values[mask] > 0).all()


def finite_differences(spec, x, weights, states, mask, eps=1e-6):
    """state -> (N, M, T, D): central differences of the exact engine's final states by x."""
    x = x.astype(np.float64)
    N, T, D = x.shape
    out = {n: np.zeros((N, spec.units, T, D)) for n in spec.state_names}
    for t in range(T):
        for d in range(D):
            up, down = x.copy(), x.copy()
            up[:, t, d] += eps
            down[:, t, d] -= eps
            high = exact.run(spec, up, weights, states, mask).states
            low = exact.run(spec, down, weights, states, mask).states
            for n in out:
                out[n][:, :, t, d] = (high[n] - low[n]) / (2 * eps)
    return out


@pytest.mark.parametrize(
    "settings",
    [dict(cell="lstm", initial=True), dict(cell="gru", backwards=True, masked=True),
     dict(cell="rnn", bidirectional=True)],
    ids=["lstm_initial_states", "gru_backwards_masked", "rnn_bidirectional"],
)  # fmt: skip
def test_keras_and_torch_jacobians_equal_finite_differences(settings):
    spec, x, weights, states, mask = case(**settings)
    expected = finite_differences(spec, x, weights, states, mask)
    ways = {"keras": memory_check.keras_jacobians(spec, x, weights, states, mask)}
    if memory_check.torch_problem(spec) is None:
        ways["torch"] = memory_check.torch_jacobians(spec, x, weights, states)
    for jacobians in ways.values():
        assert set(jacobians) == set(expected)
        for name, values in expected.items():
            np.testing.assert_allclose(jacobians[name], values, rtol=1e-6, atol=1e-8)


def test_unit_norm_is_that_rows_norm():
    jacobian = np.zeros((1, 2, 3, 2))
    jacobian[0, 1, :, :] = [[3, 4], [0, 0], [1, 0]]
    jacobian[0, 0, :, :] = 7
    assert memory_check.norms({"h": jacobian}, unit=1)["h"].tolist() == [[5.0, 0.0, 1.0]]
    assert memory_check.norms({"h": jacobian})["h"][0, 1] == pytest.approx(np.sqrt(2 * 49))


def test_a_wrong_influence_is_named_with_where_it_differs():
    spec, x, weights, _, _ = case("gru")
    found = memory.memory(spec, x, weights)
    wrong = found.influence["h"].copy()
    wrong[2, 3] *= 1.001
    changed = dataclasses.replace(found, influence={"h": wrong})
    checked = memory_check.check(spec, x, weights, None, None, changed)
    assert not checked.agree
    assert checked.differing == checked.ways
    for diff in checked.diffs:
        assert diff.where == (2, 3)
        assert diff.max_rel_diff == pytest.approx(1e-3 / 1.001, rel=1e-6)


def test_relative_difference_of_zero_influence():
    exact_values = np.array([[0.0, 2.0, 1e-40]])
    same = memory_check.relative_diff("keras", "h", exact_values, exact_values.copy())
    assert (same.max_rel_diff, same.where) == (0.0, (0, 0))
    moved = memory_check.relative_diff("keras", "h", exact_values, np.array([[1e-29, 2.0, 0.0]]))
    assert moved.where == (0, 0) and moved.max_rel_diff == pytest.approx(1e-29 / 2e-30)


def test_torch_not_installed_is_said(monkeypatch):
    monkeypatch.setattr(memory_check, "torch_installed", lambda: False)
    spec, x, weights, _, _ = case("lstm")
    checked = memory_check.check(spec, x, weights, None, None, memory.memory(spec, x, weights))
    assert checked.ways == ["keras"]
    assert checked.skipped == {"torch": "PyTorch is not installed"}


@needs_torch
def test_cli_check_shows_the_three_ways_and_json_holds_them():
    args = ("lstm", "--memory", "--check", "-T", "5", "-M", "3", "-N", "2", "--seed", "3")
    text = " ".join(invoke(*args).stdout.split())
    assert "the influence checked against the exact backpropagation (float64)" in text
    assert (
        "keras: tf.GradientTape batch Jacobian of keras.layers.LSTM built with dtype float64"
        in text
    )
    assert "torch: torch autograd on torch.nn.LSTM in float64" in text
    assert ("✓ the exact backpropagation, Keras's GradientTape and torch autograd agree on the "
            "influence within 1e-06 (relative)") in text  # fmt: skip
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    checked = json.loads(result.stdout)["cross_check"]["memory"]
    assert set(checked) == {"reference", "tolerance", "relative", "agree", "differ", "ways",
                            "skipped"}  # fmt: skip
    assert (checked["agree"], checked["differ"], checked["skipped"]) == (True, [], {})
    assert [way["way"] for way in checked["ways"]] == ["keras", "torch"]
    for way in checked["ways"]:
        assert set(way["max_rel_diff"]) == {"h", "c"}
        assert max(way["max_rel_diff"].values()) < 1e-12
        assert all(len(where) == 2 for where in way["where"].values())


def test_cli_check_that_finds_the_ways_apart_exits_3(monkeypatch):
    real = memory_check.keras_jacobians

    def off(*args):
        return {name: 1.01 * values for name, values in real(*args).items()}

    monkeypatch.setattr(memory_check, "keras_jacobians", off)
    result = invoke("gru", "--memory", "--check", "--reset-before", "-T", "4", "--seed", "0")
    assert result.exit_code == 3
    text = " ".join(result.stdout.split())
    assert (
        "✗ the influence differs from the exact backpropagation: Keras's GradientTape on h" in text
    )
    document = json.loads(invoke("gru", "--memory", "--check", "--reset-before", "-T", "4",
                                 "--seed", "0", "--json").stdout)  # fmt: skip
    assert document["cross_check"]["memory"]["differ"] == ["keras"]
    assert document["cross_check"]["memory"]["skipped"]["torch"].startswith("PyTorch's GRU")


def test_memory_without_check_has_no_gradient_check():
    document = json.loads(invoke("rnn", "--memory", "--json", "-T", "3", "--seed", "0").stdout)
    assert "cross_check" not in document
    assert "checked against" not in invoke("rnn", "--memory", "-T", "3", "--seed", "0").stdout


def test_a_check_that_cannot_fit_is_refused_before_the_run(monkeypatch):
    from rnnstate import memory as memory_module

    spec = Spec(cell="lstm", steps=3000, features=2, units=32, check=True)
    needed = memory_module.needed_bytes(spec) + memory_check.needed_bytes(spec)
    monkeypatch.setattr(memory_module, "available_bytes", lambda: needed)
    result = invoke("lstm", "--memory", "--check", "-T", "3000", "-M", "32", "--seed", "0")
    assert result.exit_code == 2
    assert "Invalid value for '--memory'" in result.output


# ---------------------------------------------------------------------------------------------
# A saved model's layer


def model_layer_influence(ids):
    """state -> (N, T): the influence of each token's embedded vector on the final states of
    the example model's own LSTM, by tf.GradientTape: the layer rebuilt from its own config in
    float64 with its trained weights, on the Embedding's vectors and mask for `ids`."""
    from rnnstate.engines.keras import _import_keras

    tf, keras = _import_keras()
    model = keras.saving.load_model(MODEL, compile=False, safe_mode=True)
    embedding, lstm = model.get_layer("embedding"), model.get_layer("lstm")
    vectors = embedding(ids)
    mask = embedding.compute_mask(ids)
    config = {**lstm.get_config(), "dtype": "float64", "return_state": True}
    layer = keras.layers.LSTM.from_config(config)
    layer.build((None, None, vectors.shape[-1]))
    layer.set_weights([w.astype(np.float64) for w in lstm.get_weights()])
    x = tf.constant(np.asarray(vectors, np.float64))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        _, h, c = layer(x, mask=mask)
    return {n: np.sqrt((tape.batch_jacobian(s, x).numpy() ** 2).sum(axis=(1, 3)))
            for n, s in (("h", h), ("c", c))}  # fmt: skip


def test_model_memory_per_token_equals_the_models_own_layer():
    ids = np.load(REVIEWS)
    args = ("model", MODEL, "--layer", "lstm", "--input", REVIEWS, "--memory")
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["config"]["model"]["embedding"] == "embedding"
    expected = model_layer_influence(ids)
    for state, values in expected.items():
        got = np.array(document["memory"]["influence"][state])
        np.testing.assert_allclose(got, values, rtol=1e-9, atol=1e-12)
        assert (got[ids == 0] == 0).all() and (got[ids != 0] > 0).all()  # padding: masked
    text = invoke(*args, "--only", "1").stdout
    assert "memory of sequence 1: influence of each token (exact, float64)" in text
    assert ("x_t: the vector the Embedding 'embedding' gives the token at position t; its "
            "influence is the norm over its 4 dimensions") in " ".join(text.split())  # fmt: skip
    masked_rows = [line.split()[1] for line in text.splitlines() if "masked: skipped" in line]
    assert masked_rows == [str(t) for t in range(4, 12)] * 2  # h and c; review 1 has 4 tokens


def test_model_memory_check_agrees_and_says_why_torch_is_not_run():
    args = ("model", MODEL, "--layer", "lstm", "--input", REVIEWS, "--memory", "--check", "--json")
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    checked = json.loads(result.stdout)["cross_check"]["memory"]
    assert checked["agree"] is True
    assert [way["way"] for way in checked["ways"]] == ["keras"]
    assert "no step masks" in checked["skipped"]["torch"]


@needs_torch
def test_model_layer_input_memory_is_per_step_and_checked_three_ways(tmp_path: Path):
    x = np.random.default_rng(0).normal(size=(2, 5, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    args = ("model", MODEL, "--layer", "lstm", "--layer-input", str(tmp_path / "x.npy"),
            "--memory", "--check")  # fmt: skip
    document = json.loads(invoke(*args, "--json").stdout)
    assert document["config"]["model"]["embedding"] is None
    assert [w["way"] for w in document["cross_check"]["memory"]["ways"]] == ["keras", "torch"]
    assert document["cross_check"]["memory"]["agree"] is True
    assert "influence of each input step" in invoke(*args).stdout


def test_model_without_layer_refuses_memory():
    result = invoke("model", MODEL, "--memory")
    assert result.exit_code == 2
    assert "--memory runs a layer: name it with --layer" in result.output


def test_embedding_is_found_through_dropout_but_not_through_another_layer(tmp_path: Path):
    from rnnstate.engines.keras import _import_keras

    _, keras = _import_keras()
    L = keras.layers
    ids = keras.Input((5,), dtype="int32")
    vectors = L.Dropout(0.5)(L.Embedding(7, 3, mask_zero=True, name="words")(ids))
    first = L.GRU(4, return_sequences=True, name="first")(vectors)
    second = L.LSTM(2, name="second")(first)
    keras.Model(ids, second).save(tmp_path / "stacked.keras")
    loaded = models.load(str(tmp_path / "stacked.keras"))
    found = {layer.path: models.embedding_before(loaded, layer) for layer in
             models.recurrent_layers(loaded)}  # fmt: skip
    assert found == {"first": "words", "second": None}


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_three_ways_agree_on_one_unit(cell):
    spec, x, weights, states, mask = case(cell, masked=cell == "gru", initial=True)
    found = memory.memory(spec, x, weights, states, mask, unit=2)
    checked = memory_check.check(spec, x, weights, states, mask, found, unit=2)
    assert checked.agree
    assert max(diff.max_rel_diff for diff in checked.diffs) < 1e-12
    whole = memory_check.check(spec, x, weights, states, mask, found)  # the norm over all units
    assert not whole.agree
