"""Property tests: on random cells, activations, options and sizes, the numpy engine equals
Keras (within 1e-5, relative beyond magnitude 1, as --check measures)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from rnnstate.activations import ELEMENTWISE, UNBOUNDED
from rnnstate.api import step_mask
from rnnstate.engines import keras as keras_engine
from rnnstate.engines import numpy as numpy_engine
from rnnstate.spec import Spec
from rnnstate.weights import BidirectionalWeights, Weights, initial_weights

TOLERANCE = 1e-5
# With an unbounded activation the states are sums that are not squashed back into ±1 at each
# step, so the last-bit rounding in which the engines' float32 matrix products differ adds up
# over the steps (seen: 2e-5 relative after 28 steps of log_sigmoid). Equations that differed
# would differ far more.
UNBOUNDED_TOLERANCE = 1e-4
MASK_VALUE = 0.0
# exponential overflows within a few steps; hard_shrink jumps at ±0.5, where float32 rounding
# of the two engines may land on either side. Both are checked against Keras in
# test_layer_settings.py on short sequences.
ACTIVATIONS = [name for name in ELEMENTWISE if name not in ("exponential", "hard_shrink")]
# Gates whose values stay within [0, 1], as gates are meant to. Any other gate (relu, softplus,
# or tanh, whose z = -1 makes a GRU's 1 - z = 2) multiplies the state by more than 1 at some
# steps, and with it the last-bit rounding in which the two engines' matrix products differ:
# over 50 steps that reached 3e-4 relative, which is float32 arithmetic, not a difference in the
# equations. Those gates are checked against Keras on short sequences in test_layer_settings.py.
GATE_ACTIVATIONS = ["sigmoid", "hard_sigmoid", "sparse_sigmoid"]


def with_random_bias(weights: Weights, rng: np.random.Generator, draw) -> Weights:
    """Keras's zeros replaced by a trained-looking bias, or none at all."""
    choice = draw(st.sampled_from(["keras", "random", "none"]))
    if choice == "keras":
        return weights
    bias = None if choice == "none" else rng.normal(0, 0.5, weights.bias.shape).astype(np.float32)
    return Weights(weights.kernel, weights.recurrent_kernel, bias)


@st.composite
def runs(draw):
    """A random Spec (direction, merge, mask, initial state included), weights and input."""
    cell = draw(st.sampled_from(["lstm", "gru", "rnn"]))
    bidirectional = draw(st.booleans())
    masked = draw(st.booleans())
    spec = Spec(
        cell,
        steps=draw(st.integers(1, 50)),
        features=draw(st.integers(1, 8)),
        units=draw(st.integers(1, 16)),
        batch=draw(st.integers(1, 3)),
        return_sequences=draw(st.booleans()),
        reset_after=draw(st.booleans()),
        backwards=not bidirectional and draw(st.booleans()),
        bidirectional=bidirectional,
        merge=draw(st.sampled_from(["concat", "sum", "mul", "ave", "none"])),
        mask_value=MASK_VALUE if masked else None,
        activation=draw(st.sampled_from(ACTIVATIONS)),
        recurrent_activation=draw(
            st.sampled_from(["sigmoid"] if cell == "rnn" else GATE_ACTIVATIONS)
        ),
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    weights = initial_weights(spec, rng)
    if bidirectional:
        weights = BidirectionalWeights(
            with_random_bias(weights.forward, rng, draw),
            with_random_bias(weights.backward, rng, draw),
        )
        if weights.forward.use_bias != weights.backward.use_bias:
            weights = BidirectionalWeights(weights.forward, weights.forward)
    else:
        weights = with_random_bias(weights, rng, draw)
    scale = draw(st.sampled_from([0.1, 1.0, 5.0]))
    x = (scale * rng.standard_normal((spec.batch, spec.steps, spec.features))).astype(np.float32)
    if masked:  # skip a random set of steps, sometimes all of them
        x[rng.random((spec.batch, spec.steps)) < draw(st.sampled_from([0.3, 1.0]))] = MASK_VALUE
    initial_state = None
    if draw(st.booleans()):
        initial_state = {
            name: rng.normal(0, 0.5, (spec.batch, spec.units)).astype(np.float32)
            for name in spec.state_names
        }
        spec = Spec(**{**spec.__dict__, "initial_state": True})
    return spec, weights, x, initial_state


@settings(max_examples=40, deadline=None)
@given(runs())
def test_numpy_engine_within_tolerance_of_keras(run):
    spec, weights, x, initial_state = run
    keras_out = keras_engine.run(spec, x, weights, initial_state)
    mask = step_mask(x, spec.mask_value)
    numpy_out = numpy_engine.run(spec, x, weights, initial_state, mask, trace=True)
    unbounded = {spec.activation, spec.recurrent_activation} & UNBOUNDED
    tolerance = UNBOUNDED_TOLERANCE if unbounded else TOLERANCE
    assert list(numpy_out.outputs) == list(keras_out.outputs) == list(spec.output_names)
    assert list(numpy_out.states) == list(keras_out.states) == list(spec.state_names)
    for name, expected in {**keras_out.outputs, **keras_out.states}.items():
        mine = {**numpy_out.outputs, **numpy_out.states}[name]
        assert mine.shape == expected.shape, name
        assert_allclose(mine, expected, rtol=tolerance, atol=tolerance, err_msg=name)
    trace = numpy_out.gates
    assert all(a.shape == (spec.batch, spec.steps, spec.units) for a in trace.values())
    if spec.bidirectional:  # the trace is in input order: fw ends at T-1, bw at 0
        assert_array_equal(trace["h_t_fw"][:, -1], numpy_out.states["h_fw"])
        assert_array_equal(trace["h_t_bw"][:, 0], numpy_out.states["h_bw"])
    else:  # in o's order: the last row is the last step read
        assert_array_equal(trace["h_t"][:, -1], numpy_out.h)
        if spec.cell == "lstm":
            assert_array_equal(trace["c_t"][:, -1], numpy_out.c)
        if spec.return_sequences and spec.mask_value is None:
            assert_array_equal(trace["h_t"], numpy_out.o)
