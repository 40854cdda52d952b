"""PyTorch: real nn.LSTM / nn.GRU / nn.RNN state dicts read through --weights (.safetensors and
.npz), rnnstate's torch layout loaded strictly back into PyTorch, and the torch engine."""

import json
import struct

import numpy as np
import pytest
from numpy.testing import assert_allclose
from typer.testing import CliRunner

from rnnstate.cli import app

torch = pytest.importorskip("torch")  # CI installs it (.ci/run): these tests run there
from safetensors.torch import save_file  # noqa: E402

runner = CliRunner()
N, T, D, M = 2, 5, 3, 4
MODULES = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}


def torch_layer(cell, bias=True, bidirectional=False, num_layers=1, **options):
    torch.manual_seed(0)
    module = MODULES[cell](D, M, batch_first=True, bias=bias, bidirectional=bidirectional,
                           num_layers=num_layers, **options)  # fmt: skip
    if bias:  # trained-looking biases, different in the two tensors
        with torch.no_grad():
            for name, value in module.named_parameters():
                if name.startswith("bias"):
                    value.uniform_(-0.5, 0.5)
    return module.eval()


def x_input(tmp_path):
    x = np.random.default_rng(1).standard_normal((N, T, D)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    return x


def run_json(*args, input_text=None):
    result = runner.invoke(app, [*args, "--json"], input=input_text)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def torch_outputs(module, x):
    with torch.no_grad():
        out, final = module(torch.from_numpy(x))
    finals = final if isinstance(final, tuple) else (final,)
    return out.numpy(), [f.numpy() for f in finals]


@pytest.mark.parametrize("engine", ["numpy", "keras"])
@pytest.mark.parametrize(
    ("cell", "options"),
    [
        ("lstm", {}),
        ("gru", {}),
        ("rnn", {}),
        ("rnn", {"nonlinearity": "relu"}),
        ("lstm", {"bias": False}),
        ("gru", {"bias": False}),
        ("lstm", {"bidirectional": True}),
        ("gru", {"bidirectional": True}),
    ],
)
def test_pytorch_state_dict_gives_pytorch_s_numbers(tmp_path, cell, options, engine):
    module = torch_layer(cell, **options)
    save_file(module.state_dict(), tmp_path / "w.safetensors")
    x = x_input(tmp_path)
    out, finals = torch_outputs(module, x)
    args = [cell, "--weights", str(tmp_path / "w.safetensors"), "--input", str(tmp_path / "x.npy"),
            "--sequences", "--engine", engine]  # fmt: skip
    if options.get("nonlinearity") == "relu":
        args += ["--activation", "relu"]
    bidirectional = options.get("bidirectional", False)
    if bidirectional:
        args.append("--bidirectional")
    document = run_json(*args)
    assert document["config"]["use_bias"] is options.get("bias", True)
    assert_allclose(np.array(document["o"], np.float32), out, rtol=1e-5, atol=1e-5)
    sides = ("_fw", "_bw") if bidirectional else ("",)
    for k, name in enumerate(("h", "c")[: len(finals)]):
        for d, side in enumerate(sides):
            assert_allclose(
                np.array(document[name + side], np.float32), finals[k][d], rtol=1e-5, atol=1e-5
            )


def layer_of(stack, k: int, input_size: int):
    """Layer k of a stacked nn.LSTM as a one-layer nn.LSTM of its own."""
    single = torch.nn.LSTM(input_size, M, batch_first=True)
    weights = {k_.replace(f"_l{k}", "_l0"): v for k_, v in stack.state_dict().items()
               if k_.endswith(f"_l{k}")}  # fmt: skip
    single.load_state_dict(weights, strict=True)
    return single.eval()


def test_prefixed_state_dict_of_a_whole_model_and_stacked_layer(tmp_path):
    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = torch.nn.Module()
            self.encoder.rnn = torch_layer("lstm", num_layers=3)
            self.decoder = torch.nn.GRU(M, M, batch_first=True)
            self.head = torch.nn.Linear(M, 1)

    model = Model()
    path = str(tmp_path / "model.safetensors")
    save_file(model.state_dict(), path)
    x = x_input(tmp_path)
    refused = runner.invoke(app, ["lstm", "--weights", path, "--input", str(tmp_path / "x.npy")])
    assert refused.exit_code == 1
    assert "holds several recurrent layers, under 'decoder.', 'encoder.rnn.'" in refused.stderr
    # layer 1 of the stack, fed what layer 0 gives it
    hidden, _ = torch_outputs(layer_of(model.encoder.rnn, 0, D), x)
    out, (_, c) = torch_outputs(layer_of(model.encoder.rnn, 1, M), hidden)
    np.save(tmp_path / "hidden.npy", hidden)
    document = run_json(
        "lstm", "--weights", path, "--prefix", "encoder.rnn.", "--torch-layer", "1",
        "--input", str(tmp_path / "hidden.npy"), "--sequences", "--engine", "numpy",
    )  # fmt: skip
    assert_allclose(np.array(document["o"], np.float32), out, rtol=1e-5, atol=1e-5)
    assert_allclose(np.array(document["c"], np.float32), c[0], rtol=1e-5, atol=1e-5)
    missing = runner.invoke(
        app, ["lstm", "--weights", path, "--prefix", "encoder.rnn.", "--torch-layer", "5"]
    )
    assert "has no layer 5 (--torch-layer); it has layers 0, 1, 2" in missing.stderr


@pytest.mark.parametrize(
    ("cell", "options"),
    [("lstm", []), ("gru", []), ("rnn", ["--activation", "relu"]), ("lstm", ["--bidirectional"]),
     ("gru", ["--no-bias"])],
)  # fmt: skip
@pytest.mark.parametrize("suffix", [".safetensors", ".npz"])
def test_saved_torch_layout_loads_strictly_and_gives_rnnstate_s_numbers(
    tmp_path, cell, options, suffix
):
    path = tmp_path / f"w{suffix}"
    x = x_input(tmp_path)
    document = run_json(
        cell, "--seed", "4", "--input", str(tmp_path / "x.npy"), "--sequences", "--engine",
        "numpy", "--save-weights", str(path), "--layout", "torch", *options,
    )  # fmt: skip
    if suffix == ".npz":
        state = {k: torch.from_numpy(v) for k, v in np.load(path).items()}
    else:
        from safetensors.torch import load_file

        state = load_file(path)
    extra = {"nonlinearity": "relu"} if "relu" in options else {}
    module = MODULES[cell](D, 3, batch_first=True, bias="--no-bias" not in options,
                           bidirectional="--bidirectional" in options, **extra)  # fmt: skip
    module.load_state_dict(state, strict=True)
    out, _ = torch_outputs(module.eval(), x)
    assert_allclose(out, np.array(document["o"], np.float32), rtol=1e-5, atol=1e-5)


def test_keras_layout_round_trips_through_safetensors(tmp_path):
    path = str(tmp_path / "w.safetensors")
    first = run_json("gru", "--seed", "2", "--save-weights", path, "--engine", "numpy")
    again = run_json("gru", "--seed", "2", "--weights", path, "--engine", "numpy")
    assert again["h"] == first["h"]


@pytest.mark.parametrize(
    ("cell", "options", "engine_args"),
    [
        (cell, options, engine_args)
        for cell in ("lstm", "gru", "rnn")
        for options, engine_args in [
            ([], ["--sequences"]),
            (["--backwards"], ["--sequences"]),
            (["--bidirectional"], []),
            (["--bidirectional"], ["--sequences"]),
        ]
    ]
    + [("rnn", ["--activation", "relu"], ["--sequences"])],
)
def test_torch_engine_equals_keras(cell, options, engine_args):
    args = [cell, "--seed", "5", "-T", "6", "-N", "2", *options, *engine_args]
    keras = run_json(*args)
    mine = run_json(*args, "--engine", "torch")
    for name in keras:
        if name in ("o", "h", "c", "h_fw", "c_fw", "h_bw", "c_bw"):
            assert_allclose(np.array(mine[name]), np.array(keras[name]), rtol=1e-5, atol=1e-5)
    assert mine["engine"] == "torch"


def test_torch_engine_from_an_initial_state(tmp_path):
    first = runner.invoke(app, ["lstm", "--seed", "1", "--output", str(tmp_path / "a.npz")])
    assert first.exit_code == 0
    args = ["lstm", "--seed", "2", "--initial-state", str(tmp_path / "a.npz")]
    keras, mine = run_json(*args), run_json(*args, "--engine", "torch")
    assert_allclose(np.array(mine["h"]), np.array(keras["h"]), atol=1e-5)


def test_check_compares_every_pair_of_engines():
    document = run_json("gru", "--seed", "0", "--check")
    pairs = [pair["engines"] for pair in document["cross_check"]["pairs"]]
    assert pairs == [["keras", "numpy"], ["keras", "torch"], ["numpy", "torch"]]
    assert document["cross_check"]["agree"] is True
    masked = run_json("gru", "--seed", "0", "--check", "--mask-value", "0")
    assert [p["engines"] for p in masked["cross_check"]["pairs"]] == [["keras", "numpy"]]


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["gru", "--reset-before"], "PyTorch's GRU is Keras's reset_after variant"),
        (["lstm", "--activation", "relu"], "nn.LSTM has tanh and sigmoid built in"),
        (["rnn", "--activation", "elu"], "nn.RNN's nonlinearity is tanh or relu, not elu"),
        (["lstm", "--bidirectional", "--merge", "sum"], "concatenates its halves, not merge sum"),
        (["lstm", "--mask-value", "0"], "PyTorch has no step masks"),
    ],
)
def test_torch_engine_refuses_what_pytorch_cannot_express(args, reason):
    result = runner.invoke(app, [*args, "--engine", "torch"])
    assert result.exit_code == 2
    assert "the torch engine cannot run this layer: " in result.stderr
    assert reason in result.stderr


def test_reset_before_with_pytorch_weights_is_refused(tmp_path):
    save_file(torch_layer("gru").state_dict(), tmp_path / "w.safetensors")
    result = runner.invoke(
        app, ["gru", "--weights", str(tmp_path / "w.safetensors"), "--reset-before"]
    )
    assert result.exit_code == 2
    assert "PyTorch's GRU is Keras's reset_after variant" in result.stderr


def test_projection_is_refused_as_inexpressible(tmp_path):
    module = torch.nn.LSTM(D, M, batch_first=True, proj_size=2)
    save_file(module.state_dict(), tmp_path / "w.safetensors")
    result = runner.invoke(app, ["lstm", "--weights", str(tmp_path / "w.safetensors")])
    assert result.exit_code == 1
    assert "proj_size > 0" in result.stderr and len(result.stderr.splitlines()) == 1


def test_bidirectional_weights_without_the_flag_say_so(tmp_path):
    save_file(torch_layer("lstm", bidirectional=True).state_dict(), tmp_path / "w.safetensors")
    result = runner.invoke(app, ["lstm", "--weights", str(tmp_path / "w.safetensors")])
    assert result.exit_code == 1
    assert "holds a bidirectional layer (_reverse weights); add --bidirectional" in result.stderr


def safetensors_bytes(header: dict, data: bytes, length: int | None = None) -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text) if length is None else length) + text + data


def tensor(dtype: str, shape: list[int], end: int) -> dict:
    return {"dtype": dtype, "shape": shape, "data_offsets": [0, end]}


@pytest.mark.parametrize(
    "content",
    [
        # a lying header length
        safetensors_bytes({"weight_ih_l0": tensor("F32", [4, 2], 32)}, b"\0" * 32, 10**12),
        # offsets past the end
        safetensors_bytes({"weight_ih_l0": tensor("F32", [4, 2], 320)}, b"\0" * 32),
        # a dtype that does not exist
        safetensors_bytes({"kernel": tensor("BOGUS", [2, 2], 16)}, b"\0" * 16),
        # a huge shape
        safetensors_bytes({"kernel": tensor("F32", [10**9, 10**9], 16)}, b"\0" * 16),
        b"\x05\x00\x00\x00\x00\x00\x00\x00{}",  # too short
        b"not safetensors at all",
    ],
)
def test_hostile_safetensors_files_are_one_line_exit_1(tmp_path, content):
    path = tmp_path / "w.safetensors"
    path.write_bytes(content)
    result = runner.invoke(app, ["lstm", "--weights", str(path)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"rnnstate: error: {path}: ")
    assert len(result.stderr.splitlines()) == 1


def test_without_torch_the_engine_says_how_to_get_it(monkeypatch):
    import rnnstate.api
    import rnnstate.spec

    monkeypatch.setattr(rnnstate.spec, "torch_installed", lambda: False)
    monkeypatch.setattr(rnnstate.api, "torch_installed", lambda: False)
    result = runner.invoke(app, ["lstm", "--engine", "torch"])
    assert result.exit_code == 2
    assert "torch is not installed: pip install torch --index-url " \
           "https://download.pytorch.org/whl/cpu" in " ".join(result.stderr.split())  # fmt: skip
    document = run_json("lstm", "--seed", "0", "--check")
    assert [p["engines"] for p in document["cross_check"]["pairs"]] == [["keras", "numpy"]]


def test_header_says_the_rnn_nonlinearity_is_not_in_the_state_dict(tmp_path):
    save_file(torch_layer("rnn").state_dict(), tmp_path / "w.safetensors")
    result = runner.invoke(app, ["rnn", "--weights", str(tmp_path / "w.safetensors"), "-D", "3"])
    assert result.exit_code == 0, result.stderr
    header = " ".join(result.stdout.split("\nx  input")[0].split())  # however it wraps
    assert "activation=tanh (PyTorch's state dict does not record nn.RNN's nonlinearity:" in header
