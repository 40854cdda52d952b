"""What a run costs: the memory it needs, estimated before anything is allocated and checked
against what is available, and roughly how long it takes."""

import functools
import os
import sys

from rnnstate.engines import REACH_RUNS, keras_chunk_steps, projection_steps
from rnnstate.errors import SpecError
from rnnstate.spec import Spec

FLOAT_BYTES = 4  # float32
# JSON text is written in pieces (render/json.py): a bounded buffer, not the document; the
# pieces, orjson's buffers and the writer's, as measured by tests/test_memory.py.
JSON_BUFFER_BYTES = 96 << 20


# Time. A run takes START_SECONDS (imports, weights), INPUT_SECONDS a drawn input value, and per
# step of each direction STEP_SECONDS plus MAC_SECONDS per multiply-add of the step's products
# (N kM (D + M)), each per way the layer runs: "numpy" (the numpy engine's Python loop),
# "compiled" (its numba kernels, with numba's import and a cached kernel's load in the start),
# "keras", "torch". Fitted by benchmarks/bench_estimate.py (least squares over its grid of whole
# runs) on this project's 2-core machine alone, 2026-12-03; "compiled" from its two benchmark
# sizes (T=10^6 M=16: 1.57 s, T=10^5 M=256: 3.09 s) with its start measured as a T=10^4 run
# (0.8 s). PROBE_SECONDS is what the probe took there: the estimate scales by the contention now
# and by how long the probe takes now. tests/test_time_estimate.py checks these constants
# against every run benchmarks/estimate_runs.json records.
START_SECONDS = {"numpy": 0.45, "compiled": 0.8, "keras": 4.5, "torch": 1.8}
STEP_SECONDS = {"numpy": 1.0e-5, "compiled": 4.8e-7, "keras": 1.85e-5, "torch": 6.2e-7}
MAC_SECONDS = {"numpy": 1.8e-10, "compiled": 8.2e-11, "keras": 2.1e-10, "torch": 1.1e-10}
INPUT_SECONDS = 2e-8
# Seconds numba takes to compile a cell's kernel (its callees with it) where it is not in its
# cache yet: the CPU time of a first run on an empty NUMBA_CACHE_DIR on this machine (loaded, so
# the CPU time and not the wall time), 2026-12-02 (docs/performance.md). A kernel not cached is
# compiled only where the loop would take longer than COMPILE_MARGIN times that.
COMPILE_SECONDS = {"lstm": 8.0, "gru": 8.0, "rnn": 6.0}
COMPILE_MARGIN = 2.0
PROBE_SECONDS = 6.5e-4
PROBE_FROM = 1.0  # seconds: shorter estimates are not worth the probe's time


def time_path(spec: Spec, engine: str) -> str:
    """How `engine` runs the layer: the numpy engine (and the exact one, its float64 twin)
    compiled or as its Python loop (see rnnstate.engines.compiled), else the engine's name."""
    from rnnstate.engines import compiled

    if engine in ("numpy", "exact"):
        return "compiled" if compiled.pays(spec, spec.steps, spec.batch, dtype(engine)) else "numpy"
    return engine


def dtype(engine: str) -> str:
    """The float type the numpy engine's recurrence runs in for `engine`."""
    return "float64" if engine == "exact" else "float32"


def step_seconds(spec: Spec, path: str, batch: int) -> float:
    """Seconds a step of one direction of the layer takes on `path`, for `batch` sequences."""
    macs = batch * spec.gate_count * spec.units * (spec.features + spec.units)  # x W and h U
    return STEP_SECONDS[path] + MAC_SECONDS[path] * macs


def compiled_is_faster(spec: Spec, steps: int, batch: int, compiling: bool) -> bool:
    """Whether the numpy loop would take longer, over the layer's directions of `steps` steps,
    than the compiled recurrence with what it costs first: numba's import and the kernel's load
    (START_SECONDS) and, when `compiling`, COMPILE_MARGIN times its compilation."""
    directions = 2 if spec.bidirectional else 1
    first = START_SECONDS["compiled"] - START_SECONDS["numpy"]
    if compiling:
        first += COMPILE_MARGIN * COMPILE_SECONDS[spec.cell]
    loop, kernel = (directions * steps * step_seconds(spec, path, batch)
                    for path in ("numpy", "compiled"))  # fmt: skip
    return loop > first + kernel


def nominal_seconds(spec: Spec) -> float:
    """The time a run of `spec` took on the machine the constants were fitted on: the layer on
    every engine it uses (all with --check), with their start-up, and the input drawn."""
    from rnnstate.engines import compiled

    N, T, D = spec.batch, spec.steps, spec.features
    directions = 2 if spec.bidirectional else 1
    seconds = INPUT_SECONDS * N * T * D
    paths = {engine: (time_path(spec, engine), dtype(engine)) for engine in engines_used(spec)}
    for path in {path for path, _ in paths.values()}:  # each way of running starts once
        seconds += START_SECONDS[path]
    for path, float_type in set(paths.values()):  # a kernel not yet cached compiles first
        if path == "compiled" and not compiled.kernel_cached(spec.cell, float_type):
            seconds += COMPILE_SECONDS[spec.cell]
    for engine, (path, _) in paths.items():
        runs = 1 + REACH_RUNS * (spec.check and engine == "numpy")  # --check's reach runs
        seconds += runs * directions * T * step_seconds(spec, path, N)
    return seconds


@functools.cache
def probe_seconds() -> float:
    """Seconds this machine takes, now, for the probe: 200 small steps of numpy (a product, a
    tanh), the kind of work the estimate counts; the best of three."""
    import time

    import numpy as np

    h, U = np.ones((1, 64), np.float32), np.full((64, 256), 0.01, np.float32)
    z = np.empty((1, 256), np.float32)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(200):
            np.matmul(h, U, out=z)
            np.tanh(z, out=z)
        best = min(best, time.perf_counter() - start)
    return best


@functools.cache
def contention() -> float:
    """How many times slower than alone a single-threaded run goes now, at least 1: the
    runnable jobs (the 1-minute load average, this one included) per core this process may use;
    where that is over 1, at most the CPU share Linux's scheduler gives the runnable threads of
    other processes, each weighed by its nice value (one at nice 19 takes 1/70 of what one at 0
    takes), sampled CONTENTION_SAMPLES times: background jobs at a low priority barely slow a
    run, though they count in the load average."""
    import time

    cores = len(os.sched_getaffinity(0))
    by_load = load_contention()
    if by_load == 1.0:
        return 1.0
    weights = []
    for _ in range(CONTENTION_SAMPLES):
        weights.append(runnable_weight())
        time.sleep(CONTENTION_PAUSE)
    if None in weights:
        return by_load
    return min(by_load, max(1.0, (sum(weights) / len(weights) + 1) / cores))


CONTENTION_SAMPLES, CONTENTION_PAUSE = 5, 0.005


def load_contention() -> float:
    """The runnable jobs (the 1-minute load average, this one included) per core this process
    may use, at least 1: contention as the load average tells it, at no cost."""
    try:
        return max(1.0, (os.getloadavg()[0] + 1) / len(os.sched_getaffinity(0)))
    except OSError:
        return 1.0


def runnable_weight() -> float | None:
    """The runnable threads of other processes, each weighed by its nice value as a share of a
    nice-0 thread (the kernel's weights: 1.25x less a nice step); None where /proc does not
    list them (not Linux)."""
    import glob

    me, total = str(os.getpid()), 0.0
    if not os.path.isdir("/proc/self/task"):
        return None
    for path in glob.glob("/proc/[0-9]*/task/[0-9]*/stat"):
        if path.split("/")[2] == me:
            continue
        try:
            with open(path, "rb") as file:
                total += thread_weight(file.read())
        except OSError:
            continue  # ended meanwhile
    return total


def thread_weight(stat: bytes) -> float:
    """A thread's share of a nice-0 thread from its /proc/.../stat line: 1.25^-nice when it is
    runnable (state R), else 0."""
    fields = stat.rsplit(b")", 1)[-1].split()  # after the name, which may hold ") "
    if len(fields) < 17 or fields[0] != b"R":  # the state; nice is field 19, 17th after name
        return 0.0
    return 1.25 ** -int(fields[16])


def speed() -> float:
    """How long this machine takes for the probe, relative to the machine the constants were
    fitted on (within 1/4 and 20); measured only once a process."""
    return min(20.0, max(0.25, probe_seconds() / PROBE_SECONDS))


def expected_seconds(spec: Spec) -> float:
    """About how long a run of `spec` takes on this machine now: nominal_seconds, times the
    contention, times the probe's speed (taken only for runs long enough that it matters)."""
    seconds = nominal_seconds(spec)
    if seconds * load_contention() < PROBE_FROM:  # short even on this load: no closer look
        return seconds * load_contention()
    seconds *= contention()
    return seconds if seconds < PROBE_FROM else seconds * speed()


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
# keras: a GRU at N=20000 T=20 M=64 peaked at 550 MB in a fresh clone's CI run, 525 estimated
# with 10 copies of o
O_EXTRA = {"keras": 11, "numpy": 2, "torch": 6, "exact": 5}  # TensorArray, stacked; time-major
# PyTorch computes o at every step even without return_sequences: its copies are of all steps,
# two more for a bidirectional layer (each direction's, then their concatenation).
KERNEL_DRAWN = 4  # glorot_uniform draws float64 (2 float32's worth), casts to float32; + margin
RECURRENT_DRAWN = 12  # orthogonal: a float64 normal matrix, its copy inside QR, q and r
TRACE_COPIES = 2  # the trace is recorded time-major, then copied batch-major
TRACED = {"lstm": 6, "gru": 4, "rnn": 2}  # quantities the numpy engine traces (TRACE_NAMES)
# --check keeps every engine's outputs and states, and compares each pair in float64: the
# reference as float64, the difference, its absolute value, max(1, |reference|), the scaled
# difference (float32 sizes, at the peak of one comparison).
COMPARISON_COPIES = 8
# Each final state of each sequence is checked against o (Result.checks): a StateCheck object,
# and with --json its dict and its text.
CHECK_BYTES = 200
CHECK_JSON_BYTES = 500
# Drawing a --plot figure (render/plot.py): matplotlib's state, its canvas and the encoded image;
# then per value of a heatmap (the binning's copies, rnnstate.bins: matplotlib gets 500 columns)
# and per point of a line through time (its path, transformed, simplified).
FIGURE_BYTES = 100 << 20
PLOT_BYTES_PER_VALUE = 4
PLOT_BYTES_PER_POINT = 32
LINES_DRAWN = 4  # render/plot.py's LINES_SHOWN: units drawn through time unless chosen


def output_copies(spec: Spec, engine: str) -> int:
    """O_EXTRA of `engine`; one fewer for the numpy engine on a one-direction layer at N=1,
    whose time-major o is then already batch-major (no copy); two more for PyTorch's
    bidirectional layer; KERAS_BIDIRECTIONAL_FEWER fewer for Keras's (its o is each half's,
    concatenated once)."""
    if engine == "torch":
        return O_EXTRA[engine] + 2 * spec.bidirectional
    if engine == "keras":
        return O_EXTRA[engine] - KERAS_BIDIRECTIONAL_FEWER * spec.bidirectional
    return O_EXTRA[engine] - (engine == "numpy" and spec.batch == 1 and not spec.bidirectional)


# A Bidirectional GRU at T=100000 D=32 M=64 (--sequences) peaked at 286 MB over its base in a
# fresh clone's CI run: at most 5.6 copies of its (T, 2M) o, where O_EXTRA's 11 gave 680 MB.
KERAS_BIDIRECTIONAL_FEWER = 4


def call_share(spec: Spec, engine: str) -> float:
    """The share of the steps one call of `engine` holds: a chunk's for the keras engine on a
    plain layer (it runs in chunks of steps), else all of them."""
    if engine == "keras" and not (spec.bidirectional or spec.masked):
        steps = keras_chunk_steps(spec.batch, spec.features, spec.units, spec.gate_count)
        return min(spec.steps, steps) / spec.steps
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
    o_every_step = FLOAT_BYTES * directions * N * T * M
    o_copies = max(
        output_copies(spec, e) * call_share(spec, e) * (o_every_step if e == "torch" else o)
        for e in engines
    )
    parts = {
        "input": int(x * (2 + x_extra)),  # x, and the draw it is transposed from
        "weights": kernel * max(KERNEL_DRAWN, 1 + max(WEIGHT_EXTRA[e] for e in engines))
        + recurrent * max(RECURRENT_DRAWN, 1 + max(WEIGHT_EXTRA[e] for e in engines)),
        "outputs": int(o + o_copies),
        "states": FLOAT_BYTES * 4 * directions * N * M,
        "trace": trace * TRACE_COPIES,
    }
    if engines & {"numpy", "exact"}:  # one chunk of x @ kernel, and the chunk of x it is made from
        steps = min(T, projection_steps(N, D, k * M))
        parts["input projection"] = FLOAT_BYTES * steps * N * (k * M + D) * 2
    states = parts["states"] // 2  # the states once, without their copies
    if spec.check:  # the other engines' outputs and states, kept, then compared pair by pair
        parts["--check"] = (len(engines) - 1) * (o + states) + COMPARISON_COPIES * o
    parts["state checks"] = directions * N * (CHECK_BYTES + as_json * CHECK_JSON_BYTES)
    if as_json:
        parts["JSON buffer"] = JSON_BUFFER_BYTES
    if output is not None and output.endswith(".npz"):
        parts["--output .npz"] = 2 * (x + o + trace)  # the archive is built in memory
    if plot:
        parts["--plot figure"] = plot_bytes(spec)
    return parts


def plot_bytes(spec: Spec, units_shown: list[int] | None = None) -> int:
    """Bytes drawing the figure of one sequence of a run of `spec` takes at its peak (--plot,
    Result.plot(), explore's picture): matplotlib's own, and its copies of every heatmap's
    values ((rows, T): x, o, the trace with --gates) and of every line through time."""
    T, D, M = spec.steps, spec.features, spec.units
    directions = 2 if spec.bidirectional else 1
    rows = D + (directions * M if spec.return_sequences else 0)
    if spec.gates:
        rows += directions * TRACED[spec.cell] * M
    lines = len(units_shown) if units_shown else min(LINES_DRAWN, M)
    drawn_lines = spec.return_sequences or spec.traced  # o, or h_t, through time
    return FIGURE_BYTES + T * (
        rows * PLOT_BYTES_PER_VALUE + drawn_lines * lines * PLOT_BYTES_PER_POINT
    )


def estimate_bytes(
    spec: Spec, as_json: bool = False, output: str | None = None, plot: bool = False
) -> int:
    """Bytes a run of `spec` needs at its peak (the sum of estimate_parts)."""
    return sum(estimate_parts(spec, as_json, output, plot).values())


# Libraries a run imports, resident once imported: a tiny run's peak over the numpy engine's
# (TensorFlow with Keras 564 MB, PyTorch 196 MB, matplotlib 40 MB), with a margin.
# numba: its import, LLVM and a kernel loaded: a compiled run without --gates peaked 138 MB
# over a run that does not import numba (T=200000 M=32, 2026-12-03)
LIBRARY_BYTES = {"tensorflow": 600 << 20, "torch": 220 << 20, "matplotlib": 50 << 20,
                 "numba": 150 << 20}  # fmt: skip
ENGINE_LIBRARIES = {"keras": "tensorflow", "torch": "torch"}


def library_bytes(spec: Spec, plot: bool = False) -> int:
    """Bytes of the libraries a run of `spec` (drawing a figure with `plot`) imports that this
    process has not imported yet."""
    used = engines_used(spec)
    modules = {ENGINE_LIBRARIES[e] for e in used if e in ENGINE_LIBRARIES}
    if any(time_path(spec, e) == "compiled" for e in used & {"numpy", "exact"}):
        modules.add("numba")
    if plot:
        modules.add("matplotlib")
    return sum(LIBRARY_BYTES[module] for module in modules if module not in sys.modules)


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
    if library_bytes(spec, plot):
        parts["libraries"] = library_bytes(spec, plot)
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
