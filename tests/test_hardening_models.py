"""Hardening, round three (issue #29): names shown as text, model files bounded before they are
inflated or read, model inputs and weights checked. Each test is one case that failed before;
the crafted files are made here, small, from models saved by Keras."""

import contextlib
import io
import os
import select
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
from typer.testing import CliRunner

from rnnstate import model_files
from rnnstate.cli import app
from rnnstate.errors import one_line, shown_name

os.environ["KERAS_BACKEND"] = "tensorflow"
keras = pytest.importorskip("keras")
h5py = pytest.importorskip("h5py")

runner = CliRunner()


@pytest.fixture(autouse=True, scope="module")
def fresh_names():
    """Keras's automatic layer names (input_layer, embedding) counted from zero again after
    this module, as other test modules expect."""
    yield
    keras.backend.clear_session()
PYTHON = sys.executable
T = 5
ESCAPE = "\x1b"


def invoke(*args):
    """The command run in this process, on a terminal wide enough for a long path in a line."""
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "400"})


def one_line_error(result, code: int, text: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.stderr)
    assert result.stderr.count("\n") == 1, result.stderr
    assert ESCAPE not in result.stderr, result.stderr
    assert text in result.stderr, result.stderr


def lstm_model(name: str = "lstm"):
    """Dense (2 -> 3) then an LSTM of 4 units named `name`, on (T, 2)."""
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((T, 2)), keras.layers.Dense(3, name="dense"),
                             keras.layers.LSTM(4, name=name)])  # fmt: skip


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A small model saved as .keras and .h5: {suffix: path}."""
    folder = tmp_path_factory.mktemp("saved")
    model = lstm_model()
    paths = {}
    for suffix in (".keras", ".h5"):
        paths[suffix] = folder / f"model{suffix}"
        model.save(paths[suffix])
    return paths


def rezipped(source, target, replace: dict, add: dict | None = None):
    """A copy of the .keras archive `source` at `target`, members in `replace` given new bytes
    (deflated), members in `add` added (deflated)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            content = replace.get(info.filename, old.read(info.filename))
            new.writestr(info.filename, content, zipfile.ZIP_DEFLATED)
        for name, content in (add or {}).items():
            new.writestr(name, content, zipfile.ZIP_DEFLATED)
    return target


# ------------------------------------------------------------------------------ names are text


def test_shown_name_quotes_and_escapes_only_what_a_terminal_would_act_on():
    assert shown_name("x[red]y.keras") == "x[red]y.keras"
    assert shown_name("naïve.keras") == "naïve.keras"
    assert shown_name("a\nb") == "'a\\nb'"
    assert shown_name("\x1b]52;c;aGk=\x07") == "'\\x1b]52;c;aGk=\\x07'"
    assert shown_name("right\u202eleft") == "'right\\u202eleft'"
    assert one_line("x: 'a\nb'\x1b[2J") == "x: 'a\\nb'\\x1b[2J"


@pytest.mark.parametrize("name", ["a[/]m.keras", "x[red]y.keras", "x:thumbs_up:[bold]y.keras"])
def test_a_model_file_name_is_listed_as_written(saved, tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)  # a short name: the title is not wrapped
    if "/" in name:
        os.mkdir(name.split("/")[0])
    (tmp_path / name).write_bytes(saved[".keras"].read_bytes())
    result = invoke("model", name)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0].rstrip() == f"{name}: 1 recurrent layer"


def test_escape_sequences_in_names_never_reach_the_terminal(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a short name: the title is not wrapped
    name = "l\x1b]52;c;aGk=\x07[red]x\ny"  # a clipboard write (OSC 52), markup, a newline
    path = "clear\x1b[2J.keras"
    lstm_model(name).save(path)
    listing = invoke("model", path)
    assert listing.exit_code == 0, listing.stderr
    assert ESCAPE not in listing.stdout
    assert listing.stdout.startswith("'clear\\x1b[2J.keras': 1 recurrent layer")
    assert repr(name) in listing.stdout
    run = invoke("model", path, "--layer", "0", "--seed", "0", "--engine", "numpy")
    assert run.exit_code == 0, run.stderr
    assert ESCAPE not in run.stdout
    assert f"layer {name!r} of {path!r}" in run.stdout


def test_an_error_naming_a_layer_with_a_newline_stays_one_line(tmp_path):
    name = "first\nrnnstate: error: forged"
    path = tmp_path / "m.keras"
    lstm_model(name).save(path)
    result = invoke("model", path, "--layer", "nope")
    one_line_error(result, 2, f"its recurrent layers: 0: {name!r}")


# ------------------------------------------------------------------------------ model archives


def test_a_config_that_inflates_past_the_bound_is_refused_before_reading(
    saved, tmp_path, monkeypatch
):
    monkeypatch.setattr(model_files, "CONFIG_LIMIT", 1 << 20)  # the real one is 64 MB
    padded = b'{"padding": "' + b" " * (4 << 20) + b'"}'
    bomb = rezipped(saved[".keras"], tmp_path / "bomb.keras", {"config.json": padded})
    assert bomb.stat().st_size < 100_000
    one_line_error(invoke("model", bomb), 1,
                   "config.json inflates to 4.2 MB, more than the 1.0 MB rnnstate reads for "
                   "its config")  # fmt: skip


def test_a_weights_member_larger_than_the_config_needs_is_refused_before_inflating(
    saved, tmp_path
):
    with zipfile.ZipFile(saved[".keras"]) as archive:
        weights = archive.read("model.weights.h5")
    padded = weights + bytes(64 << 20)  # h5py ignores what follows the file's end
    bomb = rezipped(saved[".keras"], tmp_path / "bomb.keras", {"model.weights.h5": padded})
    assert bomb.stat().st_size < 200_000
    started = time.monotonic()
    one_line_error(invoke("model", bomb), 1, "model.weights.h5 inflates to 67.")
    assert "the model's config describes for its weights" in invoke("model", bomb).stderr
    assert time.monotonic() - started < 10.0  # never inflated (64 MB of zeros take longer)


def huge_dataset(h5_file) -> None:
    """Replace the LSTM's kernel in an open HDF5 file by a dataset declaring (4000, 4000)
    float32 (64 MB) that stores nothing (no chunk written)."""
    names = []
    h5_file.visititems(lambda name, item: names.append(name)
                       if isinstance(item, h5py.Dataset) and "lstm" in name else None)  # fmt: skip
    kernel = sorted(names)[0]
    del h5_file[kernel]
    h5_file.create_dataset(kernel, shape=(4000, 4000), dtype="f4", chunks=(100, 100))


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_a_dataset_declaring_a_huge_shape_is_refused_before_reading(saved, tmp_path, suffix):
    if suffix == ".h5":
        crafted = tmp_path / "huge.h5"
        crafted.write_bytes(saved[".h5"].read_bytes())
        with h5py.File(crafted, "a") as file:
            huge_dataset(file)
    else:
        with zipfile.ZipFile(saved[".keras"]) as archive:
            weights = io.BytesIO(archive.read("model.weights.h5"))
        with h5py.File(weights, "a") as file:
            huge_dataset(file)
        crafted = rezipped(saved[".keras"], tmp_path / "huge.keras",
                           {"model.weights.h5": weights.getvalue()})  # fmt: skip
    assert crafted.stat().st_size < 100_000
    one_line_error(invoke("model", crafted), 1,
                   "declares shape (4000, 4000) of float32, larger than any weight of the model "
                   "its config describes (at most 64 values)")  # fmt: skip


@pytest.fixture
def unpacking(monkeypatch):
    """Every extraction of a zip member to disk, recorded; Keras's choice to extract the
    weights beside the model (as when psutil is missing) forced."""
    from keras.src.saving import saving_lib

    extracted = []
    monkeypatch.setattr(zipfile.ZipFile, "extract", lambda self, *a, **k: extracted.append(a))
    monkeypatch.setattr(zipfile.ZipFile, "extractall", lambda self, *a, **k: extracted.append(a))
    monkeypatch.setattr(saving_lib, "is_memory_sufficient", lambda model: False)
    return extracted


def test_assets_are_never_unpacked_and_nothing_is_written(saved, tmp_path, unpacking,
                                                          monkeypatch):  # fmt: skip
    folder = tmp_path / "models"
    folder.mkdir()
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setenv("TMPDIR", str(temporary))
    monkeypatch.setattr("tempfile.tempdir", str(temporary))
    assets = {f"assets/big{i}.bin": bytes(16 << 20) for i in range(2)}
    model = rezipped(saved[".keras"], folder / "assets.keras", {}, assets)
    listing = invoke("model", model)
    assert listing.exit_code == 0, listing.stderr
    run = invoke("model", model, "--layer", "lstm", "--seed", "0", "--json")
    assert run.exit_code == 0, run.stderr
    assert unpacking == []
    assert sorted(os.listdir(folder)) == ["assets.keras"]
    assert os.listdir(temporary) == []


def test_a_layer_that_needs_its_assets_is_named(tmp_path):
    keras.utils.set_random_seed(0)
    lookup = keras.layers.IntegerLookup(name="lookup")
    lookup.adapt(np.array([3, 5, 7, 9]))
    model = keras.Sequential([keras.Input((T,), dtype="int64"), lookup,
                              keras.layers.Embedding(6, 2),
                              keras.layers.GRU(3, name="gru")])  # fmt: skip
    path = tmp_path / "lookup.keras"
    model.save(path)
    ids = tmp_path / "ids.npy"
    np.save(ids, np.array([[3, 5, 7, 9, 3]]))
    assert invoke("model", path).exit_code == 0
    one_line_error(invoke("model", path, "--layer", "gru", "--input", ids), 1,
                   "layer 'lookup' keeps its state (a vocabulary) in the model's assets, which "
                   "rnnstate never unpacks")  # fmt: skip


def slow_model(folder):
    """A model of 60 stacked small LSTMs: loading it takes seconds."""
    layers = [keras.layers.LSTM(2, return_sequences=True) for _ in range(60)]
    path = folder / "slow.keras"
    keras.Sequential([keras.Input((T, 2)), *layers]).save(path)
    return path


@pytest.mark.parametrize(("sent", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_while_a_model_loads_ends_it_and_leaves_nothing(tmp_path, sent, code):
    folder = tmp_path / "models"
    folder.mkdir()
    path = slow_model(folder)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    process = subprocess.Popen([PYTHON, "-m", "rnnstate", "model", str(path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, "TMPDIR": str(temporary)})  # fmt: skip
    while str(path) not in open_files(process.pid):  # until the model is being read
        assert process.poll() is None, process.communicate()
        time.sleep(0.02)
    process.send_signal(sent)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == code, stderr
    assert b"Traceback" not in stderr
    assert stdout == b""
    assert sorted(os.listdir(folder)) == ["slow.keras"]
    assert os.listdir(temporary) == []


def open_files(pid: int) -> list[str]:
    """The files a process has open now (from /proc)."""
    names = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):  # closed meanwhile
            names.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
    return names


def test_a_model_path_that_is_a_fifo_says_rnnstate_waits_and_ctrl_c_ends_it(tmp_path):
    fifo = tmp_path / "model.keras"
    os.mkfifo(fifo)
    process = subprocess.Popen([PYTHON, "-m", "rnnstate", "model", str(fifo)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    ready, _, _ = select.select([process.stderr], [], [], 60.0)
    assert ready, "no waiting notice within a minute"
    notice = process.stderr.readline()
    assert notice.decode() == f"rnnstate: waiting for input on {str(fifo)!r} (it ends when " \
        "its writer closes it; Ctrl-C stops rnnstate)\n"  # fmt: skip
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130
    assert stderr == b""


def test_a_model_read_from_a_fifo_is_listed(saved, tmp_path):
    fifo = tmp_path / "model.keras"
    os.mkfifo(fifo)
    process = subprocess.Popen([PYTHON, "-m", "rnnstate", "model", str(fifo), "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    with open(fifo, "wb") as writer:
        writer.write(saved[".keras"].read_bytes())
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert b'"name": "lstm"' in stdout


# ------------------------------------------------------------------------------ weights, inputs


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize(("layer", "weight", "index", "value", "message"), [
    ("dense", 0, (1, 2), np.nan, "layer 'dense' holds nan in its weight 'kernel' at index [1, 2]"),
    ("lstm", 2, (5,), np.inf, "layer 'lstm' holds inf in its weight 'lstm_cell/bias' at index [5]"),
])  # fmt: skip
def test_non_finite_weights_anywhere_are_an_input_error(tmp_path, suffix, layer, weight, index,
                                                        value, message):  # fmt: skip
    model = lstm_model()
    values = model.get_layer(layer).get_weights()
    values[weight][index] = value
    model.get_layer(layer).set_weights(values)
    path = tmp_path / f"bad{suffix}"
    model.save(path)
    one_line_error(invoke("model", path), 1,
                   f"{path}: {message}; expected finite numbers in every weight")  # fmt: skip


@pytest.fixture(scope="module")
def two_inputs(tmp_path_factory):
    """A model of two inputs: a (T, 2) into a SimpleRNN whose initial state is Dense(b), b (3,)."""
    keras.utils.set_random_seed(0)
    a, b = keras.Input((T, 2), name="a"), keras.Input((3,), name="b")
    start = keras.layers.Dense(4, name="start")(b)
    decoder = keras.layers.SimpleRNN(4, name="decoder")(a, initial_state=[start])
    path = tmp_path_factory.mktemp("two") / "two.keras"
    keras.Model([a, b], decoder).save(path)
    return path


@pytest.mark.parametrize(("a_rows", "b_rows"), [(4, 3), (3, 4)])
def test_inputs_with_different_batch_sizes_are_named(two_inputs, tmp_path, a_rows, b_rows):
    arrays = tmp_path / "ab.npz"
    np.savez(arrays, a=np.ones((a_rows, T, 2), "f"), b=np.ones((b_rows, 3), "f"))
    one_line_error(invoke("model", two_inputs, "--layer", "decoder", "--input", arrays), 1,
                   f"{arrays}: holds inputs with different numbers of sequences ('a' {a_rows}, "
                   f"'b' {b_rows}); the model's inputs take the same number N each")  # fmt: skip


def test_a_float_token_id_beyond_the_inputs_integers_is_refused_without_a_warning(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((T,), dtype="int32", name="ids"),
                              keras.layers.Embedding(10, 2),
                              keras.layers.LSTM(3, name="lstm")])  # fmt: skip
    path = tmp_path / "tokens.keras"
    model.save(path)
    ids = tmp_path / "ids.npy"
    np.save(ids, np.array([[1.0, 2.0, 1e10, 3.0, 4.0]]))
    process = subprocess.run(
        [PYTHON, "-W", "default", "-m", "rnnstate", "model", str(path), "--layer", "lstm",
         "--input", str(ids)], capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert process.returncode == 1
    assert process.stderr.decode() == (
        f"rnnstate: error: {ids}: holds 'ids' with token id 1e+10 at [0, 2], beyond the int32 ids "
        "the model's input 'ids' takes\n"
    )
