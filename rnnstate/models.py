"""Saved Keras models: load one safely, list its recurrent layers, and give one layer's settings,
weights, and the input, mask and initial states its model sends it.

Models load with safe_mode=True and compile=False, always: nothing from a file is executed. Like
engines/keras.py, this module imports TensorFlow (quietly) when it first needs it.
"""

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnnstate import model_files
from rnnstate.api import make_spec
from rnnstate.data import extension, first_line
from rnnstate.engines.keras import _import_keras, call_interruptibly, stderr_silenced
from rnnstate.errors import InputError, SpecError, shown_name
from rnnstate.spec import ModelSource, Spec, state_names
from rnnstate.weights import BidirectionalWeights, LayerWeights, Weights

MODEL_FORMATS = (".keras", ".h5", ".hdf5")
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
CELLS = {"LSTM": "lstm", "GRU": "gru", "SimpleRNN": "rnn"}  # Keras class -> rnnstate cell

# Keras's defaults of the settings a listing compares against (the others do not change what
# a trained layer computes: initialisers, regularisers, constraints).
DEFAULTS = {
    "activation": "tanh",
    "recurrent_activation": "sigmoid",
    "use_bias": True,
    "return_sequences": False,
    "return_state": False,
    "go_backwards": False,
    "stateful": False,
    "unroll": False,
    "reset_after": True,
    "dropout": 0.0,
    "recurrent_dropout": 0.0,
    "zero_output_for_mask": False,
    "unit_forget_bias": True,  # changes only the bias a new layer starts from; listed all the same
}
SEQUENCES_PER_CALL = 256  # the layers before the inspected one run on this many sequences a call


@dataclass(frozen=True)
class ModelLayer:
    """One recurrent layer of a model: where it is, what it is, and its settings as Spec fields.

    chain: the Keras objects from the outermost nested model to the layer itself.
    """

    index: int  # its place in the listing
    path: str  # its name, "outer/inner" inside a nested model
    class_name: str  # LSTM, GRU, SimpleRNN, or Bidirectional(LSTM) ...
    cell: str  # lstm, gru or rnn
    units: int  # M
    features: int  # D of its input
    steps: int | None  # T of its input when the model fixes it
    settings: dict  # Spec fields from its config: return_sequences, activation, ...
    differences: dict  # its settings that differ from Keras's defaults, as in its config
    unused: tuple[str, ...]  # settings that do nothing when rnnstate runs it, in words
    chain: tuple = field(repr=False, compare=False)
    refusal: str | None = None  # why rnnstate cannot run it, in words; None when it can
    calls: int = 1  # how many times the model calls it (more than once: a shared layer)

    @property
    def state_names(self) -> tuple[str, ...]:
        """Its states in Keras's order, as Spec.state_names names them."""
        return state_names(self.cell, self.settings["bidirectional"])

    def listing(self) -> dict:
        """The JSON form of this layer in `rnnstate model PATH --json`; "calls" only for a
        shared layer, "refused" only for one rnnstate cannot run."""
        listed = {
            "index": self.index,
            "name": self.path,
            "class": self.class_name,
            "units": self.units,
            "features": self.features,
            "steps": self.steps,
            "settings": self.differences,
        }
        if self.calls > 1:
            listed["calls"] = self.calls
        if self.refusal is not None:
            listed["refused"] = self.refusal
        return listed


@dataclass(frozen=True)
class LoadedModel:
    """A model read from `path`, with its input names and the Keras module that loaded it;
    asset_layers: its layers whose state is in assets, never unpacked (they cannot run)."""

    path: str
    model: object
    keras: object = field(repr=False)
    asset_layers: tuple[str, ...] = ()

    @property
    def input_names(self) -> list[str]:
        """The names of the model's inputs (its Input layers), in order."""
        return [tensor._keras_history.operation.name for tensor in self.model.inputs]


def load(path: str) -> LoadedModel:
    """The model saved at `path` (.keras, .h5 or .hdf5), loaded with safe_mode=True and
    compile=False, every part of the file bounded before it is read (see model_files), in a
    worker thread so that Ctrl-C and SIGTERM end it at once. Raises InputError naming the file
    for anything that is not a Keras model rnnstate can load without running code from it, or
    whose weights are not all finite."""
    suffix = Path(path).suffix.lower()
    if suffix not in MODEL_FORMATS:
        shown = f"'{suffix}'" if suffix else "no extension"
        raise InputError(path, f"has {shown}; expected a saved Keras model: .keras, .h5 or .hdf5")
    extension(path, MODEL_FORMATS)  # exists and is a file
    source = model_files.model_source(path)
    head = file_head(path, source)
    if suffix != ".keras" and not head.startswith(HDF5_SIGNATURE):
        raise InputError(path, "is not an HDF5 file; expected a model saved by model.save")
    model_files.check_file(path, suffix, source)  # before TensorFlow's seconds of import
    with stderr_silenced():
        _, keras = _import_keras()
        model, assets = call_interruptibly(read_model, keras, path, suffix, source)
    if not isinstance(model, keras.Model):
        raise InputError(path, f"holds a {type(model).__name__}, not a Keras model")
    model_files.check_finite_weights(keras, path, model)
    asset_layers = model_files.asset_layers(keras, model, assets)
    return LoadedModel(path, model, keras, tuple(asset_layers))


def read_model(keras, path: str, suffix: str, source) -> tuple[object, list[str]]:
    """(model, asset member names) from a .keras archive or a legacy .h5 file."""
    if suffix == ".keras":
        return model_files.load_keras_archive(keras, path, source)
    return model_files.load_hdf5(keras, path, source), []


def file_head(path: str, source) -> bytes:
    """The first bytes of the file (its signature), refusing an unreadable or empty one."""
    if isinstance(source, io.BytesIO):
        head = source.getvalue()[: len(HDF5_SIGNATURE)]
    else:
        try:
            with open(source, "rb") as file:
                head = file.read(len(HDF5_SIGNATURE))
        except OSError as error:
            raise InputError(path, f"cannot be read: {error.strerror or error}") from None
    if not head:
        raise InputError(path, "is empty")
    return head


def is_keras_operation(keras, name: str) -> bool:
    """Whether a class name is one of Keras's operations (NotEqual: keras.ops.not_equal)."""
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
    return hasattr(keras.ops, snake)


def load_problem(keras, error: Exception) -> str:
    """What Keras's error on loading means for the user, in one line."""
    text = first_line(error)
    if "Lambda" in str(error) or "lambda" in text:
        return (
            "holds a Lambda layer (Python code), which rnnstate never runs: models load "
            "with safe_mode=True"
        )
    for marker in ("Unknown layer: '", "Could not locate class '", "Unknown object: '"):
        if marker in str(error):
            name = str(error).split(marker, 1)[1].split("'", 1)[0]
            if is_keras_operation(keras, name):
                return (
                    f"records the Keras operation {name} as a layer, which Keras cannot load "
                    "back from this legacy format (a Keras 3 model with masks or operations "
                    "saved as .h5); save the model as .keras"
                )
            return (
                f"needs the custom class {name}, which rnnstate does not have; it loads "
                "built-in Keras layers only"
            )
    if "could not be deserialized" in text:
        return (
            "needs classes that are not built into Keras (custom layers or functions); "
            "rnnstate loads built-in Keras layers only"
        )
    return f"cannot be loaded as a Keras model: {text}"


# ---------------------------------------------------------------------------------------------
# The recurrent layers of a model


def recurrent_layers(loaded: LoadedModel) -> list[ModelLayer]:
    """Every LSTM, GRU and SimpleRNN of the model (bare or in a Bidirectional), in the order of
    model.layers, nested models searched in place."""
    found = []
    for chain in walk(loaded.keras, loaded.model, ()):
        found.append(describe(len(found), chain, len(model_calls(loaded.model, chain[0]))))
    return found


def model_calls(model, layer) -> list:
    """The calls (Keras nodes) of `layer` in the graph of `model`, in order: a layer can hold
    calls from outside it too (a Sequential's layers keep the one of their first build)."""
    graph = getattr(model, "_functional", None) or model
    in_graph = [node for nodes in getattr(graph, "_nodes_by_depth", {}).values() for node in nodes]
    nodes = getattr(layer, "_inbound_nodes", [])
    calls = [node for node in nodes if any(node is other for other in in_graph)]
    return calls or nodes[:1]


def walk(keras, model, outer: tuple) -> Iterator[tuple]:
    """The chains (nested models..., layer) of the recurrent layers inside `model`."""
    for layer in model.layers:
        if recurrent_class(layer) is not None:
            yield (*outer, layer)
        elif isinstance(layer, keras.Model):
            yield from walk(keras, layer, (*outer, layer))


def recurrent_class(layer) -> str | None:
    """The Keras class of a recurrent layer rnnstate runs (the wrapped one for Bidirectional)."""
    name = type(layer).__name__
    if name == "Bidirectional":
        name = type(layer.forward_layer).__name__
    return name if name in CELLS else None


def activation_name(value) -> str:
    """An activation as its config names it: a string, or a serialized function's name."""
    if isinstance(value, dict):
        return str(value.get("config", value))
    return str(value)


def describe(index: int, chain: tuple, calls: int = 1) -> ModelLayer:
    """A ModelLayer for the layer at the end of `chain`, which its model calls `calls` times;
    with the reason when rnnstate cannot run it."""
    layer = chain[-1]
    path = "/".join(part.name for part in chain)
    bidirectional = type(layer).__name__ == "Bidirectional"
    inner = layer.forward_layer if bidirectional else layer
    config = inner.get_config()
    cell = CELLS[type(inner).__name__]
    differences = {
        key: activation_name(config[key]) if key.endswith("activation") else config[key]
        for key in DEFAULTS
        if key in config and not same(config[key], DEFAULTS[key])
    }
    refusal = None
    if bidirectional:
        differences.pop("zero_output_for_mask", None)  # Bidirectional sets it itself
        differences |= backward_differences(config, layer.backward_layer.get_config())
        if layer.merge_mode != "concat":
            differences = {"merge_mode": layer.merge_mode, **differences}
        refusal = backward_layer_problem(path, layer)
    settings = {
        "return_sequences": bool(config["return_sequences"]),
        "activation": activation_name(config["activation"]),
        "backwards": bool(config["go_backwards"]) and not bidirectional,
        "bidirectional": bidirectional,
    }
    if cell != "rnn":
        settings["recurrent_activation"] = activation_name(config["recurrent_activation"])
    if cell == "gru":
        settings["reset_after"] = bool(config["reset_after"])
    if bidirectional:
        settings["merge"] = "none" if layer.merge_mode is None else layer.merge_mode
    if config.get("zero_output_for_mask") and not bidirectional:
        refusal = (
            f"layer {path!r} sets zero_output_for_mask=True, which rnnstate's engines do not "
            "implement for a layer outside Bidirectional"
        )
    kernel = inner.cell.kernel
    config_class = type(inner).__name__
    x_tensor = input_tensor(layer)
    return ModelLayer(
        index=index,
        path=path,
        class_name=f"Bidirectional({type(inner).__name__})" if bidirectional else config_class,
        cell=cell,
        units=int(config["units"]),
        features=int(kernel.shape[0]),
        steps=None if x_tensor is None else x_tensor.shape[1],
        settings=settings,
        differences=differences,
        unused=unused_settings(config, layer),
        chain=chain,
        refusal=refusal,
        calls=max(1, calls),
    )


def same(value, default) -> bool:
    """Whether a config value equals Keras's default (activations compared by name)."""
    return activation_name(value) == default if isinstance(default, str) else value == default


def backward_differences(forward: dict, backward: dict) -> dict:
    """A Bidirectional's backward layer's settings (of DEFAULTS) that differ from what it has by
    default there: its forward layer's, but go_backwards=True; keyed "backward_layer.KEY"."""
    expected = {**forward, "go_backwards": True}

    def shown(config: dict, key: str):
        value = config.get(key)
        return activation_name(value) if key.endswith("activation") else value

    return {
        f"backward_layer.{key}": shown(backward, key)
        for key in DEFAULTS
        if key in backward and key != "zero_output_for_mask"
        and shown(backward, key) != shown(expected, key)
    }  # fmt: skip


def backward_layer_problem(path: str, layer) -> str | None:
    """Why rnnstate cannot run a Bidirectional as Keras does, or None: its forward layer reads
    backwards (then Keras returns both halves of o in reversed step order, which rnnstate's
    engines do not), or its backward layer differs from its forward one beyond go_backwards
    (rnnstate runs both halves with one set of settings)."""
    ignored = {"name", "go_backwards", "zero_output_for_mask", "seed", "trainable"}
    forward, backward = layer.forward_layer.get_config(), layer.backward_layer.get_config()
    if forward.get("go_backwards"):
        return (
            f"layer {path!r} is a Bidirectional whose forward layer reads backwards "
            "(go_backwards=True) and whose backward layer reads forwards (go_backwards=False): "
            "Keras then returns both halves of o in reversed step order, h_fw after t=0 and "
            "h_bw after the last step, which rnnstate's engines do not implement"
        )
    differing = sorted(
        key for key in forward.keys() | backward.keys()
        if key not in ignored and forward.get(key) != backward.get(key)
    )  # fmt: skip
    if differing:
        return (
            f"layer {path!r} is a Bidirectional whose backward layer differs from its forward "
            f"one in {', '.join(differing)}; rnnstate runs both with the same settings"
        )
    return None


def unused_settings(config: dict, layer) -> tuple[str, ...]:
    """The layer's settings that do nothing when rnnstate runs it, each said in words."""
    notes = []
    for key in ("dropout", "recurrent_dropout"):
        if config.get(key):
            notes.append(f"{key}={config[key]:g} does nothing at inference (no mask is drawn)")
    if config.get("stateful"):
        notes.append(
            "stateful=True: the run starts from zeros (or --initial-state), not from a "
            "state kept between calls"
        )
    policy = getattr(getattr(layer, "dtype_policy", None), "compute_dtype", "float32")
    if policy != "float32":
        notes.append(f"the layer computes in {policy} inside the model; rnnstate runs float32")
    return tuple(notes)


def input_tensor(layer):
    """The symbolic input the model's graph passes to `layer` in its first call, or None."""
    nodes = getattr(layer, "_inbound_nodes", [])
    if not nodes:
        return None
    arguments = nodes[0].arguments
    return arguments.args[0] if arguments.args else arguments.kwargs.get("sequences")


# Layers that pass their input on unchanged at inference: an Embedding's vectors cross them
PASS_THROUGH = ("Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout", "AlphaDropout")


def embedding_before(loaded: LoadedModel, layer: ModelLayer, call: int = 0) -> str | None:
    """The name of the Embedding whose vectors are what the model's `layer` reads at its call
    `call` (directly, or through layers that pass them on unchanged at inference), or None."""
    outermost, target = layer.chain[0], layer.chain[-1]
    if len(layer.chain) == 1:
        nodes = model_calls(loaded.model, outermost)
        arguments = nodes[call].arguments if call < len(nodes) else None
        tensor = None
        if arguments is not None:
            tensor = arguments.args[0] if arguments.args else arguments.kwargs.get("sequences")
    else:  # inside a nested model: what the layer reads in that model's own graph
        tensor = input_tensor(target)
    while tensor is not None and hasattr(tensor, "_keras_history"):
        operation = tensor._keras_history.operation
        kind = type(operation).__name__
        if kind == "Embedding":
            return operation.name
        if kind not in PASS_THROUGH:
            return None
        tensor = input_tensor(operation)
    return None


def find_layer(layers: list[ModelLayer], name: str, path: str) -> ModelLayer:
    """The layer `name` (its path, or its index in the listing); SpecError listing the
    recurrent layers there are."""
    for layer in layers:
        if name in (layer.path, str(layer.index)):
            if layer.refusal is not None:
                raise SpecError("--layer", layer.refusal)
            return layer
    raise SpecError(
        "--layer",
        f"{shown_name(path)} has no recurrent layer {name!r}; its recurrent layers: "
        f"{listed(layers)}",
    )


def listed(layers: list[ModelLayer]) -> str:
    """The layers as "0: lstm, 1: outer/gru" ("none" if there are none)."""
    return ", ".join(f"{layer.index}: {shown_name(layer.path)}" for layer in layers) or "none"


def layer_weights(layer: ModelLayer) -> LayerWeights:
    """The layer's trained weights in Keras's layout, float32."""
    keras_layer = layer.chain[-1]
    arrays = [np.asarray(a, dtype=np.float32) for a in keras_layer.get_weights()]
    if layer.settings["bidirectional"]:
        half = len(arrays) // 2
        return BidirectionalWeights(one_layer(arrays[:half]), one_layer(arrays[half:]))
    return one_layer(arrays)


def one_layer(arrays: list[np.ndarray]) -> Weights:
    """Weights from get_weights()'s [kernel, recurrent_kernel, (bias)]."""
    return Weights(arrays[0], arrays[1], arrays[2] if len(arrays) > 2 else None)


# ---------------------------------------------------------------------------------------------
# The layer's input: the model run up to it


@dataclass(frozen=True)
class LayerInput:
    """What the model sends the layer: x (N, T, D) float32, the mask (N, T) (True where a step
    counts) and the initial states by name (each (N, M)), where the model has them."""

    x: np.ndarray
    mask: np.ndarray | None
    initial_state: dict[str, np.ndarray] | None
    mask_from: str | None  # the layer that made the mask


@dataclass(frozen=True)
class LayerData:
    """What a model's layer runs on in rnnstate: its trained weights, x (N, T, D) (None: drawn
    from the seed), the mask (N, T) and initial states (each (N, M)) the model sends it, where
    they all came from, and the names messages give the input and the states."""

    layer: ModelLayer
    weights: LayerWeights
    x: np.ndarray | None
    mask: np.ndarray | None
    initial_state: dict[str, np.ndarray] | None
    source: ModelSource
    input_name: str = ""
    state_name: str = "the model's initial states"

    def spec(self, sequences: bool | None = None, steps: int | None = None, **choices) -> Spec:
        """The Spec of a run of the layer with its own settings (return_sequences overridden
        by `sequences` unless None); `choices`: batch, seed, engine, gates, check, explain ..."""
        settings = dict(self.layer.settings)
        if sequences is not None:
            settings["return_sequences"] = sequences
        if self.x is not None and choices.get("seed") is None:
            choices["seed"] = 0  # it draws nothing: x and the weights are given
        return make_spec(
            self.layer.cell,
            steps=steps if self.x is not None or steps else self.layer.steps,
            x=self.x,
            weights=self.weights,
            initial_state=self.initial_state,
            input_name=self.input_name,
            weights_name=f"layer {self.layer.path!r} of {self.source.path}",
            state_name=self.state_name,
            model=self.source,
            **choices,
            **settings,
        )


def model_inputs(loaded: LoadedModel, arrays: dict[str, np.ndarray], path: str) -> list[np.ndarray]:
    """The arrays for the model's inputs, in order, as the model takes them (batch axis added
    where missing, token ids as integers). Raises InputError naming `path` for any misfit."""
    names = loaded.input_names
    if len(names) == 1 and names[0] not in arrays:
        if len(arrays) != 1:
            raise InputError(
                path, f"holds arrays {sorted(arrays)}; the model has one input, {names[0]!r}"
            )
        arrays = {names[0]: next(iter(arrays.values()))}
    missing = [name for name in names if name not in arrays]
    if missing:
        raise InputError(
            path, f"has no array for the model's input {missing[0]!r}; expected an .npz with "
            f"one array per input: {', '.join(names)}",
        )  # fmt: skip
    fitted = [
        fit_input(path, name, arrays[name], tensor)
        for name, tensor in zip(names, loaded.model.inputs, strict=True)
    ]
    batches = {name: len(array) for name, array in zip(names, fitted, strict=True)}
    if len(set(batches.values())) > 1:
        shown = ", ".join(f"{name!r} {size}" for name, size in batches.items())
        raise InputError(
            path, f"holds inputs with different numbers of sequences ({shown}); the model's "
            "inputs take the same number N each",
        )  # fmt: skip
    return fitted


def fit_input(path: str, name: str, array: np.ndarray, tensor) -> np.ndarray:
    """`array` in the shape and dtype of the model input `tensor`, or InputError."""
    expected = tuple(tensor.shape)
    if array.ndim == len(expected) - 1:
        array = array[None]
    fits = array.ndim == len(expected) and all(
        size is None or size == given
        for size, given in zip(expected[1:], array.shape[1:], strict=True)
    )
    if not fits or 0 in array.shape:
        shown = "(N, " + ", ".join("any" if s is None else str(s) for s in expected[1:]) + ")"
        raise InputError(
            path, f"holds {name!r} of shape {array.shape}; the model's input {name!r} is {shown}"
        )
    dtype = np.dtype(str(tensor.dtype))
    if dtype.kind in "iu" and array.dtype.kind == "f":
        check_token_ids(path, name, array, dtype)
    return np.ascontiguousarray(array.astype(dtype))


def check_token_ids(path: str, name: str, array: np.ndarray, dtype: np.dtype) -> None:
    """Refuse float token ids with fractions or beyond `dtype` (before any cast can warn)."""
    if not np.array_equal(array, np.round(array)):
        raise InputError(
            path, f"holds {name!r} with fractions; the model's input {name!r} takes "
            "integers (token ids)",
        )  # fmt: skip
    limits = np.iinfo(dtype)
    outside = (array < limits.min) | (array > limits.max)
    if outside.any():
        first = tuple(int(i) for i in np.argwhere(outside)[0])
        raise InputError(
            path, f"holds {name!r} with token id {array[first]:g} at {list(first)}, beyond the "
            f"{dtype} ids the model's input {name!r} takes",
        )  # fmt: skip


def layer_input(
    loaded: LoadedModel,
    layer: ModelLayer,
    inputs: list[np.ndarray],
    path: str,
    progress: Callable[[int, int], None] | None = None,
    call: int = 0,
) -> LayerInput:
    """Run the model's layers before `layer` on `inputs` (the model's inputs, in order) and
    return what reaches the layer: x, the mask and the initial states the model sends it.

    Keras decides a layer's mask while the model runs (a mask can pass through a nested model
    that its saved graph does not show), so the model runs as Keras runs it, up to the output
    of the outermost model or layer that holds `layer`, with the layer's call watched: it
    records what it receives and returns zeros of its output's shape instead of computing.
    SEQUENCES_PER_CALL sequences a call, inside tf.function; progress(done, total) after each.
    A layer the model calls more than once (shared) receives what its call number `call` (from
    0, in the order of the model's graph) receives: the model runs up to that call's output,
    which is the last call of the layer that needs.
    """
    if loaded.asset_layers:
        raise InputError(
            loaded.path, f"layer {loaded.asset_layers[0]!r} keeps its state (a vocabulary) in "
            "the model's assets, which rnnstate never unpacks; give the layer's own input with "
            "--layer-input",
        )  # fmt: skip
    keras, tf = loaded.keras, _import_keras()[0]
    nodes = model_calls(loaded.model, layer.chain[0])
    if not nodes:
        raise InputError(path, f"layer {layer.path!r} is never called in the model's graph")
    with stderr_silenced():
        sub_model = keras.Model(loaded.model.inputs, nodes[call].output_tensors)
    target = layer.chain[-1]

    @tf.function(autograph=False, reduce_retracing=True)
    def compute(*arrays):
        received = []
        inputs = list(arrays) if len(arrays) > 1 else arrays[0]  # as the model's inputs nest

        def watched(sequences, initial_state=None, mask=None, **kwargs):
            states = [] if initial_state is None else as_list(initial_state)  # the last call's
            received[:] = [sequences, tf.zeros((0,)) if mask is None else mask, *states]
            return zero_outputs(tf, layer, target, sequences)

        target.call = watched
        try:
            sub_model(inputs)
        finally:
            del target.call
        return received

    N = inputs[0].shape[0]
    pieces = []
    for start in range(0, N, SEQUENCES_PER_CALL):
        stop = min(N, start + SEQUENCES_PER_CALL)
        try:
            with stderr_silenced():
                values = call_interruptibly(compute, *[a[start:stop] for a in inputs])
        except Exception as error:  # TensorFlow's errors for data the model cannot take
            raise InputError(path, f"the model cannot run on it: {model_failure(error, start)}"
                             ) from None  # fmt: skip
        pieces.append([np.asarray(value) for value in values])
        if progress:
            progress(stop, N)
    x, mask, *states = [np.concatenate(parts) for parts in zip(*pieces, strict=True)]
    mask = mask.astype(bool) if mask.ndim == 2 else None
    initial = None
    if states:
        initial = dict(zip(layer.state_names, [s.astype(np.float32) for s in states], strict=True))
    return LayerInput(
        np.ascontiguousarray(x, dtype=np.float32),
        mask,
        initial,
        None if mask is None else mask_makers(loaded),
    )


OUT_OF_RANGE = re.compile(r"indices\[(\d+),(\d+)\] = (-?\d+) is not in \[0, (\d+)\)")
FAILED_NODE = re.compile(r"\{\{node ([^}]+)\}\}")


def model_failure(error: Exception, start: int) -> str:
    """TensorFlow's reason a model could not run, in one line: the message's own line (not
    "Graph execution error:" or its traceback) and the layer that failed; a token id outside
    an Embedding's vocabulary is said as such, its sequence counted from the chunk's `start`."""
    text = str(getattr(error, "message", "") or error)
    node = found[1].split("/") if (found := FAILED_NODE.search(text)) else []
    layer = node[-2].removesuffix("_1") if len(node) > 1 else None  # graph names add _1
    if found := OUT_OF_RANGE.search(text):
        n, t, token, size = (int(group) for group in found.groups())
        where = f" of layer {layer!r}" if layer else ""
        return (f"token id {token} (sequence n={start + n}, step t={t}) is not in the "
                f"vocabulary{where}: ids 0 to {size - 1}")  # fmt: skip
    noise = ("Graph execution error", "Detected at node", "File ", "[[{{node", "Traceback")
    lines = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.startswith((" ", "\t")) and not line.startswith(noise)
    ]
    reason = lines[-1] if lines else first_line(error)
    return f"{layer}: {reason}" if layer else reason


def zero_outputs(tf, layer: ModelLayer, target, sequences):
    """Zeros in the structure and shapes the Keras layer `target` returns for `sequences`."""
    N, T = tf.shape(sequences)[0], tf.shape(sequences)[1]
    M = layer.units
    bidirectional = layer.settings["bidirectional"]
    halves = bidirectional and layer.settings["merge"] == "none"
    width = 2 * M if bidirectional and layer.settings["merge"] == "concat" else M
    shape = (N, T, width) if layer.settings["return_sequences"] else (N, width)
    outputs = [tf.zeros(shape), tf.zeros(shape)] if halves else [tf.zeros(shape)]
    if getattr(target, "return_state", False):
        outputs += [tf.zeros((N, M)) for _ in layer.state_names]
    return outputs if len(outputs) > 1 else outputs[0]


def as_list(values) -> list:
    """One value or several, as a list."""
    return list(values) if isinstance(values, list | tuple) else [values]


def mask_makers(loaded: LoadedModel) -> str:
    """In words, the layers of the model (nested ones too) that make step masks."""
    makers = []
    for model_layer in all_layers(loaded.keras, loaded.model):
        config = model_layer.get_config()
        if type(model_layer).__name__ == "Masking":
            makers.append(f"{model_layer.name} (Masking, mask_value={config['mask_value']:g})")
        elif type(model_layer).__name__ == "Embedding" and config.get("mask_zero"):
            makers.append(f"{model_layer.name} (Embedding, mask_zero=True)")
    return ", ".join(makers) or "the layers before it"


def all_layers(keras, model) -> Iterator:
    """Every layer of `model`, nested models' layers in place."""
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from all_layers(keras, layer)


def layer_batches(
    loaded: LoadedModel,
    layer: ModelLayer,
    arrays: dict[str, np.ndarray],
    path: str,
    size: int,
    call: int = 0,
) -> tuple[int, Iterator[LayerInput]]:
    """The number of sequences N in the model's input `arrays` (by input name, as read from
    `path`; a memory-mapped array is read a batch at a time), and what reaches `layer` for each
    batch of `size` sequences in order (layer_input, batch by batch). A batch's arrays are
    checked and fitted to the model's inputs as it is read: InputError naming `path`."""
    expected = len(loaded.model.inputs[0].shape)
    if all(array.ndim == expected - 1 for array in arrays.values()):
        arrays = {name: array[None] for name, array in arrays.items()}  # one sequence
    sizes = {name: len(array) for name, array in arrays.items()}
    if len(set(sizes.values())) > 1:
        shown = ", ".join(f"{name!r} {n}" for name, n in sizes.items())
        raise InputError(
            path, f"holds inputs with different numbers of sequences ({shown}); the model's "
            "inputs take the same number N each",
        )  # fmt: skip
    N = next(iter(sizes.values()))

    def batches() -> Iterator[LayerInput]:
        from rnnstate.data import numeric_array

        for start in range(0, N, size):
            part = {name: np.asarray(array[start : start + size]) for name, array in arrays.items()}
            for name, values in part.items():
                if values.dtype.kind == "f" and not np.isfinite(values).all():
                    numeric_array(path, values, f"array {name!r}")  # raises, naming the value
            inputs = model_inputs(loaded, part, path)
            yield layer_input(loaded, layer, inputs, path, None, call)

    return N, batches()


def embedding_size(loaded: LoadedModel) -> int | None:
    """input_dim of the Embedding a one-input model starts with (the ids its input takes), or
    None when the model does not start with one."""
    if len(loaded.model.inputs) != 1:
        return None
    first = next(
        (layer for layer in loaded.model.layers if type(layer).__name__ != "InputLayer"), None
    )
    if type(first).__name__ != "Embedding":
        return None
    return int(first.get_config()["input_dim"])
