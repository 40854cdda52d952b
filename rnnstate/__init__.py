"""rnnstate: run a Keras LSTM, GRU or SimpleRNN and show its outputs and states.

The names below are imported on first use, so `rnnstate --help` does not pay for numpy.
"""

import importlib

__version__ = "0.1.0"

# Public name -> the module that defines it.
_EXPORTS = {
    "run": "rnnstate.api",
    "run_spec": "rnnstate.api",
    "ExitCode": "rnnstate.errors",
    "InputError": "rnnstate.errors",
    "SpecError": "rnnstate.errors",
    "Result": "rnnstate.result",
    "Spec": "rnnstate.spec",
    "Weights": "rnnstate.weights",
    "BidirectionalWeights": "rnnstate.weights",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str):
    """Import a public name from its module the first time it is asked for."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'rnnstate' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
