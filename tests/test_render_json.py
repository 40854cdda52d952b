"""The JSON document: schema rnnstate/3, Keras's shapes, shortest float32 numbers."""

import json

import numpy as np
import orjson
import pytest
from results import make_result

from rnnstate.render import json as json_render
from rnnstate.render.json import SCHEMA, render


def parsed(result) -> dict:
    return json.loads(render(result))


def test_top_level_keys_in_order():
    assert list(parsed(make_result("lstm"))) == [
        "schema",
        "cell",
        "engine",
        "config",
        "versions",
        "x",
        "o",
        "h",
        "c",
        "checks",
        "weights",
    ]
    assert SCHEMA == "rnnstate/3"


def test_c_only_for_lstm():
    assert "c" not in parsed(make_result("rnn"))


def test_arrays_keep_keras_shapes():
    doc = parsed(make_result("lstm", steps=5, units=4, batch=2))
    assert np.array(doc["x"]).shape == (2, 5, 2)
    assert np.array(doc["o"]).shape == (2, 5, 4)
    assert np.array(doc["h"]).shape == (2, 4)
    assert np.array(doc["c"]).shape == (2, 4)
    no_sequences = parsed(make_result("gru", units=4, return_sequences=False))
    assert np.array(no_sequences["o"]).shape == (1, 4)


def test_floats_in_shortest_float32_form():
    text = render(make_result(steps=1, units=1)).decode()
    assert '"h":[[0.01]]' in text  # float32(0.01) printed as float64 would be 0.009999999776482582


def test_numbers_round_trip_to_the_same_float32():
    result = make_result(steps=7, units=5)
    assert np.array_equal(np.array(parsed(result)["o"], dtype=np.float32), result.o)


def test_config_versions_and_checks():
    doc = parsed(make_result("gru"))
    assert doc["config"] == {
        "steps": 8,
        "features": 2,
        "units": 3,
        "batch": 1,
        "seed": 0,
        "return_sequences": True,
        "reset_after": True,
        "activation": "tanh",
        "recurrent_activation": "sigmoid",
        "use_bias": True,
        "backwards": False,
        "bidirectional": False,
        "mask_value": None,
        "initial_state": False,
        "gates": False,
        "check": False,
        "sources": dict.fromkeys(
            ("input", "weights", "layout", "prefix", "torch_layer", "initial_state")
        ),
    }
    assert set(doc["versions"]) == {"rnnstate", "numpy", "tensorflow", "keras"}
    assert doc["checks"] == {
        "all_equal": True,
        "last_o_step": 7,
        "states": [
            {
                "state": "h",
                "sequence": 0,
                "equals": "o[t=7]",
                "step": 7,
                "max_abs_diff": 0.0,
                "reason": None,
            }
        ],
    }


def test_a_state_that_equals_no_row_names_none_and_says_why():
    result = make_result()
    result.h[0, 1] += 0.5
    [state] = parsed(result)["checks"]["states"]
    assert state["equals"] is None and state["step"] is None
    assert state["max_abs_diff"] == pytest.approx(0.5, abs=1e-6)
    assert state["reason"] == (
        "it differs from o[t=7], the output of the last step the layer read, by 0.5"
    )


def test_one_document_ending_in_a_newline():
    data = render(make_result())
    assert data.endswith(b"\n") and data.count(b"\n") == 1


def test_long_arrays_are_written_in_pieces_with_the_same_text(monkeypatch):
    monkeypatch.setattr(json_render, "PIECE_BYTES", 64)
    for shape in [(1, 100, 16), (3, 7, 5), (2, 40), (1, 1, 200), (5,)]:
        array = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        pieces = list(json_render.array_pieces(array))
        assert len(pieces) > 1 or array.ndim == 1
        assert b"".join(pieces) == orjson.dumps(array, option=orjson.OPT_SERIALIZE_NUMPY)
    result = make_result(steps=50, units=4)
    monkeypatch.setattr(json_render, "PIECE_BYTES", 1 << 22)
    whole = render(result)
    monkeypatch.setattr(json_render, "PIECE_BYTES", 32)
    assert render(result) == whole
