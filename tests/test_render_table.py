"""The terminal view: header, one table per array, the shared highlight, head and tail."""

from dataclasses import replace

import numpy as np
from results import make_result
from rich.console import Console

from rnnstate.render.table import MATCH_STYLE, ArrayTable, render, shown_indices


def text_of(renderable, width: int = 100) -> str:
    console = Console(record=True, width=width, color_system=None)
    console.print(renderable)
    return console.export_text()


def cells(line: str) -> list[str]:
    """The cell texts of one table row."""
    return [cell.strip() for cell in line.strip("│ ").split("│")]


def test_header_names_every_setting():
    lines = text_of(render(make_result("gru"))).splitlines()
    assert lines[0] == "GRU on the keras engine  T=8 D=2 M=3 N=1  seed=0"
    assert lines[1] == "return_sequences=True  reset_after=True  use_bias=True"
    assert lines[2] == "activation=tanh  recurrent_activation=sigmoid"


def test_header_of_an_lstm_has_no_reset_after():
    lines = text_of(render(make_result("lstm", return_sequences=False))).splitlines()
    assert lines[1] == "return_sequences=False  use_bias=True"
    assert lines[2] == "activation=tanh  recurrent_activation=sigmoid"


def test_one_table_per_array_and_c_only_for_lstm():
    lstm = text_of(render(make_result("lstm")))
    gru = text_of(render(make_result("gru")))
    for title in ("x  input", "o  output at every step", "h  final hidden state"):
        assert title in lstm and title in gru
    assert "c  final cell state" in lstm
    assert "c  final cell state" not in gru


def test_last_row_of_o_and_h_are_marked_with_each_other():
    lines = text_of(render(make_result("lstm", steps=8))).splitlines()
    o_row = next(line for line in lines if "= h" in line)
    h_row = next(line for line in lines if "= o[t=7]" in line)
    assert cells(o_row) == ["7", "0.0800", "0.0810", "0.0820", "= h"]
    assert cells(h_row) == ["7", "0.0800", "0.0810", "0.0820", "= o[t=7]"]


def test_marked_rows_share_one_highlight_style():
    table = ArrayTable("o", make_result().o[0], list(range(8)), "u", {7: "= h"}).table(100)
    assert [row.style for row in table.rows] == [None] * 7 + [MATCH_STYLE]


def test_check_line_names_the_step_with_sequences():
    text = text_of(render(make_result(steps=8)))
    assert "✓ h equals o[t=7]; largest |h - o[t=7]| = 0" in text


def test_check_line_without_sequences():
    text = text_of(render(make_result(return_sequences=False)))
    assert "✓ o equals h; largest |h - o| = 0" in text
    assert "o  output after the last step only (return_sequences=False)" in text


def test_check_line_reports_a_mismatch():
    result = make_result()
    result.h[0, 1] += 0.5
    text = text_of(render(result), width=120)
    assert (
        "✗ h equals no part of o: it differs from o[t=7], the output of the last step the layer "
        "read, by 0.5" in text
    )
    assert "= h" not in text and "= o[t=7]" not in text


def test_long_sequence_shows_head_and_tail_only():
    text = text_of(render(make_result(steps=5000)))
    assert len(text.splitlines()) < 70
    assert "⋮" in text
    o_rows = [cells(line)[0] for line in text.splitlines() if line.startswith("│")]
    assert "4999" in o_rows and "0" in o_rows and "2500" not in o_rows


def test_shown_indices_keep_head_and_tail():
    assert shown_indices(5, head=2) == [0, 1, 2, 3, 4]
    assert shown_indices(10, head=2) == [0, 1, None, 8, 9]


def test_many_units_are_elided_to_fit_the_width():
    narrow = text_of(render(make_result(units=30)), width=80)
    wide = text_of(render(make_result(units=30)), width=400)
    assert "u29" in narrow and "u15" not in narrow and "…" in narrow
    assert "u15" in wide
    assert max(len(line) for line in narrow.splitlines()) <= 80


def test_batch_shows_one_block_per_sequence():
    text = text_of(render(make_result(batch=2)))
    assert "sequence n=0" in text and "sequence n=1" in text


def test_a_large_batch_draws_its_first_sequences_and_says_how_to_see_the_rest():
    text = text_of(render(make_result(batch=11)), width=200)
    assert [line for line in text.splitlines() if line.startswith("sequence n=")] == [
        f"sequence n={n} of N=11" for n in range(8)
    ]
    assert "... 3 more sequences, n=8 to 10, not drawn: --only I draws sequence I; --json and " \
        "--output hold them all" in text  # fmt: skip
    assert "the states of all 11 sequences:\n✓ h equals o[t=7] in 11" in text
    only = text_of(render(make_result(batch=11), only=10))
    assert "sequence n=10 of N=11" in only and "more sequences" not in only


def traced_result(cell="lstm", saturated=False):
    """A Result with a gate trace: values 0.5 everywhere, or 0.99 (saturated) if asked."""
    result = make_result(cell, steps=4)
    value = np.float32(0.99 if saturated else 0.5)
    names = {"lstm": ("i", "f", "g", "og", "c_t", "h_t"), "rnn": ("pre_activation", "h_t")}[cell]
    gates = {name: np.full((1, 4, 3), value, dtype=np.float32) for name in names}
    gates["h_t"][:, -1] = result.h  # the trace ends at the states, as a real one does
    if cell == "lstm":
        gates["c_t"][:, -1] = result.c
    return replace(result, spec=replace(result.spec, gates=True), gates=gates)


def test_trace_has_one_table_per_quantity_with_its_meaning():
    text = text_of(render(traced_result("lstm")), width=120)
    for title in (
        "i  input gate, sigmoid",
        "f  forget gate, sigmoid: near 1 keeps c, near 0 forgets it",
        "g  candidate, tanh",
        "og  output gate, sigmoid",
        "c_t  cell state after step t",
        "h_t  hidden state after step t",
    ):
        assert title in text


def test_saturated_values_are_marked():
    assert "0.9900*" in text_of(render(traced_result(saturated=True)), width=120)
    assert "0.5000*" not in text_of(render(traced_result()), width=120)


def test_final_rows_of_the_trace_point_at_h_and_c():
    lines = text_of(render(traced_result()), width=120).splitlines()
    assert any("= c" in line and cells(line)[0] == "3" for line in lines)
    assert sum("= h" in line for line in lines) == 2  # o's last row and h_t's last row


def test_trace_row_near_the_state_is_marked_approximately():
    result = traced_result()
    result.gates["h_t"][0, -1] += 1e-7  # as numpy's trace beside Keras's state
    result.gates["c_t"][0, -1] += 0.5  # not the state at all: no mark
    lines = text_of(render(result), width=120).splitlines()
    assert sum("≈ h" in line for line in lines) == 1
    assert not any("= c" in line or "≈ c" in line for line in lines)
