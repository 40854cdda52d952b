"""When the numpy engine runs its recurrence compiled (rnnstate.engines.compiled.pays): only
where the loop would take longer than numba's import, and, while the kernel is not in numba's
cache, longer than compiling it; and the cache is read where numba itself writes it."""

import os
import subprocess
import sys

import pytest

from rnnstate import budget
from rnnstate.engines import compiled
from rnnstate.spec import Spec

# A kernel run from the engine, in a fresh process (numba reads NUMBA_CACHE_DIR on import).
COMPILE_RNN = (
    "import numpy as np\n"
    "from rnnstate.engines import numpy as numpy_engine\n"
    "from rnnstate.spec import Spec\n"
    "from rnnstate.weights import initial_weights\n"
    "spec = Spec('rnn', steps=3, features=2, units=2)\n"
    "weights = initial_weights(spec, np.random.default_rng(0))\n"
    "numpy_engine.run(spec, np.zeros((1, 3, 2), np.float32), weights)\n"
)


@pytest.fixture
def auto(monkeypatch):
    """The choice left to rnnstate, on the constants as they are in budget.py."""
    monkeypatch.delenv("RNNSTATE_COMPILED", raising=False)


def cache_is(monkeypatch, warm: bool) -> None:
    monkeypatch.setattr(compiled, "kernel_cached", lambda cell, dtype="float32": warm)


@pytest.fixture(scope="module")
def warm_rnn_cache(tmp_path_factory):
    """A NUMBA_CACHE_DIR into which the engine compiled the SimpleRNN kernel (float32), once."""
    folder = str(tmp_path_factory.mktemp("numba_cache"))
    environment = {**os.environ, "NUMBA_CACHE_DIR": folder, "RNNSTATE_COMPILED": "always"}
    subprocess.run([sys.executable, "-c", COMPILE_RNN], env=environment, check=True, timeout=600)
    return folder


# LSTM, D=8, N=1 (budget.py's constants: the loop 6.1 µs a step at M=16, compiled 0.36 µs;
# numba's import and the kernel's load 0.6 s; compiling the LSTM kernel 8 s, counted twice)
@pytest.mark.parametrize(
    ("steps", "units", "batch", "cold", "warm"),
    [
        (8, 16, 1, False, False),
        (20_000, 16, 1, False, False),  # the loop takes 0.12 s: less than numba's import
        (200_000, 16, 1, False, True),
        (1_000_000, 16, 1, False, True),  # the loop takes 6 s: less than twice the compiling
        (5_000_000, 16, 1, True, True),
        (2_000_000, 256, 1, True, True),
        (3_000_000, 16, 64, True, True),
        (3_000_000, 16, 65, False, False),  # numpy's BLAS over the batch beats the kernels
    ],
)
def test_compiled_where_it_pays_cold_and_warm(auto, monkeypatch, steps, units, batch, cold, warm):
    spec = Spec("lstm", steps=steps, features=8, units=units, batch=batch)
    cache_is(monkeypatch, False)
    assert compiled.pays(spec, steps, batch) is cold
    cache_is(monkeypatch, True)
    assert compiled.pays(spec, steps, batch) is warm


def test_both_directions_count_against_one_compilation(auto, monkeypatch):
    # 1.2 million steps a direction at M=16: 12.3 s of loop one way, 24.7 s both ways, against
    # 16.4 s of compiling (twice) and numba's import and 0.7 s of kernel a direction
    cache_is(monkeypatch, False)
    one_way = Spec("lstm", steps=1_200_000, features=8, units=16)
    both_ways = Spec("lstm", steps=1_200_000, features=8, units=16, bidirectional=True)
    assert not compiled.pays(one_way, 1_200_000, 1)
    assert compiled.pays(both_ways, 1_200_000, 1)


def test_a_short_run_does_not_look_at_the_cache(auto, monkeypatch):
    def looked():
        raise AssertionError("the cache was read for a run the loop does faster anyway")

    monkeypatch.setattr(compiled, "kernel_cached", lambda cell, dtype="float32": looked())
    assert not compiled.pays(Spec("gru", steps=8), 8, 1)
    assert not compiled.pays(Spec("gru", steps=50_000, units=64), 50_000, 65)


@pytest.mark.parametrize(("setting", "chosen"), [("always", True), ("never", False)])
def test_the_environment_overrides_the_choice(monkeypatch, setting, chosen):
    monkeypatch.setenv("RNNSTATE_COMPILED", setting)
    for warm in (False, True):
        cache_is(monkeypatch, warm)
        for steps in (8, 10_000_000):
            assert compiled.pays(Spec("rnn", steps=steps), steps, 1) is chosen


def test_the_estimate_counts_compiling_a_cold_kernel(monkeypatch):
    monkeypatch.setenv("RNNSTATE_COMPILED", "always")
    spec = Spec("gru", steps=100, features=2, units=3, engine="numpy")
    cache_is(monkeypatch, True)
    warm = budget.nominal_seconds(spec)
    cache_is(monkeypatch, False)
    assert budget.nominal_seconds(spec) == pytest.approx(warm + budget.COMPILE_SECONDS["gru"])


def numba_locators(kernel):
    """The folder each of numba's locators would keep `kernel`'s cache in, by name."""
    from numba.core import caching

    locators = {
        "provided": caching.UserProvidedCacheLocator,
        "in tree": caching.InTreeCacheLocator,
        "user": caching.UserWideCacheLocator,
    }
    return {
        name: locator(kernel.py_func, compiled.KERNELS_SOURCE).get_cache_path()
        for name, locator in locators.items()
    }


def test_the_cache_folder_is_numba_s(monkeypatch, tmp_path):
    import numba

    from rnnstate.engines import kernels

    folders = numba_locators(kernels.lstm)
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path))  # as NUMBA_CACHE_DIR sets it
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    assert compiled.cache_folder() == numba_locators(kernels.lstm)["provided"]
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    if compiled.can_write(folders["in tree"]):
        assert compiled.cache_folder() == folders["in tree"]
    monkeypatch.setattr(compiled, "can_write", lambda folder: "__pycache__" not in folder)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user"))
    assert compiled.cache_folder() == numba_locators(kernels.lstm)["user"]
    monkeypatch.setattr(compiled, "can_write", lambda folder: False)
    assert compiled.cache_folder() is None


def test_a_kernel_is_cached_once_the_engine_compiled_it(monkeypatch, warm_rnn_cache):
    monkeypatch.setenv("NUMBA_CACHE_DIR", warm_rnn_cache)
    assert compiled.kernel_cached("rnn", "float32")
    assert not compiled.kernel_cached("rnn", "float64")  # the exact engine's: not compiled
    assert not compiled.kernel_cached("lstm", "float32")
    assert not compiled.kernel_cached("gru", "float32")
    spec = Spec("rnn", steps=300_000, features=8, units=16)  # pays warm, not cold
    monkeypatch.delenv("RNNSTATE_COMPILED", raising=False)
    assert compiled.pays(spec, 300_000, 1)
    assert not compiled.pays(Spec("lstm", steps=300_000, features=8, units=16), 300_000, 1)


def test_a_cache_of_other_sources_or_another_numba_is_cold(monkeypatch, warm_rnn_cache):
    monkeypatch.setenv("NUMBA_CACHE_DIR", warm_rnn_cache)
    assert compiled.kernel_cached("rnn")
    with monkeypatch.context() as patched:
        patched.setattr(compiled, "source_stamp", lambda: bytes(32))  # kernels.py edited
        assert not compiled.kernel_cached("rnn")
    with monkeypatch.context() as patched:
        patched.setattr(compiled, "numba_version", lambda: "0.1.0")
        assert not compiled.kernel_cached("rnn")


def test_an_empty_cache_folder_is_cold(monkeypatch, tmp_path):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    assert not any(compiled.kernel_cached(cell) for cell in ("lstm", "gru", "rnn"))
    assert list(tmp_path.iterdir()) == []  # looking made nothing
