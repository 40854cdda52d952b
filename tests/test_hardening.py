"""Hardening, round two (issue #19): signals, files written together, crafted archives, bounded
reads, streams, encodings and the small promises. Each test is one case that failed before."""

import io
import json
import os
import signal
import stat
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
from typer.testing import CliRunner

from rnnstate import data
from rnnstate.cli import app

runner = CliRunner()
PYTHON = sys.executable
NUMPY = ["--engine", "numpy"]


def invoke(*args, stdin=None):
    return runner.invoke(app, [str(a) for a in args], input=stdin)


def one_line_error(result, code: int, text: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.stderr)
    assert result.stderr.count("\n") == 1, result.stderr
    assert text in result.stderr, result.stderr


def shell(command: str, **env) -> subprocess.CompletedProcess:
    """Run a shell command with $PYTHON set; stdout and stderr captured as bytes."""
    return subprocess.run(command, shell=True, capture_output=True, timeout=120, check=False,
                          env={**os.environ, "PYTHON": PYTHON, **env})  # fmt: skip


# ------------------------------------------------------------------------------ 1. SIGTERM


@pytest.mark.parametrize("after", [1.0, 2.5])
def test_sigterm_while_writing_ends_143_and_leaves_the_old_file(tmp_path, after):
    target = tmp_path / "t.json"
    target.write_text("old")
    process = subprocess.Popen(
        [PYTHON, "-m", "rnnstate", "lstm", "--seed", "1", "-T", "1000000", "-M", "16",
         "--sequences", "--output", str(target), *NUMPY],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**os.environ, "RNNSTATE_COMPILED": "never"},  # the loop: still running at `after`
    )  # fmt: skip
    time.sleep(after)
    assert process.poll() is None
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 143
    assert b"Traceback" not in stderr
    assert sorted(os.listdir(tmp_path)) == ["t.json"]
    assert target.read_text() == "old"


# ------------------------------------------------------------------------------ 2, 3. all or none


def test_a_failed_run_writes_none_of_its_files(tmp_path):
    (tmp_path / "some-directory.json").mkdir()
    weights = tmp_path / "w.npz"
    result = invoke("lstm", "--seed", "0", *NUMPY, "--save-weights", weights,
                    "--output", tmp_path / "some-directory.json")  # fmt: skip
    one_line_error(result, 1, "some-directory.json: cannot be written: is a directory")
    assert not weights.exists()


def test_the_same_path_twice_is_a_usage_error(tmp_path):
    both = tmp_path / "both.npz"
    result = invoke("lstm", "--seed", "0", *NUMPY, "--output", both, "--save-weights", both)
    one_line_error(result, 2, "is also the file of --save-weights")
    assert not both.exists()


def test_writing_over_the_input_through_a_link_is_a_usage_error(tmp_path):
    x = tmp_path / "x.npz"
    np.savez(x, x=np.ones((1, 3, 2), dtype=np.float32))
    (tmp_path / "link.npz").symlink_to(x)
    result = invoke("lstm", "--input", x, *NUMPY, "--output", tmp_path / "link.npz")
    one_line_error(result, 2, "is also the file of --input")
    assert np.load(x)["x"].shape == (1, 3, 2)


# ------------------------------------------------------------------------------ 4, 5. archives


def npy_header(descr: str, shape: tuple) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": descr, "fortran_order": False, "shape": shape}
    )
    return buffer.getvalue()


def test_a_zip_bomb_is_refused_from_its_header_before_unpacking(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "read_limit", lambda: 50 << 20)  # a machine with 200 MB free
    bomb = tmp_path / "bomb.npz"
    unpacked = 400 << 20
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive, archive.open(
        "x.npy", "w", force_zip64=True
    ) as member:  # fmt: skip
        member.write(npy_header("<f4", (unpacked // 4,)))
        zeros = bytes(16 << 20)
        for _ in range(unpacked // len(zeros)):
            member.write(zeros)
    assert bomb.stat().st_size < 2 << 20
    started = time.monotonic()
    result = invoke("lstm", "--input", bomb, *NUMPY)
    one_line_error(result, 1, "holds more than 52 MB")
    assert time.monotonic() - started < 2.0  # the 400 MB were never unpacked


def patched_zip(tmp_path, name: str, local_offset: int, central_offset: int, value: int):
    """An .npz of one valid array with a 2-byte field of its local and central headers set."""
    buffer = io.BytesIO()
    np.savez(buffer, x=np.ones((1, 3, 2), dtype=np.float32))
    raw = bytearray(buffer.getvalue())
    for signature, offset in ((b"PK\x03\x04", local_offset), (b"PK\x01\x02", central_offset)):
        start = raw.index(signature)
        raw[start + offset : start + offset + 2] = value.to_bytes(2, "little")
    path = tmp_path / name
    path.write_bytes(bytes(raw))
    return path


def zero_size_npz(tmp_path, name: str, descr: str):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.npy", npy_header(descr, (3,)))
    return path


CRAFTED = [
    (lambda p: patched_zip(p, "encrypted.npz", 6, 8, 0x1), "is encrypted"),
    (lambda p: patched_zip(p, "method9.npz", 8, 10, 9), "cannot be read"),
    (lambda p: zero_size_npz(p, "s0.npz", "|S0"), "whose items hold no bytes"),
    (lambda p: zero_size_npz(p, "v0.npz", "|V0"), "whose items hold no bytes"),
    (lambda p: zero_size_npz(p, "u0.npz", "<U0"), "whose items hold no bytes"),
]


@pytest.mark.parametrize(("make", "message"), CRAFTED)
@pytest.mark.parametrize("option", ["--input", "--weights", "--initial-state"])
def test_crafted_archives_are_one_line_errors(tmp_path, make, message, option):
    result = invoke("lstm", "--seed", "0", *NUMPY, option, make(tmp_path))
    one_line_error(result, 1, message)


# ------------------------------------------------------------------------------ 6, 7. bounded reads


def test_a_device_without_end_is_refused_before_reading():
    started = time.monotonic()
    one_line_error(invoke("lstm", "--input", "/dev/zero", *NUMPY), 1,
                   "/dev/zero: has no extension")  # fmt: skip
    assert time.monotonic() - started < 2.0


def test_endless_stdin_is_bounded():
    process = shell('yes 1, | "$PYTHON" -m rnnstate lstm --input - --engine numpy')
    assert process.returncode == 1
    assert process.stderr.decode().startswith("rnnstate: error: -: holds more than 268 MB")
    assert process.stderr.count(b"\n") == 1


def test_a_fifo_says_rnnstate_waits_then_reads_it(tmp_path):
    fifo = tmp_path / "x.json"
    os.mkfifo(fifo)
    process = subprocess.Popen(
        [PYTHON, "-m", "rnnstate", "lstm", "--input", str(fifo), *NUMPY, "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    time.sleep(3.0)
    with open(fifo, "w") as writer:
        writer.write("[[0.5, 1.0], [0.25, -0.5]]")
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0
    assert stderr.decode() == f"rnnstate: waiting for input on {str(fifo)!r} (it ends when " \
        "its writer closes it; Ctrl-C stops rnnstate)\n"  # fmt: skip
    assert json.loads(stdout)["config"]["steps"] == 2


def test_large_json_is_refused_before_parsing(tmp_path):
    large = tmp_path / "large.json"
    with open(large, "wb") as file:
        file.truncate(300 << 20)  # sparse: 300 MB that cost nothing to make
    started = time.monotonic()
    one_line_error(invoke("lstm", "--input", large, *NUMPY), 1, "holds more than 268 MB")
    assert time.monotonic() - started < 2.0


# ------------------------------------------------------------------------------ 8, 9. streams


@pytest.mark.parametrize(
    ("redirection", "message"),
    [
        ("> /dev/full", "rnnstate: error: cannot write to stdout: No space left on device\n"),
        (">&-", "rnnstate: error: stdout is closed; rnnstate writes its output there\n"),
        ("--input - <&-", "rnnstate: error: -: stdin is closed; give the input a file or a pipe\n"),
        ("--input - 0>/dev/null", "rnnstate: error: -: cannot be read: "),
    ],
)
def test_broken_streams_are_one_line_errors(redirection, message):
    process = shell(f'"$PYTHON" -m rnnstate lstm --seed 0 --engine numpy {redirection}')
    assert process.returncode == 1
    assert process.stderr.decode().startswith(message)
    assert process.stderr.count(b"\n") == 1


@pytest.mark.parametrize(
    ("env", "encoding"),
    [({"PYTHONIOENCODING": "ascii"}, "ascii"), ({"PYTHONIOENCODING": "latin-1"}, "latin-1"),
     ({"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""}, "ascii")],
)  # fmt: skip
def test_a_stream_that_is_not_unicode_gets_ascii_marks(env, encoding):
    process = shell('"$PYTHON" -m rnnstate lstm --seed 0 --engine numpy --check', **env)
    assert process.returncode == 0, process.stderr
    text = process.stdout.decode(encoding)  # raises on anything the encoding does not hold
    assert "ok o equals h; largest |h - o| = 0" in text
    assert "| t |" in text  # ASCII box drawing


# --------------------------------------------------------------------- 10, 11. numbers, blame


def test_finite_weights_that_overflow_say_so_on_every_path(tmp_path):
    big = tmp_path / "big.npz"
    np.savez(big, kernel=np.full((2, 12), 3e38, np.float32),
             recurrent_kernel=np.full((3, 12), -3e38, np.float32),
             bias=np.full((12,), 3e38, np.float32))  # fmt: skip
    for engine in (["--engine", "numpy"], ["--engine", "keras"], ["--check"]):
        one_line_error(invoke("lstm", "--weights", big, "--seed", "0", *engine), 1,
                       "is not finite (first at index")  # fmt: skip


def test_empty_weights_blame_the_file(tmp_path):
    empty = tmp_path / "zero.npz"
    np.savez(empty, kernel=np.zeros((2, 0), np.float32),
             recurrent_kernel=np.zeros((0, 0), np.float32))  # fmt: skip
    one_line_error(
        invoke("lstm", "--weights", empty, *NUMPY),
        1,
        "zero.npz: recurrent_kernel has shape (0, 0); every size must be at least 1",
    )


# ------------------------------------------------------------------------------ 12. smaller ones


def test_columns_zero_still_prints_the_tables():
    process = shell('"$PYTHON" -m rnnstate lstm --seed 0 --engine numpy --check', COLUMNS="0")
    assert process.returncode == 0
    assert "✓ o equals h".encode() in process.stdout


def test_a_file_name_with_a_newline_stays_one_line(tmp_path):
    result = invoke("lstm", "--input", tmp_path / "x\nevil.npy", *NUMPY)
    one_line_error(result, 1, "x\\nevil.npy': no such file")


def test_ctrl_c_during_the_imports_is_quiet():
    # from the moment rnnstate's code runs (the interpreter's own start-up comes first)
    for delay in (0.1, 0.2, 0.4):
        process = subprocess.Popen([PYTHON, "-m", "rnnstate", "lstm", *NUMPY],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
        assert b"Traceback" not in stderr, (delay, stderr)
        # 130, or ended by the SIGINT itself (-2) while Python's start-up had not yet set its
        # handler: the shell says 130 either way
        assert process.returncode in (130, 0, -signal.SIGINT), (delay, process.returncode)


@pytest.mark.parametrize(
    ("first_row", "column"), [("0x10,2", "'0x10'"), ("\u22121,2", "'\u22121'")]
)
def test_a_first_row_with_a_number_is_data_not_a_header(tmp_path, first_row, column):
    path = tmp_path / "x.csv"
    path.write_text(f"{first_row}\n1,2\n")
    one_line_error(invoke("lstm", "--input", path, *NUMPY), 1,
                   f"row 1, column 1 of the data is {column}; expected a number")  # fmt: skip


def test_a_header_row_is_said_on_stderr(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n3,4\n")
    result = invoke("lstm", "--input", path, *NUMPY, "--json")
    assert result.exit_code == 0
    assert result.stderr == f"rnnstate: {path}: first row read as a header: 'a,b'\n"


def test_a_255_character_output_name_is_written(tmp_path):
    name = "r" * 250 + ".json"
    result = invoke("rnn", "--seed", "0", *NUMPY, "--output", tmp_path / name)
    assert result.exit_code == 0, result.stderr
    assert json.loads((tmp_path / name).read_text())["cell"] == "rnn"


@pytest.mark.parametrize("home", ["set", "missing"])
def test_the_keras_engine_writes_no_keras_config(tmp_path, home):
    env = {"HOME": str(tmp_path), "TMPDIR": str(tmp_path)}
    command = '"$PYTHON" -m rnnstate rnn --seed 0 -T 2'
    if home == "missing":
        command = f"env -u HOME {command}"
    process = shell(command, **env)
    assert process.returncode == 0, process.stderr
    assert not list(tmp_path.rglob("keras.json"))
    assert not (tmp_path / ".keras").exists()


def test_weights_from_stdin_are_refused_before_reading():
    result = invoke("lstm", "--weights", "-", *NUMPY, stdin="never read")
    one_line_error(result, 1, "-: --weights reads a file (.npz or .safetensors), not stdin")


# ------------------------------------------------------------------------------ 13. replacing files


def test_a_replaced_file_keeps_its_permission_bits(tmp_path):
    target = tmp_path / "run.json"
    target.write_text("old")
    target.chmod(0o600)
    assert invoke("rnn", "--seed", "0", *NUMPY, "--output", target).exit_code == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert json.loads(target.read_text())["cell"] == "rnn"


def test_writing_over_a_symlink_writes_through_it(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert invoke("rnn", "--seed", "0", *NUMPY, "--output", link).exit_code == 0
    assert link.is_symlink()
    assert json.loads(real.read_text())["cell"] == "rnn"
