"""--explain: every number shown comes from the run's weights and trace, and they add up. Each
term is recomputed here from the weights in float64 and compared with what is shown."""

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose
from typer.testing import CliRunner

import rnnstate
from rnnstate.cli import app
from rnnstate.engines.activations import FUNCTIONS
from rnnstate.explain import explain
from rnnstate.weights import BidirectionalWeights

runner = CliRunner()
T, D, M, N = 5, 3, 4, 2
STEP = 2
CELLS = [("lstm", True), ("gru", True), ("gru", False), ("rnn", True)]
ACTIVATIONS = [("tanh", "sigmoid"), ("relu", "hard_sigmoid"), ("elu", "sparse_sigmoid")]
DIRECTIONS = [{}, {"backwards": True}, {"bidirectional": True}]
BLOCKS = {"lstm": "ifco", "gru": "zrh", "rnn": "h"}


def run_for(cell, reset_after, activations, direction, masked, initial):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((N, T, D)).astype(np.float32)
    if masked:
        x[0, STEP] = 0.0  # the explained step itself is skipped in sequence 0
        x[1, STEP - 1] = 0.0  # the step before it is skipped in sequence 1
    names = ("h", "c") if cell == "lstm" else ("h",)
    if direction.get("bidirectional"):
        names = tuple(f"{name}_{side}" for side in ("fw", "bw") for name in names)
    states = {name: rng.normal(0, 0.5, (N, M)).astype(np.float32) for name in names}
    activation, recurrent = activations
    settings = {"recurrent_activation": recurrent} if cell != "rnn" else {}
    return rnnstate.run(
        cell, x=x, units=M, seed=3, engine="numpy", explain=STEP, unit=1,
        reset_after=reset_after, activation=activation, mask_value=0.0 if masked else None,
        initial_state=states if initial else None, return_sequences=True, **direction,
        **settings,
    )  # fmt: skip


def expected_terms(result, weights, x, h, k):
    """x·W, h·U and the bias of block k, straight from the weights, in float64."""
    columns = slice(k * M, (k + 1) * M)
    kernel = weights.kernel[:, columns].astype(np.float64)
    recurrent = weights.recurrent_kernel[:, columns].astype(np.float64)
    bias = np.asarray(weights.bias, np.float64)[..., columns]
    return x @ kernel, h @ recurrent, bias


@pytest.mark.parametrize("initial", [False, True])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("direction", DIRECTIONS, ids=["forward", "backwards", "bidirectional"])
@pytest.mark.parametrize("activations", ACTIVATIONS, ids=lambda a: "-".join(a))
@pytest.mark.parametrize(("cell", "reset_after"), CELLS)
def test_every_term_shown_is_recomputed_from_the_weights(
    cell, reset_after, activations, direction, masked, initial
):
    result = run_for(cell, reset_after, activations, direction, masked, initial)
    for n in range(N):
        for e in explain(result, n):
            weights = result.weights
            if isinstance(weights, BidirectionalWeights):
                weights = weights.forward if e.direction == "fw" else weights.backward
            suffix = f"_{e.direction}" if e.direction else ""
            assert_allclose(e.x_t, result.x[n, STEP], rtol=0, atol=0)
            row = T - 1 - STEP if result.spec.backwards else STEP
            traced_h = result.gates["h_t" + suffix][n, row]
            step_masked = masked and ((n == 0) or False)
            assert e.masked is step_masked
            if e.masked:  # skipped: the state carries over
                assert e.gates == () and np.array_equal(e.h_t, e.h_prev)
            for k, gate in enumerate(e.gates):
                x_w, h_u, bias = expected_terms(result, weights, e.x_t, e.h_prev, k)
                shown = {term.label.split("_")[0] if "·" in term.label else term.label: term
                         for term in gate.terms}  # fmt: skip
                assert_allclose(shown["x·W"].values, x_w, rtol=1e-12, atol=1e-12)
                if cell == "gru" and gate.name == "h_hat" and not reset_after:
                    r = e.gates[1].value
                    assert_allclose(shown["(r ⊙ h)·U"].values, (r * e.h_prev) @ _block(weights, k))
                else:
                    assert_allclose(shown["h·U"].values, h_u, rtol=1e-12, atol=1e-12)
                function = FUNCTIONS[gate.activation]
                assert_allclose(gate.value, function(gate.pre_activation), rtol=1e-12)
                if cell == "gru" and reset_after:
                    input_bias, recurrent_bias = bias
                    if gate.name == "h_hat":
                        expected = x_w + input_bias + e.gates[1].value * (h_u + recurrent_bias)
                    else:
                        expected = x_w + input_bias + h_u + recurrent_bias
                elif cell == "gru" and gate.name == "h_hat":
                    expected = x_w + bias + (e.gates[1].value * e.h_prev) @ _block(weights, k)
                else:
                    expected = x_w + h_u + bias
                assert_allclose(gate.pre_activation, expected, rtol=1e-12, atol=1e-12)
                traced = {"g": "g", "h_hat": "h_hat", "h_t": "h_t"}.get(gate.name, gate.name)
                if traced in ("i", "f", "g", "og", "z", "r", "h_hat"):
                    assert_allclose(
                        gate.value, result.gates[traced + suffix][n, row], rtol=1e-5, atol=1e-5
                    )
            # the numbers land on the layer's own
            assert_allclose(e.h_t, traced_h, rtol=1e-5, atol=1e-5)
            assert all(c.max_abs_diff <= 1e-5 * max(1, np.abs(e.h_t).max()) for c in e.comparisons)
            if e.unit is not None and e.gates:
                for product in e.dot_products:
                    assert product.total == pytest.approx(float(product.left @ product.right))


def _block(weights, k):
    return weights.recurrent_kernel[:, k * M : (k + 1) * M].astype(np.float64)


def test_state_going_in_comes_from_the_step_before_or_the_initial_state():
    result = run_for("lstm", True, ("tanh", "sigmoid"), {}, masked=False, initial=True)
    [e] = explain(result, 0)
    assert_allclose(e.h_prev, result.gates["h_t"][0, STEP - 1])
    assert e.previous == f"the state after t={STEP - 1}, the step before in reading order"
    first = rnnstate.run("lstm", seed=0, engine="numpy", explain=0)
    [e0] = explain(first, 0)
    assert e0.previous == "zeros: this is the first step the layer read"
    assert not e0.h_prev.any() and not e0.c_prev.any()


def test_backwards_counts_the_position_in_reading_order():
    result = rnnstate.run("gru", seed=0, steps=6, engine="numpy", explain=4, backwards=True)
    [e] = explain(result, 0)
    assert (e.position, e.reads_backwards) == (1, True)  # read t=5 first, then t=4
    assert e.previous == "the state after t=5, the step before in reading order"


def test_cli_shows_the_arithmetic_and_the_check():
    result = runner.invoke(app, ["lstm", "--seed", "0", "--explain", "3", "--sequences"])
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert "Step t=3 explained: sequence n=0" in text
    assert "t=3 is the 4th step it read" in text
    assert "i = sigmoid(x·W_i + h·U_i + b_i)    input gate" in text
    assert "c_t = f ⊙ c_{t-1} + i ⊙ g" in text and "h_t = og ⊙ tanh(c_t)" in text
    assert "✓ h_t recomputed here equals o[t=3]: largest difference" in text
    assert "┏" not in text  # the usual tables are left out: the step is the subject


def test_cli_relu_gate_is_named_by_its_activation():
    result = runner.invoke(
        app, ["gru", "--seed", "0", "--explain", "7", "--activation", "relu", "--engine", "numpy"]
    )
    assert "ĥ = relu(x·W_h + b_h + r ⊙ (h·U_h + b'_h))" in result.stdout
    assert "✓ h_t recomputed here equals h: largest difference" in result.stdout


def test_cli_unit_writes_the_sums_out():
    result = runner.invoke(
        app,
        ["rnn", "--seed", "0", "--explain", "0", "--unit", "0", "-D", "12", "--engine", "numpy"],
    )
    text = " ".join(result.stdout.split())
    assert "unit u0, term by term" in text
    assert "x·W[:, 0] = Σ x[d]·W[d, 0] = " in text
    assert "4 smaller terms summing to" in text  # 12 terms: the 8 largest shown


def test_cli_masked_step_says_it_was_skipped(tmp_path):
    (tmp_path / "x.json").write_text("[[0.5, 1.0], [0.0, 0.0], [1.0, -1.0]]")
    result = runner.invoke(
        app,
        ["gru", "--input", str(tmp_path / "x.json"), "--mask-value", "0", "--explain", "1",
         "--seed", "0"],
    )  # fmt: skip
    assert "t=1 is masked: the layer skipped it, so h_t = h_{t-1}" in result.stdout


def test_cli_bidirectional_explains_both_halves_or_the_one_asked():
    both = runner.invoke(app, ["lstm", "--seed", "0", "--bidirectional", "--explain", "2"])
    assert "sequence n=0, forward half" in both.stdout
    assert "sequence n=0, backward half" in both.stdout
    assert "it reads the input from its last step, so t=2 is the 6th step it read" in both.stdout
    one = runner.invoke(
        app, ["lstm", "--seed", "0", "--bidirectional", "--explain", "2", "--direction", "bw"]
    )
    assert "forward half" not in one.stdout and "backward half" in one.stdout


def test_json_holds_every_term_by_name():
    result = runner.invoke(app, ["gru", "--seed", "0", "--explain", "1", "--unit", "2", "--json"])
    document = json.loads(result.stdout)
    [e] = document["explain"]
    assert (e["step"], e["sequence"], e["direction"], e["masked"]) == (1, 0, None, False)
    assert [gate["name"] for gate in e["gates"]] == ["z", "r", "h_hat"]
    z = e["gates"][0]
    assert list(z["terms"]) == ["x·W_z", "b_z", "h·U_z", "b'_z"]
    assert_allclose(np.sum(list(z["terms"].values()), axis=0), z["argument"], atol=1e-12)
    assert document["config"]["explain"] == 1 and document["config"]["unit"] == 2
    assert [p["label"] for p in e["dot_products"]][:2] == ["x·W_z[:, 2]", "h·U_z[:, 2]"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--explain", "8"], "'--explain': step 8 is not in the input: T=8 (0 to 7)"),
        (["--explain", "1", "--unit", "3"], "'--unit': unit 3 is not in the layer: M=3 (0 to 2)"),
        (["--unit", "0"], "'--unit': --unit refines --explain STEP or --memory; give one of them"),
        (["--explain", "1", "--direction", "fw"], "'--direction': --direction picks a half"),
    ],
)
def test_out_of_range_exits_2_with_the_valid_range(options, message):
    result = runner.invoke(app, ["lstm", "--seed", "0", *options])
    assert result.exit_code == 2
    assert message in result.stderr
