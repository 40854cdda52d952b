"""Make docs/images/units-saturation.png, the figure of docs/units.md, from a real run: the
example model's LSTM (docs/example/sentiment.keras) over 2000 reviews it was not trained on.

    python docs/make_units_picture.py

The reviews are drawn as docs/example/train.py draws its training set, from another seed, and
written as token ids; `rnnstate model ... --summary --plot` runs them through the model's
Embedding (its mask leaves the padding out) and the LSTM, and draws the figure.
"""

import contextlib
import sys
import tempfile
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from rnnstate.cli import app

HERE = Path(__file__).parent
PICTURE = HERE / "images" / "units-saturation.png"
COMMAND = ["model", "docs/example/sentiment.keras", "--layer", "lstm", "--input",
           "reviews-2000.npy", "--summary", "--unit", "0"]  # fmt: skip


def write_reviews(folder: Path) -> None:
    """2000 padded reviews (2000, 12) of token ids into `folder`/reviews-2000.npy."""
    sys.path.insert(0, str(HERE / "example"))
    from train import reviews

    tokens, _ = reviews(np.random.default_rng(1), 2000)  # the training set was drawn from 0
    np.save(folder / "reviews-2000.npy", tokens)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        write_reviews(folder)
        (folder / "docs").mkdir()
        (folder / "docs" / "example").symlink_to(HERE.absolute() / "example")
        with contextlib.chdir(folder):
            result = CliRunner().invoke(app, [*COMMAND, "--plot", str(PICTURE.absolute())])
    if result.exit_code != 0:
        sys.exit(result.stderr)
    print(PICTURE)
