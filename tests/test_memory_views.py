"""--memory's views: --unit (the influence on one unit of a state) and, with --sequences, the
connectivity map ‖∂o_t/∂x_s‖, checked against Keras's own gradients (tf.GradientTape on the real
layer in float64, same weights) and finite differences; then the terminal heatmap, the figure,
--output and replay from the command line."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from rnnstate import memory
from rnnstate.cli import app
from rnnstate.spec import Spec
from rnnstate.weights import initial_weights

runner = CliRunner()
RTOL, ATOL = 1e-9, 1e-12  # float64 against float64: the same derivative, summed in another order


def invoke(*args: str):
    return runner.invoke(app, list(args), prog_name="rnnstate", terminal_width=100)


def keras_jacobians(spec, x, weights, initial_state=None, mask=None):
    """Keras's float64 Jacobians by x (N, T, D): final state name -> (N, M, T, D), and with
    return_sequences output name ("o"; "o_fw", "o_bw" per half) -> (N, T, M, T, D), o's rows in
    Keras's order (reading order for go_backwards)."""
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import keras
    import tensorflow as tf

    options = {"return_state": True, "go_backwards": spec.backwards, "dtype": "float64",
               "activation": spec.activation, "use_bias": weights.use_bias,
               "return_sequences": spec.return_sequences}  # fmt: skip
    if spec.cell != "rnn":
        options["recurrent_activation"] = spec.recurrent_activation
    if spec.cell == "gru":
        options["reset_after"] = spec.reset_after
    layer = getattr(keras.layers, spec.keras_layer)(spec.units, **options)
    if spec.bidirectional:
        layer = keras.layers.Bidirectional(layer, merge_mode=None, dtype="float64")
    layer.build((None, None, spec.features))
    layer.set_weights([np.asarray(w, np.float64) for w in weights.as_list()])
    xt = tf.constant(np.asarray(x, np.float64))
    states = None
    if initial_state is not None:
        states = [tf.constant(np.asarray(initial_state[n], np.float64)) for n in spec.state_names]
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(xt)
        returned = layer(xt, initial_state=states, mask=None if mask is None else tf.constant(mask))
    outputs = ["o_fw", "o_bw"] if spec.bidirectional else ["o"]  # the last output alone without
    names = outputs + list(spec.state_names)  # return_sequences
    return {n: tape.batch_jacobian(v, xt).numpy() for n, v in zip(names, returned, strict=True)}


def case(cell, T=6, **settings):
    spec = Spec(cell=cell, steps=T, features=3, units=4, batch=2, engine="exact", **settings)
    rng = np.random.default_rng(3)
    return spec, rng.normal(size=(2, T, 3)).astype(np.float32), initial_weights(spec, rng)


CASES = {
    "lstm": dict(cell="lstm"),
    "gru": dict(cell="gru"),
    "gru_reset_before": dict(cell="gru", reset_after=False),
    "rnn": dict(cell="rnn"),
    "lstm_backwards": dict(cell="lstm", backwards=True),
    "rnn_backwards": dict(cell="rnn", backwards=True),
    "gru_bidirectional": dict(cell="gru", bidirectional=True),
    "lstm_bidirectional": dict(cell="lstm", bidirectional=True),
}


@pytest.mark.parametrize("name", CASES)
def test_unit_influence_equals_keras_gradients_of_that_unit(name):
    spec, x, weights = case(**CASES[name])
    got = memory.memory(spec, x, weights, unit=2)
    jacobians = keras_jacobians(spec, x, weights)
    assert got.unit == 2
    for state in spec.state_names:
        expected = np.sqrt((jacobians[state][:, 2] ** 2).sum(axis=2))  # (N, T): over features
        np.testing.assert_allclose(got.influence[state], expected, rtol=RTOL, atol=ATOL)


def keras_map(spec, jacobian, unit=None):
    """Keras's output Jacobian (N, T, M, T, D) as the map (N, t, s), rows by input step."""
    picked = jacobian if unit is None else jacobian[:, :, [unit]]
    norms = np.sqrt((picked**2).sum(axis=(2, 4)))
    return norms[:, ::-1] if spec.backwards and not spec.bidirectional else norms


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("unit", [None, 1])
def test_connectivity_map_equals_keras_gradients(name, unit):
    spec, x, weights = case(**CASES[name], return_sequences=True)
    got = memory.memory(spec, x, weights, unit=unit, connectivity=True)
    jacobians = keras_jacobians(spec, x, weights)
    names = ["o_fw", "o_bw"] if spec.bidirectional else ["o"]
    assert list(got.connectivity) == names
    for output in names:
        expected = keras_map(spec, jacobians[output], unit)
        np.testing.assert_allclose(got.connectivity[output], expected, rtol=RTOL, atol=ATOL)


def test_connectivity_is_triangular_by_reading_order():
    for backwards, zero in ((False, np.triu_indices(6, 1)), (True, np.tril_indices(6, -1))):
        spec, x, weights = case("rnn", backwards=backwards, return_sequences=True)
        found = memory.memory(spec, x, weights, connectivity=True).connectivity["o"]
        assert (found[:, zero[0], zero[1]] == 0).all()
        assert (np.diagonal(found, axis1=1, axis2=2) > 0).all()


@pytest.mark.parametrize("cell, bidirectional", [("lstm", False), ("gru", True), ("rnn", False)])
def test_masked_connectivity_and_initial_states_as_keras(cell, bidirectional):
    """A masked output repeats the last one (zeros in a Bidirectional layer): its row is that
    output's; a masked input step's column is zero."""
    spec, x, weights = case(cell, bidirectional=bidirectional, return_sequences=True,
                            initial_state=True)  # fmt: skip
    mask = np.ones((2, 6), bool)
    mask[0, 0] = mask[0, 3] = mask[1, 4:] = False
    rng = np.random.default_rng(4)
    initial = {n: rng.normal(size=(2, 4)).astype(np.float32) for n in spec.state_names}
    got = memory.memory(spec, x, weights, initial, mask, connectivity=True)
    jacobians = keras_jacobians(spec, x, weights, initial, mask)
    for output, values in got.connectivity.items():
        np.testing.assert_allclose(values, keras_map(spec, jacobians[output]), rtol=RTOL,
                                   atol=ATOL)  # fmt: skip
        assert (values[0][:, [0, 3]] == 0).all() and (values[1][:, 4:] == 0).all()


def test_connectivity_finite_differences_float64():
    """Central differences of the exact engine's output o_t by each value of x_s."""
    from rnnstate.engines import exact

    spec, x, weights = case("gru", T=4, return_sequences=True)
    x = x[:1].astype(np.float64)
    got = memory.memory(spec, x, weights, unit=3, connectivity=True).connectivity["o"][0]
    eps = 1e-6
    expected = np.zeros((4, 4))
    for s in range(4):
        columns = []
        for d in range(3):
            up, down = x.copy(), x.copy()
            up[0, s, d] += eps
            down[0, s, d] -= eps
            high, low = exact.run(spec, up, weights).o[0], exact.run(spec, down, weights).o[0]
            columns.append((high[:, 3] - low[:, 3]) / (2 * eps))  # (T,): unit 3 of every o_t
        expected[:, s] = np.linalg.norm(np.stack(columns), axis=0)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-10)


def weights_of(document):
    """The weights a --json document holds, as float32 Weights (one direction)."""
    from rnnstate.weights import Weights

    w = document["weights"]
    bias = None if "bias" not in w else np.array(w["bias"], np.float32)
    return Weights(np.array(w["kernel"], np.float32), np.array(w["recurrent_kernel"], np.float32),
                   bias)  # fmt: skip


def test_json_unit_and_connectivity_equal_keras_gradients_of_the_run():
    args = ("rnn", "--memory", "--sequences", "--backwards", "--unit", "1", "--json", "-T", "5",
            "-N", "2", "--seed", "3")  # fmt: skip
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    found = document["memory"]
    assert found["unit"] == 1 and list(found["connectivity"]) == ["o"]
    spec = Spec(cell="rnn", steps=5, features=2, units=3, batch=2, backwards=True,
                return_sequences=True)  # fmt: skip
    jacobians = keras_jacobians(spec, np.array(document["x"], np.float32), weights_of(document))
    expected = np.sqrt((jacobians["h"][:, 1] ** 2).sum(axis=2))
    np.testing.assert_allclose(found["influence"]["h"], expected, rtol=RTOL, atol=ATOL)
    connectivity = np.array(found["connectivity"]["o"])
    assert connectivity.shape == (2, 5, 5)
    np.testing.assert_allclose(connectivity, keras_map(spec, jacobians["o"], 1), rtol=RTOL,
                               atol=ATOL)  # fmt: skip
    assert (connectivity[:, np.tril_indices(5, -1)[0], np.tril_indices(5, -1)[1]] == 0).all()


def test_no_connectivity_without_sequences_nor_unit_without_it():
    found = json.loads(invoke("gru", "--memory", "--json", "--seed", "0").stdout)["memory"]
    assert "connectivity" not in found and "unit" not in found


def test_unit_out_of_range_is_a_usage_error(tmp_path: Path):
    plot = tmp_path / "m.png"
    result = invoke("lstm", "--memory", "-M", "3", "--unit", "3", "--plot", str(plot))
    assert result.exit_code == 2
    assert "Invalid value for '--unit': unit 3 is not in the layer: M=3 (0 to 2)" in result.output
    assert not plot.exists()


def test_heatmap_rows_per_state_horizon_and_connectivity(tmp_path: Path):
    x = tmp_path / "x.json"
    x.write_text("[[1, 2], [0, 0], [3, 1], [0.5, 0.2], [1, 1], [2, 0]]")
    args = ("lstm", "--memory", "--sequences", "--mask-value", "0", "--input", str(x),
            "--seed", "0", "--engine", "numpy")  # fmt: skip
    text = invoke(*args, "--heatmap").stdout
    document = json.loads(invoke(*args, "--json").stdout)["memory"]
    lines = text.splitlines()
    start = lines.index("influence ‖∂s/∂x_t‖ on each final state s")
    assert lines[start + 1].startswith("rows: final states; columns: input steps t, 1 step per")
    axis = next(k for k in range(start, len(lines)) if lines[k].startswith("t     0"))
    assert "log scale" in " ".join(lines[start + 1 : axis])
    assert [line[:6].strip() for line in lines[axis + 1 : axis + 3]] == ["h", "c"]
    assert lines[axis + 3].startswith("masked") and lines[axis + 3][6:].index("x") == 3
    steps, reach = document["horizon"]["h"][0], document["reach"]["h"][0]
    assert f"horizon of h: the last {steps} steps read (t={reach}..5) hold 90% of it" in text
    assert "connectivity map of o: ‖∂o_t/∂x_s‖, row t, column s" in text
    axis = next(line for line in lines if line.startswith("s     0"))
    assert axis.split() == ["s", "0", "4"]  # columns: input steps s, 3 characters each
    assert [line[:6].strip() for line in lines if line.startswith("t=")] == [
        f"t={t}" for t in range(6)
    ]


def test_plot_draws_log_curves_with_the_horizon_and_the_maps(tmp_path: Path):
    from rnnstate import run
    from rnnstate.render.memory_plot import memory_figure

    result = run("gru", steps=12, units=4, seed=0, return_sequences=True, bidirectional=True)
    found = memory.memory(result.spec, result.x, result.weights, connectivity=True)
    fig = memory_figure(result, found)
    titled = [a for a in fig.axes if a.get_label() != "<colorbar>"]
    assert len(titled) == 4  # h_fw, h_bw, then the maps of o_fw and o_bw
    assert [a.get_yscale() for a in titled[:2]] == ["log", "log"]
    for axis, name in zip(titled[:2], ["h_fw", "h_bw"], strict=True):
        steps, reach = int(found.horizon[name][0]), int(found.reach[name][0])
        assert f"horizon: the last {steps} steps read" in axis.get_title(loc="left")
        dashed = [line for line in axis.get_lines() if line.get_linestyle() == "--"]
        edge = reach - 0.5 if name == "h_fw" else reach + 0.5
        assert [line.get_xdata()[0] for line in dashed] == [edge]
    assert titled[2].get_title(loc="left").startswith("connectivity map ‖∂o_fw_t/∂x_s‖")
    assert titled[2].images[0].norm.__class__.__name__ == "LogNorm"
    plot = tmp_path / "m.png"
    ran = invoke("rnn", "--memory", "--sequences", "-T", "9", "--plot", str(plot), "--seed", "0")
    assert ran.exit_code == 0, ran.output
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_output_holds_the_memory_and_replay_compares_it(tmp_path: Path, suffix):
    path = tmp_path / f"run{suffix}"
    args = ("lstm", "--memory", "--sequences", "--unit", "2", "-T", "5", "-M", "4", "--seed", "1",
            "--engine", "numpy")  # fmt: skip
    assert invoke(*args, "--output", str(path)).exit_code == 0
    expected = json.loads(invoke(*args, "--json").stdout)["memory"]
    if suffix == ".npz":
        saved = np.load(path)
        assert int(saved["memory.unit"]) == 2
        np.testing.assert_array_equal(saved["memory.influence.c"], expected["influence"]["c"])
        np.testing.assert_array_equal(saved["memory.connectivity.o"],
                                      expected["connectivity"]["o"])  # fmt: skip
        assert list(saved["memory.horizon.h"]) == expected["horizon"]["h"]
    else:
        assert json.loads(path.read_text())["memory"] == expected
    replayed = invoke("replay", str(path))
    assert replayed.exit_code == 0, replayed.output
    assert "horizon of h[2]" in replayed.stdout
    assert "memory.influence.h, memory.influence.c" in replayed.stderr
    assert "memory.connectivity.o equal the saved ones bit for bit" in replayed.stderr


def test_replay_says_which_memory_array_differs(tmp_path: Path):
    path = tmp_path / "run.npz"
    assert invoke("rnn", "--memory", "-T", "4", "--seed", "0", "--output", str(path)).exit_code == 0
    arrays = dict(np.load(path))
    arrays["memory.influence.h"] = arrays["memory.influence.h"] * 2
    np.savez(path, **arrays)
    replayed = invoke("replay", str(path))
    assert replayed.exit_code == 3
    assert "differ from the saved ones: memory.influence.h" in replayed.stderr


def test_a_connectivity_map_that_cannot_fit_is_refused_before_the_run(monkeypatch):
    monkeypatch.setattr(memory, "available_bytes", lambda: 200_000_000)
    assert invoke("rnn", "--memory", "-T", "4000", "--engine", "numpy", "--json").exit_code == 0
    result = invoke("rnn", "--memory", "--sequences", "-T", "4000", "--engine", "numpy")
    assert result.exit_code == 2
    assert "Invalid value for '--memory'" in result.output
    assert "with --memory and --sequences (the T x T connectivity map) needs about" in result.output
    assert "200 MB are available" in result.output


@pytest.mark.parametrize(
    "cell, bidirectional, T, M, N, unit",
    [
        ("lstm", False, 150, 16, 2, None),
        ("gru", True, 100, 8, 1, 3),
        ("rnn", False, 400, 4, 1, None),
    ],
)
def test_connectivity_estimate_covers_the_measured_peak(cell, bidirectional, T, M, N, unit):
    """tracemalloc's peak over memory.memory with the map is at most the estimate (its run's
    part and the map's, without the JSON text), and the estimate not more than 3 times it."""
    import tracemalloc

    spec = Spec(cell=cell, steps=T, features=3, units=M, batch=N, engine="exact",
                bidirectional=bidirectional, return_sequences=True)  # fmt: skip
    weights = initial_weights(spec, np.random.default_rng(0))
    x = np.random.default_rng(1).normal(size=(N, T, 3)).astype(np.float32)
    tracemalloc.start()
    try:
        memory.memory(spec, x, weights, unit=unit, connectivity=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    estimate = memory.needed_bytes(spec) + memory.connectivity_bytes(spec, unit)
    assert peak <= estimate <= 3 * peak, (peak, estimate)
