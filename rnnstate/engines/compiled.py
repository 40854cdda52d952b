"""When the numpy engine's recurrence runs compiled, and the driver that runs it.

The kernels (rnnstate.engines.kernels) are compiled with numba, which costs about half a second
to import and half a second to load a kernel from numba's on-disk cache, and, where the kernel
is not in the cache yet, some 5 to 15 seconds of CPU to compile it. So they run only where they
pay (pays): a batch small enough (at most COMPILED_MAX_ROWS sequences) that the kernels' own
loops keep up with the BLAS matrix product numpy calls, and a sequence long enough that the
numpy loop would take longer than numba's import and the kernels' steps; and, where the
kernel of the cell and float type is not in the cache yet (kernel_cached: read from numba's
index file, without importing numba), long enough that the loop would take more than
rnnstate.budget.COMPILE_MARGIN times the compilation. Everything else (and T=8, and --help)
never imports numba.

RNNSTATE_COMPILED=never or =always in the environment overrides the choice (benchmarks and tests
use it to run both paths on the same input; =always once compiles the kernels into the cache).

The kernels run the steps, the input projection x_t @ kernel + bias included, a bounded number
at a time (WORK_PER_CALL, at most STEPS_PER_CHUNK), so progress is reported and Ctrl-C is seen
between calls. This module imports neither numpy nor numba at load time:
rnnstate.budget asks it which path a run takes.
"""

import glob
import hashlib
import os
import pickle
import sys

from rnnstate.activations import canonical

COMPILED_MAX_ROWS = 64  # sequences a step: beyond, numpy's BLAS product beats the kernels' loops
WORK_PER_CALL = 1 << 25  # multiply-adds (x W and h U) per kernel call: some 10-50 ms


def mode() -> str:
    """'auto', or 'always' / 'never' from RNNSTATE_COMPILED."""
    value = os.environ.get("RNNSTATE_COMPILED", "auto").strip().lower()
    return value if value in ("always", "never") else "auto"


def pays(spec, steps: int, batch: int, dtype: str = "float32") -> bool:
    """Whether a direction of `steps` steps over `batch` sequences of the layer of `spec` (a
    Spec) runs compiled, in float type `dtype` ('float32', or 'float64' for the exact engine)."""
    chosen = mode()
    if chosen != "auto":
        return chosen == "always"
    from rnnstate import budget

    if batch > COMPILED_MAX_ROWS or not budget.compiled_is_faster(spec, steps, batch, False):
        return False
    return kernel_cached(spec.cell, dtype) or budget.compiled_is_faster(spec, steps, batch, True)


KERNELS_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernels.py")
KERNEL_NAMES = {"lstm": "lstm", "gru": "gru", "rnn": "simple_rnn"}  # cell: function in kernels


def can_write(folder: str) -> bool:
    """Whether `folder` can be written, or made where it does not exist yet."""
    while not os.path.exists(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            return False
        folder = parent
    return os.path.isdir(folder) and os.access(folder, os.W_OK | os.X_OK)


def cache_folder() -> str | None:
    """The folder numba keeps the kernels' cache in, chosen as numba.core.caching's locators
    do: under NUMBA_CACHE_DIR, else __pycache__ next to kernels.py, else under the user's cache
    folder; the first one that can be written. None where none can."""
    here = os.path.dirname(KERNELS_SOURCE)
    # numba's name for the kernels' folder inside a cache folder
    inside = os.path.basename(here) + "_" + hashlib.sha1(here.encode()).hexdigest()
    if sys.platform == "win32":
        user = os.path.join(os.environ.get("LOCALAPPDATA", "~"), "numba", "Cache")
    elif sys.platform == "darwin":
        user = os.path.join("~", "Library", "Caches", "numba")
    else:
        user = os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "numba")
    candidates = [os.path.join(here, "__pycache__"), os.path.join(user, inside)]
    if os.environ.get("NUMBA_CACHE_DIR"):
        candidates.insert(0, os.path.join(os.environ["NUMBA_CACHE_DIR"], inside))
    for folder in map(os.path.expanduser, candidates):
        if can_write(folder):
            return folder
    return None


def kernel_cached(cell: str, dtype: str = "float32") -> bool:
    """Whether numba's cache holds the kernel of `cell` compiled for `dtype` arrays, for this
    kernels.py and this numba: read from the index file numba writes next to the compiled code
    (kernels.<function>-<line>.py<version>.nbi: numba's version, then the pickled hash of
    kernels.py and the signatures), without importing numba."""
    folder = cache_folder()
    if folder is None:
        return False
    python = f"py{sys.version_info[0]}{sys.version_info[1]}{getattr(sys, 'abiflags', '')}"
    pattern = f"kernels.{KERNEL_NAMES[cell]}-*.{python}"
    stamp = source_stamp()
    signature = f"array({dtype}, 3d, C)".encode()  # the type of x, as numba names it
    for index in glob.glob(os.path.join(glob.escape(folder), pattern + ".nbi")):
        try:
            with open(index, "rb") as file:
                version = pickle.load(file)  # a str, written by numba's own pickle.dump
                entries = file.read()
        except (OSError, pickle.UnpicklingError, EOFError):
            continue
        if version == numba_version() and stamp in entries and signature in entries:
            return bool(glob.glob(glob.escape(index[: -len(".nbi")]) + ".*.nbc"))
    return False


def source_stamp() -> bytes:
    """numba's stamp of kernels.py in its index: the SHA-256 of the file's bytes."""
    with open(KERNELS_SOURCE, "rb") as source:
        return hashlib.sha256(source.read()).digest()


def numba_version() -> str | None:
    """The installed numba's version (from its metadata: numba is not imported), or None."""
    from importlib import metadata

    try:
        return metadata.version("numba")
    except metadata.PackageNotFoundError:
        return None


def run_direction(spec, step, states, mask, trace, progress, zero_output_for_mask):
    """rnnstate.engines.numpy.run_direction's work, compiled: the steps of `step` (a numpy
    engine step object, whose input, kernels, biases and states it reads) in the order given.
    mask (N, T) or None; returns o, the final states (the given buffers, updated) and the
    trace, as there."""
    import numpy as np

    from rnnstate.engines import STEPS_PER_CHUNK, kernels
    from rnnstate.engines.numpy import TRACE_NAMES

    xw = step.xw  # the input, kernel and input bias, as the numpy loop would project them
    N, T, D = xw.x.shape
    M = states[0].shape[1]
    dtype = step.U.dtype
    U = np.ascontiguousarray(step.U)
    W = np.ascontiguousarray(xw.kernel, dtype)
    b = np.zeros(U.shape[1], dtype) if xw.bias is None else np.ascontiguousarray(xw.bias, dtype)
    K = np.array(kernels.CONSTANTS, dtype=dtype)
    act = kernels.CODES[canonical(spec.activation)]
    rec = kernels.CODES[canonical(spec.recurrent_activation)]
    names = TRACE_NAMES[spec.cell]
    packed = np.stack(states)  # (S, N, M): h (, c)
    out = np.zeros((N, M), dtype) if mask is not None else states[0].copy()
    keep = np.ascontiguousarray(mask.T) if mask is not None else np.zeros((0, 0), bool)
    o = np.empty((T if spec.return_sequences else 0, N, M), dtype)  # time-major
    recorded = np.empty((T if trace else 0, len(names), N, M), dtype)  # time-major
    per_call = min(STEPS_PER_CHUNK, max(1, WORK_PER_CALL // (N * U.shape[1] * (D + M))))
    for first in range(0, T, per_call):
        last = min(T, first + per_call)
        chunk = slice(first, last)
        x = np.ascontiguousarray(xw.x[:, chunk].transpose(1, 0, 2), dtype)  # (C, N, D)
        keep_chunk = keep[chunk] if mask is not None else keep
        o_chunk = o[chunk] if spec.return_sequences else o
        trace_chunk = recorded[chunk] if trace else recorded
        if spec.cell == "lstm":
            kernels.lstm(x, W, b, U, packed, out, keep_chunk, o_chunk, trace_chunk, act, rec,
                         zero_output_for_mask, K)  # fmt: skip
        elif spec.cell == "gru":
            bias = np.ascontiguousarray(step.recurrent_bias, dtype)
            kernels.gru(x, W, b, U, bias, step.reset_after, packed, out, keep_chunk, o_chunk,
                        trace_chunk, act, rec, zero_output_for_mask, K)  # fmt: skip
        else:
            kernels.simple_rnn(x, W, b, U, packed, out, keep_chunk, o_chunk, trace_chunk, act,
                               zero_output_for_mask, K)  # fmt: skip
        if progress:
            progress("numpy", last)
    for buffer, final in zip(states, packed, strict=True):
        buffer[...] = final
    o_out = out if not spec.return_sequences else np.ascontiguousarray(o.transpose(1, 0, 2))
    gates = {
        name: np.ascontiguousarray(recorded[:, k].transpose(1, 0, 2))
        for k, name in enumerate(names)
        if trace
    }
    return o_out, states, gates
