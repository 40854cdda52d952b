"""The "h equals o[t]" marks tell the truth for every sequence: over directions, merge modes,
masks at the start, end, middle, everywhere and nowhere, initial states, return_sequences and
both engines, every mark is an exact equality, every equality the rule predicts is found, and
every verdict line speaks of the sequence it names."""

import json
import re

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from rich.console import Console
from typer.testing import CliRunner

import rnnstate
from rnnstate.cli import app
from rnnstate.render.table import render

runner = CliRunner()
T, D, M = 6, 2, 3
MASK_VALUE = 0.0
# One sequence per mask pattern: the steps (of T=6) set to the mask value.
MASKED_STEPS = {
    "nowhere": [],
    "start": [0, 1],
    "end": [4, 5],
    "middle": [2, 3],
    "everywhere": [0, 1, 2, 3, 4, 5],
}
LAYOUTS = [
    {},
    {"backwards": True},
    *({"bidirectional": True, "merge": merge} for merge in ("concat", "none", "sum", "mul", "ave")),
]


def padded_batch() -> np.ndarray:
    """x (5, T, D): one sequence per pattern of MASKED_STEPS, no feature 0 except there."""
    x = np.random.default_rng(0).uniform(0.5, 1.5, (len(MASKED_STEPS), T, D)).astype(np.float32)
    for n, steps in enumerate(MASKED_STEPS.values()):
        x[n, steps] = MASK_VALUE
    return x


def predicted_step(masked: list[int], state: str, settings: dict, initial: bool) -> int | None:
    """The input step whose output the rule says `state` equals: the last step its layer read
    without a mask; when it read none, the step it would have read last (its state and output
    are then zeros) unless it started from given states; None when a merge mode mixes the
    halves."""
    if settings.get("merge") in ("sum", "mul", "ave"):
        return None
    backwards = settings.get("backwards") or state.endswith("_bw")
    read = [t for t in range(T) if t not in masked]
    if not read:
        return None if initial else (0 if backwards else T - 1)
    return read[0] if backwards else read[-1]


def part_named(result: rnnstate.Result, n: int, name: str) -> np.ndarray:
    """The values of sequence n that a check's `output` names: o[t=4], o[:3], o_bw[t=0]..."""
    match = re.fullmatch(r"(o|o_fw|o_bw)(?:\[(?:t=(\d+))?(?:, )?(:\d+|\d+:)?\])?", name)
    array_name, step, columns = match.groups()
    values = result.outputs[array_name][n]
    if step is not None:
        t = int(step)
        values = values[T - 1 - t if result.spec.backwards else t]
    if columns:
        start, stop = columns.split(":")
        values = values[int(start) if start else None : int(stop) if stop else None]
    return values


def text_of(result: rnnstate.Result, only: int) -> str:
    console = Console(record=True, width=200, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(render(result, only))
    return console.export_text()


@pytest.mark.parametrize("engine", ["keras", "numpy"])
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("initial", [False, True])
@pytest.mark.parametrize("settings", LAYOUTS, ids=lambda s: "-".join(map(str, s.values())) or "fw")
def test_every_mark_is_an_equality_and_every_predicted_one_is_found(
    settings, initial, return_sequences, engine
):
    x = padded_batch()
    N = len(x)
    spec_states = ("h_fw", "c_fw", "h_bw", "c_bw") if settings.get("bidirectional") else ("h", "c")
    initial_state = (
        {s: np.full((N, M), 0.25 * (i + 1), np.float32) for i, s in enumerate(spec_states)}
        if initial
        else None
    )
    result = rnnstate.run(
        "lstm", x=x, units=M, seed=1, mask_value=MASK_VALUE, engine=engine,
        initial_state=initial_state, return_sequences=return_sequences, **settings,
    )  # fmt: skip
    hidden = ("h_fw", "h_bw") if settings.get("bidirectional") else ("h",)
    checks = {(c.sequence, c.state): c for c in result.checks()}
    assert set(checks) == {(n, s) for n in range(N) for s in hidden}
    for n, masked in enumerate(MASKED_STEPS.values()):
        text = text_of(result, n)
        for state in hidden:
            check = checks[n, state]
            step = predicted_step(masked, state, settings, initial)
            if check.equal:  # a mark is an exact equality of the arrays shown
                assert_array_equal(result.states[state][n], part_named(result, n, check.output))
                assert check.max_abs_diff == 0.0
                assert check.reason is None
            # every equality the rule predicts is found, at the step it predicts
            assert check.equal is (step is not None), (n, state, check)
            assert check.step == (step if return_sequences else None)
            if check.equal:
                claim = "o equals h" if check.output == "o" else f"{state} equals {check.output}"
                assert f"✓ n={n}: {claim}; largest" in text
                assert f"= {check.output}" in text  # the state's table names the part
            else:
                assert f"· n={n}: {state} equals no part of o: {check.reason}" in text
                assert f"= {state}" not in text.replace(f"= {state}_", "")
            assert "✗" not in text  # nothing the rule predicts is found unequal
            assert text.count("✓") + text.count("· ") == len(hidden)  # this sequence only


def test_fully_masked_sequence_from_an_initial_state_is_not_marked(tmp_path):
    np.savez(tmp_path / "s.npz", h=np.array([[-2.5, -1.0]], np.float32),
             c=np.array([[0.5, 0.5]], np.float32))  # fmt: skip
    (tmp_path / "x.json").write_text(json.dumps([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]))
    result = runner.invoke(
        app,
        ["lstm", "--input", str(tmp_path / "x.json"), "--mask-value", "0", "-M", "2", "--seed",
         "0", "--initial-state", str(tmp_path / "s.npz"), "--sequences"],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "= h" not in result.stdout and "= o[" not in result.stdout
    text = " ".join(result.stdout.split())
    assert (
        "· h equals no part of o: every step of this sequence is masked, so the layer wrote no "
        "output; h is still its initial state (given with --initial-state)" in text
    )


def test_bidirectional_first_step_masked_marks_the_first_step_read():
    x = padded_batch()[1:2]  # steps 0 and 1 masked
    result = rnnstate.run(
        "gru", x=x, units=M, seed=0, mask_value=0.0, bidirectional=True, return_sequences=True
    )
    assert_array_equal(result.o[0, 0, M:], np.zeros(M))  # Bidirectional zeroes masked outputs
    [forward, backward] = result.checks()
    assert (forward.output, backward.output) == ("o[t=5, :3]", "o[t=2, 3:]")
    assert_array_equal(result.states["h_bw"][0], result.o[0, 2, M:])


def test_only_judges_the_sequence_on_screen():
    x = padded_batch()[[4, 0]]  # sequence 0 fully masked, sequence 1 unmasked
    states = {"h": np.ones((2, M), np.float32), "c": np.ones((2, M), np.float32)}
    result = rnnstate.run(
        "lstm", x=x, units=M, seed=0, mask_value=0.0, initial_state=states, engine="numpy",
        return_sequences=True,
    )  # fmt: skip
    text = text_of(result, only=1)
    assert "✓ n=1: h equals o[t=5]; largest |h - o[t=5]| = 0" in text
    assert "n=0" not in text and "·" not in text


def test_large_batch_gets_a_summary_per_state():
    x = np.concatenate([padded_batch(), padded_batch()[4:]])  # 6 sequences, 2 fully masked
    states = {"h": np.full((6, M), 0.5, np.float32)}  # the fully masked ones keep it
    result = rnnstate.run("gru", x=x, units=M, seed=0, mask_value=0.0, return_sequences=True,
                          initial_state=states)  # fmt: skip
    console = Console(record=True, width=300, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(render(result))
    text = console.export_text()
    assert (
        "✓ h equals o[t=5] in 3; o[t=3] in 1; none in 2 (n=4, 5): every step of this sequence "
        "is masked, so the layer wrote no output; h is still its initial state (given with "
        "--initial-state)" in text
    )
    assert "✓ n=0" not in text


def test_json_names_a_row_only_when_equal():
    x = padded_batch()
    document = json.loads(
        runner.invoke(
            app, ["gru", "--input", "-", "--mask-value", "0", "-M", "3", "--seed", "0",
                  "--sequences", "--json", "--engine", "numpy"],
            input=json.dumps(x.tolist()),
        ).stdout
    )  # fmt: skip
    states = document["checks"]["states"]
    assert [(s["sequence"], s["equals"], s["step"]) for s in states] == [
        (0, "o[t=5]", 5),
        (1, "o[t=5]", 5),
        (2, "o[t=3]", 3),
        (3, "o[t=5]", 5),
        (4, "o[t=5]", 5),  # masked at every step from zeros: h and o are zeros
    ]
    assert states[4]["reason"] is None and states[4]["max_abs_diff"] == 0
    assert document["checks"]["all_equal"] is True
