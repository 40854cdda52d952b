"""Files rnnstate writes (--output, --save-weights, --plot): whole or not at all, all or none.

Each is written to a temporary file in the target's folder (a symlink's target: rnnstate writes
through links), flushed to disk, then renamed over the target, keeping a replaced file's
permission bits. A run's files are written together (AllOrNothing): staged first, then the files
they replace moved aside, then renamed into place, only when every step succeeded; on any failure
everything is put back as it was. Only regular files are written or replaced: a device, a FIFO
or a socket (or a link to one) is refused.
"""

import contextlib
import errno
import io
import os
import signal
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
import orjson

from rnnstate.errors import InputError, SpecError, shown_name
from rnnstate.layouts import to_torch
from rnnstate.memory import Memory
from rnnstate.render import json as json_render
from rnnstate.result import Result
from rnnstate.weights import LayerWeights

OUTPUT_FORMATS = (".json", ".npz")
PLOT_FORMATS = (".png", ".svg", ".pdf")


def output_format(path: str, option: str, allowed: tuple[str, ...]) -> str:
    """The extension of a path to write, which must be one of `allowed` (else exit 2)."""
    suffix = Path(path).suffix.lower()
    if not suffix and Path(path).name.lower() in allowed:  # ".npz": an extension, no name
        raise SpecError(
            option,
            f"{shown_name(path)}: expected a name before the extension, like out{Path(path).name}",
        )
    if suffix not in allowed:
        raise SpecError(
            option, f"{shown_name(path)}: expected a file name ending in {' or '.join(allowed)}"
        )
    return suffix


TEMPORARY_PREFIX = ".rnnstate-"  # short, so a target name of any allowed length has one


SPECIAL_FILES = {
    stat.S_ISFIFO: "a FIFO (named pipe)",
    stat.S_ISCHR: "a character device",
    stat.S_ISBLK: "a block device",
    stat.S_ISSOCK: "a socket",
}


def special_kind(path: str) -> str | None:
    """What `path` names (links followed) when it is a device, a FIFO or a socket, in words
    ("a FIFO (named pipe)"); None for a regular file, a folder or nothing."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    return next((kind for test, kind in SPECIAL_FILES.items() if test(mode)), None)


def check_regular(path: str, option: str) -> None:
    """Refuse (SpecError, exit 2), before a run, a file to write that is a device, a FIFO or
    a socket, or a link to one: rnnstate writes regular files only, never into such a file."""
    kind = special_kind(path)
    if kind is not None:
        what = f"a link to {kind}" if os.path.islink(path) else kind
        raise SpecError(option, f"{path} is {what}; rnnstate writes regular files only")


def check_writable(path: str) -> None:
    """Refuse, before a run, a path whose file could not be written: a folder, a missing or
    unwritable folder, a file that may not be replaced (another user's, in a shared sticky
    folder such as /tmp). Raises InputError naming the path."""
    target = Path(os.path.realpath(path))
    if target.is_dir():
        raise InputError(path, "cannot be written: is a directory")
    if not target.parent.is_dir():
        raise InputError(path, f"cannot be written: no folder {str(target.parent)!r}")
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise InputError(path, "cannot be written: permission denied")
    if not may_replace(target):
        raise InputError(
            path, "cannot be replaced: it belongs to another user and its folder is a shared "
            "(sticky) folder, where only the file's owner may replace it",
        )  # fmt: skip


CAP_FOWNER = 3  # the capability that lets a process replace others' files in a sticky folder


def may_replace(target: Path) -> bool:
    """Whether this process may rename a file over `target`: always, unless the target exists
    in a sticky folder (mode +t, such as /tmp) and neither it nor its folder is this user's (nor
    does the process hold CAP_FOWNER, as root usually does)."""
    try:
        folder, existing = os.stat(target.parent), os.lstat(target)
    except OSError:
        return True
    user = os.geteuid()
    if not folder.st_mode & stat.S_ISVTX or user in (folder.st_uid, existing.st_uid):
        return True
    return holds_capability(CAP_FOWNER)


def holds_capability(number: int) -> bool:
    """Whether this process holds Linux capability `number` (CapEff in /proc/self/status);
    elsewhere, whether it runs as root."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> number & 1)
    except OSError:
        pass
    return os.geteuid() == 0


class AllOrNothing:
    """Files staged beside their targets and renamed into place together when the block ends
    without an error; on an error (or Ctrl-C, SIGTERM) every staged file is removed."""

    def __init__(self) -> None:
        self.staged: list[tuple[str, Path, str]] = []  # (temporary file, target, path as given)

    def __enter__(self) -> "AllOrNothing":
        return self

    def write(self, path: str, write: Callable[[BinaryIO], None]) -> None:
        """Stage `path`: call write(file) on a temporary file beside its target."""
        target = Path(os.path.realpath(path))  # through a symlink, to the file it names
        kind = special_kind(str(target))
        if kind is not None:
            raise InputError(path, f"cannot be written: is {kind}; rnnstate writes regular files")
        try:
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=TEMPORARY_PREFIX)
        except OSError as error:
            raise InputError(path, f"cannot be written: {error.strerror or error}") from None
        self.staged.append((temporary, target, path))
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
            with signals_deferred():
                self.commit()
        else:
            self.discard()

    def commit(self) -> None:
        """Move every file being replaced aside, then rename every staged file into place, then
        remove the files moved aside. A step that fails (a file that may not be replaced, one
        that became a FIFO) puts back what was done and raises InputError naming its file:
        all the files are written, or none."""
        moved: list[tuple[Path, str]] = []  # (target, the name its old file was moved to)
        placed: list[Path] = []
        step = ""  # the path (as given) of the step under way, for the error
        try:
            for _, target, step in self.staged:
                kind = special_kind(str(target))
                if kind is not None:
                    raise InputError(step, f"cannot be written: is {kind}")
                if target.is_dir():
                    raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
                if os.path.lexists(target):
                    moved.append((target, move_aside(target)))
            for temporary, target, given in self.staged:
                step = given
                os.rename(temporary, target)
                placed.append(target)
        except (OSError, InputError) as failure:
            for target in placed:
                target.unlink(missing_ok=True)
            for target, aside in moved:
                os.rename(aside, target)
            self.discard()
            if isinstance(failure, InputError):
                raise
            reason = failure.strerror or str(failure)
            raise InputError(step, f"cannot be written: {reason}") from None
        for _, aside in moved:
            Path(aside).unlink(missing_ok=True)

    def discard(self) -> None:
        """Remove every staged file not yet renamed into place."""
        for temporary, _, _ in self.staged:
            Path(temporary).unlink(missing_ok=True)


def move_aside(target: Path) -> str:
    """Rename `target` to a new temporary name beside it (reserved first, so nothing else is
    replaced) and return that name; OSError when the file may not be moved."""
    handle, aside = tempfile.mkstemp(dir=target.parent, prefix=TEMPORARY_PREFIX)
    os.close(handle)
    try:
        os.rename(target, aside)
    except OSError:
        os.unlink(aside)
        raise
    return aside


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Ctrl-C and SIGTERM held back for the block (in the main thread; elsewhere, where Python
    cannot set handlers, the block runs as it is), then delivered: renaming a run's files into
    place is never left half done."""
    handled = (signal.SIGINT, signal.SIGTERM)
    in_main = threading.current_thread() is threading.main_thread()
    if not in_main or any(signal.getsignal(number) is None for number in handled):
        yield
        return
    caught: list[int] = []
    previous = {number: signal.signal(number, lambda n, _: caught.append(n)) for number in handled}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if caught:
            signal.raise_signal(caught[0])


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


def result_npz(result: Result, memory: Memory | None = None) -> bytes:
    """x, the outputs (o), the states (h, c, ...), the gate trace as gates.NAME, --memory's
    arrays as memory.KIND.NAME (memory_arrays), and what replays the run (rnnstate replay):
    the weights as weights.NAME (Keras's names), the initial states as initial_state.NAME, the
    skipped steps as masked_steps (N, T), the schema, cell and engine as strings and the config
    as a JSON string."""
    arrays = {"x": result.x, **result.outputs, **result.states}
    if memory is not None:
        arrays.update(memory_arrays(memory))
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


def memory_arrays(memory: Memory) -> dict[str, np.ndarray]:
    """--memory's arrays for an .npz: memory.influence.NAME (N, T), memory.horizon.NAME and
    memory.reach.NAME (N,), memory.connectivity.NAME (N, T, T) with --sequences, and
    memory.unit (a 0-d integer) with --unit."""
    arrays = {}
    groups = {"influence": memory.influence, "horizon": memory.horizon, "reach": memory.reach,
              "connectivity": memory.connectivity or {}}  # fmt: skip
    for kind, values in groups.items():
        arrays.update({f"memory.{kind}.{name}": value for name, value in values.items()})
    if memory.unit is not None:
        arrays["memory.unit"] = np.array(memory.unit)
    return arrays


def save_result(
    path: str, result: Result, files: AllOrNothing | None = None, memory: Memory | None = None
) -> None:
    """Write the result as .json (the --json document) or .npz, chosen by the extension; with
    --memory's influence when given."""
    if output_format(path, "--output", OUTPUT_FORMATS) == ".json":
        write_whole(path, lambda file: file.writelines(json_render.pieces(result, memory=memory)),
                    files)  # fmt: skip
    else:
        data = result_npz(result, memory)
        write_whole(path, lambda file: file.write(data), files)


def save_plot(
    path: str,
    result: Result,
    sequence: int | None,
    units_shown,
    files: AllOrNothing | None = None,
    tokens=None,
    memory: Memory | None = None,
) -> None:
    """Draw the run's figure (render/plot.py; steps labelled by `tokens`, a vocab.StepTokens,
    if given), or with --memory's influence the memory figure (render/memory_plot.py), and
    write it whole as .png, .svg or .pdf."""
    from rnnstate.render.plot import figure, image_bytes

    suffix = output_format(path, "--plot", PLOT_FORMATS)
    if memory is not None:
        from rnnstate.render.memory_plot import memory_figure

        drawn = memory_figure(result, memory, sequence, tokens)
    else:
        drawn = figure(result, sequence, units_shown, tokens)
    data = image_bytes(drawn, suffix)
    write_whole(path, lambda file: file.write(data), files)
