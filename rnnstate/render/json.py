"""The --json document (schema rnnstate/1, documented in docs/json.md), serialised by orjson.

orjson writes numpy float32 values in their shortest float32 form ("0.1", not "0.10000000149").
"""

from importlib.metadata import PackageNotFoundError, version

import numpy as np
import orjson

from rnnstate.result import CrossCheck, Result

SCHEMA = "rnnstate/1"


def package_version(name: str) -> str | None:
    """The installed version of a distribution, without importing it; None if absent."""
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def versions(engine: str) -> dict[str, str | None]:
    """Versions of what computed the result; tensorflow and keras are null on the numpy engine."""
    from rnnstate import __version__

    uses_keras = engine == "keras"
    return {
        "rnnstate": __version__,
        "numpy": np.__version__,
        "tensorflow": package_version("tensorflow") if uses_keras else None,
        "keras": package_version("keras") if uses_keras else None,
    }


def document(result: Result) -> dict:
    """The JSON document as a dict of plain values and float32 arrays (Keras's shapes)."""
    spec = result.spec
    check = result.check()
    arrays = {"x": result.x, "o": result.o, "h": result.h}
    if result.c is not None:
        arrays["c"] = result.c
    document = {
        "schema": SCHEMA,
        "cell": spec.cell,
        "engine": spec.engine,
        "config": spec.config(),
        "versions": versions(spec.engine),
        **{name: np.ascontiguousarray(a, dtype=np.float32) for name, a in arrays.items()},
        "checks": {
            "h_equals_last_o": check.h_equals_last_o,
            "max_abs_diff": check.max_abs_diff,
            "last_o_step": check.step,
        },
    }
    if result.gates is not None:
        document["gates"] = {name: np.ascontiguousarray(a) for name, a in result.gates.items()}
    if result.cross_check is not None:
        document["cross_check"] = cross_check_document(result.cross_check)
    return document


def cross_check_document(check: CrossCheck) -> dict:
    """The engines compared: per array, the largest |keras - numpy| and its index."""
    return {
        "engines": ["keras", "numpy"],
        "tolerance": check.tolerance,
        "agree": check.agree,
        "max_abs_diff": {diff.name: diff.max_abs_diff for diff in check.diffs},
        "where": {diff.name: list(diff.where) for diff in check.diffs},
    }


def render(result: Result) -> bytes:
    """The whole document as UTF-8 bytes, ending in a newline."""
    return orjson.dumps(
        document(result), option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE
    )
