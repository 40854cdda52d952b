"""Reading the user's input and weight files: each format, and each way a file can be wrong."""

import io
import pickle
import zipfile

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from rnnstate.data import read_input, read_weights
from rnnstate.errors import InputError

X = np.arange(12, dtype=np.float32).reshape(4, 3) / 4  # (T, D) = (4, 3)


def expect_error(call, *args, message: str) -> str:
    with pytest.raises(InputError) as error:
        call(*args)
    assert str(error.value) == f"{args[0]}: {message}"
    return str(error.value)


# ------------------------------------------------------------------------------ formats


def test_npy_2d_gets_a_batch_axis(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, X)
    x = read_input(str(path))
    assert x.shape == (1, 4, 3) and x.dtype == np.float32
    assert_array_equal(x[0], X)


def test_npy_3d_batch_and_integer_dtype(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.arange(24, dtype=np.int16).reshape(2, 4, 3))
    x = read_input(str(path))
    assert x.shape == (2, 4, 3) and x.dtype == np.float32
    assert x[1, 3, 2] == 23.0


TOKEN_IDS_NOTE = (
    "rnnstate: ids{suffix}: holds a (4, 12) array of integers, read as one sequence of T=4 steps "
    "of D=12 features; if they are token ids, a Keras model's Embedding turns them into vectors: "
    "rnnstate model MODEL --input ids{suffix} --layer NAME\n"
)


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_saved_2d_integers_are_read_with_a_note_that_they_look_like_token_ids(
    tmp_path, monkeypatch, capsys, suffix
):
    from rnnstate.data import open_dataset

    monkeypatch.chdir(tmp_path)
    ids = np.arange(48, dtype=np.int32).reshape(4, 12)
    np.save("ids.npy", ids) if suffix == ".npy" else np.savez("ids.npz", x=ids)
    x = read_input(f"ids{suffix}")
    assert x.shape == (1, 4, 12) and x[0, 3, 11] == 47.0
    assert capsys.readouterr().err == TOKEN_IDS_NOTE.format(suffix=suffix)
    assert open_dataset(f"ids{suffix}").shape == (1, 4, 12)  # the streamed reading says it too
    assert capsys.readouterr().err == TOKEN_IDS_NOTE.format(suffix=suffix)


def test_floats_and_3d_integers_get_no_note(tmp_path, capsys):
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "ids.npy", np.arange(24, dtype=np.int64).reshape(2, 4, 3))
    read_input(str(tmp_path / "x.npy"))
    read_input(str(tmp_path / "ids.npy"))
    assert capsys.readouterr().err == ""


def test_npz_array_named_x_among_others(tmp_path):
    path = tmp_path / "data.npz"
    np.savez(path, labels=np.zeros(4), x=X)
    assert_array_equal(read_input(str(path))[0], X)


def test_npz_only_array_whatever_its_name(tmp_path):
    path = tmp_path / "data.npz"
    np.savez_compressed(path, sequence=X)
    assert_array_equal(read_input(str(path))[0], X)


def test_csv_with_header(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b,c\n" + "\n".join(",".join(str(v) for v in row) for row in X) + "\n")
    assert_array_equal(read_input(str(path))[0], X)


def test_csv_without_header(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("1,2\n3,4.5\n-1e-3,7\n")
    expected = np.array([[1, 2], [3, 4.5], [-1e-3, 7]], dtype=np.float32)
    assert_array_equal(read_input(str(path))[0], expected)


def test_json_nested_list(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("[[[1, 2], [3, 4]], [[5, 6], [7, 8.5]]]")
    x = read_input(str(path))
    assert x.shape == (2, 2, 2) and x[1, 1, 1] == 8.5


def test_json_rnnstate_document_uses_its_x(tmp_path):
    path = tmp_path / "run.json"
    path.write_text('{"schema": "rnnstate/1", "x": [[[0.5], [1.5]]], "o": [[9]]}')
    assert_array_equal(read_input(str(path)), [[[0.5], [1.5]]])


def test_json_from_stdin(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"[[1, 2], [3, 4]]")))
    assert_array_equal(read_input("-"), [[[1, 2], [3, 4]]])


# ------------------------------------------------------------------------------ bad input files


def test_missing_file(tmp_path):
    expect_error(read_input, str(tmp_path / "nope.npy"), message="no such file")


def test_directory(tmp_path):
    expect_error(read_input, str(tmp_path), message="is a directory; expected a file")


def test_unreadable(tmp_path, monkeypatch):
    path = tmp_path / "x.npy"
    np.save(path, X)

    real_open = open

    def refuse(file, mode="r", *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied")
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", refuse)  # chmod does not stop root
    expect_error(read_input, str(path), message="cannot be read: permission denied")


def test_empty(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("")
    expect_error(read_input, str(path), message="is empty")


def test_unknown_extension(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("1,2")
    expect_error(
        read_input, str(path), message="has '.txt'; expected one of .npy, .npz, .csv, .json"
    )


def test_npy_not_an_array(tmp_path):
    path = tmp_path / "x.npy"
    path.write_bytes(b"this is text")
    expect_error(
        read_input,
        str(path),
        message="the array is not a valid .npy array: the magic string is not correct; expected "
        "b'\\x93NUMPY', got b'this i'",
    )


def test_npy_header_that_breaks_numpy_s_tokenizer(tmp_path):
    """Found by the fuzz test: an unclosed bracket in the header fails inside tokenize."""
    path = tmp_path / "x.npy"
    path.write_bytes(b"\x93NUMPY\x00\x00\r\x00" + b"\x00" * 14 + b"(")
    expect_error(
        read_input,
        str(path),
        message="the array is not a valid .npy array: ('EOF in multi-line statement', (2, 0))",
    )


def test_npy_header_promising_more_than_the_file_holds(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((1000, 1000), dtype=np.float32))
    path.write_bytes(path.read_bytes()[:200])
    expect_error(
        read_input,
        str(path),
        message="the array is truncated: its header promises shape (1000, 1000) of float32 "
        "(4000000 bytes) but 72 bytes follow",
    )


def test_pickled_object_array_is_never_loaded(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    expect_error(
        read_input,
        str(path),
        message="the array holds pickled Python objects, which are never loaded",
    )


def test_npz_with_a_pickled_member_is_refused_by_name(tmp_path):
    path = tmp_path / "x.npz"
    np.savez(path, x=X, evil=np.array([object()], dtype=object))
    expect_error(
        read_input,
        str(path),
        message="array 'evil' holds pickled Python objects, which are never loaded",
    )


def test_npz_with_a_raw_pickle_member(tmp_path):
    path = tmp_path / "x.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.pkl", pickle.dumps([1, 2]))
    expect_error(read_input, str(path), message="member 'x.pkl' is not an .npy array")


def test_npz_corrupted(tmp_path):
    path = tmp_path / "x.npz"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    expect_error(
        read_input, str(path), message="is not a valid .npz archive: File is not a zip file"
    )


def test_npz_without_x_and_several_arrays(tmp_path):
    path = tmp_path / "x.npz"
    np.savez(path, a=X, b=X)
    expect_error(
        read_input,
        str(path),
        message="holds arrays ['a', 'b'] and none is named 'x'; expected 'x' or one array",
    )


def test_csv_ragged(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("1,2\n3\n")
    expect_error(
        read_input, str(path), message="row 2 of the data has 1 values; expected 2, like the first"
    )


def test_csv_missing_cell(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("1,2\n3,\n")
    expect_error(
        read_input, str(path), message="row 2, column 2 of the data is empty; expected a number"
    )


def test_csv_non_numeric(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("1,2\n3,abc\n")
    expect_error(
        read_input, str(path), message="row 2, column 2 of the data is 'abc'; expected a number"
    )


def test_json_unparseable(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("[[1, 2]")
    with pytest.raises(InputError, match=r"x.json: is not valid JSON: "):
        read_input(str(path))


def test_json_ragged(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("[[1, 2], [3]]")
    expect_error(
        read_input,
        str(path),
        message="is ragged: its lists have different lengths; expected (T, D) or (N, T, D)",
    )


def test_json_non_numeric(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('[["a", "b"]]')
    expect_error(read_input, str(path), message="holds non-numeric values; expected numbers only")


def test_json_booleans_are_not_numbers(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("[[true, false]]")
    expect_error(
        read_input, str(path), message="the input has dtype bool; expected integers or floats"
    )


def test_json_object_that_is_not_an_rnnstate_document(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"data": [[1]]}')
    expect_error(
        read_input,
        str(path),
        message="is a JSON object but not an rnnstate document with an 'x'; expected a nested "
        "list of numbers or the output of rnnstate --json",
    )


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ((5,), "holds an array of shape (5,); expected (T, D) or (N, T, D)"),
        ((1, 2, 3, 4), "holds an array of shape (1, 2, 3, 4); expected (T, D) or (N, T, D)"),
        ((0, 3), "holds an array of shape (0, 3); every size must be at least 1"),
        ((4, 0), "holds an array of shape (4, 0); every size must be at least 1"),
    ],
)
def test_wrong_rank_or_zero_size(tmp_path, shape, message):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros(shape, dtype=np.float32))
    expect_error(read_input, str(path), message=message)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf(tmp_path, bad):
    path = tmp_path / "x.npy"
    values = X.copy()
    values[2, 1] = bad
    np.save(path, values)
    expect_error(
        read_input,
        str(path),
        message="the input holds NaN or infinite values (first at [2, 1]); expected finite "
        "numbers",
    )


def test_float64_too_large_for_float32(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.array([[1.0, 1e300]]))
    expect_error(
        read_input,
        str(path),
        message="the input holds a value too large for float32 (1e+300 at [0, 1]); expected "
        "numbers within ±3.403e+38",
    )


# ------------------------------------------------------------------------------ weights


def save_weights(path, **arrays):
    np.savez(path, **{name: np.asarray(a, dtype=np.float32) for name, a in arrays.items()})
    return str(path)


def test_weights_in_keras_layout(tmp_path):
    path = save_weights(
        tmp_path / "w.npz",
        kernel=np.ones((2, 12)),
        recurrent_kernel=np.ones((3, 12)),
        bias=np.arange(12),
    )
    weights = read_weights(path, "lstm", True)
    assert weights.units == 3 and weights.kernel.shape == (2, 12)
    assert_array_equal(weights.bias, np.arange(12))


def test_weights_without_bias(tmp_path):
    path = save_weights(
        tmp_path / "w.npz", kernel=np.ones((2, 3)), recurrent_kernel=np.ones((3, 3))
    )
    assert read_weights(path, "rnn", True).bias is None


def test_gru_bias_for_the_other_reset_variant_says_which_option(tmp_path):
    path = save_weights(
        tmp_path / "w.npz",
        kernel=np.ones((2, 9)),
        recurrent_kernel=np.ones((3, 9)),
        bias=np.zeros(12),
    )
    expect_error(
        read_weights,
        path,
        "gru",
        True,
        message="bias has shape (12,); a GRU with reset_after needs (2, 9) — use --reset-before "
        "for (9,)",
    )
    path = save_weights(
        tmp_path / "w2.npz",
        kernel=np.ones((2, 9)),
        recurrent_kernel=np.ones((3, 9)),
        bias=np.zeros((2, 9)),
    )
    expect_error(
        read_weights,
        path,
        "gru",
        False,
        message="bias has shape (2, 9); a GRU with reset_after=False needs (9,) — use "
        "--reset-after for (2, 9)",
    )


def test_recurrent_kernel_of_another_cell(tmp_path):
    path = save_weights(
        tmp_path / "w.npz", kernel=np.ones((2, 12)), recurrent_kernel=np.ones((3, 12))
    )
    expect_error(
        read_weights,
        path,
        "gru",
        True,
        message="recurrent_kernel has shape (3, 12); a GRU needs (M, 3M); these look like an "
        "LSTM's weights: try rnnstate lstm",
    )


def test_kernel_width_must_match_m(tmp_path):
    path = save_weights(
        tmp_path / "w.npz", kernel=np.ones((2, 8)), recurrent_kernel=np.ones((3, 12))
    )
    expect_error(
        read_weights,
        path,
        "lstm",
        True,
        message="kernel has shape (2, 8); an LSTM with M=3 needs (D, 12)",
    )


def test_lstm_bias_shape(tmp_path):
    path = save_weights(
        tmp_path / "w.npz",
        kernel=np.ones((2, 12)),
        recurrent_kernel=np.ones((3, 12)),
        bias=np.zeros(9),
    )
    expect_error(
        read_weights, path, "lstm", True,
        message="bias has shape (9,); an LSTM with M=3 needs (12,)",
    )


def test_missing_and_unknown_arrays(tmp_path):
    path = save_weights(
        tmp_path / "w.npz", kernel=np.ones((2, 12)), forward_kernel=np.ones((2, 12))
    )
    expect_error(
        read_weights,
        path,
        "lstm",
        True,
        message="holds arrays forward_kernel, kernel; expected kernel, recurrent_kernel, bias "
        "(bias optional) (or forward_ and backward_ ones with --bidirectional)",
    )


def test_weights_must_be_npz(tmp_path):
    path = tmp_path / "w.npy"
    np.save(path, X)
    message = "has '.npy'; expected one of .npz, .safetensors"
    expect_error(read_weights, str(path), "lstm", True, message=message)


def test_weights_with_nan(tmp_path):
    kernel = np.ones((2, 3))
    kernel[1, 2] = np.nan
    path = save_weights(tmp_path / "w.npz", kernel=kernel, recurrent_kernel=np.ones((3, 3)))
    expect_error(
        read_weights,
        path,
        "rnn",
        True,
        message="kernel holds NaN or infinite values (first at [1, 2]); expected finite numbers",
    )
