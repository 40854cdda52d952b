"""The Python API as a notebook user calls it: run, model_layers, run_model_layer, replay, and
Result's save, to_json and explain; typed keywords, errors naming the parameter, dir()."""

import inspect
import json

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import rnnstate

MODEL = "docs/example/sentiment.keras"
REVIEWS = "docs/example/reviews.npy"


def test_dir_lists_the_public_names():
    names = dir(rnnstate)
    for name in ("run", "run_model_layer", "model_layers", "replay", "Result", "SpecError"):
        assert name in names
    assert "importlib" not in names


@pytest.mark.parametrize("function", ["run", "run_model_layer"])
def test_every_keyword_is_typed_and_none_is_a_catch_all(function):
    parameters = inspect.signature(getattr(rnnstate, function)).parameters.values()
    assert all(p.kind is not inspect.Parameter.VAR_KEYWORD for p in parameters)
    assert all(p.annotation is not inspect.Parameter.empty for p in parameters)


@pytest.mark.parametrize(
    ("keywords", "parameter", "message"),
    [
        ({"steps": 0}, "steps", "steps must be a positive integer, got 0"),
        ({"mask_value": float("nan")}, "mask_value", "mask_value must be a finite number"),
        ({"unit": 1}, "unit", "unit refines explain STEP; give both"),
        ({"x": np.zeros((1, 4, 2)), "steps": 5}, "steps",
         "steps=5 conflicts with x, which has T=4"),
    ],
)  # fmt: skip
def test_errors_name_the_parameter_not_the_option(keywords, parameter, message):
    with pytest.raises(rnnstate.SpecError) as raised:
        rnnstate.run("lstm", **keywords)
    assert raised.value.option == parameter
    assert message in str(raised.value)
    assert "--" not in str(raised.value)


def test_a_path_reads_the_file_and_is_recorded(tmp_path):
    x = np.arange(12, dtype=np.float32).reshape(1, 6, 2) / 10
    np.save(tmp_path / "x.npy", x)
    from_file = rnnstate.run("gru", x=str(tmp_path / "x.npy"), seed=3)
    from_array = rnnstate.run("gru", x=x, seed=3)
    assert_array_equal(from_file.h, from_array.h)
    assert from_file.spec.sources.input == str(tmp_path / "x.npy")
    assert from_array.spec.sources.input == "array"
    assert from_array.spec.seed == 3  # the weights were drawn from it


def test_given_x_and_weights_leave_no_seed():
    weights = rnnstate.run("rnn", seed=1).weights
    result = rnnstate.run("rnn", x=np.ones((5, 2)), weights=weights, seed=7)
    assert result.spec.seed is None
    assert (result.spec.sources.input, result.spec.sources.weights) == ("array", "array")
    assert result.x.shape == (1, 5, 2)


def test_save_and_replay_give_the_same_digits(tmp_path):
    result = rnnstate.run("lstm", seed=5, return_sequences=True, gates=True, engine="numpy")
    result.save(tmp_path / "run.npz")
    again = rnnstate.replay(tmp_path / "run.npz")
    for name in ("o", "h", "c"):
        assert_array_equal(getattr(again, name), getattr(result, name))
    for name, values in result.gates.items():
        assert_array_equal(again.gates[name], values)
    assert list(result.gates) == ["i", "f", "g", "og", "c_t", "h_t"]


def test_to_json_is_the_json_document():
    doc = json.loads(rnnstate.run("gru", seed=2).to_json())
    assert doc["schema"] == "rnnstate/3"
    assert doc["config"]["seed"] == 2
    assert np.array(doc["weights"]["bias"]).shape == (2, 9)


def test_save_refuses_another_extension(tmp_path):
    with pytest.raises(rnnstate.SpecError, match=r"expected a file name ending in \.json or \.npz"):
        rnnstate.run("rnn", seed=0).save(tmp_path / "run.txt")


def test_explain_works_out_a_step_of_an_untraced_run():
    result = rnnstate.run("lstm", seed=0, steps=4, return_sequences=True)
    assert result.gates is None
    [step] = result.explain(3, unit=0)
    assert (step.step, step.unit) == (3, 0)
    assert [gate.name for gate in step.gates] == ["i", "f", "g", "og"]
    np.testing.assert_allclose(step.h_t, result.o[0, 3], rtol=0, atol=1e-6)
    text = str(result.explain(3))
    assert "h_t = og ⊙ tanh(c_t)" in text
    assert "Step t=3 explained: sequence n=0" in text


def test_explain_of_a_step_out_of_range_names_the_parameter():
    with pytest.raises(rnnstate.SpecError, match="step 9 is not in the input: T=8") as raised:
        rnnstate.run("gru", seed=0).explain(9)
    assert raised.value.option == "explain"


def test_plot_is_reachable_from_a_result():
    figure = rnnstate.run("rnn", seed=0, return_sequences=True).plot()
    assert figure.axes


def test_model_layers_and_run_model_layer():
    [layer] = rnnstate.model_layers(MODEL)
    assert (layer.index, layer.path, layer.class_name) == (0, "lstm", "LSTM")
    result = rnnstate.run_model_layer(MODEL, "lstm", x=REVIEWS)
    assert result.spec.seed is None
    assert result.spec.sources.input == REVIEWS
    assert result.spec.model.mask_from is not None
    same = rnnstate.run_model_layer(MODEL, 0, x=np.load(REVIEWS))
    assert_array_equal(same.h, result.h)


def test_run_model_layer_names_its_parameters():
    with pytest.raises(rnnstate.SpecError) as raised:
        rnnstate.run_model_layer(MODEL, "lstm", x=REVIEWS, layer_input=np.zeros((1, 3, 8)))
    assert raised.value.option == "layer_input"
    assert "give x (the model's) or layer_input, not both" in str(raised.value)


def test_the_notebook_html_shows_every_unit_in_a_scrolling_box():
    html = rnnstate.run("lstm", seed=0, units=32, return_sequences=True)._repr_html_()
    assert html.startswith('<div style="overflow:auto')
    assert "u31" in html and "⋮" not in html


def test_an_unknown_cell_names_the_parameter_and_lists_the_cells():
    with pytest.raises(rnnstate.SpecError) as raised:
        rnnstate.run("lstmx")
    assert raised.value.option == "cell"
    assert str(raised.value) == "unknown cell 'lstmx'; expected one of lstm, gru, rnn"


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"steps": 0}, "steps must be a positive integer, got 0"),
        ({"batch": 0}, "batch must be a positive integer, got 0"),
        ({"seed": -1}, "seed must be an integer from 0 to 2**64-1, got -1"),
    ],
)
def test_a_model_layer_checks_its_sizes_and_seed_as_run_does(keywords, message):
    with pytest.raises(rnnstate.SpecError) as raised:
        rnnstate.run_model_layer("docs/example/sentiment.keras", "lstm", **keywords)
    assert raised.value.option == next(iter(keywords))
    assert str(raised.value) == message
