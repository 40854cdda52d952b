"""rnnstate: run a Keras LSTM, GRU or SimpleRNN and show its outputs and states."""

from rnnstate.api import run, run_spec
from rnnstate.errors import ExitCode, InputError, SpecError
from rnnstate.result import Result
from rnnstate.spec import Spec
from rnnstate.weights import Weights

__version__ = "0.1.0"

__all__ = [
    "ExitCode",
    "InputError",
    "Result",
    "Spec",
    "SpecError",
    "Weights",
    "__version__",
    "run",
    "run_spec",
]
