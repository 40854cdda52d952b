"""Spec validates every setting once, naming the option at fault."""

import pytest

from rnnstate.errors import SpecError
from rnnstate.spec import Spec


@pytest.mark.parametrize(
    ("setting", "value", "option"),
    [
        ("steps", 0, "--steps"),
        ("features", -1, "--features"),
        ("units", 2.5, "--units"),
        ("batch", True, "--batch"),
        ("seed", -3, "--seed"),
        ("seed", 2**64, "--seed"),
    ],
)
def test_bad_setting_names_its_option(setting, value, option):
    with pytest.raises(SpecError) as error:
        Spec("lstm", **{setting: value})
    assert error.value.option == option
    assert option in str(error.value)


def test_unknown_cell_is_refused():
    with pytest.raises(SpecError, match="unknown cell 'transformer'"):
        Spec("transformer")


def test_unknown_engine_is_refused():
    with pytest.raises(SpecError, match="unknown engine 'jax'"):
        Spec("lstm", engine="jax")


def test_gate_count_per_cell():
    assert [Spec(cell).gate_count for cell in ("lstm", "gru", "rnn")] == [4, 3, 1]


NO_SOURCES = dict.fromkeys(
    ("input", "weights", "layout", "prefix", "torch_layer", "initial_state")
)


def test_config_lists_every_setting_and_reset_after_only_for_gru():
    assert Spec("lstm", seed=5).config() == {
        "steps": 8,
        "features": 2,
        "units": 3,
        "batch": 1,
        "seed": 5,
        "return_sequences": False,
        "activation": "tanh",
        "recurrent_activation": "sigmoid",
        "unit_forget_bias": True,
        "use_bias": True,
        "backwards": False,
        "bidirectional": False,
        "mask_value": None,
        "initial_state": False,
        "gates": False,
        "check": False,
        "sources": NO_SOURCES,
    }
    assert Spec("gru", reset_after=False).config()["reset_after"] is False
    assert "recurrent_activation" not in Spec("rnn").config()
    assert "unit_forget_bias" not in Spec("gru").config()
