"""rnnstate: run a Keras LSTM, GRU or SimpleRNN and show its outputs and states.

The Python API (docs/api.md): run(...), summarize(...), model_layers(path),
run_model_layer(path, layer, ...), replay(path), and Result's save, to_json, explain and plot.
The names below are imported on first use, so `rnnstate --help` does not pay for numpy.
"""

import importlib

__version__ = "0.1.0"

# Public name -> the module that defines it (Result from rnnstate.api, which attaches its
# save, to_json and explain).
_EXPORTS = {
    "run": "rnnstate.api",
    "run_spec": "rnnstate.api",
    "summarize": "rnnstate.api",
    "model_layers": "rnnstate.api",
    "run_model_layer": "rnnstate.api",
    "replay": "rnnstate.api",
    "ExitCode": "rnnstate.errors",
    "InputError": "rnnstate.errors",
    "SpecError": "rnnstate.errors",
    "NumericError": "rnnstate.errors",
    "Result": "rnnstate.api",
    "Spec": "rnnstate.spec",
    "Sources": "rnnstate.spec",
    "Weights": "rnnstate.weights",
    "BidirectionalWeights": "rnnstate.weights",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str):
    """Import a public name from its module the first time it is asked for."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'rnnstate' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    """The public names (imported lazily, so not yet in the module's namespace), for dir()
    and tab completion."""
    return sorted(__all__)
