"""rnnstate.summary: per-unit statistics over a dataset, checked against the full arrays of a run,
hand-made gates and a relu layer built with known dead units."""

import math
from dataclasses import replace

import numpy as np
import pytest

from rnnstate.api import run_engines, step_mask
from rnnstate.spec import Spec
from rnnstate.summary import Accumulator, Thresholds, in_batches, summarize
from rnnstate.weights import Weights, initial_weights


def layer(cell: str, N: int = 23, T: int = 9, D: int = 3, M: int = 5, **settings):
    """A Spec, seeded weights and input (N, T, D) whose first steps of every third sequence
    equal the mask value 0."""
    spec = Spec(cell, steps=T, features=D, units=M, batch=N, engine="numpy", **settings)
    weights = initial_weights(spec, np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((N, T, D)).astype(np.float32)
    x[::3, :2] = 0.0
    return spec, weights, x


def reference(values: np.ndarray, counted: np.ndarray) -> dict[str, np.ndarray]:
    """The statistics from the full array (N, T, M) at the counted (N, T) steps, written out
    independently of rnnstate.summary: exactly rounded sums (math.fsum), two-pass std."""
    chosen = values[counted].astype(np.float64)  # (K, M)
    K = chosen.shape[0]
    return {
        "mean": np.array([math.fsum(column) / K for column in chosen.T]),
        "std": chosen.std(axis=0),
        "minimum": chosen.min(axis=0),
        "maximum": chosen.max(axis=0),
        "zeros": (chosen == 0).sum(axis=0) / K,
        "left": (chosen < 0.1).sum(axis=0) / K,
        "right": (chosen > 0.9).sum(axis=0) / K,
    }


@pytest.mark.parametrize(
    ("cell", "settings"),
    [("lstm", {}), ("gru", {}), ("rnn", {}), ("lstm", {"backwards": True}),
     ("gru", {"bidirectional": True})],
)  # fmt: skip
def test_statistics_equal_those_of_the_full_arrays(cell, settings):
    spec, weights, x = layer(cell, mask_value=0.0, **settings)
    full = run_engines(replace(spec, gates=True), x, weights)
    mask = step_mask(x, 0.0)
    summary = summarize(spec, in_batches(x, spec.batch), weights, spec.batch)
    assert summary.sequences == 23
    assert summary.masked == 8 * 2  # sequences 0, 3, ..., 21: two steps each
    assert summary.steps == 23 * 9 - 16
    assert list(summary.stats) == list(full.gates)
    for name, values in full.gates.items():
        trace_mask = mask[:, ::-1] if spec.backwards else mask  # the trace's step order
        expected = reference(values, trace_mask)
        stats = summary.stats[name]
        np.testing.assert_allclose(stats.mean, expected["mean"], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(stats.std, expected["std"], rtol=1e-9, atol=1e-12)
        for field in ("minimum", "maximum", "zeros"):
            np.testing.assert_array_equal(getattr(stats, field), expected[field])
        if stats.gate:
            np.testing.assert_array_equal(stats.left, expected["left"])
            np.testing.assert_array_equal(stats.right, expected["right"])


def test_only_the_cells_gates_carry_saturation():
    spec, weights, x = layer("lstm")
    summary = summarize(spec, in_batches(x, 10), weights, 10)
    gates = [name for name, stats in summary.stats.items() if stats.gate]
    assert gates == ["i", "f", "og"]
    assert summary.stats["h_t"].left is None and summary.stats["c_t"].saturated is None


def test_sums_do_not_depend_on_how_the_sequences_are_cut_into_batches():
    values = np.random.default_rng(2).standard_normal((40, 30, 6)).astype(np.float32) * 1e3
    values[5] *= 1e-6  # magnitudes far apart, where the order of float64 sums shows
    counted = np.random.default_rng(3).random((40, 30)) > 0.2
    whole, cut = Accumulator("h_t", 6, True), Accumulator("h_t", 6, True)
    whole.add(values, counted, Thresholds())
    for start, stop in ((0, 1), (1, 8), (8, 9), (9, 40)):
        cut.add(values[start:stop], counted[start:stop], Thresholds())
    assert whole.total.tobytes() == cut.total.tobytes()
    assert whole.squares.tobytes() == cut.squares.tobytes()
    for field in ("mean", "std", "minimum", "maximum", "zeros", "left", "right"):
        assert getattr(whole.stats(), field).tobytes() == getattr(cut.stats(), field).tobytes()


def test_saturation_fractions_of_hand_made_gates():
    gate = np.array(
        [[[0.05, 0.5, 0.95], [0.1, 0.5, 0.91], [0.09, 0.5, 0.9], [0.0, 0.95, 0.99]]],
        dtype=np.float32,
    )  # (1, 4, 3): unit 0 below 0.1 at 3 steps of 4, unit 2 above 0.9 at 3 of 4
    accumulator = Accumulator("f", 3, True)
    accumulator.add(gate, np.ones((1, 4), dtype=bool), Thresholds())
    stats = accumulator.stats()
    np.testing.assert_array_equal(stats.left, [0.75, 0.0, 0.0])  # 0.1 itself is not below
    np.testing.assert_array_equal(stats.right, [0.0, 0.25, 0.75])  # 0.9 itself is not above
    np.testing.assert_array_equal(stats.saturated, [False, False, False])
    np.testing.assert_array_equal(stats.zeros, [0.25, 0.0, 0.0])


def test_thresholds_are_settable_and_a_gate_saturated_at_every_step_is_flagged():
    gate = np.array([[[0.05, 0.5], [0.85, 0.5], [0.2, 0.5]]], dtype=np.float32)  # (1, 3, 2)
    counted = np.array([[True, True, False]])  # the last step is masked
    accumulator = Accumulator("z", 2, True)
    accumulator.add(gate, counted, Thresholds(low=0.1, high=0.8))
    stats = accumulator.stats()
    np.testing.assert_array_equal(stats.left, [0.5, 0.0])
    np.testing.assert_array_equal(stats.right, [0.5, 0.0])
    np.testing.assert_array_equal(stats.saturated, [True, False])
    assert accumulator.count == 2


def test_a_relu_layer_with_known_dead_units():
    # Units 0 and 2 get a negative input at every step (x >= 0 times a negative kernel, a
    # negative bias, no recurrence into them): relu keeps them at exactly 0. Units 1 and 3 get
    # a positive bias: alive.
    D, M = 2, 4
    kernel = np.array([[-1.0, 0.5, -2.0, 0.1], [-0.5, 0.2, -1.0, 0.3]], dtype=np.float32)
    recurrent = np.zeros((M, M), dtype=np.float32)
    recurrent[1, 3] = 0.5  # alive units feed each other only
    recurrent[3, 1] = -0.25
    bias = np.array([-0.1, 0.3, -0.2, 0.4], dtype=np.float32)
    weights = Weights(kernel, recurrent, bias)
    x = np.abs(np.random.default_rng(4).standard_normal((17, 6, D))).astype(np.float32)
    spec = Spec("rnn", steps=6, features=D, units=M, batch=17, activation="relu", engine="numpy")
    summary = summarize(spec, in_batches(x, 5), weights, 5)
    h = summary.stats["h_t"]
    np.testing.assert_array_equal(h.dead, [True, False, True, False])
    np.testing.assert_array_equal(h.zeros[[0, 2]], [1.0, 1.0])
    np.testing.assert_array_equal(h.maximum[[0, 2]], [0.0, 0.0])
    assert (h.minimum[[1, 3]] > 0).all()
    pre = summary.stats["pre_activation"]
    assert (pre.maximum[[0, 2]] < 0).all()


def test_an_initial_state_is_cut_along_with_the_batches():
    spec, weights, x = layer("gru", N=10)
    start = {"h": np.random.default_rng(5).standard_normal((10, 5)).astype(np.float32)}
    spec = replace(spec, initial_state=True)
    full = run_engines(replace(spec, gates=True), x, weights, start)
    summary = summarize(spec, in_batches(x, 10), weights, 10, initial_state=start)
    cut = summarize(spec, in_batches(x, 4), weights, 4, initial_state=start)
    expected = full.gates["h_t"].reshape(-1, 5).astype(np.float64).max(axis=0)
    np.testing.assert_array_equal(summary.stats["h_t"].maximum, expected)
    np.testing.assert_allclose(cut.stats["h_t"].mean, summary.stats["h_t"].mean, rtol=1e-6)


def test_progress_counts_the_sequences_done():
    spec, weights, x = layer("rnn", N=11)
    seen: list[int] = []
    summarize(spec, in_batches(x, 4), weights, 4, progress=seen.append)
    assert seen == [4, 8, 11]


@pytest.mark.parametrize("gate", [True, False])
def test_the_compiled_pass_gives_the_bits_of_the_numpy_one(monkeypatch, gate):
    values = np.random.default_rng(6).standard_normal((30, 20, 7)).astype(np.float32)
    values[:, :, 3] = np.maximum(values[:, :, 3], 0)  # zeros to count
    values[4] *= 1e5  # magnitudes far apart, where the order of the sums shows
    counted = np.random.default_rng(7).random((30, 20)) > 0.3
    results = []
    for mode in ("never", "always"):
        monkeypatch.setenv("RNNSTATE_COMPILED", mode)
        accumulator = Accumulator("z", 7, gate)
        for start in range(0, 30, 8):
            accumulator.add(values[start : start + 8], counted[start : start + 8], Thresholds())
        results.append(accumulator.stats())
    numpy_pass, compiled_pass = results
    for field in ("mean", "std", "minimum", "maximum", "zeros", "dead", "left", "right",
                  "saturated"):  # fmt: skip
        expected = getattr(numpy_pass, field)
        actual = getattr(compiled_pass, field)
        assert (actual is None) if expected is None else actual.tobytes() == expected.tobytes()
    assert not numpy_pass.dead[3] and numpy_pass.zeros[3] > 0


def hardly_moving(shape: tuple[int, int]) -> np.ndarray:
    """Values (n, T, 3) float32 of units that hardly move: unit 0 constant near 1, unit 1 a few
    float32 steps either side of 3e5 (ulp 2**-5), unit 2 a few steps either side of 1."""
    steps = np.random.default_rng(9).integers(-3, 4, (*shape, 2)).astype(np.float64)
    values = np.empty((*shape, 3), np.float32)
    values[..., 0] = np.float32(0.9999546)
    values[..., 1] = 3e5 + steps[..., 0] * 2.0**-5
    values[..., 2] = 1 + steps[..., 1] * 2.0**-23
    return values


@pytest.mark.parametrize("mode", ["never", "always"])
def test_a_unit_that_hardly_moves_keeps_its_std(monkeypatch, mode):
    # The mean is far from 0 against the std: a sum of squares less the squared mean would
    # cancel most digits of the variance (unit 1's std came out 1e-3 off, relative).
    monkeypatch.setenv("RNNSTATE_COMPILED", mode)  # the numpy pass, then the compiled one
    values = hardly_moving((40, 30))
    counted = np.random.default_rng(10).random((40, 30)) > 0.2
    accumulator = Accumulator("h_t", 3, False)
    for start in range(0, 40, 16):
        accumulator.add(values[start : start + 16], counted[start : start + 16], Thresholds())
    stats = accumulator.stats()
    expected = reference(values, counted)
    assert stats.std[0] == 0.0
    np.testing.assert_allclose(stats.std, expected["std"], rtol=1e-9)
    np.testing.assert_allclose(stats.mean, expected["mean"], rtol=1e-15)


def test_the_streamed_path_keeps_the_std_of_a_unit_that_hardly_moves(monkeypatch):
    # A linear SimpleRNN without recurrence: h_t = x_t W + 3e5, moving by a few float32 steps
    # (unit 0 not at all: its kernel is 0).
    D, M, N = 2, 3, 150
    kernel = np.array([[0.0, 0.01, 0.02], [0.0, -0.01, 0.005]], np.float32)
    bias = np.full(M, 3e5, np.float32)
    weights = Weights(kernel, np.zeros((M, M), np.float32), bias)
    x = np.random.default_rng(11).standard_normal((N, 9, D)).astype(np.float32)
    spec = Spec("rnn", steps=9, features=D, units=M, batch=N, activation="linear",
                engine="numpy")  # fmt: skip
    full = run_engines(replace(spec, gates=True), x, weights)
    ran = streamed(monkeypatch)
    summary = summarize(spec, in_batches(x, 75), weights, 75)
    assert ran == [75, 75]
    expected = reference(full.gates["h_t"], np.ones((N, 9), dtype=bool))
    assert summary.stats["h_t"].std[0] == 0.0 and expected["std"][1] > 0.01
    np.testing.assert_allclose(summary.stats["h_t"].std, expected["std"], rtol=1e-9)


def test_with_every_step_masked_the_statistics_are_missing_not_made_up():
    accumulator = Accumulator("h_t", 2, False)
    accumulator.add(np.ones((3, 4, 2), np.float32), np.zeros((3, 4), dtype=bool), Thresholds())
    stats = accumulator.stats()
    for field in ("mean", "std", "minimum", "maximum", "zeros"):
        assert np.isnan(getattr(stats, field)).all()
    np.testing.assert_array_equal(stats.dead, [False, False])


@pytest.mark.parametrize("backwards", [False, True])
def test_top_places_are_the_largest_counted_values_of_the_full_trace(backwards):
    spec, weights, x = layer("lstm", N=30, T=7, mask_value=0.0, backwards=backwards)
    full = run_engines(replace(spec, gates=True), x, weights)
    h = full.gates["h_t"][:, :, 2].astype(np.float64)  # (N, T), the trace's order
    h = h[:, ::-1] if backwards else h  # input order
    counted = step_mask(x, 0.0)
    summary = summarize(spec, in_batches(x, 30), weights, 30, top=(6, 2))
    places = [(p.sequence, p.step, p.value) for p in summary.top.places]
    candidates = sorted((-h[n, t], n, t) for n, t in zip(*np.nonzero(counted), strict=True))
    assert places == [(int(n), int(t), -v) for v, n, t in candidates[:6]]
    first = summary.top.places[0]
    expected_around = {t: h[first.sequence, t] for t in range(first.step - 2, first.step + 3)
                       if 0 <= t < 7 and counted[first.sequence, t]}  # fmt: skip
    assert first.around == expected_around


def test_top_places_do_not_depend_on_the_batches_ties_going_to_the_earlier_place():
    from rnnstate.summary import TopPlaces

    values = np.round(np.random.default_rng(8).random((20, 6, 2)), 1).astype(np.float32)  # ties
    counted = np.ones((20, 6), dtype=bool)
    whole, cut = TopPlaces("h_t", 1, 9), TopPlaces("h_t", 1, 9)
    whole.add(values, counted, 0, False)
    for start in range(0, 20, 3):
        cut.add(values[start : start + 3], counted[start : start + 3], start, False)
    assert whole.places == cut.places
    order = [(-p.value, p.sequence, p.step) for p in whole.places]
    assert order == sorted(order)


def streamed(monkeypatch) -> list[int]:
    """Make summarize take the streamed path (rnnstate.summary_steps) on small batches of more
    than 64 sequences (where the engine runs its numpy loop); returns the sizes it ran."""
    import rnnstate.summary
    import rnnstate.summary_steps

    monkeypatch.delenv("RNNSTATE_COMPILED", raising=False)
    monkeypatch.setattr(rnnstate.summary, "COMPILED_MIN_VALUES", 0)
    ran: list[int] = []
    run_batch = rnnstate.summary_steps.run_batch

    def counting(spec, x, *args):
        ran.append(len(x))
        return run_batch(spec, x, *args)

    monkeypatch.setattr(rnnstate.summary_steps, "run_batch", counting)
    return ran


@pytest.mark.parametrize(
    ("cell", "settings"),
    [("lstm", {}), ("gru", {"reset_after": False}), ("rnn", {"activation": "relu"}),
     ("lstm", {"backwards": True}), ("gru", {"bidirectional": True}),
     ("lstm", {"engine": "exact"})],
)  # fmt: skip
def test_the_streamed_path_gives_the_statistics_of_the_full_arrays(monkeypatch, cell, settings):
    engine = settings.pop("engine", "numpy")
    spec, weights, x = layer(cell, N=150, mask_value=0.0, **settings)
    spec = replace(spec, engine=engine)
    full = run_engines(replace(spec, gates=True), x, weights)
    mask = step_mask(x, 0.0)
    ran = streamed(monkeypatch)
    summary = summarize(spec, in_batches(x, 75), weights, 75)
    assert ran == [75, 75]  # every batch streamed, no trace kept
    assert summary.steps == 150 * 9 - 50 * 2 and summary.masked == 50 * 2
    assert list(summary.stats) == list(full.gates)
    for name, values in full.gates.items():
        expected = reference(values, mask[:, ::-1] if spec.backwards else mask)
        stats = summary.stats[name]
        np.testing.assert_allclose(stats.mean, expected["mean"], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(stats.std, expected["std"], rtol=1e-9, atol=1e-12)
        for field in ("minimum", "maximum", "zeros"):
            np.testing.assert_array_equal(getattr(stats, field), expected[field])
        if stats.gate:
            np.testing.assert_array_equal(stats.left, expected["left"])
            np.testing.assert_array_equal(stats.right, expected["right"])
        else:
            assert stats.left is None


@pytest.mark.parametrize("settings", [{}, {"backwards": True}, {"bidirectional": True}])
def test_the_streamed_path_shows_the_digits_of_the_traced_one(monkeypatch, settings):
    from rich.console import Console

    from rnnstate.render.summary import quantity_table

    spec, weights, x = layer("lstm", N=140, mask_value=0.0, **settings)
    traced = summarize(spec, in_batches(x, 140), weights, 140)  # the full trace of one batch
    ran = streamed(monkeypatch)
    cut = summarize(spec, in_batches(x, 70), weights, 70)
    assert ran == [70, 70]

    def shown(summary, name):
        console = Console(width=200, record=True, file=None)
        with console.capture():
            console.print(quantity_table(summary.stats[name], "unit"))
        return console.export_text()

    for name, stats in traced.stats.items():
        assert shown(cut, name) == shown(traced, name)
        # the same float64 sums of the same values, added in another order
        np.testing.assert_allclose(cut.stats[name].mean, stats.mean, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(cut.stats[name].std, stats.std, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(("low", "high"), [(0.1, 0.9), (1 / 3, 2 / 3), (0.25, 0.75)])
def test_thresholds_in_float32_count_exactly_the_values_beyond_the_float64_thresholds(low, high):
    thresholds = Thresholds(low, high)
    low32, high32 = thresholds.of(np.float32)
    for threshold in (low, high):  # every float32 within 64 ulp either side of the threshold
        centre = np.float32(threshold).view(np.int32)
        values = np.arange(centre - 64, centre + 65, dtype=np.int32).view(np.float32)
        wide = values.astype(np.float64)
        np.testing.assert_array_equal(values < low32, wide < low)
        np.testing.assert_array_equal(values > high32, wide > high)
    assert thresholds.of(np.float64) == (low, high)
