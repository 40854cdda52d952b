"""Files rnnstate writes (--output, --save-weights): whole or not at all.

Each is written to a temporary file in the same folder, flushed to disk, then renamed over the
target; on any failure the temporary file is removed and an existing target is left untouched.
"""

import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np
import orjson

from rnnstate.errors import InputError, SpecError
from rnnstate.layouts import to_torch
from rnnstate.render import json as json_render
from rnnstate.result import Result
from rnnstate.weights import LayerWeights

OUTPUT_FORMATS = (".json", ".npz")
PLOT_FORMATS = (".png", ".svg", ".pdf")


def output_format(path: str, option: str, allowed: tuple[str, ...]) -> str:
    """The extension of a path to write, which must be one of `allowed` (else exit 2)."""
    suffix = Path(path).suffix.lower()
    if suffix not in allowed:
        raise SpecError(option, f"{path}: expected a file name ending in {' or '.join(allowed)}")
    return suffix


def write_whole(path: str, write: Callable[[BinaryIO], None]) -> None:
    """Call write(file) on a temporary file beside `path`, then rename it to `path`."""
    target = Path(path)
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    except OSError as error:
        raise InputError(path, f"cannot be written: {error.strerror or error}") from None
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~current_umask())
        os.replace(temporary, target)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise InputError(path, f"cannot be written: {error.strerror or error}") from None
        raise


def current_umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


WEIGHT_FORMATS = (".npz", ".safetensors")


def save_weights(
    path: str, weights: LayerWeights, layout: str = "keras", cell: str = "", reset_after=True
) -> None:
    """Write the weights as .npz or .safetensors (by the extension) in Keras's layout (kernel,
    recurrent_kernel, bias; forward_/backward_ for a bidirectional layer) or PyTorch's
    (`layout` "torch": the state dict of the matching nn.LSTM / nn.GRU / nn.RNN, see
    rnnstate.layouts). --weights reads either back."""
    arrays = weights.named() if layout == "keras" else to_torch(weights, cell, reset_after)
    if output_format(path, "--save-weights", WEIGHT_FORMATS) == ".npz":
        write_whole(path, lambda file: np.savez(file, **arrays))
        return
    from safetensors.numpy import save

    data = save({name: np.ascontiguousarray(a) for name, a in arrays.items()})
    write_whole(path, lambda file: file.write(data))


def result_npz(result: Result) -> bytes:
    """x, the outputs (o), the states (h, c, ...), the gate trace as gates.NAME, and the config
    as a JSON string."""
    arrays = {"x": result.x, **result.outputs, **result.states}
    for name, values in (result.gates if result.spec.gates else {}).items():
        arrays[f"gates.{name}"] = values
    document = json_render.document(result)
    arrays["config"] = np.array(orjson.dumps(document["config"]).decode())
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def save_result(path: str, result: Result) -> None:
    """Write the result as .json (the --json document) or .npz, chosen by the extension."""
    if output_format(path, "--output", OUTPUT_FORMATS) == ".json":
        write_whole(path, lambda file: file.writelines(json_render.pieces(result)))
    else:
        data = result_npz(result)
        write_whole(path, lambda file: file.write(data))


def save_plot(path: str, result: Result, sequence: int | None, units_shown) -> None:
    """Draw the run's figure (render/plot.py) and write it whole as .png, .svg or .pdf."""
    from rnnstate.render.plot import figure, image_bytes

    suffix = output_format(path, "--plot", PLOT_FORMATS)
    data = image_bytes(figure(result, sequence, units_shown), suffix)
    write_whole(path, lambda file: file.write(data))
