"""What a run costs: the memory it needs, estimated before anything is allocated and checked
against what is available, and roughly how long it takes."""

import os

from rnnstate.errors import SpecError
from rnnstate.spec import Spec

FLOAT_BYTES = 4  # float32
JSON_PIECE_BYTES = 64 << 20  # JSON text is written in pieces: a bounded buffer, not the document
# Copies held at the peak: x in numpy, as a tensor and transposed to time-major inside Keras;
# o in Keras's TensorArray, as a tensor and in numpy.
X_COPIES = 3
O_COPIES = 3


# Seconds per step and per unit of N * M * (D + M), measured on 2 cores at D=8, M=16 (about
# 20 microseconds a step for Keras, 7 for numpy there); only decides whether to show progress.
SECONDS_PER_STEP_WORK = {"keras": 5e-8, "numpy": 2e-8, "torch": 2e-8}
SECONDS_PER_STEP = {"keras": 1.4e-5, "numpy": 2.5e-6, "torch": 1e-5}


def expected_seconds(spec: Spec) -> float:
    """A rough estimate of the time the layer takes on spec.engine (both engines with --check)."""
    work = spec.batch * spec.units * (spec.features + spec.units)
    engines = {spec.engine}
    if spec.check:
        engines |= {"keras", "numpy", "torch"}
    elif spec.traced:
        engines.add("numpy")
    return sum(
        spec.steps * (SECONDS_PER_STEP[engine] + SECONDS_PER_STEP_WORK[engine] * work)
        for engine in engines
    )


TRACE_COPIES = 2  # the trace is recorded time-major, then copied batch-major


def estimate_bytes(spec: Spec, as_json: bool = False) -> int:
    """Bytes a run of `spec` needs at its peak: input, outputs, states, the gate trace and, for
    --json, the buffer its text is written through."""
    N, T, D, M = spec.batch, spec.steps, spec.features, spec.units
    directions = 2 if spec.bidirectional else 1
    x_floats = N * T * D
    o_floats = directions * (N * T * M if spec.return_sequences else N * M)
    state_floats = 4 * directions * N * M
    trace_floats = directions * 6 * N * T * M if spec.traced else 0  # at most 6 quantities
    arrays = FLOAT_BYTES * (
        X_COPIES * x_floats + O_COPIES * o_floats + state_floats + TRACE_COPIES * trace_floats
    )
    return arrays + (JSON_PIECE_BYTES if as_json else 0)


def available_bytes() -> int:
    """Memory this process can still use: MemAvailable, capped by a cgroup limit if one is set."""
    available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        with open("/sys/fs/cgroup/memory.max") as limit_file:
            limit = limit_file.read().strip()
        with open("/sys/fs/cgroup/memory.current") as used_file:
            used = int(used_file.read())
        if limit != "max":
            available = min(available, int(limit) - used)
    except (OSError, ValueError):
        pass
    return available


def human_bytes(count: float) -> str:
    """A byte count in decimal units: '512 B', '21 GB', '2.3 TB'."""
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if count < 1000 or unit == "PB":
            return f"{count:.0f} {unit}" if count >= 10 or unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


def ensure_fits(spec: Spec, as_json: bool = False) -> None:
    """Raise SpecError (exit 2) naming the sizes when the run cannot fit in available memory."""
    needed, available = estimate_bytes(spec, as_json), available_bytes()
    if needed > available:
        sizes = f"-T {spec.steps} -D {spec.features} -M {spec.units} -N {spec.batch}"
        if spec.return_sequences:
            sizes += " --sequences"
        raise SpecError(
            "--steps",
            f"{sizes} needs about {human_bytes(needed)} of memory; "
            f"{human_bytes(available)} are available",
        )
