"""Hardening, round three (issue #29), the run's part: files written onto devices and FIFOs, all
or none in a shared sticky folder, no warning on stderr from --plot, and Ctrl-C or SIGTERM ending
a run within about a second. Each test is one case that failed before. (The memory estimate's
grid is in tests/test_memory.py.)"""

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from rnnstate import save
from rnnstate.cli import app
from rnnstate.engines import STEPS_PER_CHUNK, keras_chunk_steps
from rnnstate.errors import InputError
from rnnstate.interruptible import call_interruptibly

runner = CliRunner()
PYTHON = sys.executable
NUMPY = ["--engine", "numpy", "--seed", "0"]
AS_ROOT = pytest.mark.skipif(os.geteuid() != 0, reason="makes device nodes and other users' files")


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def usage_error(result, option: str, text: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"'{option}'" in result.stderr and text in result.stderr, result.stderr


# ------------------------------------------------------------------- devices, FIFOs, links


def fifo(folder: Path) -> Path:
    path = folder / "pipe.png"
    os.mkfifo(path)
    return path


def null_device(folder: Path) -> Path:
    """A character device node of our own (the null device's numbers), never /dev/null itself:
    a check that failed would replace this one, not the system's."""
    path = folder / "device.png"
    os.mknod(path, 0o666 | 0o020000, os.makedev(1, 3))
    return path


@AS_ROOT
@pytest.mark.parametrize("option", ["--plot", "--output", "--save-weights"])
@pytest.mark.parametrize(
    ("make", "kind"), [(fifo, "a FIFO (named pipe)"), (null_device, "a character device")]
)
@pytest.mark.parametrize("through_link", [False, True])
def test_an_output_onto_a_device_or_fifo_is_refused_before_the_run(
    tmp_path, option, make, kind, through_link
):
    special = make(tmp_path)
    suffix = {"--plot": ".png", "--output": ".json", "--save-weights": ".npz"}[option]
    target = tmp_path / f"link{suffix}" if through_link else special.with_suffix(suffix)
    if through_link:
        target.symlink_to(special.name)
    else:
        special.rename(target)
    mode = os.stat(target).st_mode
    result = invoke("lstm", *NUMPY, option, target)
    what = f"a link to {kind}" if through_link else kind
    usage_error(result, option, f"{target} is {what}; rnnstate writes regular files only")
    assert os.stat(target).st_mode == mode  # still the FIFO or the device
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".rnnstate-")]


def test_the_python_api_refuses_to_write_into_a_fifo(tmp_path):
    from rnnstate import run

    target = tmp_path / "pipe.json"
    os.mkfifo(target)
    with pytest.raises(InputError, match="is a FIFO"):
        save.save_result(str(target), run("lstm", seed=0, engine="numpy"))
    assert os.path.exists(target) and not target.is_file()


# ------------------------------------------------------------- a shared sticky folder


def drop_fowner() -> None:
    """preexec_fn: drop CAP_FOWNER (which lets root replace anyone's file in a sticky folder)
    from the bounding set, so the command runs as any other user does in /tmp."""
    if ctypes.CDLL(None, use_errno=True).prctl(24, 3, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.fixture
def sticky(tmp_path) -> Path:
    """A folder like /tmp (mode 1777, another user's) holding b.png, owned by a third user."""
    folder = tmp_path / "shared"
    folder.mkdir()
    os.chmod(folder, 0o1777)
    os.chown(folder, 1236, 1236)
    (folder / "b.png").write_bytes(b"another user's picture")
    os.chown(folder / "b.png", 1235, 1235)
    return folder


def without_fowner(arguments: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, *arguments], cwd=cwd, capture_output=True, timeout=120,
                          preexec_fn=drop_fowner, check=False)  # fmt: skip


@AS_ROOT
def test_another_users_file_in_a_sticky_folder_is_refused_before_the_run(sticky):
    process = without_fowner(
        ["-m", "rnnstate", "lstm", *NUMPY, "--output", "a.json", "--plot", "b.png"], sticky
    )
    assert process.returncode == 1, process.stderr
    assert process.stderr.decode() == (
        "rnnstate: error: b.png: cannot be replaced: it belongs to another user and its folder "
        "is a shared (sticky) folder, where only the file's owner may replace it\n"
    )
    assert sorted(os.listdir(sticky)) == ["b.png"]  # no a.json: none written
    assert (sticky / "b.png").read_bytes() == b"another user's picture"


WRITE_BOTH = """
import sys
import threading
import time
from rnnstate.engines import STEPS_PER_CHUNK, keras_chunk_steps
from rnnstate.errors import InputError
from rnnstate.interruptible import call_interruptibly
from rnnstate.save import AllOrNothing
try:
    with AllOrNothing() as files:
        files.write("a.json", lambda file: file.write(b"new a"))
        files.write("b.png", lambda file: file.write(b"new b"))
except InputError as error:
    sys.exit(str(error))
"""


@AS_ROOT
def test_files_are_all_or_none_when_the_last_rename_is_not_allowed(sticky):
    """Past the check before the run (a file that became another user's since): the files are
    renamed into place together or not at all."""
    (sticky / "a.json").write_bytes(b"old a")
    process = without_fowner(["-c", WRITE_BOTH], sticky)
    assert process.stderr.decode() == "b.png: cannot be written: Operation not permitted\n"
    assert sorted(os.listdir(sticky)) == ["a.json", "b.png"]  # nothing staged left behind
    assert (sticky / "a.json").read_bytes() == b"old a"
    assert (sticky / "b.png").read_bytes() == b"another user's picture"


def test_a_file_turned_into_a_fifo_after_staging_leaves_the_other_untouched(tmp_path):
    (tmp_path / "a.json").write_bytes(b"old a")
    failure = r"b\.png: cannot be written: is a FIFO"
    with pytest.raises(InputError, match=failure), save.AllOrNothing() as files:
        files.write(str(tmp_path / "a.json"), lambda file: file.write(b"new a"))
        files.write(str(tmp_path / "b.png"), lambda file: file.write(b"new b"))
        os.mkfifo(tmp_path / "b.png")  # after the checks, before the renames
    assert (tmp_path / "a.json").read_bytes() == b"old a"
    assert sorted(os.listdir(tmp_path)) == ["a.json", "b.png"]


def test_ctrl_c_while_the_files_are_renamed_waits_until_all_are_in_place(tmp_path, monkeypatch):
    renamed = []
    real_rename = os.rename

    def rename_then_interrupt(source, target):
        real_rename(source, target)
        renamed.append(target)
        if len(renamed) == 1:
            os.kill(os.getpid(), signal.SIGINT)  # arrives between the first and second rename

    monkeypatch.setattr(save.os, "rename", rename_then_interrupt)
    with pytest.raises(KeyboardInterrupt), save.AllOrNothing() as files:
        files.write(str(tmp_path / "a.json"), lambda file: file.write(b"a"))
        files.write(str(tmp_path / "b.png"), lambda file: file.write(b"b"))
    assert (tmp_path / "a.json").read_bytes() == b"a"
    assert (tmp_path / "b.png").read_bytes() == b"b"
    assert sorted(os.listdir(tmp_path)) == ["a.json", "b.png"]


# ---------------------------------------------------------------------------------- SIGTERM


@pytest.mark.parametrize("after", [0.5, 0.9, 1.3])
def test_sigterm_while_the_command_imports_ends_143(after):
    """Typer turns any KeyboardInterrupt into exit 130; SIGTERM while a command imports what it
    needs (before its run) still ends with 143."""
    process = subprocess.Popen(
        [PYTHON, "-m", "rnnstate", "lstm", *NUMPY, "-T", "1000000", "-M", "16", "--sequences"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    time.sleep(after)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert (process.returncode, stderr) == (143, b"")


# --------------------------------------------------------------- Ctrl-C inside long C calls


def interrupt_soon() -> threading.Timer:
    """A SIGINT to this process in a fifth of a second, as Ctrl-C sends it."""
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


def test_ctrl_c_reaches_python_while_a_call_is_stuck_in_c_code():
    released = threading.Event()  # the worker waits on it: a call that never returns by itself
    interrupt_soon()
    with pytest.raises(KeyboardInterrupt):
        call_interruptibly(released.wait)
    released.set()


@pytest.mark.parametrize("where", ["weights", "keras"])
def test_ctrl_c_during_the_weight_draw_or_the_keras_engine_raises_at_once(monkeypatch, where):
    """The seeded weights (a QR in LAPACK for a large M: 8-26 s) and everything TensorFlow does
    (building the layer, each chunk: 51 s at M=4096) run where Ctrl-C does not wait for them."""
    from rnnstate import api
    from rnnstate.engines import keras as keras_engine

    released = threading.Event()
    stuck = lambda *arguments: released.wait()  # noqa: E731
    if where == "weights":
        monkeypatch.setattr(api, "initial_weights", stuck)
    else:
        monkeypatch.setattr(keras_engine, "run_here", stuck)
    interrupt_soon()
    with pytest.raises(KeyboardInterrupt):
        api.run("lstm", seed=0, engine="keras")
    released.set()


@pytest.mark.parametrize(("N", "D", "M", "steps"), [
    (1, 2, 3, STEPS_PER_CHUNK),  # small: the usual chunk
    (1, 2, 4096, 29),  # 2e9 // (4 * 4096 * 4098): a few tenths of a second, not 51 s
    (20000, 8, 64, 5),
    (10**6, 2, 4096, 1),  # never fewer than one
])  # fmt: skip
def test_keras_chunks_are_sized_by_work(N, D, M, steps):
    assert keras_chunk_steps(N, D, M, k=4) == steps


# ------------------------------------------------------------------------- --plot warnings


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_a_plot_of_inputs_near_the_float32_limit_draws_them_without_a_warning(tmp_path, suffix):
    x = np.array([[[3.4e38, -3.4e38], [3.2e38, -3.3e38], [1.0, 2.0]]], dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    target = tmp_path / f"big{suffix}"
    process = subprocess.run(
        [PYTHON, "-W", "default", "-m", "rnnstate", "lstm", *NUMPY, "--input", tmp_path / "x.npy",
         "--sequences", "--plot", target],
        capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert (process.returncode, process.stderr) == (0, f"wrote {target}\n".encode())
    assert target.stat().st_size > 1000


def test_a_warning_while_writing_is_one_line_not_a_dump(tmp_path, monkeypatch):
    import warnings

    def draw_with_a_warning(path, *arguments):
        warnings.warn("something odd\nsecond line", RuntimeWarning, stacklevel=1)
        Path(path).write_bytes(b"picture")

    monkeypatch.setattr(save, "save_plot", draw_with_a_warning)
    result = invoke("lstm", *NUMPY, "--plot", tmp_path / "a.png")
    assert result.exit_code == 0
    assert result.stderr == (
        f"rnnstate: note: while writing the files: something odd\nwrote {tmp_path / 'a.png'}\n"
    )
