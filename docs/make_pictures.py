"""Make the pictures of docs/pictures.md and the README from real runs:

    python docs/make_pictures.py

tests/test_pictures.py draws each again and checks the committed file still shows it.
"""

import contextlib
import sys
from pathlib import Path

from typer.testing import CliRunner

from rnnstate.cli import app

HERE = Path(__file__).parent
# Each picture and the command line that draws it (rnnstate's options, without --plot).
PICTURES = {
    "images/lstm-gates.png": ["lstm", "--seed", "0", "-T", "24", "-M", "6", "--sequences",
                              "--gates", "--engine", "numpy"],
    "images/gru-bidirectional-long.png": ["gru", "--seed", "0", "-T", "2000", "-M", "32",
                                          "--sequences", "--bidirectional", "--engine", "numpy",
                                          "--units-shown", "0,1"],
    "images/model-layer-gates.png": ["model", "docs/example/sentiment.keras", "--layer", "lstm",
                                     "--input", "docs/example/reviews.npy", "--only", "1",
                                     "--gates"],
    "images/memory-rnn.png": ["rnn", "--memory", "--sequences", "--seed", "0", "-T", "24", "-M",
                              "8", "--engine", "numpy"],
    "images/memory-lstm-keeps.png": ["lstm", "--memory", "--seed", "0", "-T", "24", "--weights",
                                     "docs/example/lstm_keeps.npz", "--engine", "numpy"],
}  # fmt: skip


def draw(name: str, folder: Path) -> Path:
    """Draw one picture into `folder`, running from the project's folder (a model's figure
    names its file as the command gave it); returns its path."""
    path = (folder / name).absolute()
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.chdir(HERE.parent):
        result = CliRunner().invoke(app, [*PICTURES[name], "--plot", str(path)])
    if result.exit_code != 0:
        sys.exit(f"{name}: {result.stderr}")
    return path


if __name__ == "__main__":
    for picture in PICTURES:
        print(draw(picture, HERE))
