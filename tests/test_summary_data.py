"""rnnstate.data.open_dataset: an input read a batch of sequences at a time, never whole."""

from pathlib import Path

import numpy as np
import pytest

from rnnstate.data import open_dataset
from rnnstate.errors import InputError


@pytest.fixture
def x() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((10, 4, 3)).astype(np.float32)


@pytest.mark.parametrize("saver", [np.save, np.savez, np.savez_compressed])
def test_batches_hold_every_sequence_in_order(tmp_path, x, saver):
    path = tmp_path / ("x.npy" if saver is np.save else "x.npz")
    saver(path, x) if saver is np.save else saver(path, x=x)
    dataset = open_dataset(str(path))
    assert dataset.shape == (10, 4, 3)
    batches = list(dataset.batches(4))
    assert [b.shape[0] for b in batches] == [4, 4, 2]
    assert all(b.dtype == np.float32 and b.flags.c_contiguous for b in batches)
    np.testing.assert_array_equal(np.concatenate(batches), x)


def test_an_npy_file_is_memory_mapped_not_read(tmp_path, x, monkeypatch):
    path = tmp_path / "x.npy"
    np.save(path, x)
    loads = []
    original = np.load
    monkeypatch.setattr(np, "load", lambda *a, **k: loads.append(k) or original(*a, **k))
    open_dataset(str(path))
    assert loads == [{"mmap_mode": "r", "allow_pickle": False}]


def test_an_npz_member_other_than_x_is_read_when_it_is_the_only_one(tmp_path, x):
    path = tmp_path / "data.npz"
    np.savez(path, reviews=x.astype(np.float64))
    np.testing.assert_array_equal(next(open_dataset(str(path)).batches(10)), x)


def test_a_two_dimensional_array_is_one_sequence(tmp_path, x):
    path = tmp_path / "x.npy"
    np.save(path, x[0])
    assert open_dataset(str(path)).shape == (1, 4, 3)


def test_nan_is_named_by_its_place_in_the_file(tmp_path, x):
    x[7, 2, 1] = np.nan
    path = tmp_path / "x.npy"
    np.save(path, x)
    batches = open_dataset(str(path)).batches(3)
    next(batches), next(batches)  # sequences 0 to 5 are finite
    with pytest.raises(InputError, match=r"NaN or infinite values \(first at \[7, 2, 1\]\)"):
        next(batches)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((2, 3, 4, 5), np.float32), r"shape \(2, 3, 4, 5\); expected \(T, D\) or"),
        (np.array([["a"]]), "dtype <U1; expected integers or floats"),
    ],
)
def test_unusable_arrays_are_refused(tmp_path, array, message):
    for path in (tmp_path / "x.npy", tmp_path / "x.npz"):
        np.save(path, array) if path.suffix == ".npy" else np.savez(path, x=array)
        with pytest.raises(InputError, match=message):
            open_dataset(str(path))


def test_a_truncated_npz_member_is_refused(tmp_path, x):
    import zipfile

    path = tmp_path / "x.npz"
    full = tmp_path / "full.npy"
    np.save(full, x)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.npy", full.read_bytes()[:-20])
    with pytest.raises(InputError, match="array 'x' is truncated"):
        open_dataset(str(path))


def test_a_file_that_is_not_an_array_is_refused(tmp_path):
    path = tmp_path / "x.npy"
    path.write_bytes(b"not an array")
    with pytest.raises(InputError, match=r"is not a usable \.npy array"):
        open_dataset(str(path))


def resident_file_bytes() -> int:
    """RssFile of this process: the pages of mapped files it holds."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssFile:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no RssFile line")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_a_mapped_file_read_batch_by_batch_does_not_stay_resident(tmp_path):
    path = tmp_path / "large.npy"
    array = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(4096, 64, 64))
    array[:] = 1.0  # 64 MiB
    del array
    before, most, total = resident_file_bytes(), 0, 0.0
    for batch in open_dataset(str(path)).batches(256):
        total += float(batch.sum())
        most = max(most, resident_file_bytes() - before)  # while the file is mapped
    assert total == 4096 * 64 * 64
    assert most < 16 << 20  # a batch is 4 MiB; the file 64 MiB
