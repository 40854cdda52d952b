"""rnnstate lstm/gru/rnn --summary: the command, its options, its JSON, its errors and Ctrl-C."""

import json
import math
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from typer.testing import CliRunner

from rnnstate.api import run
from rnnstate.cli import app

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture
def files(tmp_path):
    """An input (37, 11, 3) whose first two steps of every fourth sequence are 0 (the mask
    value), and a GRU's weights (M=4) written by a seeded run."""
    x = np.random.default_rng(7).standard_normal((37, 11, 3)).astype(np.float32)
    x[::4, :2] = 0.0
    np.save(tmp_path / "x.npy", x)
    weights = tmp_path / "w.npz"
    assert invoke("gru", "-D", "3", "-M", "4", "--seed", "1", "--engine", "numpy",
                  "--save-weights", str(weights)).exit_code == 0  # fmt: skip
    return x, str(tmp_path / "x.npy"), str(weights)


def summary_json(*args: str) -> dict:
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_json_statistics_equal_those_of_the_full_trace(files):
    x, input_path, weights = files
    document = summary_json("gru", "--summary", "--input", input_path, "--weights", weights,
                            "--mask-value", "0", "--batch-size", "37")  # fmt: skip
    summary = document["summary"]
    assert document["config"]["sources"]["input"] == input_path
    assert (summary["sequences"], summary["steps_masked"]) == (37, 10 * 2)
    assert summary["steps_counted"] == 37 * 11 - 20
    assert summary["thresholds"] == {"left_below": 0.1, "right_above": 0.9}
    full = run("gru", x=x, weights=weights, engine="numpy", gates=True, mask_value=0.0)
    counted = ~np.all(x == 0, axis=-1)
    for name in ("z", "r", "h_hat", "h_t"):
        chosen = full.gates[name][counted].astype(np.float64)  # (steps counted, M)
        stats = summary["units"][name]
        means = [math.fsum(column) / len(column) for column in chosen.T]
        np.testing.assert_allclose(stats["mean"], means, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(stats["std"], chosen.std(axis=0), rtol=1e-9, atol=1e-12)
        assert stats["max"] == chosen.max(axis=0).tolist()
        assert stats["gate"] == (name in ("z", "r"))
        if stats["gate"]:
            assert stats["left"] == ((chosen < 0.1).sum(axis=0) / len(chosen)).tolist()
            assert stats["right"] == ((chosen > 0.9).sum(axis=0) / len(chosen)).tolist()


def test_two_batch_sizes_give_the_same_tables_to_the_last_digit(files):
    _, input_path, weights = files
    args = ["gru", "--summary", "--input", input_path, "--weights", weights, "--mask-value", "0"]
    one, other = invoke(*args, "--batch-size", "5"), invoke(*args, "--batch-size", "37")
    assert one.exit_code == other.exit_code == 0
    tables = [result.stdout[result.stdout.index("z: update gate") :] for result in (one, other)]
    assert tables[0] == tables[1]  # the header differs only in the batch size
    first = summary_json(*args, "--batch-size", "5")["summary"]["units"]
    second = summary_json(*args, "--batch-size", "37")["summary"]["units"]
    for name in first:
        for field in ("left", "right", "zeros", "dead", "saturated"):
            assert first[name].get(field) == second[name].get(field)
        # The float32 engine's own last bit depends on the batch (BLAS); the sums do not.
        np.testing.assert_allclose(first[name]["mean"], second[name]["mean"], rtol=1e-6)


def test_sort_orders_the_units_by_a_column_largest_first(files):
    _, input_path, weights = files
    document = summary_json("gru", "--summary", "--input", input_path, "--weights", weights)
    std = document["summary"]["units"]["h_t"]["std"]
    result = invoke("gru", "--summary", "--input", input_path, "--weights", weights,
                    "--sort", "std")  # fmt: skip
    table = result.stdout.split("h_t: hidden state")[1]
    rows = [line.split("│")[1].strip() for line in table.splitlines() if line.startswith("│")]
    assert rows == [str(u) for u in np.argsort(-np.array(std), kind="stable")]


def test_thresholds_are_taken_from_the_options(files):
    _, input_path, weights = files
    document = summary_json("gru", "--summary", "--input", input_path, "--weights", weights,
                            "--left-below", "0.3", "--right-above", "0.6")  # fmt: skip
    assert document["summary"]["thresholds"] == {"left_below": 0.3, "right_above": 0.6}
    result = invoke("gru", "--summary", "--input", input_path, "--weights", weights,
                    "--left-below", "0.3", "--right-above", "0.6")  # fmt: skip
    assert "left-saturated below 0.3, right-saturated above 0.6" in result.stdout


def test_a_relu_rnn_shows_its_dead_units(tmp_path):
    kernel = np.array([[-1.0, 0.5, -2.0]], dtype=np.float32)  # units 0 and 2 never above 0
    np.savez(tmp_path / "w.npz", kernel=kernel, recurrent_kernel=np.zeros((3, 3), np.float32),
             bias=np.array([-0.1, 0.2, -0.3], np.float32))  # fmt: skip
    np.save(tmp_path / "x.npy", np.abs(np.random.default_rng(0).standard_normal((9, 5, 1))))
    result = invoke("rnn", "--summary", "--activation", "relu", "--input",
                    str(tmp_path / "x.npy"), "--weights", str(tmp_path / "w.npz"))  # fmt: skip
    assert result.exit_code == 0, result.stderr
    table = result.stdout.split("h_t: hidden state")[1]
    flags = [line.split("│")[-2].strip() for line in table.splitlines() if line.startswith("│")]
    assert flags == ["dead", "", "dead"]


def test_figure_title_shows_a_file_name_with_dollar_signs_as_it_is(files, tmp_path, monkeypatch):
    x, _, weights = files
    monkeypatch.chdir(tmp_path)
    np.save("a$x^2$b.npy", x)  # mathtext would set "x^2" as a formula
    result = invoke("gru", "--summary", "--input", "a$x^2$b.npy", "--weights", weights, "--plot",
                    "units.svg")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    svg = (tmp_path / "units.svg").read_text()
    assert ">37 sequences (input a$x^2$b.npy) in batches of 37</text>" in svg  # a text, whole


def test_an_npz_input_streams_like_an_npy(files, tmp_path):
    x, input_path, weights = files
    np.savez_compressed(tmp_path / "x.npz", x=x)
    args = ["gru", "--summary", "--weights", weights, "--batch-size", "8"]
    from_npy = summary_json(*args, "--input", input_path)["summary"]
    from_npz = summary_json(*args, "--input", str(tmp_path / "x.npz"))["summary"]
    assert from_npy == from_npz


def test_drawn_input_matches_a_run_of_the_same_seed():
    document = summary_json("lstm", "--summary", "-N", "6", "-T", "5", "-M", "2", "--seed", "3",
                            "--batch-size", "6")  # fmt: skip
    full = run("lstm", batch=6, steps=5, units=2, seed=3, engine="numpy", gates=True)
    expected = full.gates["c_t"].reshape(-1, 2).max(axis=0).astype(np.float64)
    assert document["summary"]["units"]["c_t"]["max"] == expected.tolist()
    assert document["engine"] == "numpy" and document["config"]["seed"] == 3


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--summary", "--check"], "'--check'"),
        (["--summary", "--sequences"], "'--sequences'"),
        (["--summary", "--output", "a.npz"], "'--output'"),
        (["--summary", "--engine", "torch"], "'--engine'"),
        (["--summary", "--sort", "colour"], "'--sort'"),
        (["--summary", "--left-below", "0.95"], "'--left-below'"),
        (["--batch-size", "10"], "'--batch-size'"),
        (["--sort", "mean"], "'--sort'"),
    ],
)
def test_options_that_do_not_fit_exit_2_naming_the_option(args, option):
    result = invoke("lstm", *args)
    assert result.exit_code == 2
    assert option in result.stderr
    assert result.stdout == ""


def test_nan_in_a_later_batch_exits_1_and_writes_nothing(tmp_path):
    x = np.zeros((10, 3, 2), dtype=np.float32)
    x[8, 1, 0] = np.nan
    np.save(tmp_path / "x.npy", x)
    result = invoke("rnn", "--summary", "--input", str(tmp_path / "x.npy"), "--batch-size", "4")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "NaN or infinite values (first at [8, 1, 0])" in result.stderr


@pytest.mark.parametrize(
    "sizes",
    [["rnn", "-N", "400000", "-T", "20", "-M", "8", "--batch-size", "1000"],  # traced batches
     ["lstm", "-N", "100000", "-T", "50", "-M", "64"]],  # streamed, with the worker thread
)  # fmt: skip
def test_ctrl_c_stops_the_run_with_130_and_no_output(sizes):
    process = subprocess.Popen(
        [sys.executable, "-m", "rnnstate", *sizes, "--summary", "--seed", "0", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    time.sleep(3)  # started, and in its batches
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 130
    assert stdout == b""
    assert b"Traceback" not in stderr


def test_top_lists_the_places_in_json_and_a_table(files):
    _, input_path, weights = files
    args = ["gru", "--summary", "--input", input_path, "--weights", weights, "--top", "3",
            "--unit", "2"]  # fmt: skip
    top = summary_json(*args)["summary"]["top"]
    assert (top["quantity"], top["unit"], len(top["places"])) == ("h_t", 2, 3)
    values = [place["value"] for place in top["places"]]
    assert values == sorted(values, reverse=True)
    table = invoke(*args).stdout.split("h_t of unit 2: the 3 largest")[1]
    assert f"{top['places'][0]['sequence']} │ {top['places'][0]['step']} │" in table


@pytest.mark.parametrize(
    ("args", "option"),
    [(["--top", "3"], "'--top'"), (["--unit", "1"], "'--unit'"),
     (["--top", "3", "--unit", "9"], "'--unit'"),
     (["--top", "3", "--unit", "0", "--bidirectional"], "'--direction'")],
)  # fmt: skip
def test_top_needs_a_unit_of_the_layer(args, option):
    result = invoke("lstm", "--summary", "-M", "3", *args)
    assert result.exit_code == 2
    assert option in result.stderr


def test_on_a_terminal_a_progress_bar_counts_the_sequences_with_an_eta():
    import os
    import re

    master, slave = os.openpty()  # stderr is a terminal; stdout a pipe
    process = subprocess.Popen(
        [sys.executable, "-m", "rnnstate", "rnn", "--summary", "-N", "60000", "-T", "20",
         "-M", "8", "--seed", "0", "--batch-size", "500", "--json"],
        stdout=subprocess.PIPE, stderr=slave,
    )  # fmt: skip
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    stdout, _ = process.communicate(timeout=60)
    os.close(master)
    assert process.returncode == 0
    assert json.loads(stdout)["summary"]["sequences"] == 60000  # the bar is not in stdout
    text = re.sub(rb"\x1b\[[0-9;?]*[a-zA-Z]", b"", shown).decode()
    assert "sequences" in text
    assert re.search(r"\d+%", text)  # the share done
    assert re.search(r"\d:\d\d:\d\d", text)  # the estimated time left


def test_one_sequence_of_one_step_is_said_in_the_singular():
    result = invoke("lstm", "--summary", "-N", "1", "-T", "1", "-M", "2", "--seed", "0")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[1:3] == [
        "1 sequence (drawn from seed 0) in batches of 1", "1 step counted"]  # fmt: skip


def test_top_with_every_step_masked_says_there_is_no_place(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((4, 5, 2), np.float32))
    result = invoke("lstm", "--summary", "--input", str(tmp_path / "x.npy"), "--mask-value",
                    "0", "--top", "3", "--unit", "0")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "0 steps counted, 20 masked (mask_value=0) left out" in result.stdout
    assert result.stdout.splitlines()[-1] == "h_t of unit 0: no step counted, so no place to rank"


def test_a_batch_too_large_for_memory_names_batch_size(tmp_path, monkeypatch):
    from rnnstate import budget

    np.save(tmp_path / "x.npy", np.zeros((2000, 50, 8), np.float32))
    monkeypatch.setattr(budget, "available_bytes", lambda: 60_000_000)
    args = ["lstm", "--summary", "--input", str(tmp_path / "x.npy"), "-M", "64"]
    result = invoke(*args, "--batch-size", "2000")
    assert result.exit_code == 2
    assert "Invalid value for '--batch-size': -T 50 -D 8 -M 64 -N 2000 needs about" in result.stderr
    assert "; --summary holds one batch of sequences at a time (-N above): give a smaller " \
           "--batch-size" in result.stderr  # fmt: skip
    assert invoke(*args, "--batch-size", "64").exit_code == 0


def test_top_above_ten_thousand_places_exits_2_before_the_run():
    # every place is kept and merged at each batch: K = 10^9 grew to gigabytes
    result = invoke("lstm", "--summary", "-M", "3", "--top", "10001", "--unit", "0")
    assert result.exit_code == 2
    assert "Invalid value for '--top': 10001 is not in the range 1<=x<=10000." in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "option", "message"),
    [
        (["--right-above", "1.5"], "--right-above",
         "--right-above 1.5 is outside [0, 1], the values of the layer's sigmoid gates; "
         "expected 0 <= --left-below < --right-above <= 1"),
        (["--left-below", "-0.2"], "--left-below", "--left-below -0.2 is outside [0, 1]"),
        (["--left-below", "0.5", "--right-above", "0.5"], "--left-below",
         "--left-below 0.5 must be below --right-above 0.5"),
        (["--left-below", "0.95"], "--left-below",
         "--left-below 0.95 must be below --right-above 0.9"),
        (["--right-above", "nan"], "--right-above", "--right-above must be a finite number"),
        (["--recurrent-activation", "tanh", "--left-below", "-1.5"], "--left-below",
         "--left-below -1.5 is outside [-1, 1], the values of the layer's tanh gates"),
    ],
)  # fmt: skip
def test_thresholds_outside_the_gates_values_or_out_of_order_exit_2_in_one_line(
    args, option, message
):
    result = invoke("lstm", "--summary", "-N", "3", "-T", "4", "-M", "2", "--seed", "0", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"Invalid value for '{option}': {message}" in result.stderr


def test_thresholds_inside_a_tanh_gates_values_count_its_negative_steps():
    document = summary_json("lstm", "--summary", "-N", "5", "-T", "4", "-M", "2", "--seed", "0",
                            "--recurrent-activation", "tanh", "--left-below", "-0.05",
                            "--right-above", "0.05")  # fmt: skip
    full = run("lstm", batch=5, steps=4, units=2, seed=0, recurrent_activation="tanh",
               engine="numpy", gates=True)  # fmt: skip
    forget = full.gates["f"].reshape(-1, 2)  # (N T, M)
    stats = document["summary"]["units"]["f"]
    assert stats["left"] == ((forget < -0.05).sum(axis=0) / 20).tolist()
    assert stats["right"] == ((forget > 0.05).sum(axis=0) / 20).tolist()
    assert sum(stats["left"]) > 0  # a tanh gate goes below 0


def across_values(rows: list) -> np.ndarray:
    """An "across" array of the JSON as float32, NaN where it holds null."""
    return np.array([[np.nan if v is None else v for v in row] for row in rows], np.float32)


def test_json_with_unit_holds_its_values_across_sequences_as_the_trace_has_them(files):
    x, input_path, weights = files
    document = summary_json("gru", "--summary", "--input", input_path, "--weights", weights,
                            "--mask-value", "0", "--unit", "2", "--gate", "z")  # fmt: skip
    across = document["summary"]["across"]
    full = run("gru", x=x, weights=weights, engine="numpy", gates=True, mask_value=0.0)
    masked = np.all(x == 0, axis=-1)  # (37, 11): the first two steps of every fourth sequence
    assert (across["unit"], across["quantity"], list(across["values"])) == (2, "z", ["z"])
    assert across["sequences"] == list(range(37))
    values = across_values(across["values"]["z"])
    np.testing.assert_array_equal(np.isnan(values), masked)
    np.testing.assert_array_equal(values[~masked], full.gates["z"][:, :, 2][~masked])
    assert "tokens" not in across


def test_json_across_keeps_the_first_50_sequences_of_both_halves_of_a_bidirectional_layer():
    sizes = ["-N", "60", "-T", "4", "-M", "3", "--seed", "0"]
    document = summary_json("lstm", "--summary", *sizes, "--bidirectional", "--unit", "1")
    across = document["summary"]["across"]
    full = run("lstm", batch=60, steps=4, units=3, seed=0, bidirectional=True, engine="numpy",
               gates=True)  # fmt: skip
    assert (across["quantity"], across["sequences"]) == ("h_t", list(range(50)))
    assert list(across["values"]) == ["h_t_fw", "h_t_bw"]
    for name in ("h_t_fw", "h_t_bw"):  # both in input order
        expected = full.gates[name][:50, :, 1]
        np.testing.assert_array_equal(across_values(across["values"][name]), expected)


def test_json_with_every_step_masked_has_null_statistics_no_flags_and_null_across(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((3, 5, 2), np.float32))
    summary = summary_json("lstm", "--summary", "--input", str(tmp_path / "x.npy"), "-M", "2",
                           "--mask-value", "0", "--unit", "1")["summary"]  # fmt: skip
    assert (summary["steps_counted"], summary["steps_masked"]) == (0, 15)
    for name, stats in summary["units"].items():
        numbers = ["mean", "std", "min", "max", "zeros"] + (["left", "right"] if stats["gate"]
                                                            else [])  # fmt: skip
        assert all(stats[key] == [None, None] for key in numbers)
        assert stats["dead"] == [False, False]
        assert stats.get("saturated", [False, False]) == [False, False]
        assert ("left" in stats) == ("right" in stats) == (name in ("i", "f", "og"))
    assert summary["across"]["values"]["h_t"] == [[None] * 5] * 3
