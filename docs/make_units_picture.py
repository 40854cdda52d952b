"""Make docs/images/units-saturation.png, the figure of docs/units.md, from a real run: the
example model's LSTM (docs/example/sentiment.keras) over 2000 reviews it was not trained on.

    python docs/make_units_picture.py

The LSTM's own input is the model's Embedding output; rnnstate.models runs the reviews through
it. A padded step (the Embedding's mask_zero) is written as all zeros and left out with
--mask-value 0, as the model's mask leaves it out; then the command line draws the figure.
"""

import contextlib
import sys
import tempfile
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from rnnstate import api, models
from rnnstate.cli import app

HERE = Path(__file__).parent
MODEL = HERE / "example" / "sentiment.keras"
PICTURE = HERE / "images" / "units-saturation.png"
COMMAND = ["lstm", "--summary", "--input", "reviews-lstm-input.npy", "--weights",
           "lstm-weights.npz", "--mask-value", "0", "--unit", "0"]  # fmt: skip


def lstm_input(folder: Path) -> None:
    """Write the LSTM's input (2000, 12, 4), padded steps zero, and its weights into `folder`."""
    sys.path.insert(0, str(HERE / "example"))
    from train import reviews

    tokens, _ = reviews(np.random.default_rng(1), 2000)  # the training set was drawn from 0
    loaded = models.load(str(MODEL))
    chosen = models.find_layer(models.recurrent_layers(loaded), "lstm", str(MODEL))
    data = api.model_layer_data(loaded, chosen, x=tokens)
    x = np.array(data.x, dtype=np.float32)
    x[~data.mask] = 0.0
    np.save(folder / "reviews-lstm-input.npy", x)
    weights = data.weights
    np.savez(folder / "lstm-weights.npz", kernel=weights.kernel,
             recurrent_kernel=weights.recurrent_kernel, bias=weights.bias)  # fmt: skip


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        lstm_input(Path(folder))
        with contextlib.chdir(folder):
            result = CliRunner().invoke(app, [*COMMAND, "--plot", str(PICTURE.absolute())])
    if result.exit_code != 0:
        sys.exit(result.stderr)
    print(PICTURE)
