"""Property tests: on random cells, options and sizes, the numpy engine equals Keras."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from rnnstate.engines import keras as keras_engine
from rnnstate.engines import numpy as numpy_engine
from rnnstate.spec import Spec
from rnnstate.weights import Weights, initial_weights

TOLERANCE = 1e-5


@st.composite
def runs(draw):
    """A random Spec, weights drawn as Keras would (random bias, sometimes none) and an input."""
    cell = draw(st.sampled_from(["lstm", "gru", "rnn"]))
    spec = Spec(
        cell,
        steps=draw(st.integers(1, 50)),
        features=draw(st.integers(1, 8)),
        units=draw(st.integers(1, 16)),
        batch=draw(st.integers(1, 3)),
        return_sequences=draw(st.booleans()),
        reset_after=draw(st.booleans()),
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    weights = initial_weights(spec, rng)
    bias = None
    if draw(st.booleans()):  # a trained-looking bias instead of Keras's zeros
        bias = rng.normal(0, 0.5, weights.bias.shape).astype(np.float32)
    weights = Weights(weights.kernel, weights.recurrent_kernel, bias)
    scale = draw(st.sampled_from([0.1, 1.0, 5.0]))
    x = (scale * rng.standard_normal((spec.batch, spec.steps, spec.features))).astype(np.float32)
    return spec, weights, x


@settings(max_examples=30, deadline=None)
@given(runs())
def test_numpy_engine_within_tolerance_of_keras(run):
    spec, weights, x = run
    keras_out = keras_engine.run(spec, x, weights)
    numpy_out = numpy_engine.run(spec, x, weights, trace=True)
    assert numpy_out.o.shape == keras_out.o.shape
    assert_allclose(numpy_out.o, keras_out.o, rtol=0, atol=TOLERANCE)
    assert_allclose(numpy_out.h, keras_out.h, rtol=0, atol=TOLERANCE)
    if spec.cell == "lstm":
        assert_allclose(numpy_out.c, keras_out.c, rtol=0, atol=TOLERANCE)
    trace = numpy_out.gates
    assert_array_equal(trace["h_t"][:, -1], numpy_out.h)
    if spec.cell == "lstm":
        assert_array_equal(trace["c_t"][:, -1], numpy_out.c)
    if spec.return_sequences:
        assert_array_equal(trace["h_t"], numpy_out.o)
    assert all(a.shape == (spec.batch, spec.steps, spec.units) for a in trace.values())
