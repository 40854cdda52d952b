"""rnnstate model --summary: the example model's LSTM over every sequence of a file of token ids,
through its Embedding (whose mask leaves the padding out), against Keras's own layer outputs."""

import json
import os

import numpy as np
import pytest
from numpy.testing import assert_allclose
from typer.testing import CliRunner

from rnnstate.cli import app

os.environ["KERAS_BACKEND"] = "tensorflow"
keras = pytest.importorskip("keras")

runner = CliRunner()
MODEL = "docs/example/sentiment.keras"
N, T, K, UNIT = 150, 12, 6, 3


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def reviews(tmp_path_factory):
    """N reviews of 3 to T word ids (1..9), padded with 0 at the end, saved as .npy."""
    rng = np.random.default_rng(5)
    ids = np.zeros((N, T), dtype=np.int32)
    for row, length in enumerate(rng.integers(3, T + 1, size=N)):
        ids[row, :length] = rng.integers(1, 10, size=length)
    path = tmp_path_factory.mktemp("reviews") / "ids.npy"
    np.save(path, ids)
    return ids, str(path)


@pytest.fixture(scope="module")
def keras_h(reviews):
    """Keras's h_t (N, T, 8) of the model's LSTM on the embedded reviews with the Embedding's
    mask: the trained layer's weights in a copy that returns every step."""
    ids, _ = reviews
    model = keras.saving.load_model(MODEL, compile=False, safe_mode=True)
    embedding, lstm = model.get_layer("embedding"), model.get_layer("lstm")
    every_step = keras.layers.LSTM(8, return_sequences=True)
    every_step.build((None, T, 4))
    every_step.set_weights(lstm.get_weights())
    embedded = embedding(ids)
    return np.asarray(every_step(embedded, mask=embedding.compute_mask(ids)))


def test_statistics_of_h_equal_those_of_keras_outputs_at_unmasked_steps(reviews, keras_h):
    ids, path = reviews
    result = invoke("model", MODEL, "--layer", "lstm", "--input", path, "--summary",
                    "--batch-size", "64", "--json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)["summary"]
    counted = ids != 0
    assert (summary["sequences"], summary["batch_size"]) == (N, 64)
    assert summary["steps_counted"] == int(counted.sum())
    assert summary["steps_masked"] == int((~counted).sum())
    chosen = keras_h[counted].astype(np.float64)  # (steps counted, 8)
    stats = summary["units"]["h_t"]
    assert_allclose(stats["mean"], chosen.mean(axis=0), atol=1e-5)
    assert_allclose(stats["std"], chosen.std(axis=0), atol=1e-5)
    assert_allclose(stats["min"], chosen.min(axis=0), atol=1e-5)
    assert_allclose(stats["max"], chosen.max(axis=0), atol=1e-5)
    assert set(summary["units"]) == {"i", "f", "g", "og", "c_t", "h_t"}


def test_top_places_are_where_keras_h_of_the_unit_is_largest(reviews, keras_h):
    ids, path = reviews
    result = invoke("model", MODEL, "--layer", "lstm", "--input", path, "--summary",
                    "--batch-size", "40", "--top", K, "--unit", UNIT, "--json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    places = json.loads(result.stdout)["summary"]["top"]["places"]
    values = np.where(ids != 0, keras_h[:, :, UNIT], -np.inf)
    largest = np.argsort(-values, axis=None, kind="stable")[:K]
    expected = [tuple(int(i) for i in np.unravel_index(k, values.shape)) for k in largest]
    assert [(p["sequence"], p["step"]) for p in places] == expected
    assert_allclose([p["value"] for p in places], values.ravel()[largest], atol=1e-5)


def test_batch_sizes_give_the_same_tables(reviews):
    _, path = reviews
    tables = []
    for size in ("7", "150"):
        result = invoke("model", MODEL, "--layer", "lstm", "--input", path, "--summary",
                        "--batch-size", size)  # fmt: skip
        assert result.exit_code == 0, result.stderr
        tables.append(result.stdout.split("steps counted", 1)[1])  # after the batch size
    assert tables[0] == tables[1]


def test_header_names_the_layer_and_the_masked_steps(reviews):
    ids, path = reviews
    result = invoke("model", MODEL, "--layer", "lstm", "--input", path, "--summary")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"LSTM on the numpy engine  T={T} D=4 M=8 N={N}\n")
    words = " ".join(result.stdout.split())  # as wrapped to the terminal's width
    assert f"layer lstm of {MODEL}; input: {path}, through the model's layers" in words
    counted, masked = int((ids != 0).sum()), int((ids == 0).sum())
    assert (f"{counted} steps counted, {masked} masked by embedding (Embedding, "
            "mask_zero=True) left out") in words  # fmt: skip


def test_layer_input_is_summarized_without_a_mask(tmp_path):
    x = np.random.default_rng(2).standard_normal((9, 5, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    result = invoke("model", MODEL, "--layer", "lstm", "--layer-input", tmp_path / "x.npy",
                    "--summary", "--json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)["summary"]
    assert (summary["steps_counted"], summary["steps_masked"]) == (45, 0)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--summary"], "--summary"),
        (["--summary", "--input", "docs/example/reviews.npy", "-N", "2"], "-N"),
        (["--summary", "--input", "docs/example/reviews.npy", "--output", "o.npz"], "--output"),
        (["--summary", "--input", "docs/example/reviews.npy", "--top", "3"], "--top"),
        (["--summary", "--input", "docs/example/reviews.npy", "--right-above", "1.5"],
         "--right-above"),  # outside the trained layer's sigmoid gates' [0, 1]
    ],
)  # fmt: skip
def test_what_summary_cannot_run_on_is_a_usage_error(options, named):
    result = invoke("model", MODEL, "--layer", "lstm", *options)
    assert result.exit_code == 2
    assert f"'{named}'" in result.stderr


def test_states_the_model_sends_the_layer_are_cut_with_the_batches(tmp_path):
    encoder_input, decoder_input = keras.Input((5, 3), name="enc"), keras.Input((4, 2), name="dec")
    _, h, c = keras.layers.LSTM(6, return_state=True)(encoder_input)
    o = keras.layers.LSTM(6, return_sequences=True, name="decoder")(
        decoder_input, initial_state=[h, c]
    )
    model = keras.Model([encoder_input, decoder_input], o)
    model.save(tmp_path / "m.keras")
    rng = np.random.default_rng(0)
    enc = rng.standard_normal((50, 5, 3)).astype(np.float32)
    dec = rng.standard_normal((50, 4, 2)).astype(np.float32)
    np.savez(tmp_path / "x.npz", enc=enc, dec=dec)
    result = invoke("model", tmp_path / "m.keras", "--layer", "decoder", "--input",
                    tmp_path / "x.npz", "--summary", "--batch-size", "16", "--json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    stats = json.loads(result.stdout)["summary"]["units"]["h_t"]
    outputs = np.asarray(model([enc, dec])).reshape(-1, 6).astype(np.float64)  # every step
    assert_allclose(stats["mean"], outputs.mean(axis=0), atol=1e-6)
    assert_allclose(stats["max"], outputs.max(axis=0), atol=1e-5)
