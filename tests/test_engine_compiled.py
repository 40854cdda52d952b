"""The numpy engine's compiled recurrence (numba): Keras's numbers, exact float64 values, the
same results as the numpy loop on random settings, and never imported where it does not pay."""

import math
import os
import subprocess
import sys

import numpy as np
import pytest
from goldens import KERAS_LSTM_C, KERAS_O, M, T, fixed_input, fixed_weights
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from rnnstate.activations import ELEMENTWISE
from rnnstate.api import step_mask
from rnnstate.engines import compiled
from rnnstate.engines import numpy as numpy_engine
from rnnstate.spec import Spec
from rnnstate.weights import BidirectionalWeights, initial_weights


@pytest.fixture
def always_compiled(monkeypatch):
    monkeypatch.setenv("RNNSTATE_COMPILED", "always")


def spec_for(cell: str, reset_after: bool = True, **settings) -> Spec:
    sizes = {"steps": T, "features": 2, "units": M, "return_sequences": True, **settings}
    return Spec(cell, reset_after=reset_after, **sizes)


@pytest.mark.parametrize(("cell", "reset_after"), list(KERAS_O))
def test_compiled_output_matches_keras_values(always_compiled, cell, reset_after):
    out = numpy_engine.run(
        spec_for(cell, reset_after), fixed_input(), fixed_weights(cell, reset_after), trace=True
    )
    assert out.o.dtype == np.float32
    assert_allclose(out.o[0], KERAS_O[cell, reset_after], rtol=0, atol=3e-7)
    assert_allclose(out.gates["h_t"][0], KERAS_O[cell, reset_after], rtol=0, atol=3e-7)
    if cell == "lstm":
        assert_allclose(out.c[0], KERAS_LSTM_C, rtol=0, atol=3e-7)


def run_kernel_float64(cell: str, x, kernel, recurrent, bias, reset_after=True):
    """The compiled kernel of `cell` on float64 arrays, one sequence of one unit, with the
    trace: {name: values over the steps}."""
    from rnnstate.engines import kernels

    inputs = np.array(x, np.float64).reshape(len(x), 1, 1)  # (T, N, D), time-major
    W, U = np.array([kernel], np.float64), np.array([recurrent], np.float64)
    states = np.zeros((2 if cell == "lstm" else 1, 1, 1))
    out, keep = np.zeros((1, 1)), np.zeros((0, 0), bool)
    o = np.empty((len(x), 1, 1))
    names = numpy_engine.TRACE_NAMES[cell]
    trace = np.empty((len(x), len(names), 1, 1))
    K = np.array(kernels.CONSTANTS)
    tanh, sigmoid = kernels.CODES["tanh"], kernels.CODES["sigmoid"]
    if cell == "lstm":
        b = np.array(bias, np.float64)
        kernels.lstm(inputs, W, b, U, states, out, keep, o, trace, tanh, sigmoid, False, K)
    elif cell == "gru":
        input_bias, recurrent_bias = (bias[0], bias[1]) if reset_after else (bias, [0.0] * 3)
        b, recurrent_b = np.array(input_bias, np.float64), np.array(recurrent_bias, np.float64)
        kernels.gru(inputs, W, b, U, recurrent_b, reset_after, states, out, keep, o, trace,
                    tanh, sigmoid, False, K)  # fmt: skip
    else:
        b = np.array(bias, np.float64)
        kernels.simple_rnn(inputs, W, b, U, states, out, keep, o, trace, tanh, False, K)
    assert trace.dtype == np.float64
    return {name: trace[:, j, 0, 0] for j, name in enumerate(names)}


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def test_float64_lstm_kernel_gives_the_equations_values_exactly():
    # x = 1, 2; one unit; the values worked out step by step with math in float64
    kernel, recurrent, bias = [0.5, -0.5, 1.0, 0.25], [0.1, 0.2, -0.3, 0.4], [0, 1, 0, 0]
    h = c = 0.0
    expected = {name: [] for name in numpy_engine.TRACE_NAMES["lstm"]}
    for x in (1.0, 2.0):
        z = [x * w + h * u + b for w, u, b in zip(kernel, recurrent, bias, strict=True)]
        i, f, g, o = sigmoid(z[0]), sigmoid(z[1]), math.tanh(z[2]), sigmoid(z[3])
        c = f * c + i * g
        h = o * math.tanh(c)
        for name, value in zip(expected, (i, f, g, o, c, h), strict=True):
            expected[name].append(value)
    trace = run_kernel_float64("lstm", [1.0, 2.0], kernel, recurrent, bias)
    for name, values in expected.items():
        assert_allclose(trace[name], values, rtol=1e-14, err_msg=name)
    assert_allclose(expected["h_t"], [0.248186867, 0.476992525], rtol=1e-8)  # as the numpy test


@pytest.mark.parametrize("reset_after", [True, False])
def test_float64_gru_kernel_gives_the_equations_values_exactly(reset_after):
    kernel, recurrent = [0.5, -0.5, 1.0], [0.1, 0.2, -0.3]
    bias = [[0.1, 0.0, -0.1], [0.0, 0.2, 0.3]] if reset_after else [0.1, 0.0, -0.1]
    input_bias, recurrent_bias = (bias[0], bias[1]) if reset_after else (bias, [0.0] * 3)
    h = 0.0
    expected = {name: [] for name in numpy_engine.TRACE_NAMES["gru"]}
    for x in (1.0, 2.0):
        xw = [x * w + b for w, b in zip(kernel, input_bias, strict=True)]
        z = sigmoid(xw[0] + h * recurrent[0] + recurrent_bias[0])
        r = sigmoid(xw[1] + h * recurrent[1] + recurrent_bias[1])
        if reset_after:
            h_hat = math.tanh(xw[2] + r * (h * recurrent[2] + recurrent_bias[2]))
        else:
            h_hat = math.tanh(xw[2] + (r * h) * recurrent[2])
        h = z * h + (1 - z) * h_hat
        for name, value in zip(expected, (z, r, h_hat, h), strict=True):
            expected[name].append(value)
    trace = run_kernel_float64("gru", [1.0, 2.0], kernel, recurrent, bias, reset_after)
    for name, values in expected.items():
        assert_allclose(trace[name], values, rtol=1e-14, err_msg=name)


def test_float64_simple_rnn_kernel_gives_the_equations_values_exactly():
    trace = run_kernel_float64("rnn", [1.0, 2.0], [0.5], [-0.8], [0.1])
    pre_2 = 2 * 0.5 + 0.1 - 0.8 * math.tanh(0.6)
    assert_allclose(trace["pre_activation"], [0.6, pre_2], rtol=1e-14)
    assert_allclose(trace["h_t"], [math.tanh(0.6), math.tanh(pre_2)], rtol=1e-14)


# Gates that stay within [0, 1]. Any other recurrent activation can multiply the state by more
# than 1 at each step, and the last-bit differences of the two sums with it (seen: 2e-4
# relative after 21 steps of linear gates, at 4e15); those run on short sequences here.
BOUNDED_GATES = ("sigmoid", "hard_sigmoid", "sparse_sigmoid")


# Every element-wise activation, as the activation and (for the gates) the recurrent one.
@st.composite
def runs(draw):
    """A random Spec (direction, merge, mask, initial state, activations), weights and input."""
    cell = draw(st.sampled_from(["lstm", "gru", "rnn"]))
    bidirectional = draw(st.booleans())
    masked = draw(st.booleans())
    gate = "sigmoid" if cell == "rnn" else draw(st.sampled_from(ELEMENTWISE))
    spec = Spec(
        cell,
        steps=draw(st.integers(1, 40 if gate in BOUNDED_GATES else 6)),
        features=draw(st.integers(1, 6)),
        units=draw(st.integers(1, 12)),
        batch=draw(st.integers(1, 3)),
        return_sequences=draw(st.booleans()),
        reset_after=draw(st.booleans()),
        backwards=not bidirectional and draw(st.booleans()),
        bidirectional=bidirectional,
        merge=draw(st.sampled_from(["concat", "sum", "mul", "ave", "none"])),
        mask_value=0.0 if masked else None,
        activation=draw(st.sampled_from(ELEMENTWISE)),
        recurrent_activation=gate,
        initial_state=draw(st.booleans()),
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    weights = initial_weights(spec, rng)
    x = rng.standard_normal((spec.batch, spec.steps, spec.features)).astype(np.float32)
    if masked:
        x[rng.random((spec.batch, spec.steps)) < draw(st.sampled_from([0.3, 1.0]))] = 0.0
    initial_state = None
    if spec.initial_state:
        initial_state = {
            name: rng.normal(0, 0.5, (spec.batch, spec.units)).astype(np.float32)
            for name in spec.state_names
        }
    return spec, weights, x, initial_state


@settings(max_examples=60, deadline=None)
@given(runs())
def test_compiled_equals_the_numpy_loop_within_float32_rounding(run):
    spec, weights, x, initial_state = run
    mask = step_mask(x, spec.mask_value)
    results = {}
    for choice in ("never", "always"):
        os.environ["RNNSTATE_COMPILED"] = choice
        try:
            results[choice] = numpy_engine.run(spec, x, weights, initial_state, mask, trace=True)
        finally:
            del os.environ["RNNSTATE_COMPILED"]
    loop, kernel = results["never"], results["always"]
    for part in ("outputs", "states", "gates"):
        expected, got = getattr(loop, part), getattr(kernel, part)
        assert list(got) == list(expected)
        for name, values in expected.items():
            assert got[name].shape == values.shape and got[name].dtype == np.float32
            # relative to each array's size, since unbounded activations (exponential) grow;
            # where they overflow, both give inf (or nan) at the same places
            finite = np.abs(values[np.isfinite(values)])
            scale = max(1.0, float(finite.max(initial=0)))
            assert_allclose(got[name], values, rtol=1e-4, atol=1e-5 * scale, err_msg=name)


def test_bidirectional_runs_both_directions_compiled(always_compiled):
    spec = Spec("gru", steps=30, features=2, units=4, bidirectional=True, return_sequences=True)
    weights = initial_weights(spec, np.random.default_rng(0))
    assert isinstance(weights, BidirectionalWeights)
    x = np.random.default_rng(1).standard_normal((2, 30, 2)).astype(np.float32)
    out = numpy_engine.run(spec, x, weights, trace=True)
    assert_allclose(out.gates["h_t_fw"][:, -1], out.states["h_fw"], rtol=0, atol=0)
    assert_allclose(out.gates["h_t_bw"][:, 0], out.states["h_bw"], rtol=0, atol=0)


def test_progress_is_reported_between_calls(always_compiled, monkeypatch):
    monkeypatch.setattr(compiled, "WORK_PER_CALL", 2 * 8 * 4 * 10)  # N kM (D + M): 10 steps
    spec = Spec("lstm", steps=25, features=2, units=2, batch=2)
    weights = initial_weights(spec, np.random.default_rng(0))
    x = np.zeros((2, 25, 2), np.float32)
    reports = []
    numpy_engine.run(spec, x, weights, progress=lambda engine, done: reports.append((engine, done)))
    assert reports == [("numpy", 10), ("numpy", 20), ("numpy", 25)]


def test_a_short_run_and_help_never_import_numba():
    code = (
        "import sys, contextlib, io\n"
        "from rnnstate.process import main\n"
        "for argv in (['--help'], ['lstm', '--engine', 'numpy', '--seed', '0', '--gates']):\n"
        "    sys.argv = ['rnnstate', *argv]\n"
        "    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "        main()\n"
        "print('numba' in sys.modules, 'rnnstate.engines.kernels' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.splitlines()[-1] == "False False"
