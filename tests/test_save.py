"""Files are written whole or not at all."""

import os
import stat

import pytest

from rnnstate.errors import InputError, SpecError
from rnnstate.save import output_format, write_whole


def test_writes_the_whole_file(tmp_path):
    path = tmp_path / "out.json"
    write_whole(str(path), lambda file: file.write(b"complete"))
    assert path.read_bytes() == b"complete"
    assert os.listdir(tmp_path) == ["out.json"]


def test_file_gets_ordinary_permissions(tmp_path):
    path = tmp_path / "out.json"
    write_whole(str(path), lambda file: file.write(b"x"))
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask


def test_failure_midway_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "out.json"
    path.write_bytes(b"old")

    def fail_halfway(file):
        file.write(b"half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        write_whole(str(path), fail_halfway)
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.json"]


def test_interrupt_midway_leaves_nothing(tmp_path):
    def interrupted(file):
        file.write(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_whole(str(tmp_path / "out.npz"), interrupted)
    assert os.listdir(tmp_path) == []


def test_target_that_is_a_directory(tmp_path):
    (tmp_path / "out.json").mkdir()
    with pytest.raises(InputError, match=r"out\.json: cannot be written: Is a directory"):
        write_whole(str(tmp_path / "out.json"), lambda file: file.write(b"x"))
    assert os.listdir(tmp_path) == ["out.json"]


def test_extension_is_checked_by_option():
    assert output_format("a/run.NPZ", "--output", (".json", ".npz")) == ".npz"
    with pytest.raises(SpecError) as error:
        output_format("w.h5", "--save-weights", (".npz",))
    assert error.value.option == "--save-weights"
    assert str(error.value) == "w.h5: expected a file name ending in .npz"


def test_an_extension_alone_asks_for_a_name_before_it():
    with pytest.raises(SpecError) as error:
        output_format("d/.npz", "--output", (".json", ".npz"))
    assert error.value.option == "--output"
    assert str(error.value) == "d/.npz: expected a name before the extension, like out.npz"
