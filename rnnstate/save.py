"""Files rnnstate writes (--output, --save-weights, --plot): whole or not at all, all or none.

Each is written to a temporary file in the target's folder (a symlink's target: rnnstate writes
through links), flushed to disk, then renamed over the target, keeping a replaced file's
permission bits. A run's files are written together (AllOrNothing): staged first, renamed into
place only when every one was written; on any failure the temporary files are removed and the
existing targets left untouched.
"""

import io
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np
import orjson

from rnnstate.errors import InputError, SpecError, shown_name
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
        raise SpecError(
            option, f"{shown_name(path)}: expected a file name ending in {' or '.join(allowed)}"
        )
    return suffix


TEMPORARY_PREFIX = ".rnnstate-"  # short, so a target name of any allowed length has one


def check_writable(path: str) -> None:
    """Refuse, before a run, a path whose file could not be written: a folder, a missing or
    unwritable folder. Raises InputError naming the path."""
    target = Path(os.path.realpath(path))
    if target.is_dir():
        raise InputError(path, "cannot be written: is a directory")
    if not target.parent.is_dir():
        raise InputError(path, f"cannot be written: no folder {str(target.parent)!r}")
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise InputError(path, "cannot be written: permission denied")


class AllOrNothing:
    """Files staged beside their targets and renamed into place together when the block ends
    without an error; on an error (or Ctrl-C, SIGTERM) every staged file is removed."""

    def __init__(self) -> None:
        self.staged: list[tuple[str, Path]] = []  # (temporary file, target)

    def __enter__(self) -> "AllOrNothing":
        return self

    def write(self, path: str, write: Callable[[BinaryIO], None]) -> None:
        """Stage `path`: call write(file) on a temporary file beside its target."""
        target = Path(os.path.realpath(path))  # through a symlink, to the file it names
        try:
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=TEMPORARY_PREFIX)
        except OSError as error:
            raise InputError(path, f"cannot be written: {error.strerror or error}") from None
        self.staged.append((temporary, target))
        try:
            with os.fdopen(handle, "wb") as file:
                write(file)
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temporary, kept_mode(target))
        except OSError as error:
            raise InputError(path, f"cannot be written: {error.strerror or error}") from None

    def __exit__(self, kind, error, traceback) -> None:
        if kind is None:
            try:
                for temporary, target in self.staged:
                    os.replace(temporary, target)
            except OSError as failure:
                self.discard()
                raise InputError(
                    str(target), f"cannot be written: {failure.strerror or failure}"
                ) from None
        else:
            self.discard()

    def discard(self) -> None:
        """Remove every staged file not yet renamed into place."""
        for temporary, _ in self.staged:
            Path(temporary).unlink(missing_ok=True)


def kept_mode(target: Path) -> int:
    """The permission bits a written file gets: those of the file it replaces, else the usual
    0666 less the umask."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        return 0o666 & ~current_umask()


def write_whole(
    path: str, write: Callable[[BinaryIO], None], files: AllOrNothing | None = None
) -> None:
    """Call write(file) on a temporary file beside `path`, renamed to `path` when `files` (or,
    without it, this one file) is done."""
    if files is not None:
        files.write(path, write)
        return
    with AllOrNothing() as alone:
        alone.write(path, write)


def current_umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


WEIGHT_FORMATS = (".npz", ".safetensors")


def save_weights(
    path: str,
    weights: LayerWeights,
    layout: str = "keras",
    cell: str = "",
    reset_after=True,
    files: AllOrNothing | None = None,
) -> None:
    """Write the weights as .npz or .safetensors (by the extension) in Keras's layout (kernel,
    recurrent_kernel, bias; forward_/backward_ for a bidirectional layer) or PyTorch's
    (`layout` "torch": the state dict of the matching nn.LSTM / nn.GRU / nn.RNN, see
    rnnstate.layouts). --weights reads either back."""
    arrays = weights.named() if layout == "keras" else to_torch(weights, cell, reset_after)
    if output_format(path, "--save-weights", WEIGHT_FORMATS) == ".npz":
        write_whole(path, lambda file: np.savez(file, **arrays), files)
        return
    from safetensors.numpy import save

    data = save({name: np.ascontiguousarray(a) for name, a in arrays.items()})
    write_whole(path, lambda file: file.write(data), files)


def result_npz(result: Result) -> bytes:
    """x, the outputs (o), the states (h, c, ...), the gate trace as gates.NAME, and what
    replays the run (rnnstate replay): the weights as weights.NAME (Keras's names), the
    initial states as initial_state.NAME, the skipped steps as masked_steps (N, T), the
    schema, cell and engine as strings and the config as a JSON string."""
    arrays = {"x": result.x, **result.outputs, **result.states}
    for name, values in (result.gates if result.spec.gates else {}).items():
        arrays[f"gates.{name}"] = values
    for name, values in result.weights.named().items():
        arrays[f"weights.{name}"] = values
    for name, values in (result.initial_state or {}).items():
        arrays[f"initial_state.{name}"] = values
    if result.mask is not None:
        arrays["masked_steps"] = ~result.mask
    document = json_render.document(result)
    for name in ("schema", "cell", "engine"):
        arrays[name] = np.array(document[name])
    arrays["config"] = np.array(orjson.dumps(document["config"]).decode())
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def save_result(path: str, result: Result, files: AllOrNothing | None = None) -> None:
    """Write the result as .json (the --json document) or .npz, chosen by the extension."""
    if output_format(path, "--output", OUTPUT_FORMATS) == ".json":
        write_whole(path, lambda file: file.writelines(json_render.pieces(result)), files)
    else:
        data = result_npz(result)
        write_whole(path, lambda file: file.write(data), files)


def save_plot(
    path: str, result: Result, sequence: int | None, units_shown, files: AllOrNothing | None = None
) -> None:
    """Draw the run's figure (render/plot.py) and write it whole as .png, .svg or .pdf."""
    from rnnstate.render.plot import figure, image_bytes

    suffix = output_format(path, "--plot", PLOT_FORMATS)
    data = image_bytes(figure(result, sequence, units_shown), suffix)
    write_whole(path, lambda file: file.write(data), files)
