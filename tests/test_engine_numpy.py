"""The numpy engine: Keras's numbers on fixed weights, exact gate values, no TensorFlow."""

import subprocess
import sys

import numpy as np
import pytest
from goldens import KERAS_LSTM_C, KERAS_O, M, T, fixed_input, fixed_weights
from numpy.testing import assert_allclose, assert_array_equal

from rnnstate.engines import numpy as numpy_engine
from rnnstate.spec import Spec
from rnnstate.weights import Weights


def spec_for(cell: str, reset_after: bool = True, return_sequences: bool = True, **sizes) -> Spec:
    sizes = {"steps": T, "features": 2, "units": M, **sizes}
    return Spec(cell, return_sequences=return_sequences, reset_after=reset_after, **sizes)


@pytest.mark.parametrize(("cell", "reset_after"), list(KERAS_O))
def test_output_matches_keras_values(cell, reset_after):
    out = numpy_engine.run(
        spec_for(cell, reset_after), fixed_input(), fixed_weights(cell, reset_after)
    )
    assert out.o.dtype == np.float32
    assert_allclose(out.o[0], KERAS_O[cell, reset_after], rtol=0, atol=2e-7)
    assert_array_equal(out.h, out.o[:, -1])


def test_lstm_cell_state_matches_keras_values():
    out = numpy_engine.run(spec_for("lstm"), fixed_input(), fixed_weights("lstm"))
    assert_allclose(out.c[0], KERAS_LSTM_C, rtol=0, atol=2e-7)


@pytest.mark.parametrize(("cell", "reset_after"), list(KERAS_O))
def test_last_output_only_without_sequences(cell, reset_after):
    spec = spec_for(cell, reset_after, return_sequences=False)
    out = numpy_engine.run(spec, fixed_input(), fixed_weights(cell, reset_after))
    assert out.o.shape == (1, M)
    assert_allclose(out.o[0], KERAS_O[cell, reset_after][-1], rtol=0, atol=2e-7)


@pytest.mark.parametrize(("cell", "reset_after"), list(KERAS_O))
def test_trace_h_t_is_the_keras_output_at_every_step(cell, reset_after):
    spec = spec_for(cell, reset_after, return_sequences=False)
    out = numpy_engine.run(spec, fixed_input(), fixed_weights(cell, reset_after), trace=True)
    assert_allclose(out.gates["h_t"][0], KERAS_O[cell, reset_after], rtol=0, atol=2e-7)


# One step-by-step case per cell: D = M = 1, x = [1, 2], values worked out with math.exp and
# math.tanh in float64 from the equations in rnnstate/engines/numpy.py's docstring.
ONE_UNIT_X = np.array([[[1.0], [2.0]]], dtype=np.float32)


def one_unit_weights(kernel, recurrent, bias) -> Weights:
    k = len(kernel)
    return Weights(
        np.array([kernel], dtype=np.float32).reshape(1, k),
        np.array([recurrent], dtype=np.float32).reshape(1, k),
        np.array(bias, dtype=np.float32),
    )


def test_lstm_gates_exact_values():
    weights = one_unit_weights([0.5, -0.5, 1.0, 0.25], [0.1, 0.2, -0.3, 0.4], [0, 1, 0, 0])
    spec = spec_for("lstm", steps=2, features=1, units=1)
    gates = numpy_engine.run(spec, ONE_UNIT_X, weights, trace=True).gates
    expected = {
        "i": [0.622459331, 0.735910158],
        "f": [0.622459331, 0.512406796],
        "g": [0.761594156, 0.958371678],
        "og": [0.562176501, 0.645490362],
        "c_t": [0.474061389, 0.94818773],
        "h_t": [0.248186867, 0.476992525],
    }
    assert list(gates) == list(expected)
    for name, values in expected.items():
        assert_allclose(gates[name][0, :, 0], values, rtol=1e-6, err_msg=name)


@pytest.mark.parametrize(
    ("reset_after", "bias", "expected"),
    [
        (
            True,
            [[0.1, 0.0, -0.1], [0.0, 0.2, 0.3]],
            {
                "z": [0.645656306, 0.755356864],
                "r": [0.425557483, 0.321863617],
                "h_hat": [0.772971061, 0.961853973],
                "h_t": [0.273897421, 0.44220127],
            },
        ),
        (
            False,
            [0.1, 0.0, -0.1],
            {
                "z": [0.645656306, 0.754985576],
                "r": [0.377540669, 0.279038319],
                "h_hat": [0.71629787, 0.954381041],
                "h_t": [0.253815633, 0.425464263],
            },
        ),
    ],
)
def test_gru_gates_exact_values(reset_after, bias, expected):
    weights = one_unit_weights([0.5, -0.5, 1.0], [0.1, 0.2, -0.3], bias)
    spec = spec_for("gru", reset_after, steps=2, features=1, units=1)
    gates = numpy_engine.run(spec, ONE_UNIT_X, weights, trace=True).gates
    assert list(gates) == list(expected)
    for name, values in expected.items():
        assert_allclose(gates[name][0, :, 0], values, rtol=1e-6, err_msg=name)


def test_simple_rnn_trace_exact_values():
    weights = one_unit_weights([0.5], [-0.8], [0.1])
    spec = spec_for("rnn", steps=2, features=1, units=1)
    gates = numpy_engine.run(spec, ONE_UNIT_X, weights, trace=True).gates
    assert_allclose(gates["pre_activation"][0, :, 0], [0.6, 0.670360346], rtol=1e-6)
    assert_allclose(gates["h_t"][0, :, 0], [0.537049567, 0.585216868], rtol=1e-6)


def test_no_trace_unless_asked():
    assert numpy_engine.run(spec_for("gru"), fixed_input(), fixed_weights("gru")).gates is None


def test_without_bias():
    weights = fixed_weights("lstm")
    no_bias = Weights(weights.kernel, weights.recurrent_kernel, None)
    zero_bias = Weights(weights.kernel, weights.recurrent_kernel, np.zeros(12, np.float32))
    spec = spec_for("lstm")
    assert_array_equal(
        numpy_engine.run(spec, fixed_input(), no_bias).o,
        numpy_engine.run(spec, fixed_input(), zero_bias).o,
    )


def test_saturating_inputs_stay_finite_without_warnings():
    x = np.full((1, 3, 2), 1e4, dtype=np.float32)
    with np.errstate(all="raise"):
        out = numpy_engine.run(spec_for("lstm", steps=3), x, fixed_weights("lstm"), trace=True)
    assert np.isfinite(out.o).all()
    assert set(np.unique(out.gates["i"])) <= {0.0, 1.0}


def test_never_imports_tensorflow_or_keras():
    code = (
        "import sys, rnnstate\n"
        "rnnstate.run('lstm', engine='numpy', gates=True, seed=0, return_sequences=True)\n"
        "rnnstate.run('gru', engine='numpy', gates=True, seed=0)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))\n"
    )
    process = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    assert process.stdout == b"[]\n"


def test_progress_is_reported_after_each_chunk():
    reports = []
    steps = list(numpy_engine.steps(10, lambda *r: reports.append(r), steps_per_chunk=4))
    assert steps == list(range(10))
    assert reports == [("numpy", 4), ("numpy", 8), ("numpy", 10)]


def test_run_reports_progress_to_the_end():
    reports = []
    spec = spec_for("gru", steps=T)
    numpy_engine.run(
        spec, fixed_input(), fixed_weights("gru"), progress=lambda *r: reports.append(r)
    )
    assert reports == [("numpy", T)]
