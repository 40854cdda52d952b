"""A saved result read back (`--output` .npz or .json, or a `--json` document) to run it again:
its settings, x, weights, initial states and mask, and the arrays it holds to compare with.

Every problem with the file is an InputError naming it; nothing in it is executed.
"""

from dataclasses import dataclass

import numpy as np
import orjson

from rnnstate.data import (
    JSON_LIMIT,
    STATES,
    check_numeric,
    check_weight_shapes,
    extension,
    npz_arrays,
    numeric_array,
    read_bytes,
)
from rnnstate.errors import InputError, SpecError
from rnnstate.spec import Spec
from rnnstate.weights import BidirectionalWeights, LayerWeights, Weights

SAVED_FORMATS = (".npz", ".json")
READ_SCHEMAS = ("rnnstate/3",)  # the first schema whose files hold the weights


@dataclass(frozen=True)
class Saved:
    """A saved result: the Spec it was run with, what it ran on, and what it gave.

    x (N, T, D); initial_state by name, each (N, M), or None; mask (N, T), True where a step
    counts, or None; saved: the outputs, states, (with gates) "gates.NAME" traces and (with
    --memory) "memory.KIND.NAME" arrays by name; memory_unit: --memory's --unit, if given.
    """

    spec: Spec
    x: np.ndarray
    weights: LayerWeights
    initial_state: dict[str, np.ndarray] | None
    mask: np.ndarray | None
    saved: dict[str, np.ndarray]
    memory_unit: int | None = None

    @property
    def memory(self) -> bool:
        """Whether the run saved --memory's influence (replayed with it)."""
        return any(name.startswith("memory.") for name in self.saved)


def read_saved(path: str) -> Saved:
    """The result saved at `path` (.npz or .json, as --output and --json write them). Raises
    InputError naming the file when it is not one, or was written before results held their
    weights (schema rnnstate/2)."""
    if extension(path, SAVED_FORMATS) == ".npz":
        arrays = npz_arrays(path, read_bytes(path))
        head = {name: text(path, arrays, name) for name in ("schema", "cell", "engine")}
        check_schema(path, head["schema"])
        try:
            config = orjson.loads(text(path, arrays, "config"))
        except orjson.JSONDecodeError as error:
            raise InputError(path, f"its config is not valid JSON: {error}") from None
    else:
        try:
            document = orjson.loads(read_bytes(path, JSON_LIMIT))
        except orjson.JSONDecodeError as error:
            raise InputError(path, f"is not valid JSON: {error}") from None
        if not isinstance(document, dict):
            raise InputError(path, "is not an rnnstate --json document")
        check_schema(path, document.get("schema"))
        head = {name: document.get(name) for name in ("cell", "engine")}
        config = document.get("config")
        arrays = json_arrays(path, document)
    if not isinstance(config, dict):
        raise InputError(path, "has no config object")
    try:
        spec = Spec.from_config(str(head["cell"]), str(head["engine"]), config)
    except SpecError as error:
        raise InputError(path, f"its config does not make a run: {error}") from None
    return Saved(
        spec,
        floats(path, arrays, "x"),
        saved_weights(path, arrays, spec),
        initial_states(path, arrays, spec),
        saved_mask(path, arrays, spec),
        {
            **{
                name: floats(path, arrays, name)
                for name in (*spec.output_names, *spec.state_names, *gate_names(arrays))
            },
            **memory_arrays(path, arrays),
        },
        memory_unit(path, arrays, spec),
    )


def check_schema(path: str, schema) -> None:
    """Refuse a file that is not a result rnnstate can replay."""
    if schema in READ_SCHEMAS:
        return
    if isinstance(schema, str) and schema.startswith("rnnstate/"):
        raise InputError(
            path, f"is a {schema} result, written before results held their weights; run it "
            "again with this rnnstate to save one that replays",
        )  # fmt: skip
    raise InputError(path, "is not an rnnstate result (--output .npz or .json, or --json)")


def text(path: str, arrays: dict[str, np.ndarray], name: str) -> str:
    """A string saved as a 0-d array in an .npz."""
    if name not in arrays or arrays[name].dtype.kind != "U" or arrays[name].ndim != 0:
        raise InputError(path, f"has no {name!r} string; expected an rnnstate --output .npz")
    return str(arrays[name])


def json_arrays(path: str, document: dict) -> dict[str, np.ndarray]:
    """A JSON document's arrays under the names an .npz gives them (weights.NAME, ...)."""
    arrays = {}
    for group in ("weights", "initial_state", "gates"):
        values = document.get(group) or {}
        if not isinstance(values, dict):
            raise InputError(path, f"{group!r} is not an object of arrays")
        arrays.update({f"{group}.{name}": value for name, value in values.items()})
    for name, value in document.items():
        if name in ("x", "masked_steps", "o", "o_fw", "o_bw", *STATES):
            arrays[name] = value
    memory = document.get("memory") or {}
    if not isinstance(memory, dict):
        raise InputError(path, "'memory' is not an object")
    for kind in MEMORY_KINDS:
        values = memory.get(kind) or {}
        if not isinstance(values, dict):
            raise InputError(path, f"'memory.{kind}' is not an object of arrays")
        arrays.update({f"memory.{kind}.{name}": value for name, value in values.items()})
    if memory.get("unit") is not None:
        arrays["memory.unit"] = memory["unit"]
    try:
        return {name: np.array(value) for name, value in arrays.items()}
    except (ValueError, TypeError):
        raise InputError(path, "holds a ragged array; expected the arrays --json writes") from None


def floats(path: str, arrays: dict[str, np.ndarray], name: str) -> np.ndarray:
    """The saved array `name` as float32, finite."""
    if name not in arrays:
        raise InputError(path, f"has no array {name!r}")
    return np.ascontiguousarray(numeric_array(path, arrays[name], f"array {name!r}"))


MEMORY_KINDS = ("influence", "horizon", "reach", "connectivity")  # --memory's arrays


def memory_arrays(path: str, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """--memory's saved arrays, memory.KIND.NAME: float64 influence and connectivity, integer
    horizon and reach, as saved (replay compares them bit for bit)."""
    found = {}
    for name, value in arrays.items():
        kind = name.split(".")[1] if name.startswith("memory.") else None
        if kind in MEMORY_KINDS:
            check_numeric(path, value, f"array {name!r}")
            found[name] = value.astype(np.float64 if kind in ("influence", "connectivity")
                                       else np.int64)  # fmt: skip
    return found


def memory_unit(path: str, arrays: dict[str, np.ndarray], spec: Spec) -> int | None:
    """The --unit of a saved --memory, if one was given; InputError if it is not a unit."""
    if "memory.unit" not in arrays:
        return None
    unit = arrays["memory.unit"]
    if unit.ndim != 0 or unit.dtype.kind not in "iu" or not 0 <= int(unit) < spec.units:
        raise InputError(path, f"memory.unit is not a unit of the layer (0 to {spec.units - 1})")
    return int(unit)


def gate_names(arrays: dict[str, np.ndarray]) -> list[str]:
    """The saved gate traces' names, gates.NAME."""
    return [name for name in arrays if name.startswith("gates.")]


def saved_weights(path: str, arrays: dict[str, np.ndarray], spec: Spec) -> LayerWeights:
    """The weights saved as weights.NAME (Keras's names), checked against the run's cell."""
    prefixes = ("forward_", "backward_") if spec.bidirectional else ("",)
    directions = []
    for prefix in prefixes:
        name = f"weights.{prefix}"
        bias = floats(path, arrays, name + "bias") if name + "bias" in arrays else None
        directions.append(
            Weights(
                floats(path, arrays, name + "kernel"),
                floats(path, arrays, name + "recurrent_kernel"),
                bias,
                read_from=spec.sources.layout or "keras",
            )
        )
    weights = BidirectionalWeights(*directions) if spec.bidirectional else directions[0]
    check_weight_shapes(path, weights, spec.cell, spec.reset_after)
    return weights


def initial_states(path: str, arrays: dict[str, np.ndarray], spec: Spec):
    """The states the run started from, by name, if it did not start from zeros."""
    if not spec.initial_state:
        return None
    return {name: floats(path, arrays, f"initial_state.{name}") for name in spec.state_names}


def saved_mask(path: str, arrays: dict[str, np.ndarray], spec: Spec) -> np.ndarray | None:
    """The mask (N, T), True where a step counts, from the saved masked_steps."""
    if "masked_steps" not in arrays:
        if spec.masked:
            raise InputError(path, "has no masked_steps, though its run was masked")
        return None
    skipped = arrays["masked_steps"]
    if skipped.dtype != bool or skipped.shape != (spec.batch, spec.steps):
        raise InputError(
            path, f"masked_steps has shape {skipped.shape} of {skipped.dtype}; expected "
            f"(N, T) = ({spec.batch}, {spec.steps}) of bool",
        )  # fmt: skip
    return ~skipped


def differences(result, saved: Saved, memory=None) -> list[str]:
    """The names of the saved arrays the replayed `result` (and its Memory, `memory`) does not
    reproduce bit for bit."""
    from rnnstate.save import memory_arrays as replayed_memory

    replayed = {
        **result.outputs,
        **result.states,
        **{f"gates.{name}": value for name, value in (result.gates or {}).items()},
        **(replayed_memory(memory) if memory is not None else {}),
    }
    return [
        name
        for name, value in saved.saved.items()
        if name not in replayed or not np.array_equal(replayed[name], value)
    ]
