"""What a run costs: the memory it needs, estimated before anything is allocated and checked
against what is available, and roughly how long it takes."""

import os

from rnnstate.engines import STEPS_PER_CHUNK, projection_steps
from rnnstate.errors import SpecError
from rnnstate.spec import Spec

FLOAT_BYTES = 4  # float32
# JSON text is written in pieces (render/json.py): a bounded buffer, not the document; the
# pieces, orjson's buffers and the writer's, as measured by tests/test_memory.py.
JSON_BUFFER_BYTES = 96 << 20


# Seconds per step and per unit of N * M * (D + M), measured on 2 cores at D=8, M=16 (about
# 20 microseconds a step for Keras, 7 for numpy there); only decides whether to show progress.
SECONDS_PER_STEP_WORK = {"keras": 5e-8, "numpy": 2e-8, "torch": 2e-8, "exact": 2.6e-8}
SECONDS_PER_STEP = {"keras": 1.4e-5, "numpy": 2.5e-6, "torch": 1e-5, "exact": 3.2e-6}
REACH_RUNS = 4  # --check also runs the numpy engine this many times (rnnstate.reach)


def expected_seconds(spec: Spec) -> float:
    """A rough estimate of the time the layer takes on spec.engine (both engines with --check)."""
    work = spec.batch * spec.units * (spec.features + spec.units)
    engines = engines_used(spec)
    runs = {engine: 1 + REACH_RUNS * (spec.check and engine == "numpy") for engine in engines}
    return sum(
        runs[engine]
        * spec.steps
        * (SECONDS_PER_STEP[engine] + SECONDS_PER_STEP_WORK[engine] * work)
        for engine in engines
    )


def engines_used(spec: Spec) -> set[str]:
    """The engines a run of `spec` may use (all of them with --check)."""
    if spec.check:
        return {"keras", "numpy", "torch", "exact"}
    tracer = "exact" if spec.engine == "exact" else "numpy"
    return {spec.engine, tracer} if spec.traced else {spec.engine}


# Copies of each array alive at a run's peak, beyond the one the run keeps, per engine and per
# call of it (the keras engine calls a plain layer once per chunk of steps, so its copies are of
# one chunk; a bidirectional or masked layer in one call); measured with tests/test_memory.py
# (peak RSS of real runs against this estimate). The exact engine's are numpy's in float64:
# each of its arrays is two float32 arrays' worth.
X_EXTRA = {"keras": 3, "numpy": 0, "torch": 1, "exact": 2}  # tensors, Masking's, TF's copies
X_MASKED_EXTRA = {"keras": 0, "numpy": 1, "torch": 0, "exact": 2}  # masked steps zeroed in a copy
WEIGHT_EXTRA = {"keras": 5, "numpy": 0, "torch": 3, "exact": 2}  # variables, initialisers, ...
O_EXTRA = {"keras": 6, "numpy": 2, "torch": 2, "exact": 5}  # TensorArray, stacked; time-major
KERNEL_DRAWN = 4  # glorot_uniform draws float64 (2 float32's worth), casts to float32; + margin
RECURRENT_DRAWN = 12  # orthogonal: a float64 normal matrix, its copy inside QR, q and r
FIGURE_BYTES = 100 << 20  # matplotlib, its canvas and the encoded image, at most this
TRACE_COPIES = 2  # the trace is recorded time-major, then copied batch-major


def output_copies(spec: Spec, engine: str) -> int:
    """O_EXTRA of `engine`; one fewer for the numpy engine on a one-direction layer at N=1,
    whose time-major o is then already batch-major (no copy)."""
    return O_EXTRA[engine] - (engine == "numpy" and spec.batch == 1 and not spec.bidirectional)


def call_share(spec: Spec, engine: str) -> float:
    """The share of the steps one call of `engine` holds: a chunk's for the keras engine on a
    plain layer (it runs in chunks of steps), else all of them."""
    if engine == "keras" and not (spec.bidirectional or spec.masked):
        return min(spec.steps, STEPS_PER_CHUNK) / spec.steps
    return 1.0


def estimate_parts(
    spec: Spec, as_json: bool = False, output: str | None = None, plot: bool = False
) -> dict[str, int]:
    """Bytes a run of `spec` needs at its peak, by what needs them: input, weights, the numpy
    engine's input projection (one chunk of steps), outputs and states, the gate trace, and
    what is written: the JSON buffer, an --output .npz built in memory, a --plot figure."""
    N, T, D, M = spec.batch, spec.steps, spec.features, spec.units
    k, directions = spec.gate_count, 2 if spec.bidirectional else 1
    engines = engines_used(spec)
    x = FLOAT_BYTES * N * T * D
    kernel = FLOAT_BYTES * directions * (D * k * M + 2 * k * M)  # with the bias
    recurrent = FLOAT_BYTES * directions * M * k * M
    o = FLOAT_BYTES * directions * (N * T * M if spec.return_sequences else N * M)
    trace = FLOAT_BYTES * directions * 6 * N * T * M if spec.traced else 0  # at most 6
    trace *= 2 if spec.engine == "exact" else 1  # float64
    x_extra = max(
        (X_EXTRA[e] + spec.masked * X_MASKED_EXTRA[e]) * call_share(spec, e) for e in engines
    )
    o_extra = max(output_copies(spec, e) * call_share(spec, e) for e in engines)
    parts = {
        "input": int(x * (2 + x_extra)),  # x, and the draw it is transposed from
        "weights": kernel * max(KERNEL_DRAWN, 1 + max(WEIGHT_EXTRA[e] for e in engines))
        + recurrent * max(RECURRENT_DRAWN, 1 + max(WEIGHT_EXTRA[e] for e in engines)),
        "outputs": int(o * (1 + o_extra)),
        "states": FLOAT_BYTES * 4 * directions * N * M,
        "trace": trace * TRACE_COPIES,
    }
    if engines & {"numpy", "exact"}:  # one chunk of x @ kernel, and the chunk of x it is made from
        steps = min(T, projection_steps(N, D, k * M))
        parts["input projection"] = FLOAT_BYTES * steps * N * (k * M + D) * 2
    if as_json:
        parts["JSON buffer"] = JSON_BUFFER_BYTES
    if output is not None and output.endswith(".npz"):
        parts["--output .npz"] = 2 * (x + o + trace)  # the archive is built in memory
    if plot:
        parts["--plot figure"] = FIGURE_BYTES + 2 * 2 * (x + o + trace) // N  # one sequence
    return parts


def estimate_bytes(
    spec: Spec, as_json: bool = False, output: str | None = None, plot: bool = False
) -> int:
    """Bytes a run of `spec` needs at its peak (the sum of estimate_parts)."""
    return sum(estimate_parts(spec, as_json, output, plot).values())


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


def ensure_fits(
    spec: Spec, as_json: bool = False, output: str | None = None, plot: bool = False
) -> None:
    """Raise SpecError (exit 2) naming the sizes, the estimate and its largest part when the
    run cannot fit in the memory available."""
    parts = estimate_parts(spec, as_json, output, plot)
    needed, available = sum(parts.values()), available_bytes()
    if needed > available:
        sizes = f"-T {spec.steps} -D {spec.features} -M {spec.units} -N {spec.batch}"
        if spec.return_sequences:
            sizes += " --sequences"
        largest = max(parts, key=parts.__getitem__)
        option = {"weights": "--features" if spec.features > spec.units else "--units",
                  "input projection": "--batch"}.get(largest, "--steps")  # fmt: skip
        raise SpecError(
            option,
            f"{sizes} needs about {human_bytes(needed)} of memory ({largest}: "
            f"{human_bytes(parts[largest])}); {human_bytes(available)} are available",
        )
