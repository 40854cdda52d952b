"""Direction, masks and initial states, against Keras's own rules and numbers."""

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from typer.testing import CliRunner

import rnnstate
from rnnstate.cli import app
from rnnstate.weights import BidirectionalWeights

runner = CliRunner()
X = np.random.default_rng(11).standard_normal((2, 6, 3)).astype(np.float32)  # (N, T, D)


def run(cell="lstm", x=X, **settings):
    return rnnstate.run(cell, x=x, seed=1, units=4, **settings)


def json_of(*args: str) -> dict:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


# ------------------------------------------------------------------------------ go_backwards


@pytest.mark.parametrize("engine", ["keras", "numpy"])
def test_backwards_reads_the_reversed_input_and_keeps_processing_order(engine):
    backwards = run(return_sequences=True, backwards=True, engine=engine)
    forward_on_reversed = run(
        x=np.ascontiguousarray(X[:, ::-1]), return_sequences=True, engine=engine
    )
    assert_allclose(backwards.o, forward_on_reversed.o, rtol=0, atol=1e-6)
    assert_array_equal(backwards.h, backwards.o[:, -1])
    assert [backwards.step_of_row(r) for r in range(6)] == [5, 4, 3, 2, 1, 0]


def test_backwards_table_labels_rows_by_input_step():
    result = runner.invoke(app, ["rnn", "--seed", "0", "-T", "3", "--backwards", "--sequences"])
    rows = [line for line in result.stdout.splitlines() if line.startswith("│")]
    o_rows = rows[3:6]  # after x's three rows
    assert [row.split("│")[1].strip() for row in o_rows] == ["2", "1", "0"]
    assert "= h" in o_rows[-1]
    assert "✓ h equals o[t=0]; largest |h - o[t=0]| = 0" in result.stdout


# ------------------------------------------------------------------------------ Bidirectional


def test_bidirectional_halves_are_the_two_directions():
    both = run("gru", return_sequences=True, bidirectional=True)
    weights = both.weights
    assert isinstance(weights, BidirectionalWeights)
    forward = run("gru", weights=weights.forward, return_sequences=True)
    backward = run("gru", weights=weights.backward, return_sequences=True, backwards=True)
    assert_allclose(both.o[..., :4], forward.o, rtol=0, atol=1e-6)
    assert_allclose(both.o[..., 4:], backward.o[:, ::-1], rtol=0, atol=1e-6)
    assert list(both.states) == ["h_fw", "h_bw"]
    assert_array_equal(both.states["h_fw"], both.o[:, -1, :4])  # h_fw = o[t=T-1, :M]
    assert_array_equal(both.states["h_bw"], both.o[:, 0, 4:])  # h_bw = o[t=0, M:]


def test_forward_half_is_the_unidirectional_layer_of_the_same_seed():
    assert_array_equal(run(bidirectional=True).states["h_fw"], run().h)


@pytest.mark.parametrize(
    ("merge", "combine"),
    [
        ("sum", lambda a, b: a + b),
        ("mul", lambda a, b: a * b),
        ("ave", lambda a, b: (a + b) / 2),
    ],
)
def test_merge_modes_combine_the_halves(merge, combine):
    halves = run(return_sequences=True, bidirectional=True, merge="none")
    merged = run(return_sequences=True, bidirectional=True, merge=merge)
    expected = combine(halves.outputs["o_fw"], halves.outputs["o_bw"])
    assert_allclose(merged.o, expected, rtol=0, atol=1e-6)
    assert [(c.state, c.equal, c.reason) for c in merged.checks()[:2]] == [
        (
            state,
            False,
            f"merge_mode={merge} mixes the two halves in o, so neither state can be read off it",
        )
        for state in ("h_fw", "h_bw")
    ]


def test_lstm_states_come_in_keras_order_in_json():
    doc = json_of("lstm", "--seed", "0", "--bidirectional", "--merge", "none")
    keys = [k for k in doc if k in ("o", "o_fw", "o_bw", "h_fw", "c_fw", "h_bw", "c_bw")]
    assert keys == ["o_fw", "o_bw", "h_fw", "c_fw", "h_bw", "c_bw"]
    assert doc["config"]["merge"] == "none"
    assert [c["equals"] for c in doc["checks"]["states"]] == ["o_fw", "o_bw"]


def test_concat_table_marks_both_states():
    result = runner.invoke(app, ["lstm", "--seed", "0", "--bidirectional", "--sequences"])
    assert "✓ h_fw equals o[t=7, :3]; largest |h_fw - o[t=7, :3]| = 0" in result.stdout
    assert "✓ h_bw equals o[t=0, 3:]; largest |h_bw - o[t=0, 3:]| = 0" in result.stdout
    assert "o[:, :M]  forward half of o" in result.stdout
    assert "o[:, M:]  backward half of o, back in input order" in result.stdout


def test_sum_says_in_words_what_holds():
    result = runner.invoke(app, ["gru", "--seed", "0", "--bidirectional", "--merge", "sum"])
    text = " ".join(result.stdout.split())
    assert "merge_mode=sum: o = o_fw + o_bw; h_fw is the forward layer's state after t=7" in text
    assert (
        "· h_fw equals no part of o: merge_mode=sum mixes the two halves in o, so neither state "
        "can be read off it" in text
    )


def test_bidirectional_weights_round_trip(tmp_path):
    path = str(tmp_path / "w.npz")
    first = json_of("gru", "--seed", "2", "--bidirectional", "--save-weights", path)
    with np.load(path) as saved:
        assert sorted(saved.files) == [
            "backward_bias",
            "backward_kernel",
            "backward_recurrent_kernel",
            "forward_bias",
            "forward_kernel",
            "forward_recurrent_kernel",
        ]
    second = json_of("gru", "--seed", "2", "--bidirectional", "--weights", path)
    assert second["config"]["sources"]["weights"] == path
    del first["config"], second["config"]  # they differ in where the weights came from
    assert second == first


def test_unidirectional_weights_with_bidirectional_are_refused(tmp_path):
    path = str(tmp_path / "w.npz")
    runner.invoke(app, ["gru", "--seed", "2", "--save-weights", path])
    result = runner.invoke(app, ["gru", "--bidirectional", "--weights", path])
    assert result.exit_code == 1
    assert "holds arrays bias, kernel, recurrent_kernel; expected forward_kernel" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--merge", "sum"],
            "Invalid value for '--merge': --merge applies to --bidirectional only",
        ),
        (["--bidirectional", "--backwards"], "--backwards and --bidirectional do not combine"),
        (["--bidirectional", "--merge", "max"], "Invalid value for '--merge'"),
    ],
)
def test_direction_options_in_conflict_exit_2(args, message):
    result = runner.invoke(app, ["lstm", *args])
    assert result.exit_code == 2
    assert message in result.stderr


# ------------------------------------------------------------------------------ masks


def masked_input() -> np.ndarray:
    x = X[:1].copy()
    x[0, 0] = 0.0  # the first step masked: o is zeros there
    x[0, 3] = 0.0  # a middle step masked: o repeats o[t=2], the states carry over
    x[0, 5] = 0.0  # the last step masked: h is the state after t=4
    return x


@pytest.mark.parametrize("engine", ["keras", "numpy"])
def test_masked_steps_follow_keras_rule(engine):
    result = run("gru", x=masked_input(), return_sequences=True, mask_value=0.0, engine=engine)
    o = result.o[0]
    assert_array_equal(o[0], np.zeros(4))
    assert_array_equal(o[3], o[2])
    assert_array_equal(o[5], o[4])
    assert_array_equal(result.h[0], o[4])
    assert_array_equal(result.mask, [[False, True, True, False, True, False]])
    unmasked = run("gru", x=np.ascontiguousarray(masked_input()[:, [1, 2, 4]]), engine=engine)
    assert_allclose(result.h, unmasked.h, rtol=0, atol=1e-6)  # masked steps change nothing


def test_masked_steps_are_marked_and_in_json():
    path_x = masked_input()[0]
    doc_result = runner.invoke(
        app,
        ["lstm", "--input", "-", "--mask-value", "0", "--sequences", "--seed", "0"],
        input=json.dumps(path_x.tolist()),
    )
    assert doc_result.exit_code == 0
    masked_rows = [
        line for line in doc_result.stdout.splitlines() if "masked" in line and "│" in line
    ]
    assert len(masked_rows) == 6  # three rows in x, three in o
    doc = json.loads(
        runner.invoke(
            app,
            ["lstm", "--input", "-", "--mask-value", "0", "--json", "--seed", "0"],
            input=json.dumps(path_x.tolist()),
        ).stdout
    )
    assert doc["masked_steps"] == [[True, False, False, True, False, True]]
    assert doc["config"]["mask_value"] == 0.0


# ------------------------------------------------------------------------------ initial states


@pytest.mark.parametrize("engine", ["keras", "numpy"])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_two_chained_runs_equal_one_run_over_the_joined_input(cell, engine):
    whole = run(cell, return_sequences=True, engine=engine)
    first = run(cell, x=np.ascontiguousarray(X[:, :4]), return_sequences=True, engine=engine)
    second = run(
        cell,
        x=np.ascontiguousarray(X[:, 4:]),
        return_sequences=True,
        engine=engine,
        initial_state=first.states,
    )
    assert_allclose(np.concatenate([first.o, second.o], axis=1), whole.o, rtol=0, atol=1e-6)
    for name in whole.states:
        assert_allclose(second.states[name], whole.states[name], rtol=0, atol=1e-6)


def test_chaining_through_files(tmp_path):
    np.save(tmp_path / "part1.npy", X[:, :4])
    np.save(tmp_path / "part2.npy", X[:, 4:])
    np.save(tmp_path / "whole.npy", X)
    first = tmp_path / "run1.npz"
    json_of("lstm", "--seed", "0", "--input", str(tmp_path / "part1.npy"), "--output", str(first))
    second = json_of(
        "lstm", "--seed", "0", "--input", str(tmp_path / "part2.npy"), "--initial-state", str(first)
    )
    whole = json_of("lstm", "--seed", "0", "--input", str(tmp_path / "whole.npy"))
    assert_allclose(second["h"], whole["h"], rtol=0, atol=1e-6)
    assert_allclose(second["c"], whole["c"], rtol=0, atol=1e-6)
    assert second["config"]["initial_state"] is True
    with np.load(first) as saved:
        assert_array_equal(np.array(second["initial_state"]["h"], dtype=np.float32), saved["h"])


def test_initial_state_of_the_wrong_shape_or_names(tmp_path):
    path = tmp_path / "state.npz"
    np.savez(path, h=np.zeros((1, 3), np.float32))
    result = runner.invoke(app, ["lstm", "--initial-state", str(path)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"rnnstate: error: {path}: holds h; this layer's states are h, c, each (N, M) = (1, 3)\n"
    )
    np.savez(path, h=np.zeros((2, 3), np.float32))
    result = runner.invoke(app, ["gru", "--initial-state", str(path)])
    assert result.exit_code == 1
    assert "h has shape (2, 3); expected (N, M) = (1, 3)" in result.stderr


def test_gates_and_check_cover_bidirectional_runs():
    doc = json_of("lstm", "--seed", "0", "--bidirectional", "--gates", "--check", "-T", "4")
    assert list(doc["gates"])[:6] == ["i_fw", "f_fw", "g_fw", "og_fw", "c_t_fw", "h_t_fw"]
    assert "h_t_bw" in doc["gates"]
    [keras_numpy, *_] = doc["cross_check"]["pairs"]
    assert list(keras_numpy["max_abs_diff"]) == ["o", "h_fw", "c_fw", "h_bw", "c_bw"]
    assert doc["cross_check"]["agree"] is True
    assert_allclose(np.array(doc["gates"]["h_t_bw"])[:, 0], doc["h_bw"], rtol=0, atol=1e-6)


def test_bidirectional_mask_writes_zeros_and_says_why():
    x = masked_input()[0]
    result = runner.invoke(
        app,
        [
            "gru",
            "--input",
            "-",
            "--mask-value",
            "0",
            "--bidirectional",
            "--sequences",
            "--seed",
            "0",
        ],
        input=json.dumps(x.tolist()),
    )
    text = " ".join(result.stdout.split())
    # t=5 and t=0 are masked, so their rows are zeros: each state equals the row of the last
    # step its half read, t=4 for the forward half, t=1 for the backward one.
    assert "✓ h_fw equals o[t=4, :3]; largest |h_fw - o[t=4, :3]| = 0" in text
    assert "✓ h_bw equals o[t=1, 3:]; largest |h_bw - o[t=1, 3:]| = 0" in text
    assert "o is zeros there (Bidirectional sets zero_output_for_mask)" in text
    doc = json.loads(
        runner.invoke(
            app,
            [
                "gru",
                "--input",
                "-",
                "--mask-value",
                "0",
                "--bidirectional",
                "--sequences",
                "--seed",
                "0",
                "--json",
            ],
            input=json.dumps(x.tolist()),
        ).stdout
    )
    assert np.array(doc["o"])[0, 5].tolist() == [0.0] * 6
    assert doc["checks"]["all_equal"] is True
    assert [(s["state"], s["equals"]) for s in doc["checks"]["states"]] == [
        ("h_fw", "o[t=4, :3]"),
        ("h_bw", "o[t=1, 3:]"),
    ]
