"""Nothing breaks it: fuzzed options and files, readers that stop early, Ctrl-C.

Every case must end with exit 0, 1 or 2; 1 and 2 with exactly one line on stderr; never a
traceback; never a file left behind.
"""

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from rnnstate.cli import app

runner = CliRunner()

ODD_VALUES = ["0", "-1", "abc", "1.5", "", "1e3", "9" * 30, "0x10", " 3", "--", "nan", "-T"]
values = st.one_of(
    st.integers(-3, 9).map(str),
    st.sampled_from(ODD_VALUES),
    st.integers(2**62, 2**70).map(str),
)
OPTIONS = ["-T", "-D", "-M", "-N", "--seed", "--only", "--engine", "--input", "--weights"]
FLAGS = [
    "--sequences",
    "--no-sequences",
    "--json",
    "--gates",
    "--check",
    "--no-bias",
    "--reset-before",
    "--frobnicate",
    "-x",
]


def assert_clean_ending(result) -> None:
    """Exit 0, 1 or 2; a one-line error for 1 and 2; no traceback."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code in (0, 1, 2), result.exit_code
    assert "Traceback" not in result.stderr
    if result.exit_code in (1, 2):
        assert result.stderr.count("\n") == 1 and result.stderr.endswith("\n"), result.stderr


@st.composite
def command_lines(draw):
    cell = draw(st.sampled_from(["lstm", "gru", "rnn", "LSTM", "transformer"]))
    args = [cell]
    for _ in range(draw(st.integers(0, 5))):
        if draw(st.booleans()):
            args += [draw(st.sampled_from(OPTIONS)), draw(values)]
        else:
            args.append(draw(st.sampled_from(FLAGS)))
    if draw(st.booleans()):
        args.append(draw(st.sampled_from(OPTIONS)))  # an option missing its value
    return args


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(args=command_lines())
def test_fuzzed_options_end_cleanly(args, tmp_path):
    before = set(os.listdir(tmp_path))
    with contextlib.chdir(tmp_path):
        result = runner.invoke(app, args if "--engine" in args else [*args, "--engine", "numpy"])
    assert_clean_ending(result)
    assert set(os.listdir(tmp_path)) == before


def npy_bytes(array, allow_pickle=False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


GOOD_NPY = npy_bytes(np.ones((4, 2), dtype=np.float32))
GOOD_NPZ = npz_bytes(
    kernel=np.ones((2, 12), np.float32), recurrent_kernel=np.ones((3, 12), np.float32)
)
CRAFTED = [
    GOOD_NPY,
    GOOD_NPZ,
    npy_bytes(np.array([None, {"a": 1}], dtype=object), allow_pickle=True),
    npy_bytes(np.zeros((2, 3, 4, 5))),
    npy_bytes(np.full((3, 2), np.nan)),
    npy_bytes(np.array([[1e39, 1.0]])),
    npy_bytes(np.zeros((0, 2))),
    npy_bytes(np.array([["a", "b"]])),
    npy_bytes(np.ones((2, 2), dtype=np.complex64)),
    b"[" * 5000 + b"]" * 5000,
    b"[" * 300 + b"1" + b"]" * 300,
    b'{"schema": "rnnstate/1", "x": "no"}',
    b"[[1, 2], [3, null]]",
    b"[[1, 2], [3, 4]]",
    b"a,b\n1,2\n3,\n",
    b"1,2\nnan,inf\n",
    b"1,2\n3,4\n",
    b"\xff\xfe\x00garbage",
]


@st.composite
def file_contents(draw):
    """Random bytes, or crafted content, possibly truncated or with a byte flipped."""
    data = draw(st.one_of(st.binary(max_size=300), st.sampled_from(CRAFTED)))
    if data and draw(st.booleans()):
        cut = draw(st.integers(0, len(data)))
        data = data[:cut]
    if data and draw(st.booleans()):
        spot = draw(st.integers(0, len(data) - 1))
        data = data[:spot] + bytes([draw(st.integers(0, 255))]) + data[spot + 1 :]
    return data


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=file_contents(),
    suffix=st.sampled_from([".npy", ".npz", ".csv", ".json", ".txt", ""]),
    role=st.sampled_from(["--input", "--weights"]),
    cell=st.sampled_from(["lstm", "gru", "rnn"]),
)
def test_fuzzed_files_end_cleanly(data, suffix, role, cell, tmp_path):
    path = tmp_path / f"data{suffix}"
    path.write_bytes(data)
    before = set(os.listdir(tmp_path))
    result = runner.invoke(app, [cell, role, str(path), "--engine", "numpy", "--json"])
    assert_clean_ending(result)
    if result.exit_code == 1:
        assert result.stderr.startswith(f"rnnstate: error: {path}: ")
    assert set(os.listdir(tmp_path)) == before


def zip_header_fields(data: bytes) -> list[tuple[int, int]]:
    """(offset, size) of the fields of every local and central zip header in `data` a crafted
    archive changes: flags, compression method, CRC, compressed and uncompressed sizes."""
    fields = []
    for signature, offsets in (
        (b"PK\x03\x04", (6, 8, 14, 18, 22)),
        (b"PK\x01\x02", (8, 10, 16, 20, 24)),
    ):
        start = data.find(signature)
        while start != -1:
            fields += [(start + offset, 2 if i < 2 else 4) for i, offset in enumerate(offsets)]
            start = data.find(signature, start + 4)
    return fields


ODD_DTYPES = ["|S0", "|V0", "<U0", "<f4", "|b1", "<c8", "<M8[s]", "|O"]


@st.composite
def crafted_archives(draw):
    """A valid .npz (input, weights or states) with zip header fields set to odd values, or
    with an array header of an odd dtype and shape (huge, empty, zero-size items)."""
    descr = draw(st.sampled_from(ODD_DTYPES))
    shape = draw(st.sampled_from([(3,), (0, 2), (1, 4, 2), (2**40,), (2**20, 2**20)]))
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": descr, "fortran_order": False, "shape": shape}
    )
    odd = io.BytesIO()
    with zipfile.ZipFile(odd, "w", draw(st.sampled_from([0, 8]))) as archive:
        archive.writestr("x.npy", header.getvalue() + bytes(draw(st.integers(0, 64))))
    data = bytearray(draw(st.sampled_from([GOOD_NPZ, odd.getvalue()])))
    fields = zip_header_fields(bytes(data))
    for _ in range(draw(st.integers(0, 3))):
        offset, size = draw(st.sampled_from(fields))
        value = draw(st.sampled_from([0, 1, 9, 12, 99, 2**16 - 1, 2**31]))
        data[offset : offset + size] = (value % (1 << (8 * size))).to_bytes(size, "little")
    return bytes(data)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=crafted_archives(), role=st.sampled_from(["--input", "--weights", "--initial-state"]))
def test_crafted_archives_end_cleanly(data, role, tmp_path):
    path = tmp_path / "crafted.npz"
    path.write_bytes(data)
    result = runner.invoke(app, ["lstm", role, str(path), "--engine", "numpy", "--json"])
    assert_clean_ending(result)
    assert set(os.listdir(tmp_path)) == {"crafted.npz"}


def test_fuzzed_json_on_stdin_ends_cleanly():
    for data in CRAFTED:
        result = runner.invoke(app, ["gru", "--input", "-", "--engine", "numpy"], input=data)
        assert_clean_ending(result)


# ------------------------------------------------------------------------------ processes


def run_shell(command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        command,
        shell=True,
        capture_output=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHON": sys.executable},
    )


@pytest.mark.parametrize(
    "pipeline",
    [
        '"$PYTHON" -m rnnstate lstm --seed 0 --engine numpy | head -1',
        '"$PYTHON" -m rnnstate lstm --seed 0 --engine numpy -T 400000 --sequences --json '
        "| head -c 1",
    ],
)
def test_reader_that_stops_early_ends_quietly(pipeline):
    process = run_shell(pipeline)
    assert process.stderr == b""
    assert len(process.stdout) >= 1


def start(*args: str) -> subprocess.Popen:
    """The command in a process of its own; the numpy engine as its loop, whose pace the
    signal timings here were chosen for (a warm compiled kernel can finish first)."""
    return subprocess.Popen(
        [sys.executable, "-m", "rnnstate", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "RNNSTATE_COMPILED": "never"},
    )


def interrupt(process: subprocess.Popen, after: float) -> tuple[int, float, bytes]:
    """Send SIGINT after `after` seconds; return the exit code, seconds to stop, and stderr."""
    time.sleep(after)
    assert process.poll() is None, "the run ended before it could be interrupted"
    process.send_signal(signal.SIGINT)
    sent = time.monotonic()
    _, stderr = process.communicate(timeout=60)
    return process.returncode, time.monotonic() - sent, stderr


LONG_RUN = ["lstm", "-T", "3000000", "-D", "8", "-M", "16", "--seed", "0", "--json"]


@pytest.mark.parametrize(
    ("engine", "after", "extra"),
    [
        ("numpy", 1.5, []),
        ("keras", 6.0, []),  # between chunks of TensorFlow's loop
        ("keras", 1.0, []),  # while TensorFlow is still being imported
        ("keras", 6.0, ["--bidirectional", "-T", "1000000"]),  # inside one long TensorFlow call
    ],
)
def test_ctrl_c_exits_130_quietly_within_two_seconds(engine, after, extra):
    code, seconds, stderr = interrupt(start(*LONG_RUN, "--engine", engine, *extra), after)
    # a long run may first say how long it should take (docs/guarantees.md); nothing else
    stderr = b"".join(
        line
        for line in stderr.splitlines(keepends=True)
        if not line.startswith(b"rnnstate: this run should take about ")
    )
    assert code == 130
    assert stderr == b""
    assert seconds < 2.0


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    signal_sent=st.sampled_from([signal.SIGINT, signal.SIGTERM]),
    after=st.floats(0.3, 4.0),
)
def test_signals_at_random_moments_keep_the_old_file(signal_sent, after, tmp_path):
    folder = tmp_path / f"run-{time.monotonic_ns()}"
    folder.mkdir()
    target = folder / "t.json"
    target.write_text("old")
    process = start("lstm", "--seed", "1", "-T", "600000", "-M", "16", "--sequences",
                    "--engine", "numpy", "--output", str(target))  # fmt: skip
    time.sleep(after)
    process.send_signal(signal_sent)
    _, stderr = process.communicate(timeout=60)
    assert b"Traceback" not in stderr
    assert os.listdir(folder) == ["t.json"]  # no temporary file
    if process.returncode == 0:  # it finished first: the new file, whole
        assert json.loads(target.read_text())["schema"] == "rnnstate/3"
    else:
        assert process.returncode == {signal.SIGINT: 130, signal.SIGTERM: 143}[signal_sent]
        assert target.read_text() == "old"


def test_interrupted_run_leaves_no_output_file(tmp_path):
    output = tmp_path / "run.json"
    code, _, _ = interrupt(start(*LONG_RUN, "--engine", "numpy", "--output", str(output)), 1.5)
    assert code == 130
    assert os.listdir(tmp_path) == []


def test_json_stays_one_document_when_written_whole(tmp_path):
    output = tmp_path / "run.json"
    process = start("rnn", "--seed", "0", "--engine", "numpy", "--output", str(output))
    assert process.wait(timeout=60) == 0
    assert json.loads(output.read_text())["schema"] == "rnnstate/3"


def test_a_run_leaves_nothing_in_the_temporary_folder(tmp_path):
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "rnnstate",
            "gru",
            "--seed",
            "0",
            "--check",
            "--output",
            str(tmp_path / "run.json"),
        ],
        capture_output=True,
        timeout=120,
        check=False,
        env={**os.environ, "TMPDIR": str(temporary)},
    )
    assert process.returncode == 0
    assert os.listdir(temporary) == []
    assert sorted(os.listdir(tmp_path)) == [
        "run.json",
        "tmp",
    ]
