"""Where x and the weights come from: random numbers from the seed, or the user's files.

Every problem with a file is raised as InputError naming the file and what was expected; nothing
in a file is ever executed (numpy loads with allow_pickle=False, pickled members are refused).
"""

import contextlib
import csv
import io
import mmap
import os
import stat
import sys
import threading
import tokenize
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import orjson

from rnnstate.errors import InputError, SpecError, shown_name
from rnnstate.layouts import from_torch, is_torch
from rnnstate.spec import GATE_BLOCKS, KERAS_LAYER_NAMES, Spec
from rnnstate.weights import BidirectionalWeights, LayerWeights, Weights

INPUT_FORMATS = (".npy", ".npz", ".csv", ".json")
WEIGHT_NAMES = ("kernel", "recurrent_kernel", "bias")
STDIN = "-"
STATES = ("h", "c", "h_fw", "c_fw", "h_bw", "c_bw")  # every state name an initial state may hold


def random_input(spec: Spec, rng: np.random.Generator) -> np.ndarray:
    """Standard normal float32 input of shape (N, T, D).

    Drawn step by step, as (T, N, D), so a longer T extends a shorter one: the first 8 steps
    of T=10 are the 8 steps of T=8 for the same seed.
    """
    by_step = rng.standard_normal((spec.steps, spec.batch, spec.features), dtype=np.float32)
    return np.ascontiguousarray(by_step.transpose(1, 0, 2))  # (N, T, D)


# ---------------------------------------------------------------------------------------------
# Reading files


READ_CHUNK = 1 << 20
WAIT_NOTICE_SECONDS = 1.5  # after this long without data from a FIFO or a terminal, say so
JSON_LIMIT = 256 << 20  # larger JSON is refused before parsing: .npy reads any size safely


def read_limit() -> int:
    """The most bytes a file, or one array in it, may hold: a quarter of the memory available
    (the run needs several copies of its input besides)."""
    from rnnstate.budget import available_bytes

    return available_bytes() // 4


def read_bytes(path: str, limit: int | None = None) -> bytes:
    """The whole file (stdin for "-"), at most `limit` bytes (default: read_limit()); refuses
    what is missing, a folder, unreadable, empty or larger. Waiting on a FIFO or a terminal
    that sends nothing for a while says so on stderr."""
    limit = read_limit() if limit is None else limit
    try:
        if path == STDIN:
            if sys.stdin is None:
                raise InputError(path, "stdin is closed; give the input a file or a pipe")
            stream = sys.stdin.buffer
            ends = "Ctrl-D ends it" if stream.isatty() else "it ends when its writer closes it"
            with waiting_notice("stdin", waits_for_writer(stream), ends):
                return limited_read(path, stream, limit)
        fifo = os.path.exists(path) and stat.S_ISFIFO(os.stat(path).st_mode)
        with (
            waiting_notice(repr(path), fifo, "it ends when its writer closes it"),
            open(path, "rb") as file,
        ):  # a FIFO opens when written
            return limited_read(path, file, limit)
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except IsADirectoryError:
        raise InputError(path, "is a directory; expected a file") from None
    except PermissionError:
        raise InputError(path, "cannot be read: permission denied") from None
    except (OSError, ValueError) as error:  # ValueError: stdin opened write-only, ...
        strerror = getattr(error, "strerror", None)
        raise InputError(path, f"cannot be read: {strerror or first_line(error)}") from None


def file_mode(stream) -> int:
    """The st_mode of the file behind `stream`; 0 for a stream without one (in memory)."""
    try:
        return os.fstat(stream.fileno()).st_mode
    except (OSError, ValueError, io.UnsupportedOperation):
        return 0


def waits_for_writer(stream) -> bool:
    """Whether reading `stream` may wait on someone: a FIFO (pipe) or a terminal."""
    mode = file_mode(stream)
    return stat.S_ISFIFO(mode) or (stat.S_ISCHR(mode) and os.isatty(stream.fileno()))


@contextlib.contextmanager
def waiting_notice(name: str, active: bool, ends: str) -> Iterator[None]:
    """While the block runs: after WAIT_NOTICE_SECONDS, one line on stderr saying rnnstate
    waits for input on `name` and what `ends` the wait (only when `active`)."""
    if not active:
        yield
        return
    notice = threading.Timer(
        WAIT_NOTICE_SECONDS,
        lambda: print(f"rnnstate: waiting for input on {name} ({ends}; Ctrl-C stops "
                      "rnnstate)", file=sys.stderr, flush=True),
    )  # fmt: skip
    notice.daemon = True
    notice.start()
    try:
        yield
    finally:
        notice.cancel()


def limited_read(path: str, stream, limit: int) -> bytes:
    """Read `stream` to its end in chunks, refusing more than `limit` bytes (a regular file's
    size is checked before reading)."""
    if stat.S_ISREG(file_mode(stream)) and os.fstat(stream.fileno()).st_size > limit:
        raise too_large(path, limit)
    pieces, size = [], 0
    while chunk := stream.read1(READ_CHUNK):
        size += len(chunk)
        if size > limit:
            raise too_large(path, limit)
        pieces.append(chunk)
    if not size:
        raise InputError(path, "is empty")
    return b"".join(pieces)


def too_large(path: str, limit: int) -> InputError:
    """The error for a file (or stream) larger than rnnstate may read."""
    return InputError(
        path, f"holds more than {limit / 1e6:.0f} MB, more than rnnstate reads for this format "
        "with the memory available; expected a smaller file (.npy reads the largest)",
    )  # fmt: skip


def extension(path: str, allowed: tuple[str, ...]) -> str:
    """The lower-case extension of path, which must be one of `allowed`, checked (after the
    file's existence) before anything is read."""
    if path != STDIN and not os.path.exists(path):
        raise InputError(path, "no such file")
    if path != STDIN and os.path.isdir(path):
        raise InputError(path, "is a directory; expected a file")
    suffix = ".json" if path == STDIN else Path(path).suffix.lower()
    if suffix not in allowed:
        shown = f"'{suffix}'" if suffix else "no extension"
        raise InputError(path, f"has {shown}; expected one of {', '.join(allowed)}")
    return suffix


def numeric_array(path: str, array: np.ndarray, what: str) -> np.ndarray:
    """`array` as float32, refusing non-numeric dtypes and NaN or infinite values."""
    check_numeric(path, array, what)
    with np.errstate(over="ignore"):  # values beyond float32 become inf, refused just below
        values = array.astype(np.float32)
    if not np.isfinite(values).all():
        first = [int(i) for i in np.argwhere(~np.isfinite(values))[0]]
        raise InputError(path, not_finite(what, array[tuple(first)], first))
    return values


def check_numeric(path: str, array: np.ndarray, what: str) -> None:
    """Refuse an array of Python objects or of anything but integers and floats."""
    if array.dtype.hasobject:
        raise InputError(path, f"{what} holds Python objects, which are never loaded")
    if array.dtype.kind not in "iuf":
        raise InputError(path, f"{what} has dtype {array.dtype}; expected integers or floats")


def checked_npy(path: str, stream: io.BufferedIOBase, size: int, what: str) -> np.ndarray:
    """Read one .npy array from `stream` (`size` bytes follow its start), checking its header
    against `size` and the memory available before reading the data."""
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(stream)
        else:
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(stream)
    except (ValueError, OSError, EOFError, SyntaxError, tokenize.TokenError) as error:
        # numpy parses the header with tokenize and ast: a crafted one fails in either
        raise InputError(path, f"{what} is not a valid .npy array: {first_line(error)}") from None
    if dtype.hasobject:
        raise InputError(path, f"{what} holds pickled Python objects, which are never loaded")
    if dtype.itemsize == 0:
        raise InputError(path, f"{what} has dtype {dtype.str}, whose items hold no bytes; "
                               "expected integers or floats")  # fmt: skip
    promised = int(np.prod(shape, dtype=np.float64) * dtype.itemsize)
    header_size = stream.tell()
    if promised > size - header_size:
        raise InputError(
            path,
            f"{what} is truncated: its header promises shape {tuple(shape)} of {dtype} "
            f"({promised} bytes) but {size - header_size} bytes follow",
        )
    if promised > read_limit():
        raise too_large(path, read_limit())
    data = stream.read(promised)
    if len(data) < promised:
        raise InputError(path, f"{what} is truncated: {len(data)} of {promised} bytes follow")
    array = np.frombuffer(data, dtype=dtype, count=int(np.prod(shape)))
    return array.reshape(shape, order="F" if fortran_order else "C")


def first_line(error: BaseException) -> str:
    """An exception's message, first line only."""
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def npy_arrays(path: str, data: bytes) -> dict[str, np.ndarray]:
    """The single array of an .npy file, under the name "x"."""
    return {"x": checked_npy(path, io.BytesIO(data), len(data), "the array")}


def npz_arrays(path: str, data: bytes) -> dict[str, np.ndarray]:
    """Every array of an .npz archive by name, each member's .npy header read from the
    decompressing stream and checked (against the member's size and the memory available)
    before its data is unpacked: a small archive cannot unpack into gigabytes unasked."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise InputError(path, f"is not a valid .npz archive: {first_line(error)}") from None
    arrays = {}
    for member in members:
        name = member.filename.removesuffix(".npy")
        if not member.filename.endswith(".npy"):
            raise InputError(path, f"member {member.filename!r} is not an .npy array")
        if member.flag_bits & 0x1:
            raise InputError(path, f"array {name!r} is encrypted; expected a plain .npz")
        try:
            with archive.open(member) as stream:
                arrays[name] = checked_npy(path, stream, member.file_size, f"array {name!r}")
        except InputError:
            raise
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError,
                NotImplementedError) as error:  # fmt: skip
            # RuntimeError: encrypted; NotImplementedError: an unknown compression method
            raise InputError(path, f"array {name!r} cannot be read: {first_line(error)}") from None
    if not arrays:
        raise InputError(path, "holds no arrays")
    return arrays


def csv_array(path: str, data: bytes, notes: list[str] | None = None) -> np.ndarray:
    """A CSV of rows = time steps, columns = features, with an optional header row: (T, D).
    The first row is a header only when none of its fields is a number (noted in `notes`)."""
    try:
        rows = [row for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) if row]
    except (UnicodeDecodeError, csv.Error) as error:
        raise InputError(path, f"is not valid CSV: {first_line(error)}") from None
    header = rows[0] if rows and not any(is_number(cell) for cell in rows[0]) else None
    if header is not None:
        rows = rows[1:]
    if not rows:
        raise InputError(path, "has no data rows; expected one row per time step")
    width = len(rows[0])
    values = np.empty((len(rows), width), dtype=np.float64)
    for t, row in enumerate(rows):
        if len(row) != width:
            raise InputError(
                path,
                f"row {t + 1} of the data has {len(row)} values; expected {width}, like the first",
            )
        for d, cell in enumerate(row):
            if not is_number(cell):
                shown = repr(cell.strip()) if cell.strip() else "empty"
                raise InputError(
                    path, f"row {t + 1}, column {d + 1} of the data is {shown}; expected a number"
                )
            values[t, d] = float(cell)
    if header is not None and notes is not None:
        notes.append(f"first row read as a header: {','.join(header)[:200]!a}")
    return values


def is_number(cell: str) -> bool:
    """Whether a CSV cell parses as a float."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


def json_array(path: str, data: bytes) -> np.ndarray:
    """A nested list of numbers, or the `x` of an rnnstate --json document."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise InputError(path, f"is not valid JSON: {first_line(error)}") from None
    if isinstance(document, dict):
        if not str(document.get("schema", "")).startswith("rnnstate/") or "x" not in document:
            raise InputError(
                path,
                "is a JSON object but not an rnnstate document with an 'x'; expected a "
                "nested list of numbers or the output of rnnstate --json",
            )
        document = document["x"]
    if not isinstance(document, list):
        raise InputError(path, "holds a single JSON value; expected a nested list of numbers")
    try:
        array = np.array(document)
    except (ValueError, TypeError, RecursionError):
        raise InputError(
            path, "is ragged: its lists have different lengths; expected (T, D) or (N, T, D)"
        ) from None
    if array.dtype.kind in "USO":
        raise InputError(path, "holds non-numeric values; expected numbers only")
    return array


def input_shape(path: str, array: np.ndarray) -> np.ndarray:
    """`array` as (N, T, D), from (T, D) or (N, T, D) with every size at least 1."""
    if array.ndim not in (2, 3):
        raise InputError(
            path, f"holds an array of shape {array.shape}; expected (T, D) or (N, T, D)"
        )
    if 0 in array.shape:
        raise InputError(
            path, f"holds an array of shape {array.shape}; every size must be at least 1"
        )
    return array if array.ndim == 3 else array[None]


def read_arrays(path: str, notes: list[str] | None = None) -> dict[str, np.ndarray]:
    """The arrays of an input file by name: every array of an .npz, else the one array of an
    .npy, .csv or .json ("-": JSON on stdin) as "x". Raises InputError naming the file; what
    the user should know of a file that reads well is added to `notes`."""
    suffix = extension(path, INPUT_FORMATS)
    data = read_bytes(path, JSON_LIMIT if suffix == ".json" else None)
    readers: dict[str, Callable[[str, bytes], dict[str, np.ndarray]]] = {
        ".npy": npy_arrays,
        ".npz": npz_arrays,
        ".csv": lambda p, d: {"x": csv_array(p, d, notes)},
        ".json": lambda p, d: {"x": json_array(p, d)},
    }
    return readers[suffix](path, data)


def read_input(path: str) -> np.ndarray:
    """The input x (N, T, D) float32 from .npy, .npz (array `x` or the only one), .csv or .json
    ("-": JSON on stdin). Raises InputError naming the file for anything it cannot use."""
    notes: list[str] = []
    array = np.asarray(only_or_x(path, read_arrays(path, notes)))
    notes += token_ids_note(path, array.shape, array.dtype)
    array = numeric_array(path, array, "the input")
    x = np.ascontiguousarray(input_shape(path, array))
    say_notes(path, notes)
    return x


def token_ids_note(path: str, shape: tuple[int, ...], dtype: np.dtype) -> list[str]:
    """What to say of a saved 2-D integer array given as a layer's input, most likely token ids
    (N, T) that an Embedding should turn into vectors: how it is read, and the command that
    runs it through the model's Embedding. Nothing for any other input."""
    saved = path != STDIN and Path(path).suffix.lower() in (".npy", ".npz")
    if not saved or len(shape) != 2 or dtype.kind not in "iu":
        return []
    T, D = shape
    return [f"holds a {shape} array of integers, read as one sequence of T={T} steps of D={D} "
            f"features; if they are token ids, a Keras model's Embedding turns them into "
            f"vectors: rnnstate model MODEL --input {shown_name(path)} --layer NAME"]  # fmt: skip


def say_notes(path: str, notes: list[str]) -> None:
    """Each note on a file that read well, one line each on stderr (after every check, so an
    error stays the only line)."""
    for note in notes:
        print(f"rnnstate: {shown_name(path)}: {note}", file=sys.stderr)


def read_model_input(path: str) -> dict[str, np.ndarray]:
    """A model's input arrays by name, as read_arrays gives them, each finite, integers kept
    as integers (token ids). Raises InputError naming the file."""
    notes: list[str] = []
    arrays = read_arrays(path, notes)
    for name, array in arrays.items():
        check_numeric(path, array, f"array {name!r}")
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            numeric_array(path, array, f"array {name!r}")  # raises, naming the first bad value
    say_notes(path, notes)
    return arrays


def open_model_input(path: str) -> dict[str, np.ndarray]:
    """A model's input arrays by name for a run over all of them in batches: a .npy
    memory-mapped (read a batch at a time, never whole), any other format as read_model_input
    reads it. Raises InputError naming the file."""
    if path == STDIN or extension(path, INPUT_FORMATS) != ".npy":
        return read_model_input(path)
    array = memory_mapped(path)
    check_numeric(path, array, "array 'x'")
    return {"x": array}


def only_or_x(path: str, arrays: dict[str, np.ndarray]) -> np.ndarray:
    """The array named x, or the archive's only array."""
    if "x" in arrays:
        return arrays["x"]
    if len(arrays) == 1:
        return next(iter(arrays.values()))
    raise InputError(
        path, f"holds arrays {sorted(arrays)} and none is named 'x'; expected 'x' or one array"
    )


WEIGHT_FORMATS = (".npz", ".safetensors")


def safetensors_arrays(path: str, data: bytes) -> dict[str, np.ndarray]:
    """Every tensor of a .safetensors file by name, as numpy arrays (no torch needed). The
    safetensors parser checks the header's length, offsets and shapes against the bytes."""
    from safetensors.numpy import load

    try:
        arrays = load(data)
    except Exception as error:  # any failure of the parser on untrusted bytes: not usable
        raise InputError(path, f"is not a valid .safetensors file: {first_line(error)}") from None
    if not arrays:
        raise InputError(path, "holds no tensors")
    return arrays


def read_weights(
    path: str,
    cell: str,
    reset_after: bool,
    bidirectional: bool = False,
    prefix: str | None = None,
    torch_layer: int | None = None,
) -> LayerWeights:
    """Weights from an .npz or .safetensors file, in Keras's layout or PyTorch's (recognised
    from the names; converted by rnnstate.layouts, `prefix` and `torch_layer` picking the layer
    in a PyTorch state dict).

    Keras's layout: kernel (D, kM), recurrent_kernel (M, kM) and, unless the layer has no bias,
    bias ((kM,), or (2, 3M) for a GRU with reset_after); a bidirectional layer's arrays are
    named forward_kernel, ..., backward_bias. M comes from recurrent_kernel; D from kernel
    (checked against the input by the caller). Raises InputError, or SpecError for options
    that do not fit the file.
    """
    if path == STDIN:
        raise InputError(path, "--weights reads a file (.npz or .safetensors), not stdin")
    suffix = extension(path, WEIGHT_FORMATS)
    data = read_bytes(path)
    arrays = npz_arrays(path, data) if suffix == ".npz" else safetensors_arrays(path, data)
    if is_torch(list(arrays)):
        if cell == "gru" and not reset_after:
            raise SpecError(
                "--reset-before",
                f"{shown_name(path)} holds PyTorch weights, and PyTorch's GRU is Keras's "
                "reset_after variant: it cannot run with --reset-before",
            )
        values = {name: numeric_array(path, a, name) for name, a in arrays.items()}
        weights = from_torch(path, values, cell, bidirectional, prefix, torch_layer or 0)
        check_weight_shapes(path, weights, cell, reset_after)
        return weights
    for option, given in (("--prefix", prefix), ("--torch-layer", torch_layer)):
        if given is not None:
            raise SpecError(option, f"{option} picks a layer in a PyTorch state dict; "
                                    f"{shown_name(path)} holds Keras's names")  # fmt: skip
    prefixes = ("forward_", "backward_") if bidirectional else ("",)
    expected = [prefix + name for prefix in prefixes for name in WEIGHT_NAMES]
    required = [name for name in expected if not name.endswith("bias")]
    if set(arrays) - set(expected) or set(required) - set(arrays):
        listed = ", ".join(expected)
        hint = "" if bidirectional else " (or forward_ and backward_ ones with --bidirectional)"
        raise InputError(
            path,
            f"holds arrays {', '.join(sorted(arrays))}; expected {listed} (bias optional){hint}",
        )
    values = {name: numeric_array(path, arrays[name], name) for name in arrays}
    directions = [
        Weights(values[p + "kernel"], values[p + "recurrent_kernel"], values.get(p + "bias"))
        for p in prefixes
    ]
    weights = BidirectionalWeights(*directions) if bidirectional else directions[0]
    check_weight_shapes(path, weights, cell, reset_after)
    return weights


def with_article(layer: str) -> str:
    """'an LSTM', 'a GRU', 'a SimpleRNN': the layer's name as a sentence says it."""
    return f"an {layer}" if layer == "LSTM" else f"a {layer}"


def check_weight_shapes(source: str, weights: LayerWeights, cell: str, reset_after: bool) -> None:
    """Refuse weights whose shapes do not fit the cell's layout; `source` names them."""
    if isinstance(weights, BidirectionalWeights):
        for prefix, direction in (("forward_", weights.forward), ("backward_", weights.backward)):
            one_direction_shapes(source, direction, cell, reset_after, prefix)
        shapes = [[a.shape for a in d.as_list()] for d in (weights.forward, weights.backward)]
        if shapes[0] != shapes[1]:
            raise InputError(
                source,
                f"the forward weights have shapes {shapes[0]} but the backward ones "
                f"{shapes[1]}; a bidirectional layer needs the same",
            )
        return
    one_direction_shapes(source, weights, cell, reset_after, "")


def one_direction_shapes(
    source: str, weights: Weights, cell: str, reset_after: bool, prefix: str
) -> None:
    """Refuse one layer's weights whose shapes do not fit the cell; names carry `prefix`."""
    k, layer = len(GATE_BLOCKS[cell]), with_article(KERAS_LAYER_NAMES[cell])
    recurrent, kernel = weights.recurrent_kernel, weights.kernel
    for name, array in (("recurrent_kernel", recurrent), ("kernel", kernel)):
        if 0 in array.shape:
            raise InputError(
                source, f"{prefix}{name} has shape {array.shape}; every size must be at least 1"
            )
    if recurrent.ndim != 2 or recurrent.shape[1] != k * recurrent.shape[0]:
        ratio = recurrent.shape[1] / recurrent.shape[0] if recurrent.ndim == 2 else 0
        raise InputError(
            source,
            f"{prefix}recurrent_kernel has shape {recurrent.shape}; {layer} needs (M, {k}M)"
            + other_cell_hint(cell, ratio),
        )
    M = recurrent.shape[0]
    if kernel.ndim != 2 or kernel.shape[1] != k * M:
        raise InputError(
            source,
            f"{prefix}kernel has shape {kernel.shape}; {layer} with M={M} needs (D, {k * M})",
        )
    if weights.bias is not None:
        check_bias(source, weights.bias.shape, cell, reset_after, M, prefix)


def other_cell_hint(cell: str, ratio: float) -> str:
    """"; these look like a GRU's weights: try rnnstate gru" when weights whose gate blocks
    number `ratio` (kM / M) fit another cell than `cell`; else ""."""
    for other, blocks in GATE_BLOCKS.items():
        if other != cell and len(blocks) == ratio:
            name = KERAS_LAYER_NAMES[other]
            article = "an" if other == "lstm" else "a"
            return f"; these look like {article} {name}'s weights: try rnnstate {other}"
    return ""


def check_bias(
    path: str, shape: tuple[int, ...], cell: str, reset_after: bool, M: int, prefix: str = ""
) -> None:
    """Refuse a bias whose shape does not fit the cell, M and (GRU) the reset variant."""
    k, layer = len(GATE_BLOCKS[cell]), with_article(KERAS_LAYER_NAMES[cell])
    if cell == "gru":
        needed, other = ((2, 3 * M), (3 * M,)) if reset_after else ((3 * M,), (2, 3 * M))
        if shape != needed:
            variant = "with reset_after" if reset_after else "with reset_after=False"
            switch = "--reset-before" if reset_after else "--reset-after"
            raise InputError(
                path,
                f"{prefix}bias has shape {shape}; a GRU {variant} needs {needed} — use "
                f"{switch} for {other}",
            )
    elif shape != (k * M,):
        raise InputError(
            path, f"{prefix}bias has shape {shape}; {layer} with M={M} needs ({k * M},)"
        )


def check_weights_fit_input(path: str, weights: LayerWeights, features: int) -> None:
    """Refuse a kernel whose D differs from the input's."""
    if weights.features != features:
        kernel = weights.as_list()[0]
        raise InputError(
            path,
            f"kernel has shape {kernel.shape}; the input has D={features} features, so it "
            f"needs ({features}, {kernel.shape[1]})",
        )


def read_initial_state(path: str) -> dict[str, np.ndarray]:
    """States to start from, by name, from an .npz: h (and c for an LSTM), or h_fw, c_fw,
    h_bw, c_bw for a bidirectional layer; each (N, M). An --output .npz of an earlier run holds
    them. Checked against the run by check_initial_state."""
    if path == STDIN:
        raise InputError(path, "--initial-state reads an .npz file, not stdin")
    extension(path, (".npz",))
    arrays = npz_arrays(path, read_bytes(path))
    return {name: numeric_array(path, a, name) for name, a in arrays.items() if name in STATES}


def check_initial_state(
    source: str, states: dict[str, np.ndarray], names: tuple[str, ...], N: int, M: int
) -> None:
    """Refuse initial states without all of `names`, or not of shape (N, M). Other arrays
    (an --output file's x and o) are ignored."""
    if not set(names) <= set(states):
        raise InputError(
            source,
            f"holds {', '.join(sorted(states)) or 'nothing'}; this layer's states are "
            f"{', '.join(names)}, each (N, M) = ({N}, {M})",
        )
    for name in names:
        if states[name].shape != (N, M):
            raise InputError(
                source, f"{name} has shape {states[name].shape}; expected (N, M) = ({N}, {M})"
            )


# ---------------------------------------------------------------------------------------------
# Streaming a dataset in batches (--summary): never the whole input in memory


class Dataset:
    """An input of shape (N, T, D) read a batch of sequences at a time: a memory-mapped .npy,
    an .npz member unpacked as it is read, or an array already in memory (CSV, JSON, drawn).

    batches(size) yields float32 arrays (n, T, D), each checked for NaN and infinities (the
    error names the file and the sequence); only one batch is in memory at a time.
    """

    def __init__(self, path: str, shape: tuple[int, int, int], rows: Callable) -> None:
        self.path, self.shape = path, shape
        self.rows = rows  # rows(size) -> an iterator of raw arrays (n, T, D), in order

    def batches(self, size: int) -> Iterator[np.ndarray]:
        """The sequences in order, `size` at a time (the last batch may hold fewer)."""
        start = 0
        for raw in self.rows(size):
            yield batch_values(self.path, raw, start)
            start += raw.shape[0]


def batch_values(path: str, raw: np.ndarray, start: int) -> np.ndarray:
    """A batch of raw values (n, T, D) as contiguous float32, refusing NaN and infinities (the
    error's index counts sequences from the start of the file)."""
    with np.errstate(over="ignore"):
        values = np.ascontiguousarray(raw, dtype=np.float32)
    if not np.isfinite(values).all():
        first = [int(i) for i in np.argwhere(~np.isfinite(values))[0]]
        value = raw[tuple(first)]
        first[0] += start
        raise InputError(path, not_finite("the input", value, first))
    return values


def not_finite(what: str, value, where: list[int]) -> str:
    """The error for the first value of `what` (at index `where`) that is not a finite
    float32: NaN or infinite, or a finite number beyond float32's range."""
    if np.isfinite(value):
        return (f"{what} holds a value too large for float32 ({value:.4g} at {where}); expected "
                f"numbers within ±{float(np.finfo(np.float32).max):.4g}")  # fmt: skip
    return f"{what} holds NaN or infinite values (first at {where}); expected finite numbers"


def dataset_of(path: str, x: np.ndarray) -> Dataset:
    """A Dataset over an array x (N, T, D) already in memory."""
    return Dataset(path, x.shape, lambda size: (x[s : s + size] for s in range(0, len(x), size)))


def open_dataset(path: str) -> Dataset:
    """The input file as a Dataset: a .npy memory-mapped, an .npz's array `x` (or its only
    array) unpacked batch by batch; a .csv or .json (small by nature) read whole. Shapes (T, D)
    and (N, T, D), integers or floats. Raises InputError naming the file."""
    if path == STDIN:
        return dataset_of(path, read_input(path))
    suffix = extension(path, INPUT_FORMATS)
    if suffix == ".npy":
        return npy_dataset(path)
    if suffix == ".npz":
        return npz_dataset(path)
    return dataset_of(path, read_input(path))


def memory_mapped(path: str) -> np.memmap:
    """The .npy file at `path` memory-mapped read-only, any shape and dtype (np.load's
    mmap_mode='r'; object arrays are refused by numpy). Raises InputError naming the file."""
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except PermissionError:
        raise InputError(path, "cannot be read: permission denied") from None
    except (ValueError, OSError, EOFError, SyntaxError, tokenize.TokenError) as error:
        raise InputError(path, f"is not a usable .npy array: {first_line(error)}") from None


def npy_dataset(path: str) -> Dataset:
    """A .npy file memory-mapped (memory_mapped) as a Dataset (N, T, D), read batch by batch,
    the pages of each batch released once it is read."""
    mapped = memory_mapped(path)
    check_numeric(path, mapped, "the input")
    array = input_shape(path, mapped)
    say_notes(path, token_ids_note(path, mapped.shape, mapped.dtype))
    row_bytes = array[0].nbytes

    def rows(size: int) -> Iterator[np.ndarray]:
        for start in range(0, array.shape[0], size):
            yield array[start : start + size]
            release_pages(mapped, (start + size) * row_bytes)

    return Dataset(path, array.shape, rows)


def release_pages(mapped: np.memmap, end: int) -> None:
    """Let the kernel drop the pages of a memory-mapped .npy's data before byte `end` (read
    already), so the process's resident memory holds a batch, not the whole file read so far.
    The pages are the file's: touched again, they are read again."""
    mapping = getattr(mapped, "_mmap", None)  # numpy's mmap object behind the array
    if mapping is None or not hasattr(mmap, "MADV_DONTNEED") or not mapped.flags.c_contiguous:
        return
    start = mapped.offset - mapped.offset % mmap.ALLOCATIONGRANULARITY  # where the map begins
    length = (mapped.offset - start + min(end, mapped.nbytes)) // mmap.PAGESIZE * mmap.PAGESIZE
    if length > 0:
        mapping.madvise(mmap.MADV_DONTNEED, 0, length)


def npz_dataset(path: str) -> Dataset:
    """An .npz archive's array `x` (or its only array), read from the decompressing stream one
    batch of sequences at a time; the header is checked against the member's size first."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = {m.filename.removesuffix(".npy"): m for m in archive.infolist()}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise InputError(path, f"is not a valid .npz archive: {first_line(error)}") from None
    name = "x" if "x" in members else only_or_x(path, members).filename.removesuffix(".npy")
    member = members[name]
    what = f"array {name!r}"
    with zipfile.ZipFile(path) as archive, archive.open(member) as stream:
        shape, fortran_order, dtype = npy_header(path, stream, what)
        header_size = stream.tell()  # the data follow
    if fortran_order and len(shape) > 1:
        raise InputError(path, f"{what} is stored in Fortran order; expected C order to stream")
    check_numeric(path, np.empty(0, dtype), what)
    promised = int(np.prod(shape, dtype=np.float64) * dtype.itemsize)
    if promised > member.file_size - header_size:
        raise InputError(path, f"{what} is truncated: its header promises shape {tuple(shape)} "
                               f"of {dtype} but {member.file_size - header_size} bytes follow")
    N, T, D = input_shape(path, np.broadcast_to(np.uint8(0), shape)).shape  # the shape only
    say_notes(path, token_ids_note(path, tuple(shape), dtype))

    def rows(size: int) -> Iterator[np.ndarray]:
        row_bytes = T * D * dtype.itemsize
        with zipfile.ZipFile(path) as archive, archive.open(member) as stream:
            npy_header(path, stream, what)  # read past it
            for start in range(0, N, size):
                n = min(size, N - start)
                data = stream.read(n * row_bytes)
                if len(data) < n * row_bytes:
                    raise InputError(path, f"{what} is truncated at sequence {start}")
                yield np.frombuffer(data, dtype=dtype).reshape(n, T, D)

    return Dataset(path, (N, T, D), rows)


def npy_header(path: str, stream, what: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """The shape, Fortran order and dtype of the .npy header at the start of `stream`."""
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(stream)
        return np.lib.format.read_array_header_2_0(stream)
    except (ValueError, OSError, EOFError, SyntaxError, tokenize.TokenError) as error:
        raise InputError(path, f"{what} is not a valid .npy array: {first_line(error)}") from None
